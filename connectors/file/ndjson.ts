import type { DeadLetter } from '../../engine/deadLetter.js';
import { COMPONENT, CLUSTER, HOST, IdRow, PROCESS, REGION, SampleBatchBuilder, VERSION } from '../../engine/telemetry/builder.js';
import type { SampleBatch } from '../../engine/telemetry/schema.js';
import { rawFromObject, type RawSample } from '../../engine/telemetry/validate.js';
import { ByteStrings } from './byteStrings.js';
import { byteLineItems, decode, LineCursor, MAX_LINE_BYTES } from './lines.js';
import { ScannedSample, scanSample } from './ndjsonScan.js';
import { filePlace, LineJudge, refuseLongLine, type LineParser, type LinePlace, type LineProblem, type ReaderOptions } from './text.js';

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
 * What reads NDJSON lines from their bytes into a builder: the file reader has one per
 * file, the NATS reader one for all its messages (`place` and `record` set per message).
 */
export class NdjsonLines {
  readonly cursor = new LineCursor();
  readonly strings = new ByteStrings();
  private readonly scanned = new ScannedSample();
  private readonly ids = new IdRow();
  private readonly judge: LineJudge;
  /** Record number of a scanned line; -1: its line number. */
  record = -1;
  /** Rows appended so far. */
  appended = 0;

  constructor(readonly builder: SampleBatchBuilder, place: LinePlace, deadLetter: DeadLetter) {
    this.judge = new LineJudge(place, deadLetter, builder, ndjsonParser);
  }

  /**
   * Reads the lines of `buf` from byte `at` on until the builder is full or `buf` ends;
   * returns where to go on, or -1 once `buf` is read (the builder may then be full). A
   * line is first read from its bytes by `scanSample`; a line it declines is decoded,
   * and the cursor walks it (it numbers it, drops a '\r' before the break and skips it
   * if blank) for the judge.
   */
  take(buf: Buffer, at: number): number {
    const { cursor, strings, scanned, builder } = this;
    const end = buf.length;
    for (;;) {
      if (builder.full) return at;
      let stop = scanSample(buf, at, end, strings, scanned);
      if (stop >= 0) {
        cursor.line++;
        appendScanned(scanned, strings, builder, this.ids, this.record < 0 ? cursor.line : this.record);
        this.appended++;
      } else {
        const nl = buf.indexOf(10, at);
        stop = nl < 0 ? end : nl;
        cursor.load(decode(buf, at, stop));
        while (cursor.next()) if (this.judge.take(cursor)) this.appended++;
      }
      if (stop >= end) return -1;
      at = stop + 1;
    }
  }
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
  const lines = new NdjsonLines(builder, filePlace(opts.source), opts.deadLetter);
  for await (const item of byteLineItems(chunks, maxLineBytes)) {
    if (signal?.aborted) return;
    if (item.kind === 'long') {
      refuseLongLine(opts, lines.cursor, item, maxLineBytes);
      continue;
    }
    for (let at = 0; at >= 0;) {
      at = lines.take(item.bytes, at);
      if (builder.full) {
        yield builder.build();
        // Between batches, where no entry is held: a table grown full starts over.
        lines.strings.trim();
        if (signal?.aborted) return;
      }
    }
  }
  if (builder.length > 0) yield builder.build();
}
