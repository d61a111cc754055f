import {
  DataType, DateUnit, Precision, TimeUnit, type Data, type Dictionary, type RecordBatch, type Utf8, type Vector,
} from 'apache-arrow';
import type { DeadLetter } from '../../engine/deadLetter.js';
import { utf8Data, type ColumnArrays } from '../../engine/telemetry/arrowData.js';
import { REQUIRED_FIELDS, STRING_FIELDS, type StringField } from '../../engine/telemetry/schema.js';
import {
  NUMBER_RULES, numberOk, SAMPLE_FIELDS, stringOk, valueProblem,
  type Invalid, type NumericField, type SampleField,
} from '../../engine/telemetry/validate.js';

/**
 * Arrow record batches of any reasonable schema into the canonical one (SAMPLE_SCHEMA),
 * column by column. A column already of the canonical type is passed through without
 * a copy; others are converted (integers and timestamps to Float64, plain strings to
 * dictionaries). Rows are judged by the same rules as text rows, in typed-array
 * loops; only when some row is refused are the columns gathered into new arrays.
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

type Problems = Map<number, Invalid>;

function note(problems: Problems, row: number, problem: Invalid): void {
  // Columns are checked in SAMPLE_FIELDS order: the first problem of a row is the one reported.
  if (!problems.has(row)) problems.set(row, problem);
}

function validAt(bitmap: Uint8Array | null, offset: number, i: number): boolean {
  if (bitmap === null) return true;
  const at = offset + i;
  return (bitmap[at >> 3]! & (1 << (at & 7))) !== 0;
}

function nullBitmapOf(data: Data): Uint8Array | null {
  return data.nullCount > 0 ? data.nullBitmap ?? null : null;
}

/** A validity bitmap for rows [start, start + length), sharing the input's bytes when aligned. */
export function sliceBitmap(bitmap: Uint8Array, start: number, length: number): Uint8Array {
  if ((start & 7) === 0) return bitmap.subarray(start >> 3, (start + length + 7) >> 3);
  const out = new Uint8Array((length + 7) >> 3);
  for (let i = 0; i < length; i++) {
    const at = start + i;
    if (bitmap[at >> 3]! & (1 << (at & 7))) out[i >> 3]! |= 1 << (i & 7);
  }
  return out;
}

function copyBitmapValid(bitmap: Uint8Array | null, offset: number, length: number): Uint8Array {
  if (bitmap === null) return new Uint8Array((length + 7) >> 3).fill(0xff);
  const out = sliceBitmap(bitmap, offset, length);
  return out.buffer === bitmap.buffer ? out.slice() : out;
}

// ---------------------------------------------------------------- numbers

interface Numbers {
  /** One number per row; nulls hold anything. */
  readonly values: ArrayLike<number>;
  /** Whether `values` is the input buffer itself. */
  readonly own: boolean;
}

function bigIntsToNumbers(values: BigInt64Array | BigUint64Array, divisor: bigint, multiplier: number): Float64Array {
  const out = new Float64Array(values.length);
  if (divisor === 1n) for (let i = 0; i < values.length; i++) out[i] = Number(values[i]!) * multiplier;
  else for (let i = 0; i < values.length; i++) out[i] = Number(values[i]! / divisor);
  return out;
}

/** Timestamps in milliseconds; whole milliseconds of finer units (they are sample times, not durations). */
function timeUnitScale(unit: TimeUnit): { divisor: bigint; multiplier: number } {
  switch (unit) {
    case TimeUnit.SECOND: return { divisor: 1n, multiplier: 1000 };
    case TimeUnit.MILLISECOND: return { divisor: 1n, multiplier: 1 };
    case TimeUnit.MICROSECOND: return { divisor: 1000n, multiplier: 1 };
    default: return { divisor: 1_000_000n, multiplier: 1 };
  }
}

/** The numbers of a column, or null when its type cannot hold the field. */
function numbersOf(field: NumericField, data: Data): Numbers | null {
  const type = data.type as DataType;
  const values = data.values as ArrayLike<number> | BigInt64Array | BigUint64Array;
  if (DataType.isFloat(type)) {
    if (type.precision === Precision.DOUBLE) return { values: values as Float64Array, own: true };
    if (type.precision === Precision.SINGLE) return { values: values as Float32Array, own: false };
    return null;
  }
  if (DataType.isInt(type)) {
    if (type.bitWidth === 64) return { values: bigIntsToNumbers(values as BigInt64Array, 1n, 1), own: false };
    return { values: values as ArrayLike<number>, own: true };
  }
  if (field !== 'ts') return null;
  if (DataType.isTimestamp(type)) {
    const { divisor, multiplier } = timeUnitScale(type.unit);
    return { values: bigIntsToNumbers(values as BigInt64Array, divisor, multiplier), own: false };
  }
  if (DataType.isDate(type)) {
    if (type.unit === DateUnit.DAY) return { values: Float64Array.from(values as Int32Array, (d) => d * 86_400_000), own: false };
    return { values: bigIntsToNumbers(values as BigInt64Array, 1n, 1), own: false };
  }
  return null;
}

