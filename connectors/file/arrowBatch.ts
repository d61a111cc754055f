import { DataType, type Data, type Dictionary, type RecordBatch, type Utf8 } from 'apache-arrow';
import type { DeadLetter } from '../../engine/deadLetter.js';
import type { ColumnArrays } from '../../engine/telemetry/arrowData.js';
import { REQUIRED_FIELDS, STRING_FIELDS, type StringField } from '../../engine/telemetry/schema.js';
import { SAMPLE_FIELDS, type NumericField, type SampleField } from '../../engine/telemetry/validate.js';
import {
  dictionaryColumn, fillProcess, numberColumn, numbersOf, plainStringColumn, sliceBitmap, supportsStrings,
  type NumberColumn, type Problems, type StringColumn,
} from './arrowColumns.js';
import { verifiedFields, type Columns } from './arrowFast.js';

/**
 * Arrow record batches of any reasonable schema into the canonical one (SAMPLE_SCHEMA):
 * each column converted and judged by arrowColumns.ts, then the batch assembled from
 * them. When every row passes, the columns are the input's own buffers where their
 * type allowed; only when some row is refused are the columns gathered into new arrays.
 */

/** Canonical columns of the rows kept from one input batch. */
export interface ConformedBatch {
  /** Null when no row was kept. */
  readonly columns: ColumnArrays | null;
  /** Record number of each kept row. */
  readonly records: Float64Array;
  /** True when every column of the result is the input's own buffer. */
  readonly zeroCopy: boolean;
}

// ---------------------------------------------------------------- rows

/** A row's values as a plain object, for its dead letter (BigInts as numbers or, past 2^53, text). */
export function rowValues(batch: RecordBatch, i: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  batch.schema.fields.forEach((field, k) => {
    let value: unknown = batch.getChildAt(k)?.get(i);
    if (typeof value === 'bigint') value = Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    if (value !== null && value !== undefined) out[field.name] = value;
  });
  return out;
}

function gather<T extends Float64Array | Int32Array>(values: T, keep: Int32Array): T {
  const out = new (values.constructor as new (n: number) => T)(keep.length);
  for (let j = 0; j < keep.length; j++) out[j] = values[keep[j]!]!;
  return out;
}

function gatherBitmap(bitmap: Uint8Array | null, keep: Int32Array): Uint8Array | null {
  if (bitmap === null) return null;
  const out = new Uint8Array((keep.length + 7) >> 3);
  for (let j = 0; j < keep.length; j++) {
    const i = keep[j]!;
    if (bitmap[i >> 3]! & (1 << (i & 7))) out[j >> 3]! |= 1 << (j & 7);
  }
  return out;
}

function gatherColumns(cols: ColumnArrays, keep: Int32Array): ColumnArrays {
  const strings = {} as ColumnArrays['strings'];
  for (const name of STRING_FIELDS) {
    const col = cols.strings[name];
    strings[name] = col ? { indices: gather(col.indices, keep), dictionary: col.dictionary, valid: gatherBitmap(col.valid ?? null, keep) } : null;
  }
  return {
    length: keep.length,
    ts: gather(cols.ts, keep),
    rss: gather(cols.rss, keep),
    pid: cols.pid ? gather(cols.pid, keep) : null,
    pidValid: gatherBitmap(cols.pidValid ?? null, keep),
    host_mem: cols.host_mem ? gather(cols.host_mem, keep) : null,
    hostMemValid: gatherBitmap(cols.hostMemValid ?? null, keep),
    strings,
  };
}

/** Rows [start, end) of canonical columns, sharing their buffers. */
export function sliceColumns(cols: ColumnArrays, start: number, end: number): ColumnArrays {
  const length = end - start;
  const bits = (b: Uint8Array | null | undefined) => (b ? sliceBitmap(b, start, length) : null);
  const strings = {} as ColumnArrays['strings'];
  for (const name of STRING_FIELDS) {
    const col = cols.strings[name];
    strings[name] = col ? { indices: col.indices.subarray(start, end), dictionary: col.dictionary, valid: bits(col.valid) } : null;
  }
  return {
    length,
    ts: cols.ts.subarray(start, end),
    rss: cols.rss.subarray(start, end),
    pid: cols.pid ? cols.pid.subarray(start, end) : null,
    pidValid: bits(cols.pidValid),
    host_mem: cols.host_mem ? cols.host_mem.subarray(start, end) : null,
    hostMemValid: bits(cols.hostMemValid),
    strings,
  };
}

// ---------------------------------------------------------------- batches

/** Why a schema cannot give samples at all, or null when it can. */
export function schemaProblem(batch: RecordBatch): { field: SampleField; detail: string } | null {
  for (const field of SAMPLE_FIELDS) {
    const data = columnData(batch, field);
    if (data === null) {
      if ((REQUIRED_FIELDS as readonly string[]).includes(field)) return { field, detail: `the schema has no "${field}" column` };
      continue;
    }
    const type = data.type as DataType;
    const fits = (STRING_FIELDS as readonly string[]).includes(field)
      ? supportsStrings(type)
      : numbersOf(field as NumericField, sample(data)) !== null;
    if (!fits) return { field, detail: `column "${field}" has type ${String(type)}, which cannot hold it` };
  }
  return null;
}

/**
 * Why a batch's buffers cannot hold the rows it claims, or null. Damaged bytes can
 * pass the metadata checks with lengths that disagree; reading on would mean
 * reading past the data.
 */
