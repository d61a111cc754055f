import { isAscii } from 'node:buffer';
import type { DeadLetter } from '../../engine/deadLetter.js';
import type { SampleBatchBuilder } from '../../engine/telemetry/builder.js';
import { emptyRaw, rawFromObject, SampleRow, validateSample, type RawSample } from '../../engine/telemetry/validate.js';
import { LineCursor } from '../file/lines.js';
import { ndjsonParser } from '../file/ndjson.js';

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
  private readonly cursor = new LineCursor();

  constructor(private readonly deadLetter: DeadLetter) {}

  /**
   * Appends the valid samples of `data` to `builder`, calling `full` whenever the
   * builder fills up (the caller builds and stashes its batch). Returns rows appended.
   */
  read(data: Uint8Array, origin: MessageOrigin, builder: SampleBatchBuilder, full: () => void): number {
    const text = decode(data);
    const first = firstNonSpace(text);
    if (first < 0) {
      this.refuse(origin, 'invalid_json', 'message is empty', '');
      return 0;
    }
    if (text.charCodeAt(first) === 91 /* [ */) return this.readArray(text, origin, builder, full);
    if (text.charCodeAt(first) === 123 /* { */ && spansLines(text, first)) {
      // A pretty-printed object is not NDJSON; one parse tells them apart (NDJSON fails at its second line).
      let whole: unknown;
      try {
        whole = JSON.parse(text);
      } catch {
        whole = undefined;
      }
      if (whole !== undefined) return this.readValues([whole], 'object', origin, builder, full);
    }
    return this.readLines(text, origin, builder, full);
  }

  private readLines(text: string, origin: MessageOrigin, builder: SampleBatchBuilder, full: () => void): number {
    const { cursor, raw, row } = this;
    cursor.line = 0;
    cursor.load(text);
    let appended = 0;
    while (cursor.next()) {
      const unreadable = ndjsonParser.parse(cursor, raw);
      if (unreadable === 'skip') continue;
      const invalid = unreadable === null ? validateSample(raw, row) : null;
      if (unreadable !== null || invalid !== null) {
        this.deadLetter.reject({
          reason: (unreadable ?? invalid)!.reason, source: origin.subject, line: origin.seq,
          field: invalid?.field, detail: `message ${origin.seq}, line ${cursor.line}: ${(unreadable ?? invalid)!.detail}`,
          record: cursor.current(),
        });
        continue;
      }
      if (builder.full) full();
      builder.append(row, origin.seq);
      appended++;
    }
    return appended;
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

function decode(data: Uint8Array): string {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // Pure ASCII decodes about 4x faster as latin1, with the same result.
  return isAscii(buf) ? buf.toString('latin1') : buf.toString('utf8');
}

function firstNonSpace(text: string, from = 0): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13 && c !== 0xfeff) return i;
  }
  return -1;
}

/** Whether a line break follows `from` before the text's trailing white space. */
function spansLines(text: string, from: number): boolean {
  const nl = text.indexOf('\n', from);
  return nl >= 0 && firstNonSpace(text, nl) >= 0;
}
