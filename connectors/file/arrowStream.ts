import type { FileHandle } from 'node:fs/promises';
import { checkMessageHead, Corrupt, corruptAt, HEADER_RECORD_BATCH, MAX_METADATA } from './arrowGuard.js';

/** Bytes read in order; fewer than asked for only at the end of the input. */
export interface ByteSource {
  /**
   * `into` (at least `length` bytes), when given, may receive the bytes, and the result
   * is then a view of it; otherwise it is memory the source never hands out again.
   */
  read(length: number, into?: Uint8Array): Promise<Uint8Array>;
}

/**
 * Buffers of one kind (record batch bodies, their record numbers), taken in turn.
 * Reused only when every node the batches reach releases them once handled
 * (NodeContext.reuseBatches). Three suffice: when the body of batch k + 2 is read (one
 * batch ahead, arrowFeed.ts), batch k + 1 is the one being handled, and batch k was
 * settled, work the flow let run behind it included (engine/flow.ts), so only k's
 * buffer is overwritten. Each buffer grows to the largest length put in it, so memory
 * stays bounded by the input's largest batch.
 */
export class BufferRing<T extends Uint8Array | Float64Array> {
  private readonly buffers: (T | null)[] = [null, null, null];
  private turn = 0;

  constructor(private readonly make: (length: number) => T) {}

  take(length: number): T {
    const i = this.turn;
    this.turn = (i + 1) % this.buffers.length;
    let buffer = this.buffers[i]!;
    if (buffer === null || buffer.length < length) buffer = this.buffers[i] = this.make(length);
    return buffer.subarray(0, length) as T;
  }
}

/** A ring of record batch bodies. */
export const bodyRing = (): BufferRing<Uint8Array> => new BufferRing((n) => Buffer.allocUnsafe(n));

const EMPTY = new Uint8Array(0);
/** Read-ahead for the small reads (message prefixes and metadata). */
const BLOCK = 64 << 10;

/**
 * A file read through its handle, from `start` up to `end`. Small reads are served from
 * a read-ahead block; a large one (a batch's body) is read straight into a buffer of
 * its own, so that the Arrow decoder gets each body whole, without joining chunks.
 * Blocks are never reused: what was handed out stays valid.
 */
export class HandleBytes implements ByteSource {
  private block: Uint8Array = EMPTY;
  private at = 0;
  private position: number;

  constructor(private readonly handle: FileHandle, start = 0, private readonly end = Infinity) {
    this.position = start;
  }

  async read(length: number, into?: Uint8Array): Promise<Uint8Array> {
    const avail = this.block.length - this.at;
    if (length <= avail) return this.take(length);
    if (length <= BLOCK / 2) {
      const next = Buffer.allocUnsafe(BLOCK);
      next.set(this.block.subarray(this.at), 0);
      const got = await this.fill(next, avail, BLOCK - avail);
      this.block = next.subarray(0, avail + got);
      this.at = 0;
      return this.take(Math.min(length, this.block.length));
    }
    const out = into ?? Buffer.allocUnsafe(length);
    out.set(this.block.subarray(this.at), 0);
    this.block = EMPTY;
    this.at = 0;
    const got = await this.fill(out, avail, length - avail);
    return avail + got < length ? out.subarray(0, avail + got) : out;
  }

  private take(length: number): Uint8Array {
    const out = this.block.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }

  /** Reads up to `length` bytes into `into` at `offset`; fewer only at the end of the file. */
  private async fill(into: Uint8Array, offset: number, length: number): Promise<number> {
    let got = 0;
    length = Math.max(0, Math.min(length, this.end - this.position));
    while (got < length) {
      const { bytesRead } = await this.handle.read(into, offset + got, length - got, this.position);
      if (bytesRead === 0) break;
      got += bytesRead;
      this.position += bytesRead;
    }
    return got;
  }
}

/** Chunks of a stream (e.g. gunzipped bytes): a read within one chunk is a view of it, one across chunks a copy. */
export class ChunkBytes implements ByteSource {
  private head: Uint8Array = EMPTY;

