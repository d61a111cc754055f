import type { RejectReason } from '../deadLetter.js';
import { MAX_STRING_LENGTH, type StringField } from './schema.js';

/**
 * The rules a sample must meet (docs/telemetry.md), shared by every input format:
 * NDJSON and CSV rows go through `validateSample`, Arrow columns through the same
 * per-value rules (`numberOk`, `stringOk`) in column loops, and every rejection is
 * explained by the same `valueProblem`, so a bad value gets the same reason and
 * wording whatever format it came in.
 */

export type NumericField = 'ts' | 'pid' | 'rss' | 'host_mem';
export type SampleField = NumericField | StringField;

/** Fields in the order they are checked: the first broken one is the one reported. */
export const SAMPLE_FIELDS: readonly SampleField[] = [
  'ts', 'host', 'component', 'process', 'pid', 'rss', 'host_mem', 'region', 'cluster', 'version',
];

export function isNumericField(field: SampleField): field is NumericField {
  return field === 'ts' || field === 'pid' || field === 'rss' || field === 'host_mem';
}

export interface NumberRule {
  readonly integer: boolean;
  /** Largest accepted value; every field is >= 0. */
  readonly max: number;
}

export const NUMBER_RULES: Readonly<Record<NumericField, NumberRule>> = {
  // Millisecond timestamps are integers, and only safe integers survive Float64 exactly.
  ts: { integer: true, max: Number.MAX_SAFE_INTEGER },
  // The canonical column is Int32.
  pid: { integer: true, max: 2 ** 31 - 1 },
  rss: { integer: false, max: Number.MAX_VALUE },
  host_mem: { integer: false, max: Number.MAX_VALUE },
};

/** The whole rule for a number in one expression: NaN and infinities fail both bounds. */
export function numberOk(rule: NumberRule, v: number): boolean {
  return v >= 0 && v <= rule.max && (!rule.integer || Math.floor(v) === v);
}

/** A string attribute present and short enough; an empty string counts as absent. */
export function stringOk(s: string): boolean {
  return s.length > 0 && s.length <= MAX_STRING_LENGTH;
}

/** Why a record is refused, naming the field to blame. */
export interface Invalid {
  readonly reason: RejectReason;
  readonly field: SampleField;
  readonly detail: string;
}

function invalid(reason: RejectReason, field: SampleField, detail: string): Invalid {
  return { reason, field, detail };
}

function show(v: unknown): string {
  if (typeof v === 'string') return v.length > 40 ? `a string of ${v.length} characters` : JSON.stringify(v);
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return 'an array';
  return v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v);
}

/**
 * Why `v` is not acceptable for `field`. Called only once a value failed the fast
 * checks; for an absent or null value it says `missing_field`, which callers ask
 * only for required fields.
 */
export function valueProblem(field: SampleField, v: unknown): Invalid {
  if (v === undefined || v === null) return invalid('missing_field', field, `"${field}" is required`);
  if (isNumericField(field)) {
    if (typeof v !== 'number') return invalid('wrong_type', field, `"${field}" must be a number, got ${show(v)}`);
    const rule = NUMBER_RULES[field];
    if (Number.isNaN(v) || v === Infinity || v === -Infinity) {
      return invalid('not_finite', field, `"${field}" must be finite, got ${v}`);
    }
    if (v < 0) return invalid('negative_value', field, `"${field}" must be >= 0, got ${v}`);
    if (rule.integer && Math.floor(v) !== v) {
      return invalid('wrong_type', field, `"${field}" must be an integer, got ${v}`);
    }
    return invalid('wrong_type', field, `"${field}" must be at most ${rule.max}, got ${v}`);
  }
  if (typeof v !== 'string') return invalid('wrong_type', field, `"${field}" must be a string, got ${show(v)}`);
  if (v.length === 0) return invalid('missing_field', field, `"${field}" is empty`);
  return invalid('string_too_long', field, `"${field}" has ${v.length} characters, more than ${MAX_STRING_LENGTH}`);
}

/**
 * Field values as read, before validation, in the shape `JSON.parse` gives them:
 * a CSV reader fills it with numbers parsed from text (or the text itself when it is
 * not a number), so CSV and NDJSON are judged by the same code.
 */
export interface RawSample {
  ts: unknown;
  host: unknown;
  component: unknown;
  process: unknown;
  pid: unknown;
  rss: unknown;
  host_mem: unknown;
  region: unknown;
  cluster: unknown;
  version: unknown;
}

