import { Message, RecordBatchReader, type RecordBatch, type Schema } from 'apache-arrow';
import { HEADER_RECORD_BATCH, HEADER_SCHEMA } from './arrowGuard.js';
import type { IpcMessage } from './arrowStream.js';

/**
 * Record batches from checked IPC messages (arrowStream.ts) through apache-arrow's
 * synchronous stream reader. Its asynchronous reader wraps every part it reads in
 * several layers of async generators, which cost as much as validating the batch's
 * every value; the synchronous one reads the same parts directly. It must never find
 * its input empty before the input has ended, so the messages up to and including
 * the next record batch are read (asynchronously, from the file) before each batch
 * is asked for: the reader then stops at that batch without reading on. That reading
 * starts as soon as the previous batch is handed out, so that the file is read while
 * the engine works on that batch: at most one batch is read ahead.
 */
export class BatchFeed {
  private readonly parts = new Parts();
  private reader: RecordBatchReader | null = null;
  /** The reading of the next batch's messages, or null when none is under way. */
  private ahead: Promise<void> | null = null;
  private first = true;

  /** @param schema put before the messages when they do not start with one (a file's, from its footer) */
  constructor(private readonly messages: AsyncIterator<IpcMessage>, private readonly schema?: Schema) {}

  /** Reads up to the first batch and opens the reader; the schema is null for empty input. */
  async open(): Promise<Schema | null> {
    await this.fill();
    const reader = RecordBatchReader.from(this.parts as Iterable<Uint8Array>) as RecordBatchReader;
    this.reader = reader.open() as RecordBatchReader;
    return this.reader.schema ?? null;
  }

  /** The next batch, or null at the end of the input. */
  async next(): Promise<RecordBatch | null> {
    const ahead = this.ahead;
    this.ahead = null;
    // A failure of the reading ahead belongs to this batch.
    if (ahead !== null) await ahead;
    const next = this.reader!.next() as IteratorResult<RecordBatch>;
    if (next.done) return null;
    this.ahead = this.fill();
    this.ahead.catch(() => {});
    return next.value;
  }

  /** Waits for the reading ahead (its failure no longer matters), then lets the reader go. */
  async close(): Promise<void> {
    const ahead = this.ahead;
    this.ahead = null;
    await ahead?.catch(() => {});
    try {
      this.reader?.return();
    } catch {
      // The reader had already failed; there is nothing left to release.
    }
  }

  /** Queues the messages up to and including the next record batch, or to the end of the input. */
  private async fill(): Promise<void> {
    if (this.parts.ended) return;
    for (;;) {
      const next = await this.messages.next();
      if (this.first && this.schema && (next.done || next.value.kind !== HEADER_SCHEMA)) this.parts.push(schemaParts(this.schema));
      this.first = false;
      if (next.done) {
        this.parts.ended = true;
        return;
      }
      this.parts.push(next.value.parts);
      if (next.value.kind === HEADER_RECORD_BATCH) return;
    }
  }
}

const NOTHING = new Uint8Array(0);

/** A schema as the parts of a stream's first message. */
function schemaParts(schema: Schema): Uint8Array[] {
  const metadata = Message.encode(Message.from(schema));
  return [new Uint8Array(Int32Array.of(-1, metadata.length).buffer), metadata];
}

/**
 * The message parts queued for the reader, each handed out once and then dropped, so
 * that no more than one batch's bytes are held. The reader asks for one part more
 * than it needs whenever a read takes all it has buffered (apache-arrow's
 * io/adapters.mjs), so it gets one empty part, which it skips, once the queue is
 * empty; asked again before anything was queued, the reader truly needs bytes that
 * the message does not hold.
 */
class Parts implements Iterator<Uint8Array> {
  ended = false;
  private queue: (Uint8Array | null)[] = [];
  private at = 0;
  private starved = false;

  push(parts: readonly Uint8Array[]): void {
    if (this.at === this.queue.length) {
      this.queue.length = 0;
      this.at = 0;
    }
    for (const part of parts) this.queue.push(part);
    this.starved = false;
  }

  next(): IteratorResult<Uint8Array> {
    if (this.at < this.queue.length) {
      const value = this.queue[this.at]!;
      this.queue[this.at++] = null;
      return { done: false, value };
    }
    if (this.ended) return { done: true, value: undefined };
    if (!this.starved) {
      this.starved = true;
      return { done: false, value: NOTHING };
    }
    throw new Error('a message claims more bytes than it holds');
  }

  [Symbol.iterator](): Iterator<Uint8Array> {
    return this;
  }
}
