import {
  Dictionary, Field, Float64, Int32, RecordBatch, Schema, Utf8,
  type Vector,
} from 'apache-arrow';

/**
 * The telemetry model (docs/telemetry.md): one row per memory sample.
 *
 * `ts`, `rss` and `host_mem` are Float64 rather than Int64 because Arrow JS hands
 * Int64 columns out as BigInt64Array, and BigInt arithmetic on the hot path costs
 * more than the whole rest of an operator. Float64 holds every integer up to 2^53
 * exactly: millisecond timestamps until the year 287396 and byte counts up to 8 PiB.
 */
export const STRING_FIELDS = ['host', 'component', 'process', 'region', 'cluster', 'version'] as const;
export const REQUIRED_FIELDS = ['ts', 'host', 'component', 'rss'] as const;
export type StringField = (typeof STRING_FIELDS)[number];

/** Longest accepted string attribute, in UTF-16 code units. */
export const MAX_STRING_LENGTH = 1024;

const dict = () => new Dictionary(new Utf8(), new Int32());

export const SAMPLE_SCHEMA = new Schema([
  new Field('ts', new Float64(), false),
  new Field('host', dict(), false),
  new Field('component', dict(), false),
  new Field('process', dict(), false),
  new Field('pid', new Int32(), true),
  new Field('rss', new Float64(), false),
  new Field('host_mem', new Float64(), true),
  new Field('region', dict(), true),
  new Field('cluster', dict(), true),
  new Field('version', dict(), true),
]);

export type SampleColumns = {
  ts: Float64;
  host: Dictionary<Utf8, Int32>;
  component: Dictionary<Utf8, Int32>;
  process: Dictionary<Utf8, Int32>;
  pid: Int32;
  rss: Float64;
  host_mem: Float64;
  region: Dictionary<Utf8, Int32>;
  cluster: Dictionary<Utf8, Int32>;
  version: Dictionary<Utf8, Int32>;
};

/**
 * What flows on a `samples` edge: one Arrow RecordBatch in the canonical schema plus
 * where its rows came from, so that any stage can dead-letter a row by its line.
 */
export interface SampleBatch {
  readonly data: RecordBatch<SampleColumns>;
  /** Name of the input (file path, subject, "simulator"). */
  readonly source: string;
  /** Source record number (1-based line number for text files) of each row. */
  readonly records: Float64Array;
  /** Event time up to which the stream is complete; -Infinity before any watermark. */
  readonly watermark: number;
}

/** Dictionary-encoded column as typed arrays: `indices[i]` points into `values`. */
export interface DictColumn {
  readonly indices: Int32Array;
  readonly values: readonly string[];
  /** Identity of the dictionary, stable while a source reuses it across batches. */
  readonly key: object;
  /** Validity bitmap (Arrow layout), or null when every row is valid. */
  readonly valid: Uint8Array | null;
}

/** The raw Float64Array of a numeric column (zero-copy). */
export function floatColumn(batch: RecordBatch<SampleColumns>, name: 'ts' | 'rss' | 'host_mem'): Float64Array {
  const data = batch.getChild(name)!.data[0]!;
  return data.values as Float64Array;
}

export function pidColumn(batch: RecordBatch<SampleColumns>): Int32Array {
  return batch.getChild('pid')!.data[0]!.values as Int32Array;
}

/** Validity bitmap of a column, or null when it has no nulls. */
export function validity(batch: RecordBatch<SampleColumns>, name: keyof SampleColumns): Uint8Array | null {
  const data = batch.getChild(name)!.data[0]!;
  return data.nullCount > 0 ? data.nullBitmap ?? null : null;
}

export function isValid(bitmap: Uint8Array | null, i: number): boolean {
  return bitmap === null || (bitmap[i >> 3]! & (1 << (i & 7))) !== 0;
}

const dictValuesCache = new WeakMap<object, readonly string[]>();

/** Indices and decoded dictionary of a string column; dictionaries are decoded once. */
export function dictColumn(batch: RecordBatch<SampleColumns>, name: StringField): DictColumn {
  const data = batch.getChild(name)!.data[0]!;
  const dictionary = data.dictionary as Vector<Utf8>;
  const key = dictionary.data[0] ?? dictionary;
  let values = dictValuesCache.get(key);
  if (values === undefined) {
    const decoded: string[] = new Array(dictionary.length);
    for (let i = 0; i < decoded.length; i++) decoded[i] = dictionary.get(i) ?? '';
    values = decoded;
    dictValuesCache.set(key, values);
  }
  return {
    indices: data.values as Int32Array,
    values,
    key,
    valid: data.nullCount > 0 ? data.nullBitmap ?? null : null,
  };
}

/** One row as a plain object: for dead letters and tests, never for hot paths. */
export function rowObject(batch: RecordBatch<SampleColumns>, i: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of SAMPLE_SCHEMA.fields) {
    const value = batch.getChild(field.name as keyof SampleColumns)!.get(i);
    if (value !== null && value !== undefined) out[field.name] = value;
  }
  return out;
}
