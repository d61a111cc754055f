import type { SampleBatch } from '../../engine/telemetry/schema.js';
import { rawFromObject, type RawSample } from '../../engine/telemetry/validate.js';
import { scanFlatObject } from './jsonScan.js';
import type { LineCursor } from './lines.js';
import { readTextBatches, type LineParser, type LineProblem, type ReaderOptions } from './text.js';

const NOT_AN_OBJECT: LineProblem = { reason: 'invalid_json', detail: 'line is JSON but not an object' };

/** One JSON object per line: the flat-object scanner first, `JSON.parse` for everything it declines. */
export const ndjsonParser: LineParser = {
  parse(cursor: LineCursor, raw: RawSample): LineProblem | null {
    if (scanFlatObject(cursor.text, cursor.start, cursor.end, raw)) return null;
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

/** Batches of valid samples from NDJSON (JSON Lines) bytes. */
export function readNdjson(chunks: AsyncIterable<Buffer>, opts: ReaderOptions): AsyncGenerator<SampleBatch> {
  return readTextBatches(chunks, opts, ndjsonParser);
}
