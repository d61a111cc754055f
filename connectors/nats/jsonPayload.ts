import type { DeadLetter } from '../../engine/deadLetter.js';
import type { SampleBatchBuilder } from '../../engine/telemetry/builder.js';
import { emptyRaw, rawFromObject, SampleRow, validateSample, type RawSample } from '../../engine/telemetry/validate.js';
import { ByteStrings } from '../file/byteStrings.js';
import { decode, LineCursor } from '../file/lines.js';
import { NdjsonLines } from '../file/ndjson.js';
import { ScannedSample, scanSample } from '../file/ndjsonScan.js';
import type { LinePlace } from '../file/text.js';

/** Where a message came from, for its batches' records and its dead letters. */
export interface MessageOrigin {
  readonly subject: string;
  /** JetStream stream sequence, or the source's receive count for core NATS. */
  readonly seq: number;
}

/**
 * JSON samples of one message into a batch builder. Three shapes are accepted (the
 * same judge as the NDJSON file reader decides what is a sample): NDJSON, one object
 * per line (a single object is the one-line case); a JSON array of objects; and one
 * object spread over several lines. Every row refused names its message (`line` is
 * the message's sequence) and its line or array position in `detail`.
 */
export class JsonPayloadReader {
  private readonly raw: RawSample = emptyRaw();
  private readonly row = new SampleRow();
  private lines: NdjsonLines | null = null;
  private readonly place = new MessagePlace();
  /** For telling a pretty-printed object from NDJSON: scanSample's scratch. */
  private readonly probeStrings = new ByteStrings();
  private readonly probe = new ScannedSample();

  constructor(private readonly deadLetter: DeadLetter) {}

  /**
   * Appends the valid samples of `data` to `builder`, calling `full` whenever the
   * builder fills up (the caller builds and stashes its batch). Returns rows appended.
   */
  read(data: Uint8Array, origin: MessageOrigin, builder: SampleBatchBuilder, full: () => void): number {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const first = firstNonSpace(buf);
    if (first < 0) {
      this.refuse(origin, 'invalid_json', 'message is empty', '');
      return 0;
    }
    if (buf[first] === 91 /* [ */) return this.readArray(decode(buf, 0, buf.length), origin, builder, full);
    // A pretty-printed object is not NDJSON; one parse tells them apart (NDJSON fails at its second line).
    if (buf[first] === 123 /* { */ && spansLines(buf, first) && scanSample(buf, 0, buf.length, this.probeStrings, this.probe) < 0) {
      let whole: unknown;
      try {
        whole = JSON.parse(decode(buf, 0, buf.length));
      } catch {
        whole = undefined;
      }
      if (whole !== undefined) return this.readValues([whole], 'object', origin, builder, full);
    }
    return this.readLines(buf, origin, builder, full);
  }

  /**
   * NDJSON lines as the file reader takes them: straight from their bytes when
   * `scanSample` reads them, decoded and judged by `JSON.parse` and validation otherwise.
   */
  private readLines(buf: Buffer, origin: MessageOrigin, builder: SampleBatchBuilder, full: () => void): number {
    const lines = this.linesFor(builder);
    this.place.source = origin.subject;
    this.place.seq = origin.seq;
    lines.record = origin.seq;
    lines.cursor.line = 0;
    const before = lines.appended;
    // A message's last rows may fill the builder: the caller cuts that batch, with the message in it.
    for (let at = lines.take(buf, 0); at >= 0; at = lines.take(buf, at)) {
      if (builder.full) {
        full();
        // Between batches, where no entry is held: a table grown full starts over.
        lines.strings.trim();
      }
    }
    return lines.appended - before;
  }

  /** The line reader of `builder` (the caller keeps one builder; a new one gets a new reader). */
  private linesFor(builder: SampleBatchBuilder): NdjsonLines {
    if (this.lines?.builder !== builder) this.lines = new NdjsonLines(builder, this.place, this.deadLetter);
    return this.lines;
  }

  private readArray(text: string, origin: MessageOrigin, builder: SampleBatchBuilder, full: () => void): number {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      this.refuse(origin, 'invalid_json', (err as Error).message, text);
      return 0;
    }
    return this.readValues(value as unknown[], 'element', origin, builder, full);
  }

  private readValues(values: unknown[], what: string, origin: MessageOrigin, builder: SampleBatchBuilder, full: () => void): number {
    const { raw, row } = this;
    let appended = 0;
    for (let k = 0; k < values.length; k++) {
      const v = values[k];
      const where = values.length === 1 && what === 'object' ? `message ${origin.seq}` : `message ${origin.seq}, ${what} ${k + 1}`;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        this.deadLetter.reject({
          reason: 'invalid_json', source: origin.subject, line: origin.seq,
          detail: `${where}: a sample must be a JSON object`, record: JSON.stringify(v) ?? String(v),
        });
        continue;
      }
      rawFromObject(v as Record<string, unknown>, raw);
      const invalid = validateSample(raw, row);
      if (invalid !== null) {
        this.deadLetter.reject({
          reason: invalid.reason, source: origin.subject, line: origin.seq, field: invalid.field,
          detail: `${where}: ${invalid.detail}`, record: v as Record<string, unknown>,
        });
        continue;
      }
      if (builder.full) full();
      builder.append(row, origin.seq);
      appended++;
    }
    return appended;
  }

  private refuse(origin: MessageOrigin, reason: 'invalid_json', detail: string, record: string): void {
    this.deadLetter.reject({ reason, source: origin.subject, line: origin.seq, detail: `message ${origin.seq}: ${detail}`, record });
  }
}

/** Where the lines of a message are: records of the message (its sequence), each dead letter naming its line. */
class MessagePlace implements LinePlace {
  source = '';
  seq = 0;

  record(): number {
    return this.seq;
  }

  detail(cursor: LineCursor, detail: string): string {
    return `message ${this.seq}, line ${cursor.line}: ${detail}`;
  }
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** Index of the first byte that is not white space (nor a UTF-8 byte-order mark), -1 if none. */
function firstNonSpace(buf: Buffer, from = 0): number {
  for (let i = from; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === 0xef && buf[i + 1] === 0xbb && buf[i + 2] === 0xbf) i += 2;
    else if (!isSpace(c)) return i;
  }
  return -1;
}

/** Whether a line break follows `from` before the message's trailing white space. */
function spansLines(buf: Buffer, from: number): boolean {
  const nl = buf.indexOf(10, from);
  return nl >= 0 && firstNonSpace(buf, nl) >= 0;
}
