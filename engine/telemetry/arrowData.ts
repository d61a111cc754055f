import {
  Data, Dictionary, Float64, Int32, RecordBatch, Struct, Utf8, makeData, makeVector, type Vector,
} from 'apache-arrow';
import { SAMPLE_SCHEMA, type SampleColumns, type StringField } from './schema.js';

const encoder = new TextEncoder();

/** A Utf8 Arrow Data holding `strings`, for use as a dictionary. */
export function utf8Data(strings: readonly string[]): Data<Utf8> {
  const offsets = new Int32Array(strings.length + 1);
  let bytes = 0;
  for (let i = 0; i < strings.length; i++) bytes += strings[i]!.length * 3;
  const buffer = new Uint8Array(bytes);
  let at = 0;
  for (let i = 0; i < strings.length; i++) {
    at += encoder.encodeInto(strings[i]!, buffer.subarray(at)).written;
    offsets[i + 1] = at;
  }
  return makeData({ type: new Utf8(), length: strings.length, valueOffsets: offsets, data: buffer.subarray(0, at) });
}

/** Column arrays that make one batch; string columns are indices into their dictionary. */
export interface ColumnArrays {
  length: number;
  ts: Float64Array;
  rss: Float64Array;
  pid?: Int32Array | null;
  pidValid?: Uint8Array | null;
  host_mem?: Float64Array | null;
  hostMemValid?: Uint8Array | null;
  strings: Record<StringField, { indices: Int32Array; dictionary: Data<Utf8>; valid?: Uint8Array | null } | null>;
}

/** Set bits of every byte value. */
const BITS = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let x = b; x > 0; x >>= 1) n += x & 1;
  return n;
});

/** Rows of `length` whose validity bit is clear: a byte at a time, every batch builds several columns. */
function nullCount(valid: Uint8Array | null | undefined, length: number): number {
  if (!valid) return 0;
  const whole = length >> 3;
  let set = 0;
  for (let k = 0; k < whole; k++) set += BITS[valid[k]!]!;
  for (let i = whole << 3; i < length; i++) if (valid[i >> 3]! & (1 << (i & 7))) set++;
  return length - set;
}

function allNull(length: number) {
  return new Uint8Array((length + 7) >> 3);
}

/**
 * Assemble a RecordBatch in the canonical schema from typed arrays, zero-copy.
 * Optional columns that are absent become all-null columns.
 */
export function makeSampleBatch(cols: ColumnArrays): RecordBatch<SampleColumns> {
  const n = cols.length;
  const children: Data[] = [];
  for (const field of SAMPLE_SCHEMA.fields) {
    const name = field.name as keyof SampleColumns;
    switch (name) {
      case 'ts':
      case 'rss':
        children.push(makeData({ type: new Float64(), length: n, data: cols[name].subarray(0, n), nullCount: 0 }));
        break;
      case 'host_mem': {
        const values = cols.host_mem ?? new Float64Array(n);
        const valid = cols.host_mem ? cols.hostMemValid ?? null : allNull(n);
        children.push(makeData({
          type: new Float64(), length: n, data: values.subarray(0, n),
          nullBitmap: valid ?? undefined, nullCount: cols.host_mem ? nullCount(valid, n) : n,
        }));
        break;
      }
      case 'pid': {
        const values = cols.pid ?? new Int32Array(n);
        const valid = cols.pid ? cols.pidValid ?? null : allNull(n);
        children.push(makeData({
          type: new Int32(), length: n, data: values.subarray(0, n),
          nullBitmap: valid ?? undefined, nullCount: cols.pid ? nullCount(valid, n) : n,
        }));
        break;
      }
      default: {
        const col = cols.strings[name];
        const type = field.type as Dictionary<Utf8, Int32>;
        if (col) {
          children.push(makeData({
            type, length: n, data: col.indices.subarray(0, n), dictionary: makeVectorOf(col.dictionary),
            nullBitmap: col.valid ?? undefined, nullCount: nullCount(col.valid, n),
          }));
        } else {
          children.push(makeData({
            type, length: n, data: new Int32Array(n), dictionary: makeVectorOf(EMPTY_DICT),
            nullBitmap: allNull(n), nullCount: n,
          }));
        }
      }
    }
  }
  const struct = makeData({ type: new Struct(SAMPLE_SCHEMA.fields), length: n, children, nullCount: 0 });
  return new RecordBatch(SAMPLE_SCHEMA, struct) as RecordBatch<SampleColumns>;
}

const EMPTY_DICT = utf8Data([]);
const vectorCache = new WeakMap<Data<Utf8>, Vector<Utf8>>();
function makeVectorOf(data: Data<Utf8>): Vector<Utf8> {
  let v = vectorCache.get(data);
  if (!v) { v = makeVector(data); vectorCache.set(data, v); }
  return v;
}
