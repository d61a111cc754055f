import {
  DataType, DateUnit, Precision, TimeUnit, type Data, type Dictionary, type Utf8, type Vector,
} from 'apache-arrow';
import { utf8Data } from '../../engine/telemetry/arrowData.js';
import type { StringField } from '../../engine/telemetry/schema.js';
import {
  NUMBER_RULES, numberOk, stringOk, valueProblem, type Invalid, type NumberRule, type NumericField,
} from '../../engine/telemetry/validate.js';

/**
 * One Arrow column of any reasonable type as a canonical column, judged row by row by
 * the rules every input format shares (engine/telemetry/validate.ts). A column already
 * of the canonical type is passed through without a copy; others are converted
 * (integers and timestamps to Float64, plain strings to dictionaries). The checks run
 * in typed-array loops, a value is explained only once it failed, and each row's first
 * problem is noted for conformBatch (arrowBatch.ts) to dead-letter.
 */

/** The first problem of each refused row, by row. */
export type Problems = Map<number, Invalid>;

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
export function numbersOf(field: NumericField, data: Data): Numbers | null {
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

/**
 * Index of the first value that breaks `rule`, or `n`: the common all-valid column in
 * one loop per array type, so that each loop reads one kind of array.
 */
function firstInvalid(values: ArrayLike<number>, n: number, rule: NumberRule): number {
  if (values instanceof Float64Array) return rule.integer ? firstBadInteger(values, n, rule.max) : firstBadFloat(values, n, rule.max);
  // Int32 values are integers, and none is above the largest accepted pid or time.
  if (values instanceof Int32Array && rule.max >= 2 ** 31 - 1) return firstNegative(values, n);
  return 0;
}

function firstBadFloat(values: Float64Array, n: number, max: number): number {
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v <= max)) return i;
  }
  return n;
}

function firstBadInteger(values: Float64Array, n: number, max: number): number {
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v <= max && Math.floor(v) === v)) return i;
  }
  return n;
}

function firstNegative(values: Int32Array, n: number): number {
  for (let i = 0; i < n; i++) if (values[i]! < 0) return i;
  return n;
}

export interface NumberColumn {
  readonly values: Float64Array | Int32Array;
  readonly valid: Uint8Array | null;
  readonly own: boolean;
}

/** @param checked every row is known to pass already (arrowFast.ts) */
export function numberColumn(field: NumericField, data: Data, numbers: Numbers, required: boolean, problems: Problems, checked = false): NumberColumn {
  const n = data.length;
  const rule = NUMBER_RULES[field];
  const bitmap = nullBitmapOf(data);
  const offset = data.offset;
  const values = numbers.values;
  if (checked) {
    // Nothing to find.
  } else if (bitmap === null) {
    for (let i = firstInvalid(values, n, rule); i < n; i++) {
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

export interface StringColumn {
  readonly indices: Int32Array;
  readonly dictionary: Data<Utf8>;
  /** The strings of the dictionary, null where the entry is null. */
  readonly entries: readonly (string | null)[];
  readonly valid: Uint8Array | null;
  readonly own: boolean;
}

/** A dictionary's strings (null where an entry is null) and, per entry, 1 when it is a valid value. */
export interface Entries {
  readonly strings: readonly (string | null)[];
  readonly ok: Uint8Array;
  /** Every entry is a valid value: a row then needs only its index checked. */
  readonly allOk: boolean;
}

function entriesOf(strings: (string | null)[]): Entries {
  const ok = new Uint8Array(strings.length);
  let allOk = true;
  for (let j = 0; j < strings.length; j++) {
    const s = strings[j];
    ok[j] = s !== null && s !== undefined && stringOk(s) ? 1 : 0;
    allOk &&= ok[j] === 1;
  }
  return { strings, ok, allOk };
}

/** First row whose index is outside [0, size), or `n`. */
function firstOutside(indices: Int32Array, n: number, size: number): number {
  for (let i = 0; i < n; i++) if ((indices[i]! >>> 0) >= size) return i;
  return n;
}

const entriesCache = new WeakMap<object, Entries>();

export function dictionaryEntries(dictionary: Vector): Entries {
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

export function supportsStrings(type: DataType): boolean {
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
  // Without nulls or bad entries, a row can only be wrong by its index.
  const from = bitmap === null && entries.allOk ? firstOutside(indices, n, size) : 0;
  for (let i = from; i < n; i++) {
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

/** @param checked every row is known to hold a valid value already (arrowFast.ts) */
export function dictionaryColumn(field: StringField, data: Data<Dictionary>, required: boolean, problems: Problems, checked = false): StringColumn {
  const n = data.length;
  const dictionary = data.dictionary!;
  const entries = dictionaryEntries(dictionary);
  const raw = data.values as ArrayLike<number>;
  const indices = toInt32(raw);
  const bitmap = nullBitmapOf(data);
  // A checked column has no nulls and no absent value: there is nothing to clear.
  const cleared = checked ? null : judgeStrings(field, n, indices, entries, bitmap, data.offset, data.nullCount, required, problems);
  const ownDictionary = DataType.isUtf8(data.type.dictionary) && dictionary.data.length === 1;
  const dictData = ownDictionary ? (dictionary.data[0] as Data<Utf8>) : utf8Data(entries.strings.map((s) => s ?? ''));
  const valid = cleared ?? (required || bitmap === null ? null : sliceBitmap(bitmap, data.offset, n));
  return { indices, dictionary: dictData, entries: entries.strings, valid, own: indices === raw && ownDictionary && cleared === null };
}

const decoder = new TextDecoder();

export function plainStringColumn(field: StringField, data: Data<Utf8>, required: boolean, problems: Problems): StringColumn {
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
export function fillProcess(process: StringColumn, component: StringColumn, n: number): StringColumn {
  if (process.valid === null) return process;
  const base = process.entries.length;
  const indices = Int32Array.from(process.indices);
  for (let i = 0; i < n; i++) {
    if (!validAt(process.valid, 0, i)) indices[i] = base + component.indices[i]!;
  }
  const entries = [...process.entries, ...component.entries];
  return { indices, dictionary: utf8Data(entries.map((s) => s ?? '')), entries, valid: null, own: false };
}
