import { COMPONENT, CLUSTER, HOST, IdRow, PROCESS, REGION, SampleBatchBuilder, VERSION } from '../../engine/telemetry/builder.js';
import type { SampleBatch } from '../../engine/telemetry/schema.js';
import { rawFromObject, type RawSample } from '../../engine/telemetry/validate.js';
import { ByteStrings } from './byteStrings.js';
import { byteLineItems, decode, LineCursor, MAX_LINE_BYTES } from './lines.js';
import { ScannedSample, scanSample } from './ndjsonScan.js';
import { LineJudge, refuseLongLine, type LineParser, type LineProblem, type ReaderOptions } from './text.js';

const NOT_AN_OBJECT: LineProblem = { reason: 'invalid_json', detail: 'line is JSON but not an object' };

/** One JSON object per line, for the lines `scanSample` declines: `JSON.parse` judges them. */
export const ndjsonParser: LineParser = {
  parse(cursor: LineCursor, raw: RawSample): LineProblem | null {
    let value: unknown;
    try {
      value = JSON.parse(cursor.current());
    } catch (err) {
      return { reason: 'invalid_json', detail: (err as Error).message };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return NOT_AN_OBJECT;
    rawFromObject(value as Record<string, unknown>, raw);
    return null;
  },
};

/** Appends the sample `scanSample` read into `scanned` to `builder`, its strings numbered in the batch's dictionaries. */
export function appendScanned(scanned: ScannedSample, strings: ByteStrings, builder: SampleBatchBuilder, row: IdRow, line: number): void {
  row.ts = scanned.ts;
  row.rss = scanned.rss;
  row.pid = scanned.pid;
  row.host_mem = scanned.host_mem;
  row.host = strings.id(scanned.host, HOST, builder);
  row.component = strings.id(scanned.component, COMPONENT, builder);
  row.process = strings.id(scanned.process >= 0 ? scanned.process : scanned.component, PROCESS, builder);
  row.region = scanned.region >= 0 ? strings.id(scanned.region, REGION, builder) : -1;
  row.cluster = scanned.cluster >= 0 ? strings.id(scanned.cluster, CLUSTER, builder) : -1;
  row.version = scanned.version >= 0 ? strings.id(scanned.version, VERSION, builder) : -1;
  builder.appendIds(row, line);
}

/**
 * Batches of valid samples from NDJSON (JSON Lines) bytes. A line is first read from
 * its bytes by `scanSample`, which takes the valid samples in telemetry's plain shape
 * (nearly every line of a real file) without decoding the line or calling
 * `JSON.parse`; every line it declines is decoded and judged by the general text
 * reader (`JSON.parse` and validation), so the outcome for any line, its number
 * and its reason included, is the general reader's.
 */
export async function* readNdjson(chunks: AsyncIterable<Buffer>, opts: ReaderOptions): AsyncGenerator<SampleBatch> {
  const { signal } = opts;
  const maxLineBytes = opts.maxLineBytes ?? MAX_LINE_BYTES;
  const builder = new SampleBatchBuilder(opts.source, opts.batchSize);
  const judge = new LineJudge(opts.source, opts.deadLetter, builder, ndjsonParser);
  const cursor = new LineCursor();
  const strings = new ByteStrings();
  const scanned = new ScannedSample();
  const row = new IdRow();
  for await (const item of byteLineItems(chunks, maxLineBytes)) {
    if (signal?.aborted) return;
    if (item.kind === 'long') {
      refuseLongLine(opts, cursor, item, maxLineBytes);
      continue;
    }
    const buf = item.bytes;
    const end = buf.length;
    for (let at = 0; ;) {
      let stop = scanSample(buf, at, end, strings, scanned);
      if (stop >= 0) {
        appendScanned(scanned, strings, builder, row, ++cursor.line);
      } else {
        const nl = buf.indexOf(10, at);
        stop = nl < 0 ? end : nl;
        // The cursor walks the one line: it numbers it, drops a '\r' before the break and skips it if blank.
        cursor.load(decode(buf, at, stop));
        while (cursor.next()) judge.take(cursor);
      }
      if (builder.full) {
        yield builder.build();
        // Between batches, where no entry is held: a table grown full starts over.
        strings.trim();
        if (signal?.aborted) return;
      }
      if (stop >= end) break;
      at = stop + 1;
    }
  }
  if (builder.length > 0) yield builder.build();
}
