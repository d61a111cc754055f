import { MAX_STRING_LENGTH } from '../../engine/telemetry/schema.js';
import { NUMBER_RULES, numberOk } from '../../engine/telemetry/validate.js';
import { MAX_STRING_BYTES, type ByteStrings } from './byteStrings.js';

/**
 * What `scanSample` read from a line: numbers as values, strings as ByteStrings
 * entries; absent optional values are -1.
 */
export class ScannedSample {
  ts = 0;
  rss = 0;
  pid = -1;
  host_mem = -1;
  host = -1;
  component = -1;
  process = -1;
  region = -1;
  cluster = -1;
  version = -1;
}

const TS = 0, HOST = 1, COMPONENT = 2, PROCESS = 3, PID = 4, RSS = 5, HOST_MEM = 6, REGION = 7, CLUSTER = 8, VERSION = 9;
/** Length of each field's name. */
const NAME_LENGTH = [2, 4, 9, 7, 3, 3, 8, 6, 7, 7];
/** Bytes that may stand in a JSON string as themselves: not '"', '\\' or a control character. */
const PLAIN = Uint8Array.from({ length: 256 }, (_, c) => (c >= 32 && c !== 34 && c !== 92 ? 1 : 0));
const REQUIRED = (1 << TS) | (1 << HOST) | (1 << COMPONENT) | (1 << RSS);
const NUMERIC = (1 << TS) | (1 << PID) | (1 << RSS) | (1 << HOST_MEM);

/**
 * Reads one NDJSON line of `buf`, starting at `start`, straight from its UTF-8 bytes
 * when it is a valid sample in the plain shape that telemetry is written in: one flat
 * object, keys and strings without escapes, numbers in JSON syntax, white space of
 * spaces, tabs and carriage returns. Returns where the line ends (its '\n', or `end`),
 * with the sample in `out`.
 *
 * Answers -1 for anything else, valid or not: a line it does not fully understand
 * (escapes, nested values, a key given twice, a string it cannot keep), and every
 * line that breaks a sample rule, so that the general reader (`JSON.parse` and
 * validateSample) remains the one judge of what is refused and why. When it accepts
 * a line, `out` holds exactly what the general reader would have appended: strings
 * are the UTF-8 decoding of their bytes, as the reader decodes the line before
 * parsing it, and numbers are what `JSON.parse` gives.
 */
export function scanSample(buf: Uint8Array, start: number, end: number, strings: ByteStrings, out: ScannedSample): number {
  let i = skipSpace(buf, start, end);
  if (i >= end || buf[i] !== 123 /* { */) return -1;
  i++;
  let c = 0;
  let seen = 0;
  out.pid = -1; out.host_mem = -1; out.process = -1; out.region = -1; out.cluster = -1; out.version = -1;
  // White space is rare: each place it may stand is checked for it before it is skipped.
  for (;;) {
    if (i >= end || buf[i] !== 34 /* " */) {
      i = skipSpace(buf, i, end);
      if (i >= end || buf[i] !== 34) return -1;
    }
    // The key: a known name, or any plain string.
    const field = keyAt(buf, i + 1, end);
    if (field >= 0) {
      if ((seen & (1 << field)) !== 0) return -1;
      seen |= 1 << field;
      i += 2 + NAME_LENGTH[field]!;
    } else {
      i++;
      while (i < end && PLAIN[buf[i]!] === 1) i++;
      if (i >= end || buf[i] !== 34) return -1;
      i++;
    }
    if (i >= end || buf[i] !== 58 /* : */) {
      i = skipSpace(buf, i, end);
      if (i >= end || buf[i] !== 58) return -1;
    }
    i++;
    if (i >= end) return -1;
    c = buf[i]!;
    if (c === 32 || c === 9 || c === 13) {
      i = skipSpace(buf, i, end);
      if (i >= end) return -1;
      c = buf[i]!;
    }

    if (c === 34) {
      const from = ++i;
      let hash = 0;
      while (i < end && PLAIN[c = buf[i]!] === 1) {
        hash = (Math.imul(hash, 31) + c) | 0;
        i++;
      }
      if (i >= end || c !== 34) return -1;
      const to = i++;
      if (field >= 0) {
        if ((NUMERIC & (1 << field)) !== 0 || to - from > MAX_STRING_BYTES) return -1;
        let entry = strings.find(buf, from, to, hash);
        if (entry < 0) return -1;
        const units = strings.unitsOf(entry);
        if (units > MAX_STRING_LENGTH) return -1;
        if (units === 0) {
          // Empty: refused where required, absent where optional.
          if ((REQUIRED & (1 << field)) !== 0) return -1;
          entry = -1;
        }
        switch (field) {
          case HOST: out.host = entry; break;
          case COMPONENT: out.component = entry; break;
          case PROCESS: out.process = entry; break;
          case REGION: out.region = entry; break;
          case CLUSTER: out.cluster = entry; break;
          default: out.version = entry;
        }
      }
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      // Strict JSON number syntax; up to 15 integer digits are summed as they are read, exactly.
      const from = i;
      const negative = c === 45;
      if (negative) {
        if (++i >= end) return -1;
        c = buf[i]!;
      }
      const digits = i;
      let n = 0;
      if (c === 48) {
        i++;
      } else if (c >= 49 && c <= 57) {
        do {
          n = n * 10 + (c - 48);
          i++;
        } while (i < end && (c = buf[i]!) >= 48 && c <= 57);
      } else {
        return -1;
      }
      c = i < end ? buf[i]! : 0;
      let value: number;
      if (c === 46 /* . */ || c === 101 /* e */ || c === 69 /* E */ || i - digits > 15) {
        if (c === 46) {
          const fraction = ++i;
          while (i < end && (c = buf[i]!) >= 48 && c <= 57) i++;
          if (i === fraction) return -1;
          c = i < end ? buf[i]! : 0;
        }
        if (c === 101 || c === 69) {
          if (++i < end && ((c = buf[i]!) === 43 || c === 45)) i++;
          const exponent = i;
          while (i < end && (c = buf[i]!) >= 48 && c <= 57) i++;
          if (i === exponent) return -1;
        }
        // The text is pure ASCII digits and signs: Number() rounds it as JSON.parse does.
        value = Number(Buffer.from(buf.buffer, buf.byteOffset + from, i - from).toString('latin1'));
      } else {
        value = negative ? -n : n;
      }
      switch (field) {
        case TS: if (!numberOk(NUMBER_RULES.ts, value)) return -1; out.ts = value; break;
        case RSS: if (!numberOk(NUMBER_RULES.rss, value)) return -1; out.rss = value; break;
        case PID: if (!numberOk(NUMBER_RULES.pid, value)) return -1; out.pid = value; break;
        case HOST_MEM: if (!numberOk(NUMBER_RULES.host_mem, value)) return -1; out.host_mem = value; break;
        default: if (field >= 0) return -1;
      }
    } else if (c === 110 /* n */) {
      if (i + 3 >= end || buf[i + 1] !== 117 || buf[i + 2] !== 108 || buf[i + 3] !== 108) return -1;
      i += 4;
      // null: an absent optional value (already -1 in `out`); a required field is missing.
      if (field >= 0 && (REQUIRED & (1 << field)) !== 0) return -1;
    } else if (field < 0 && c === 116 /* t */) {
      if (i + 3 >= end || buf[i + 1] !== 114 || buf[i + 2] !== 117 || buf[i + 3] !== 101) return -1;
      i += 4;
    } else if (field < 0 && c === 102 /* f */) {
      if (i + 4 >= end || buf[i + 1] !== 97 || buf[i + 2] !== 108 || buf[i + 3] !== 115 || buf[i + 4] !== 101) return -1;
      i += 5;
    } else {
      // Objects, arrays, booleans for a known field, anything not JSON.
      return -1;
    }

    c = i < end ? buf[i]! : 0;
    if (c !== 44 /* , */ && c !== 125 /* } */) {
      i = skipSpace(buf, i, end);
      c = i < end ? buf[i]! : 0;
    }
    i++;
    if (c === 44) continue;
    if (c !== 125) return -1;
    if (i < end && buf[i] !== 10) {
      i = skipSpace(buf, i, end);
      if (i < end && buf[i] !== 10) return -1;
    }
    return (seen & REQUIRED) === REQUIRED ? i : -1;
  }
}

