import { DataType, RecordBatchReader, type Data, type Dictionary, type RecordBatch, type Utf8, type Vector } from 'apache-arrow';
import type { DeadLetter, Rejection } from '../../engine/deadLetter.js';
import { makeSampleBatch } from '../../engine/telemetry/arrowData.js';
import type { SampleBatch } from '../../engine/telemetry/schema.js';
import { conformBatch, schemaProblem } from '../file/arrowBatch.js';
import type { MessageOrigin } from './jsonPayload.js';

/** Whether two single-chunk string dictionaries hold the same entries (bytes compared, no decoding). */
function sameStrings(a: Data<Utf8>, b: Data<Utf8>): boolean {
  if (a === b) return true;
  const n = a.length;
  if (n !== b.length || a.offset !== 0 || b.offset !== 0 || a.nullCount !== 0 || b.nullCount !== 0) return false;
  const ao = a.valueOffsets, bo = b.valueOffsets;
  if (ao[0] !== bo[0] || ao[n] !== bo[n]) return false;
  const bytes = (x: ArrayBufferView, from: number, to: number) => Buffer.from(x.buffer, x.byteOffset + from, to - from);
  return bytes(ao, 0, (n + 1) * 4).equals(bytes(bo, 0, (n + 1) * 4))
    && bytes(a.values, ao[0]!, ao[n]!).equals(bytes(b.values, bo[0]!, bo[n]!));
}

/** The first bytes of a payload that cannot be decoded, as hex, for its dead letter. */
function head(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, 64)).toString('hex');
}

/**
 * Arrow IPC stream bytes of one message into canonical batches, through the same
 * conversion and row rules as Arrow files (connectors/file/arrowBatch.ts). A message
 * that cannot be decoded, is cut short, holds no rows or has a schema that cannot give
 * samples is refused whole (`invalid_arrow`, counting its rows when known); single bad
 * rows are refused on their own. Every dead letter names the subject, has the
 * message's sequence as its line and the row (1-based) in its detail.
 */
export class ArrowPayloadReader {
  private origin: MessageOrigin = { subject: '', seq: 0 };
  /** Per column, the last string dictionary seen: a later message with the same entries shares it. */
  private readonly dictionaries = new Map<string, Vector<Utf8>>();
  /** Rewrites the file reader's row-numbered rejections into message-numbered ones. */
  private readonly rows: DeadLetter;

  constructor(private readonly deadLetter: DeadLetter) {
    this.rows = {
      reject: (r: Rejection) => deadLetter.reject({
        ...r, source: this.origin.subject, line: this.origin.seq, detail: `message ${this.origin.seq}, row ${r.line}: ${r.detail}`,
      }),
      close: async () => {},
    };
  }

  /** The valid rows of `data`, each batch's records set to the message's sequence. */
  read(data: Uint8Array, origin: MessageOrigin, into: SampleBatch[]): number {
    this.origin = origin;
    let batches: RecordBatch[];
    try {
      batches = RecordBatchReader.from(data).readAll();
    } catch (err) {
      this.refuse(`Arrow IPC stream cannot be decoded: ${(err as Error).message}`, { bytes: data.byteLength, head: head(data) });
      return 0;
    }
    let total = 0;
    for (const b of batches) total += b.numRows;
    if (total === 0) {
      this.refuse('Arrow IPC stream holds no rows (empty or cut short)', { bytes: data.byteLength, head: head(data) });
      return 0;
    }
    let appended = 0;
    let firstRow = 1;
    for (const batch of batches) {
      const first = firstRow;
      firstRow += batch.numRows;
      if (batch.numRows === 0) continue;
      const bad = schemaProblem(batch);
      if (bad !== null) {
        this.refuse(`${bad.detail}; rows ${first}..${firstRow - 1} refused`, {
          schema: batch.schema.fields.map((f) => `${f.name}: ${String(f.type)}`).join(', '),
        }, batch.numRows, bad.field);
        continue;
      }
      this.shareDictionaries(batch);
      const conformed = conformBatch(batch, first, origin.subject, this.rows);
      if (conformed.columns === null) continue;
      const n = conformed.columns.length;
      into.push({ data: makeSampleBatch(conformed.columns), source: origin.subject, records: new Float64Array(n).fill(origin.seq), watermark: -Infinity });
      appended += n;
    }
    return appended;
  }

  /**
   * Each IPC message carries its own dictionaries, usually the same as the previous
   * message's (a publisher's hosts and processes change slowly). Giving such a column
   * the dictionary object already seen lets everything downstream that keys work by
   * dictionary (validation of its entries, joining the batches of one engine batch,
   * the series catalog) do that work once instead of once per message.
   */
  private shareDictionaries(batch: RecordBatch): void {
    const fields = batch.schema.fields;
    for (let c = 0; c < fields.length; c++) {
      const data = batch.data.children[c] as Data<Dictionary> | undefined;
      if (!data || !DataType.isDictionary(data.type) || !DataType.isUtf8(data.type.dictionary)) continue;
      const dictionary = data.dictionary as Vector<Utf8> | undefined;
      if (!dictionary || dictionary.data.length !== 1) continue;
      const name = fields[c]!.name;
      const seen = this.dictionaries.get(name);
      if (seen && seen !== dictionary && sameStrings(seen.data[0]!, dictionary.data[0]!)) data.dictionary = seen;
      else this.dictionaries.set(name, dictionary);
    }
  }

  private refuse(detail: string, record: Record<string, unknown>, count?: number, field?: string): void {
    this.deadLetter.reject({
      reason: 'invalid_arrow', source: this.origin.subject, line: this.origin.seq, field,
      detail: `message ${this.origin.seq}: ${detail}`, record, ...(count !== undefined ? { count } : {}),
    });
  }
}