interface NumberColumn {
  readonly values: Float64Array | Int32Array;
  readonly valid: Uint8Array | null;
  readonly own: boolean;
}

function numberColumn(field: NumericField, data: Data, numbers: Numbers, required: boolean, problems: Problems): NumberColumn {
  const n = data.length;
  const rule = NUMBER_RULES[field];
  const bitmap = nullBitmapOf(data);
  const offset = data.offset;
  const values = numbers.values;
  if (bitmap === null) {
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (!numberOk(rule, v)) note(problems, i, valueProblem(field, v));
    }
  } else if (data.nullCount < n || required) {
    for (let i = 0; i < n; i++) {
      if (!validAt(bitmap, offset, i)) {
        if (required) note(problems, i, valueProblem(field, null));
        continue;
      }
      const v = values[i]!;
      if (!numberOk(rule, v)) note(problems, i, valueProblem(field, v));
    }
  }
  const valid = required || bitmap === null ? null : sliceBitmap(bitmap, offset, n);
  if (field === 'pid') {
    if (values instanceof Int32Array) return { values, valid, own: true };
    return { values: Int32Array.from(values as ArrayLike<number>), valid, own: false };
  }
  if (values instanceof Float64Array) return { values, valid, own: numbers.own };
  return { values: Float64Array.from(values as ArrayLike<number>), valid, own: false };
}

// ---------------------------------------------------------------- strings

interface StringColumn {
  readonly indices: Int32Array;
  readonly dictionary: Data<Utf8>;
  /** The strings of the dictionary, null where the entry is null. */
  readonly entries: readonly (string | null)[];
  readonly valid: Uint8Array | null;
  readonly own: boolean;
}

/** A dictionary's strings (null where an entry is null) and, per entry, 1 when it is a valid value. */
interface Entries {
  readonly strings: readonly (string | null)[];
  readonly ok: Uint8Array;
}

function entriesOf(strings: (string | null)[]): Entries {
  const ok = new Uint8Array(strings.length);
  for (let j = 0; j < strings.length; j++) {
    const s = strings[j];
    ok[j] = s !== null && s !== undefined && stringOk(s) ? 1 : 0;
  }
  return { strings, ok };
}

const entriesCache = new WeakMap<object, Entries>();

function dictionaryEntries(dictionary: Vector): Entries {
  let entries = entriesCache.get(dictionary);
  if (entries === undefined) {
    const strings: (string | null)[] = new Array(dictionary.length);
    for (let j = 0; j < strings.length; j++) strings[j] = (dictionary.get(j) as string | null) ?? null;
    entries = entriesOf(strings);
    entriesCache.set(dictionary, entries);
  }
  return entries;
}

function isStringType(type: DataType): boolean {
  return DataType.isUtf8(type) || DataType.isLargeUtf8(type);
}

function supportsStrings(type: DataType): boolean {
  if (isStringType(type)) return true;
  return DataType.isDictionary(type) && isStringType((type as Dictionary).dictionary) && (type as Dictionary).indices.bitWidth <= 32;
}

function toInt32(values: ArrayLike<number>): Int32Array {
  return values instanceof Int32Array ? values : Int32Array.from(values);
}

/**
 * Checks each row's string; an empty or null entry is an absent value. Rows whose
 * value ends up absent in an optional column get their validity bit cleared in `valid`
 * (created on demand).
 */
