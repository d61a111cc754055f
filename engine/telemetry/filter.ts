import { makeData, RecordBatch, Struct, type Data } from 'apache-arrow';
import { SAMPLE_SCHEMA, type SampleBatch, type SampleColumns } from './schema.js';

function copyBitmap(src: Uint8Array | null | undefined, nullCount: number, keep: Uint8Array, n: number, kept: number): { bitmap?: Uint8Array; nulls: number } {
  if (!src || nullCount === 0) return { nulls: 0 };
  const out = new Uint8Array((kept + 7) >> 3);
  let j = 0, nulls = 0;
  for (let i = 0; i < n; i++) {
    if (!keep[i]) continue;
    if (src[i >> 3]! & (1 << (i & 7))) out[j >> 3]! |= 1 << (j & 7);
    else nulls++;
    j++;
  }
  return { bitmap: out, nulls };
}

/**
 * The rows of `batch` where `keep[i]` is 1, as a new batch sharing the dictionaries.
 * Only called when some row is dropped, so the common all-valid path stays zero-copy.
 */
export function filterBatch(batch: SampleBatch, keep: Uint8Array, kept: number): SampleBatch {
  const n = batch.data.numRows;
  const children: Data[] = [];
  for (const field of SAMPLE_SCHEMA.fields) {
    const col = batch.data.getChild(field.name as keyof SampleColumns)!.data[0]!;
    const src = col.values as Float64Array | Int32Array;
    const values = new (src.constructor as typeof Float64Array | typeof Int32Array)(kept);
    for (let i = 0, j = 0; i < n; i++) if (keep[i]) values[j++] = src[i]!;
    const { bitmap, nulls } = copyBitmap(col.nullBitmap, col.nullCount, keep, n, kept);
    children.push(makeData({
      type: col.type, length: kept, data: values, nullBitmap: bitmap, nullCount: nulls,
      dictionary: col.dictionary,
    } as never));
  }
  const struct = makeData({ type: new Struct(SAMPLE_SCHEMA.fields), length: kept, children, nullCount: 0 });
  const records = new Float64Array(kept);
  for (let i = 0, j = 0; i < n; i++) if (keep[i]) records[j++] = batch.records[i]!;
  return {
    data: new RecordBatch(SAMPLE_SCHEMA, struct) as RecordBatch<SampleColumns>,
    source: batch.source,
    records,
    watermark: batch.watermark,
  };
}
