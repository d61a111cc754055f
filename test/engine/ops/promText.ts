/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for tests: it throws
 * on anything a Prometheus server would refuse or that the format leaves undefined
 * (bad names, bad escapes, a family split in two, a second TYPE line, a sample before
 * its TYPE, duplicate series, histogram buckets that are not cumulative or lack +Inf).
 */
export interface PromSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

export interface PromFamily {
  readonly name: string;
  type: string;
  help: string | null;
  readonly samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, line: number): number {
  if (text === 'NaN') return NaN;
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`line ${line}: "${text}" is not a sample value`);
  return Number(text);
}

/** Labels `{a="x",b="y"}` starting at `at`; returns them and the index after `}`. */
function parseLabels(s: string, at: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = at + 1;
  for (;;) {
    if (s[i] === '}') return { labels, end: i + 1 };
    const eq = s.indexOf('=', i);
    if (eq < 0) throw new Error(`line ${line}: label without "="`);
    const name = s.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`line ${line}: bad label name "${name}"`);
    if (name in labels) throw new Error(`line ${line}: label "${name}" given twice`);
    if (s[eq + 1] !== '"') throw new Error(`line ${line}: label value of "${name}" is not quoted`);
    let value = '';
    let j = eq + 2;
    for (;; j++) {
      const c = s[j];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === '\n') throw new Error(`line ${line}: raw line feed in a label value`);
      if (c === '\\') {
        const e = s[++j];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else throw new Error(`line ${line}: bad escape "\\${e}" in a label value`);
        continue;
      }
      value += c;
    }
    labels[name] = value;
    i = j + 1;
    if (s[i] === ',') i++;
    else if (s[i] !== '}') throw new Error(`line ${line}: expected "," or "}" after label "${name}"`);
  }
}

function familyOf(sample: string, families: Map<string, PromFamily>): PromFamily | undefined {
  const direct = families.get(sample);
  if (direct) return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const f = families.get(sample.slice(0, -suffix.length));
    if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f;
  }
  return undefined;
}

export function parsePrometheusText(text: string): Map<string, PromFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('exposition does not end with a line feed');
  const families = new Map<string, PromFamily>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: PromFamily | null = null;
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((raw, k) => {
    const line = k + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(raw);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m;
      if (!NAME.test(name!)) throw new Error(`line ${line}: bad metric name "${name}"`);
      if (closed.has(name!)) throw new Error(`line ${line}: family "${name}" appears again after other families`);
      let f = families.get(name!);
      if (f && f.samples.length > 0) throw new Error(`line ${line}: ${kind} of "${name}" after its samples`);
      if (!f) {
        if (current) closed.add(current.name);
        f = { name: name!, type: 'untyped', help: null, samples: [] };
        families.set(name!, f);
        current = f;
      }
      if (kind === 'TYPE') {
        if (f.type !== 'untyped') throw new Error(`line ${line}: second TYPE for "${name}"`);
        if (!TYPES.has(rest ?? '')) throw new Error(`line ${line}: unknown type "${rest}"`);
        f.type = rest!;
      } else {
        if (f.help !== null) throw new Error(`line ${line}: second HELP for "${name}"`);
        if (/\\[^\\n]/.test((rest ?? '').replace(/\\\\/g, ''))) throw new Error(`line ${line}: bad escape in HELP`);
        f.help = rest ?? '';
      }
      return;
    }
    const nameEnd = raw.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`line ${line}: not a sample: ${raw}`);
    const name = raw.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`line ${line}: bad metric name "${name}"`);
    let labels: Record<string, string> = {};
    let i = nameEnd;
    if (raw[i] === '{') ({ labels, end: i } = parseLabels(raw, i, line));
    if (raw[i] !== ' ') throw new Error(`line ${line}: expected a space before the value`);
    const parts = raw.slice(i + 1).split(' ');
    if (parts.length > 2 || (parts.length === 2 && !/^-?\d+$/.test(parts[1]!))) throw new Error(`line ${line}: bad value or timestamp`);
    const value = parseValue(parts[0]!, line);
    const f = familyOf(name, families);
    if (!f || f.type === 'untyped') throw new Error(`line ${line}: sample "${name}" has no TYPE line before it`);
    if (f !== current) throw new Error(`line ${line}: sample "${name}" is not next to the rest of its family`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`line ${line}: duplicate series ${key}`);
    series.add(key);
    if (f.type === 'counter' && !(value >= 0)) throw new Error(`line ${line}: counter "${name}" is negative or NaN`);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** Buckets per label set: ascending `le`, cumulative counts, a +Inf bucket equal to `_count`. */
function checkHistogram(f: PromFamily): void {
  const groups = new Map<string, { le: number; v: number }[]>();
  const counts = new Map<string, number>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: bucket without "le"`);
      const list = groups.get(key) ?? [];
      list.push({ le: le === '+Inf' ? Infinity : Number(le), v: s.value });
      groups.set(key, list);
    } else if (s.name === `${f.name}_count`) {
      counts.set(key, s.value);
    }
  }
  for (const [key, list] of groups) {
    for (let i = 1; i < list.length; i++) {
      if (!(list[i]!.le > list[i - 1]!.le)) throw new Error(`${f.name}${key}: "le" not ascending`);
      if (list[i]!.v < list[i - 1]!.v) throw new Error(`${f.name}${key}: bucket counts not cumulative`);
    }
    const last = list[list.length - 1]!;
    if (last.le !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket`);
    if (counts.get(key) !== last.v) throw new Error(`${f.name}${key}: +Inf bucket ${last.v} differs from _count ${counts.get(key)}`);
  }
}

/** Value of one series, or undefined. */
export function sampleValue(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.keys(labels).every((k) => s.labels[k] === labels[k])) return s.value;
    }
  }
  return undefined;
}