  constructor(private readonly chunks: AsyncIterator<Uint8Array>) {}

  async read(length: number, into?: Uint8Array): Promise<Uint8Array> {
    if (length <= this.head.length && into === undefined) {
      const out = this.head.subarray(0, length);
      this.head = this.head.subarray(length);
      return out;
    }
    const out = into ?? Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      if (this.head.length === 0) {
        const next = await this.chunks.next();
        if (next.done) return out.subarray(0, got);
        this.head = next.value;
      }
      const take = Math.min(this.head.length, length - got);
      out.set(this.head.subarray(0, take), got);
      got += take;
      this.head = this.head.subarray(take);
    }
    return out;
  }
}

/** One message of an Arrow IPC stream: its parts (prefix words, metadata, body) and its kind. */
export interface IpcMessage {
  /** Header kind (arrowGuard.ts), or 0 for the end-of-stream marker and for bytes that end mid-message. */
  readonly kind: number;
  readonly parts: Uint8Array[];
}

/** An Arrow IPC stream's messages, cut short before the first damaged one, and why. */
export interface GuardedStream {
  readonly messages: AsyncGenerator<IpcMessage>;
  /** Set once the messages were cut short at a damaged one. */
  failure(): unknown;
}

/**
 * An Arrow IPC stream's messages, each one's metadata checked (arrowGuard.ts) before any
 * of it goes on, its parts (prefix, metadata, body) as read: handing the decoder whole
 * parts spares it joining chunks, its largest cost after decoding. At a damaged
 * message the messages end, after the whole ones before it, and `failure()` says why:
 * the decoder then delivers every batch it had before reporting it. Input that ends
 * mid-message goes on as it is, for the decoder to report.
 */
export function guardStream(input: ByteSource, source: string, bodies?: BufferRing<Uint8Array>): GuardedStream {
  let failed: unknown = null;
  return { messages: messages(input, source, (err) => { failed = err; }, bodies), failure: () => failed };
}

const int32 = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, 4).getInt32(0, true);

async function* messages(input: ByteSource, source: string, fail: (err: unknown) => void, bodies?: BufferRing<Uint8Array>): AsyncGenerator<IpcMessage> {
  let position = 0;
  for (;;) {
    const messageAt = position;
    // Nothing of a message goes on before its metadata passed, so that a damaged message leaves no part behind.
    const parts: Uint8Array[] = [];
    let word = 0;
    for (;;) {
      const bytes = await input.read(4);
      position += bytes.length;
      if (bytes.length < 4) {
        if (bytes.length > 0) parts.push(bytes);
        if (parts.length > 0) yield { kind: 0, parts };
        return;
      }
      parts.push(bytes);
      word = int32(bytes);
      // -1 is the continuation marker of the current format, and the length follows; alone, a length (legacy format).
      if (word !== -1 || parts.length === 2) break;
    }
    if (word === 0) {
      yield { kind: 0, parts };
      return;
    }
    if (!(word > 0 && word <= MAX_METADATA)) {
      fail(corruptAt(source, messageAt, new Corrupt(`a metadata block of ${word} bytes`)));
      return;
    }
    const metadata = await input.read(word);
    position += metadata.length;
    if (metadata.length < word) {
      parts.push(metadata);
      yield { kind: 0, parts };
      return;
    }
    let head: { kind: number; body: number };
    try {
      head = checkMessageHead(metadata);
    } catch (err) {
      fail(corruptAt(source, messageAt, err));
      return;
    }
    parts.push(metadata);
    if (head.body > 0) {
      // Dictionaries stay with the decoder across batches: only record batch bodies are reused.
      const into = bodies && head.kind === HEADER_RECORD_BATCH ? bodies.take(head.body) : undefined;
      const bytes = await input.read(head.body, into);
      position += bytes.length;
      parts.push(bytes);
      if (bytes.length < head.body) {
        yield { kind: 0, parts };
        return;
      }
    }
    yield { kind: head.kind, parts };
  }
}
