/**
 * The Prometheus text exposition format (version 0.0.4), sample lines only:
 *
 *     # HELP namedprocess_namegroup_memory_bytes number of bytes of memory in use
 *     # TYPE namedprocess_namegroup_memory_bytes gauge
 *     namedprocess_namegroup_memory_bytes{groupname="nginx",memtype="resident"} 2.4576e+07 1767225600000
 *
 * Written here rather than taken from npm: the one parser there
 * (parse-prometheus-text-format) stops at the first line it cannot read, losing the
 * whole scrape, and builds every family of the page, while a scrape wants a few
 * metrics of a page of thousands. This one judges line by line, and skips a line
 * whose metric is not wanted after reading its name only.
 */

/** One sample line. */
export interface ExpositionSample {
  name: string;
  labels: Map<string, string>;
  value: number;
  /** Milliseconds since the epoch, or null when the line has none. */
  timestamp: number | null;
}

const isNameStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
const isNameChar = (c: number) => isNameStart(c) || (c >= 48 && c <= 57);
const isBlank = (c: number) => c === 32 || c === 9;

/** Thrown for a line that is not a sample; the message says where and why. */
export class ExpositionError extends Error {
  override readonly name = 'ExpositionError';
}

function parseValue(text: string): number {
  switch (text) {
    case 'NaN': return NaN;
    case '+Inf': case 'Inf': return Infinity;
    case '-Inf': return -Infinity;
  }
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) throw new ExpositionError(`value "${text}" is not a number`);
  return Number(text);
}

/**
 * Calls `onSample` for each sample line of a wanted metric and `onError` for each line
 * that is not a comment, a blank or a sample. `wanted` sees the metric name first, so
 * unwanted lines cost a scan of their name.
 */
export function parseExposition(
  text: string,
  wanted: (name: string) => boolean,
  onSample: (s: ExpositionSample, line: number) => void,
  onError: (message: string, raw: string, line: number) => void,
): void {
  let start = 0;
  let lineNo = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const raw = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
    start = end + 1;
    let i = 0;
    while (i < raw.length && isBlank(raw.charCodeAt(i))) i++;
    if (i === raw.length || raw.charCodeAt(i) === 35 /* # */) continue;
    const nameStart = i;
    if (!isNameStart(raw.charCodeAt(i))) {
      onError(`a metric name cannot start with ${JSON.stringify(raw[i])}`, raw, lineNo);
      continue;
    }
    while (i < raw.length && isNameChar(raw.charCodeAt(i))) i++;
    const name = raw.slice(nameStart, i);
    if (!wanted(name)) continue;
    try {
      onSample(parseRest(raw, i, name), lineNo);
    } catch (err) {
      if (!(err instanceof ExpositionError)) throw err;
      onError(err.message, raw, lineNo);
    }
  }
}

/** Labels, value and timestamp after the name, which ends at `at`. */
function parseRest(raw: string, at: number, name: string): ExpositionSample {
  let i = at;
  const labels = new Map<string, string>();
  while (i < raw.length && isBlank(raw.charCodeAt(i))) i++;
  if (raw.charCodeAt(i) === 123 /* { */) {
    i++;
    for (;;) {
      while (i < raw.length && isBlank(raw.charCodeAt(i))) i++;
      if (raw.charCodeAt(i) === 125 /* } */) { i++; break; }
      const ls = i;
      if (!isNameStart(raw.charCodeAt(i)) || raw.charCodeAt(i) === 58) throw new ExpositionError(`bad label name at column ${i + 1}`);
      while (i < raw.length && isNameChar(raw.charCodeAt(i)) && raw.charCodeAt(i) !== 58) i++;
      const label = raw.slice(ls, i);
      while (i < raw.length && isBlank(raw.charCodeAt(i))) i++;
      if (raw.charCodeAt(i) !== 61 /* = */) throw new ExpositionError(`expected "=" after label ${label}`);
      i++;
      while (i < raw.length && isBlank(raw.charCodeAt(i))) i++;
      if (raw.charCodeAt(i) !== 34 /* " */) throw new ExpositionError(`expected a quoted value for label ${label}`);
      i++;
      let value = '';
      let from = i;
      for (;;) {
        if (i >= raw.length) throw new ExpositionError(`unterminated value of label ${label}`);
        const c = raw.charCodeAt(i);
        if (c === 34) break;
        if (c === 92 /* \ */) {
          value += raw.slice(from, i);
          const e = raw[i + 1];
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else throw new ExpositionError(`unknown escape \\${e ?? ''} in label ${label}`);
          i += 2;
          from = i;
          continue;
        }
        i++;
      }
      value += raw.slice(from, i);
      i++;
      if (labels.has(label)) throw new ExpositionError(`label ${label} given twice`);
      labels.set(label, value);
      while (i < raw.length && isBlank(raw.charCodeAt(i))) i++;
      if (raw.charCodeAt(i) === 44 /* , */) { i++; continue; }
      if (raw.charCodeAt(i) === 125) { i++; break; }
      throw new ExpositionError(`expected "," or "}" after label ${label}`);
    }
  }
  const rest = raw.slice(i).trim().split(/[ \t]+/);
  if (rest.length === 0 || rest[0] === '') throw new ExpositionError(`no value for ${name}`);
  if (rest.length > 2) throw new ExpositionError(`unexpected text after the timestamp: "${rest.slice(2).join(' ')}"`);
  const value = parseValue(rest[0]!);
  let timestamp: number | null = null;
  if (rest.length === 2) {
    if (!/^-?\d+$/.test(rest[1]!)) throw new ExpositionError(`timestamp "${rest[1]}" is not an integer of milliseconds`);
    timestamp = Number(rest[1]);
  }
  return { name, labels, value, timestamp };
}