function judgeStrings(
  field: StringField, n: number, indices: Int32Array, entries: Entries,
  bitmap: Uint8Array | null, offset: number, nullCount: number, required: boolean, problems: Problems,
): Uint8Array | null {
  if (!required && nullCount === n) return null;
  let valid: Uint8Array | null = null;
  const { strings, ok } = entries;
  const size = strings.length;
  for (let i = 0; i < n; i++) {
    const k = indices[i]!;
    // One byte per dictionary entry answers for every row that points at it.
    if (k >= 0 && k < size && ok[k] === 1 && (bitmap === null || validAt(bitmap, offset, i))) continue;
    if (!validAt(bitmap, offset, i)) {
      if (required) note(problems, i, valueProblem(field, null));
      continue;
    }
    if (k < 0 || k >= size) {
      note(problems, i, { reason: 'invalid_arrow', field, detail: `"${field}" points at dictionary entry ${k} of ${size}` });
      continue;
    }
    const s = strings[k];
    if (s === null || s === undefined || s === '') {
      if (required) note(problems, i, valueProblem(field, s ?? null));
      else {
        valid ??= copyBitmapValid(bitmap, offset, n);
        valid[i >> 3]! &= ~(1 << (i & 7));
      }
      continue;
    }
    note(problems, i, valueProblem(field, s));
  }
  return valid;
}

function dictionaryColumn(field: StringField, data: Data<Dictionary>, required: boolean, problems: Problems): StringColumn {
  const n = data.length;
  const dictionary = data.dictionary!;
  const entries = dictionaryEntries(dictionary);
  const raw = data.values as ArrayLike<number>;
  const indices = toInt32(raw);
  const bitmap = nullBitmapOf(data);
  const cleared = judgeStrings(field, n, indices, entries, bitmap, data.offset, data.nullCount, required, problems);
  const ownDictionary = DataType.isUtf8(data.type.dictionary) && dictionary.data.length === 1;
  const dictData = ownDictionary ? (dictionary.data[0] as Data<Utf8>) : utf8Data(entries.strings.map((s) => s ?? ''));
  const valid = cleared ?? (required || bitmap === null ? null : sliceBitmap(bitmap, data.offset, n));
  return { indices, dictionary: dictData, entries: entries.strings, valid, own: indices === raw && ownDictionary && cleared === null };
}

const decoder = new TextDecoder();

function plainStringColumn(field: StringField, data: Data<Utf8>, required: boolean, problems: Problems): StringColumn {
  const n = data.length;
  const offsets = data.valueOffsets as ArrayLike<number | bigint>;
  const bytes = data.values as Uint8Array;
  const ids = new Map<string, number>();
  const entries: string[] = [];
  const indices = new Int32Array(n);
  const bitmap = nullBitmapOf(data);
  for (let i = 0; i < n; i++) {
    if (!validAt(bitmap, data.offset, i)) continue;
    const s = decoder.decode(bytes.subarray(Number(offsets[i]!), Number(offsets[i + 1]!)));
    let id = ids.get(s);
    if (id === undefined) {
      id = entries.length;
      ids.set(s, id);
      entries.push(s);
    }
    indices[i] = id;
  }
  const cleared = judgeStrings(field, n, indices, entriesOf(entries), bitmap, data.offset, data.nullCount, required, problems);
  const valid = cleared ?? (required || bitmap === null ? null : sliceBitmap(bitmap, data.offset, n));
  return { indices, dictionary: utf8Data(entries), entries, valid, own: false };
}

/** Where `process` is absent it takes the component's name, through one dictionary holding both. */
function fillProcess(process: StringColumn, component: StringColumn, n: number): StringColumn {
  if (process.valid === null) return process;
  const base = process.entries.length;
  const indices = Int32Array.from(process.indices);
  for (let i = 0; i < n; i++) {
    if (!validAt(process.valid, 0, i)) indices[i] = base + component.indices[i]!;
  }
  const entries = [...process.entries, ...component.entries];
  return { indices, dictionary: utf8Data(entries.map((s) => s ?? '')), entries, valid: null, own: false };
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
 * checked `schemaProblem` first.
 */
export function conformBatch(batch: RecordBatch, firstRecord: number, source: string, deadLetter: DeadLetter): ConformedBatch {
  const n = batch.numRows;
  const problems: Problems = new Map();
  let own = true;
  const numbers: Partial<Record<NumericField, NumberColumn>> = {};
  const strings: Partial<Record<StringField, StringColumn>> = {};
  for (const field of SAMPLE_FIELDS) {
    const data = columnData(batch, field);
    if (data === null) continue;
    const required = (REQUIRED_FIELDS as readonly string[]).includes(field);
    if (field === 'ts' || field === 'pid' || field === 'rss' || field === 'host_mem') {
      const col = numberColumn(field, data, numbersOf(field, data)!, required, problems);
      numbers[field] = col;
      own &&= col.own;
    } else {
      const col = DataType.isDictionary(data.type)
        ? dictionaryColumn(field, data as Data<Dictionary>, required, problems)
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
    const records = new Float64Array(n);
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