export function bufferProblem(batch: RecordBatch): string | null {
  for (const field of SAMPLE_FIELDS) {
    const data = columnData(batch, field);
    if (data === null) continue;
    const n = data.length;
    if (n !== batch.numRows) return `column "${field}" has ${n} rows in a batch of ${batch.numRows}`;
    const bitmap = data.nullCount > 0 ? data.nullBitmap : null;
    if (data.nullCount > 0 && (!bitmap || bitmap.length * 8 < data.offset + n)) return `column "${field}" lacks validity bits for its rows`;
    const values = data.values as ArrayLike<unknown> | undefined;
    if (DataType.isUtf8(data.type) || DataType.isLargeUtf8(data.type)) {
      const offsets = data.valueOffsets as ArrayLike<number | bigint> | undefined;
      if (!offsets || offsets.length < n + 1 || Number(offsets[n]!) > (values?.length ?? 0)) return `column "${field}" has string offsets beyond its data`;
    } else if (!values || values.length < n) {
      return `column "${field}" holds ${values?.length ?? 0} values for ${n} rows`;
    }
    if (DataType.isDictionary(data.type) && !data.dictionary) return `column "${field}" has no dictionary`;
  }
  return null;
}

/** A zero-row view of a column, to ask its type questions without converting it. */
function sample(data: Data): Data {
  return data.length === 0 ? data : data.slice(0, 0);
}

function columnData(batch: RecordBatch, field: SampleField): Data | null {
  const k = batch.schema.fields.findIndex((f) => f.name === field);
  return k < 0 ? null : (batch.data.children[k] ?? null);
}

/**
 * The valid rows of `batch` in canonical columns, each refused row dead-lettered
 * with its record number (`firstRecord` is the number of row 0). The caller has
 * checked `schemaProblem` first. `scratch`, when given, receives the record numbers of
 * a batch whose rows all pass (a buffer the caller may reuse, see BufferRing).
 */
export function conformBatch(
  batch: RecordBatch, firstRecord: number, source: string, deadLetter: DeadLetter, scratch?: (n: number) => Float64Array,
): ConformedBatch {
  const n = batch.numRows;
  const problems: Problems = new Map();
  let own = true;
  const numbers: Partial<Record<NumericField, NumberColumn>> = {};
  const strings: Partial<Record<StringField, StringColumn>> = {};
  const columns: Columns = {};
  for (const field of SAMPLE_FIELDS) {
    const data = columnData(batch, field);
    if (data !== null) columns[field] = data;
  }
  const verified = verifiedFields(columns, n);
  for (const field of SAMPLE_FIELDS) {
    const data = columns[field];
    if (data === undefined) continue;
    const required = (REQUIRED_FIELDS as readonly string[]).includes(field);
    const checked = verified !== null && verified.has(field);
    if (field === 'ts' || field === 'pid' || field === 'rss' || field === 'host_mem') {
      const col = numberColumn(field, data, numbersOf(field, data)!, required, problems, checked);
      numbers[field] = col;
      own &&= col.own;
    } else {
      const col = DataType.isDictionary(data.type)
        ? dictionaryColumn(field, data as Data<Dictionary>, required, problems, checked)
        : plainStringColumn(field, data as Data<Utf8>, required, problems);
      strings[field] = col;
      own &&= col.own;
    }
  }
  const component = strings.component!;
  const process = strings.process ? fillProcess(strings.process, component, n) : component;
  own &&= process.own;

  const optional = (col: StringColumn | undefined) => (col ? { indices: col.indices, dictionary: col.dictionary, valid: col.valid } : null);
  const cols: ColumnArrays = {
    length: n,
    ts: numbers.ts!.values as Float64Array,
    rss: numbers.rss!.values as Float64Array,
    pid: (numbers.pid?.values as Int32Array | undefined) ?? null,
    pidValid: numbers.pid?.valid ?? null,
    host_mem: (numbers.host_mem?.values as Float64Array | undefined) ?? null,
    hostMemValid: numbers.host_mem?.valid ?? null,
    strings: {
      host: optional(strings.host),
      component: optional(component),
      process: { indices: process.indices, dictionary: process.dictionary, valid: null },
      region: optional(strings.region),
      cluster: optional(strings.cluster),
      version: optional(strings.version),
    },
  };

  if (problems.size === 0) {
    // Written out even though they are consecutive: without this small array per batch,
    // V8 stopped freeing the batch bodies in young-generation collections and started
    // full ones, which cost more than writing the numbers (docs/telemetry.md).
    const records = scratch ? scratch(n) : new Float64Array(n);
    for (let i = 0; i < n; i++) records[i] = firstRecord + i;
    return { columns: n > 0 ? cols : null, records, zeroCopy: own };
  }
  const rows = [...problems.keys()].sort((a, b) => a - b);
  for (const i of rows) {
    const p = problems.get(i)!;
    deadLetter.reject({ reason: p.reason, source, line: firstRecord + i, field: p.field, detail: p.detail, record: rowValues(batch, i) });
  }
  const keep = new Int32Array(n - problems.size);
  const records = new Float64Array(keep.length);
  for (let i = 0, j = 0; i < n; i++) {
    if (problems.has(i)) continue;
    keep[j] = i;
    records[j++] = firstRecord + i;
  }
  return { columns: keep.length > 0 ? gatherColumns(cols, keep) : null, records, zeroCopy: false };
}