/** The first index from `i` that is not a space, tab or carriage return (a line break ends the line). */
function skipSpace(buf: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = buf[i];
    if (c !== 32 && c !== 9 && c !== 13) break;
    i++;
  }
  return i;
}

/**
 * The known field whose name and closing quote start at `k`, or -1. Letters are
 * compared with constants, which is cheaper than comparing with stored names.
 */
function keyAt(b: Uint8Array, k: number, end: number): number {
  const q = 34;
  switch (b[k]) {
    case 116: // ts
      return k + 2 < end && b[k + 1] === 115 && b[k + 2] === q ? TS : -1;
    case 104: // host, host_mem
      if (k + 4 >= end || b[k + 1] !== 111 || b[k + 2] !== 115 || b[k + 3] !== 116) return -1;
      if (b[k + 4] === q) return HOST;
      return k + 8 < end && b[k + 4] === 95 && b[k + 5] === 109 && b[k + 6] === 101 && b[k + 7] === 109 && b[k + 8] === q ? HOST_MEM : -1;
    case 99: // component, cluster
      if (k + 7 < end && b[k + 1] === 108) {
        return b[k + 2] === 117 && b[k + 3] === 115 && b[k + 4] === 116 && b[k + 5] === 101 && b[k + 6] === 114 && b[k + 7] === q ? CLUSTER : -1;
      }
      return k + 9 < end && b[k + 1] === 111 && b[k + 2] === 109 && b[k + 3] === 112 && b[k + 4] === 111 && b[k + 5] === 110
        && b[k + 6] === 101 && b[k + 7] === 110 && b[k + 8] === 116 && b[k + 9] === q ? COMPONENT : -1;
    case 112: // pid, process
      if (k + 3 < end && b[k + 1] === 105) return b[k + 2] === 100 && b[k + 3] === q ? PID : -1;
      return k + 7 < end && b[k + 1] === 114 && b[k + 2] === 111 && b[k + 3] === 99 && b[k + 4] === 101 && b[k + 5] === 115
        && b[k + 6] === 115 && b[k + 7] === q ? PROCESS : -1;
    case 114: // rss, region
      if (k + 3 < end && b[k + 1] === 115) return b[k + 2] === 115 && b[k + 3] === q ? RSS : -1;
      return k + 6 < end && b[k + 1] === 101 && b[k + 2] === 103 && b[k + 3] === 105 && b[k + 4] === 111 && b[k + 5] === 110
        && b[k + 6] === q ? REGION : -1;
    case 118: // version
      return k + 7 < end && b[k + 1] === 101 && b[k + 2] === 114 && b[k + 3] === 115 && b[k + 4] === 105 && b[k + 5] === 111
        && b[k + 6] === 110 && b[k + 7] === q ? VERSION : -1;
    default:
      return -1;
  }
}
