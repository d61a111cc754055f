import { makeData, RecordBatch, Struct, type Data } from 'apache-arrow';
import { SAMPLE_SCHEMA, type SampleBatch, type SampleColumns } from './schema.js';

/** [start, end) pairs of the runs of kept rows, in order. */
function keptRuns(keep: Uint8Array, n: number): Int32Array {
  const runs: number[] = [];
  let start = -1;
  for (let i = 0; i < n; i++) {
    if (keep[i]) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      runs.push(start, i);
      start = -1;
    }
  }
  if (start >= 0) runs.push(start, n);
  return Int32Array.from(runs);
}

function copyBitmap(src: Uint8Array | null | undefined, nullCount: number, runs: Int32Array, kept: number): { bitmap?: Uint8Array; nulls: number } {
  if (!src || nullCount === 0) return { nulls: 0 };
  const out = new Uint8Array((kept + 7) >> 3);
  let j = 0, nulls = 0;
  for (let r = 0; r < runs.length; r += 2) {
    for (let i = runs[r]!, end = runs[r + 1]!; i < end; i++, j++) {
      if (src[i >> 3]! & (1 << (i & 7))) out[j >> 3]! |= 1 << (j & 7);
      else nulls++;
    }
  }
  return { bitmap: out, nulls };
}

/** The kept runs of `src`, one block copy per run (dropped rows are few: late samples, duplicates), into `into` when given. */
function copyRuns<T extends Float64Array | Int32Array>(src: T, runs: Int32Array, kept: number, into?: T): T {
  const out = into ?? new (src.constructor as new (n: number) => T)(kept);
  for (let r = 0, j = 0; r < runs.length; r += 2) {
    const start = runs[r]!, end = runs[r + 1]!;
    out.set(src.subarray(start, end) as never, j);
    j += end - start;
  }
  return out;
}

/**
 * The rows of `src` where `keep[i]` is 1 (`kept` of them, of the first `keep.length`),
 * in order: a column that goes with a batch filterBatch was given, such as its series
 * ids. Copied into `into` (at least `kept` long) when given.
 */
export function keptRows<T extends Float64Array | Int32Array>(src: T, keep: Uint8Array, kept: number, into?: T): T {
  return copyRuns(src, keptRuns(keep, keep.length), kept, into);
}

/**
 * The rows of `batch` where `keep[i]` is 1, as a new batch sharing the dictionaries.
 * Only called when some row is dropped, so the common all-valid path stays zero-copy.
 */
export function filterBatch(batch: SampleBatch, keep: Uint8Array, kept: number): SampleBatch {
  const n = batch.data.numRows;
  const runs = keptRuns(keep, n);
  const children: Data[] = [];
  for (const field of SAMPLE_SCHEMA.fields) {
    const col = batch.data.getChild(field.name as keyof SampleColumns)!.data[0]!;
    const values = copyRuns(col.values as Float64Array | Int32Array, runs, kept);
    const { bitmap, nulls } = copyBitmap(col.nullBitmap, col.nullCount, runs, kept);
    children.push(makeData({
      type: col.type, length: kept, data: values, nullBitmap: bitmap, nullCount: nulls,
      dictionary: col.dictionary,
    } as never));
  }
  const struct = makeData({ type: new Struct(SAMPLE_SCHEMA.fields), length: kept, children, nullCount: 0 });
  return {
    data: new RecordBatch(SAMPLE_SCHEMA, struct) as RecordBatch<SampleColumns>,
    source: batch.source,
    records: copyRuns(batch.records, runs, kept),
    watermark: batch.watermark,
  };
}
