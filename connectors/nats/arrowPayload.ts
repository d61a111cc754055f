import { RecordBatchReader, type RecordBatch } from 'apache-arrow';
import type { DeadLetter, Rejection } from '../../engine/deadLetter.js';
import { makeSampleBatch } from '../../engine/telemetry/arrowData.js';
import type { SampleBatch } from '../../engine/telemetry/schema.js';
import { conformBatch, schemaProblem } from '../file/arrowBatch.js';
import type { MessageOrigin } from './jsonPayload.js';

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
      const conformed = conformBatch(batch, first, origin.subject, this.rows);
      if (conformed.columns === null) continue;
      const n = conformed.columns.length;
      into.push({ data: makeSampleBatch(conformed.columns), source: origin.subject, records: new Float64Array(n).fill(origin.seq), watermark: -Infinity });
      appended += n;
    }
    return appended;
  }

  private refuse(detail: string, record: Record<string, unknown>, count?: number, field?: string): void {
    this.deadLetter.reject({
      reason: 'invalid_arrow', source: this.origin.subject, line: this.origin.seq, field,
      detail: `message ${this.origin.seq}: ${detail}`, record, ...(count !== undefined ? { count } : {}),
    });
  }
}