/** A RawSample with every field absent; reuse one per reader rather than one per row. */
export function emptyRaw(): RawSample {
  return {
    ts: undefined, host: undefined, component: undefined, process: undefined, pid: undefined,
    rss: undefined, host_mem: undefined, region: undefined, cluster: undefined, version: undefined,
  };
}

export function clearRaw(raw: RawSample): void {
  raw.ts = undefined; raw.host = undefined; raw.component = undefined; raw.process = undefined;
  raw.pid = undefined; raw.rss = undefined; raw.host_mem = undefined; raw.region = undefined;
  raw.cluster = undefined; raw.version = undefined;
}

/** Copies the known fields of a parsed JSON object; unknown fields are ignored. */
export function rawFromObject(o: Record<string, unknown>, raw: RawSample): void {
  raw.ts = o.ts; raw.host = o.host; raw.component = o.component; raw.process = o.process;
  raw.pid = o.pid; raw.rss = o.rss; raw.host_mem = o.host_mem; raw.region = o.region;
  raw.cluster = o.cluster; raw.version = o.version;
}

/**
 * A valid sample, ready for the batch builder. One instance is reused for every row;
 * absent optional values are -1 (numbers, which are otherwise >= 0) or null (strings).
 */
export class SampleRow {
  ts = 0;
  host = '';
  component = '';
  process: string | null = null;
  pid = -1;
  rss = 0;
  host_mem = -1;
  region: string | null = null;
  cluster: string | null = null;
  version: string | null = null;
}

function optionalString(field: StringField, v: unknown): string | null | Invalid {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'string' && v.length <= MAX_STRING_LENGTH) return v;
  return valueProblem(field, v);
}

/**
 * Checks `raw` and, when it is a valid sample, writes it into `row` and returns null;
 * otherwise returns why not. Unknown fields were never copied, so they are ignored.
 */
export function validateSample(raw: RawSample, row: SampleRow): Invalid | null {
  const { ts, host, component, rss, pid, host_mem } = raw;
  if (typeof ts === 'number' && numberOk(NUMBER_RULES.ts, ts)) row.ts = ts;
  else return valueProblem('ts', ts);
  if (typeof host === 'string' && stringOk(host)) row.host = host;
  else return valueProblem('host', host);
  if (typeof component === 'string' && stringOk(component)) row.component = component;
  else return valueProblem('component', component);

  const proc = optionalString('process', raw.process);
  if (proc !== null && typeof proc !== 'string') return proc;
  row.process = proc;

  if (pid === undefined || pid === null) row.pid = -1;
  else if (typeof pid === 'number' && numberOk(NUMBER_RULES.pid, pid)) row.pid = pid;
  else return valueProblem('pid', pid);

  if (typeof rss === 'number' && numberOk(NUMBER_RULES.rss, rss)) row.rss = rss;
  else return valueProblem('rss', rss);

  if (host_mem === undefined || host_mem === null) row.host_mem = -1;
  else if (typeof host_mem === 'number' && numberOk(NUMBER_RULES.host_mem, host_mem)) row.host_mem = host_mem;
  else return valueProblem('host_mem', host_mem);

  const region = optionalString('region', raw.region);
  if (region !== null && typeof region !== 'string') return region;
  const cluster = optionalString('cluster', raw.cluster);
  if (cluster !== null && typeof cluster !== 'string') return cluster;
  const version = optionalString('version', raw.version);
  if (version !== null && typeof version !== 'string') return version;
  row.region = region;
  row.cluster = cluster;
  row.version = version;
  return null;
}

const NUMBER_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const NON_FINITE_TEXT = /^[+-]?(?:nan|inf|infinity)$/i;

/**
 * The value of a text cell for a numeric field: undefined when empty, a number when
 * it is written as one (NaN and infinities included, so that they are refused as
 * `not_finite`), else the text itself, which validation refuses as `wrong_type`.
 */
export function numberFromText(text: string): number | string | undefined {
  // Plain digits, by far the common case, are summed without a regex or a trimmed copy.
  const n = text.length;
  if (n > 0 && n <= 15) {
    let v = 0;
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
    }
    if (i === n) return v;
  }
  const t = text.trim();
  if (t.length === 0) return undefined;
  if (NUMBER_TEXT.test(t)) return Number(t);
  if (NON_FINITE_TEXT.test(t)) {
    const lower = t.toLowerCase();
    return lower.endsWith('nan') ? NaN : lower.startsWith('-') ? -Infinity : Infinity;
  }
  return text;
}
