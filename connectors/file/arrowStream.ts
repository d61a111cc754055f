import type { FileHandle } from 'node:fs/promises';
import { checkMessage, Corrupt, corruptAt, MAX_METADATA } from './arrowGuard.js';

/** Bytes read in order; fewer than asked for only at the end of the input. */
export interface ByteSource {
  read(length: number): Promise<Uint8Array>;
}

const EMPTY = new Uint8Array(0);
/** Read-ahead for the small reads (message prefixes and metadata). */
const BLOCK = 64 << 10;

/**
 * A file read through its handle. Small reads are served from a read-ahead block; a
 * large one (a batch's body) is read straight into a buffer of its own, so that the
 * Arrow decoder gets each body whole, without joining chunks. Blocks are never reused:
 * what was handed out stays valid.
 */
export class HandleBytes implements ByteSource {
  private block: Uint8Array = EMPTY;
  private at = 0;
  private position = 0;

  constructor(private readonly handle: FileHandle) {}

  async read(length: number): Promise<Uint8Array> {
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
    const out = Buffer.allocUnsafe(length);
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

  async read(length: number): Promise<Uint8Array> {
    if (length <= this.head.length) {
      const out = this.head.subarray(0, length);
      this.head = this.head.subarray(length);
      return out;
    }
    const out = Buffer.allocUnsafe(length);
    let got = this.head.length;
    out.set(this.head, 0);
    this.head = EMPTY;
    while (got < length) {
      const next = await this.chunks.next();
      if (next.done) return out.subarray(0, got);
      const take = Math.min(next.value.length, length - got);
      out.set(next.value.subarray(0, take), got);
      got += take;
      this.head = next.value.subarray(take);
    }
    return out;
  }
}

/** An Arrow IPC stream's bytes, cut short before the first damaged message, and why. */
export interface GuardedStream {
  readonly bytes: AsyncGenerator<Uint8Array>;
  /** Set once the bytes were cut short at a damaged message. */
  failure(): unknown;
}

/**
 * An Arrow IPC stream's bytes, one message part per chunk (prefix, metadata, body), each
 * message's metadata checked (arrowGuard.ts) before any of it goes on. Handing the
 * decoder whole parts spares it joining chunks, its largest cost after decoding. At a
 * damaged message the bytes end, after the whole messages before it, and `failure()`
 * says why: the decoder then delivers every batch it had before reporting it. Input
 * that ends mid-message goes on as it is, for the decoder to report.
 */
export function guardStream(input: ByteSource, source: string): GuardedStream {
  let failed: unknown = null;
  return { bytes: messages(input, source, (err) => { failed = err; }), failure: () => failed };
}

const int32 = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, 4).getInt32(0, true);

async function* messages(input: ByteSource, source: string, fail: (err: unknown) => void): AsyncGenerator<Uint8Array> {
  let position = 0;
  for (;;) {
    const messageAt = position;
    // The prefix goes on only with metadata that passed, so that a damaged message leaves no part behind.
    const prefix: Uint8Array[] = [];
    let word = 0;
    for (;;) {
      const bytes = await input.read(4);
      position += bytes.length;
      if (bytes.length < 4) {
        yield* prefix;
        if (bytes.length > 0) yield bytes;
        return;
      }
      prefix.push(bytes);
      word = int32(bytes);
      // -1 is the continuation marker of the current format, and the length follows; alone, a length (legacy format).
      if (word !== -1 || prefix.length === 2) break;
    }
    if (word === 0) {
      yield* prefix;
      return;
    }
    if (!(word > 0 && word <= MAX_METADATA)) {
      fail(corruptAt(source, messageAt, new Corrupt(`a metadata block of ${word} bytes`)));
      return;
    }
    const metadata = await input.read(word);
    position += metadata.length;
    if (metadata.length < word) {
      yield* prefix;
      yield metadata;
      return;
    }
    let body: number;
    try {
      body = checkMessage(metadata);
    } catch (err) {
      fail(corruptAt(source, messageAt, err));
      return;
    }
    yield* prefix;
    yield metadata;
    if (body > 0) {
      const bytes = await input.read(body);
      position += bytes.length;
      yield bytes;
      if (bytes.length < body) return;
    }
  }
}
