import type { FileHandle } from 'node:fs/promises';
import { SourceError } from '../../engine/errors.js';

/**
 * Checks of Arrow IPC metadata before apache-arrow decodes it. The library trusts the
 * lengths written in a message: a corrupt vector length makes it loop and allocate
 * until the process runs out of memory, which no try/catch can stop. Every length it
 * loops over (fields, children, key-value pairs, field nodes, buffers) is bounded
 * here by the bytes that would have to hold it, and every buffer by the message body,
 * so that damaged bytes end a read with a SourceError instead.
 */

/** Largest metadata block accepted; real ones are a few KiB. */
export const MAX_METADATA = 64 << 20;
/** Arrow JS addresses bodies with 32-bit offsets. */
const MAX_BODY = 2 ** 31 - 1;
const MAX_DEPTH = 64;

export const HEADER_SCHEMA = 1;
export const HEADER_DICTIONARY = 2;
export const HEADER_RECORD_BATCH = 3;

/** Metadata that cannot be what it claims. */
export class Corrupt extends Error {}

/** A bounds-checked reader of the few FlatBuffers tables Arrow metadata uses. */
class Flat {
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(at: number, size: number): void {
    if (!(at >= 0 && at + size <= this.bytes.length)) throw new Corrupt(`offset ${at} is outside the ${this.bytes.length}-byte metadata`);
  }

  u8(at: number): number {
    this.need(at, 1);
    return this.bytes[at]!;
  }

  u16(at: number): number {
    this.need(at, 2);
    return this.view.getUint16(at, true);
  }

  i32(at: number): number {
    this.need(at, 4);
    return this.view.getInt32(at, true);
  }

  i64(at: number): number {
    this.need(at, 8);
    return Number(this.view.getBigInt64(at, true));
  }

  root(): number {
    return this.table(0);
  }

  /** Position of the table that the offset at `at` points to. */
  table(at: number): number {
    const t = at + this.i32(at);
    const vtable = t - this.i32(t);
    const size = this.u16(vtable);
    if (size < 4 || size % 2 !== 0) throw new Corrupt(`table at ${t} has a vtable of ${size} bytes`);
    this.need(vtable, size);
    return t;
  }

  /** Position of field `index` of the table at `t`, or 0 when it is absent. */
  field(t: number, index: number): number {
    const vtable = t - this.i32(t);
    const slot = 4 + 2 * index;
    if (slot >= this.u16(vtable)) return 0;
    const offset = this.u16(vtable + slot);
    return offset === 0 ? 0 : t + offset;
  }

  /** Start and length of the vector in field `index`, every element inside the metadata. */
  vector(t: number, index: number, elementSize: number): { start: number; length: number } {
    const at = this.field(t, index);
    if (at === 0) return { start: 0, length: 0 };
    const v = at + this.i32(at);
    const length = this.i32(v);
    if (length < 0) throw new Corrupt(`vector at ${v} has length ${length}`);
    this.need(v + 4, length * elementSize);
    return { start: v + 4, length };
  }

  string(at: number): void {
    const s = at + this.i32(at);
    const length = this.i32(s);
    if (length < 0) throw new Corrupt(`string at ${s} has length ${length}`);
    this.need(s + 4, length);
  }

  int64Field(t: number, index: number): number {
    const at = this.field(t, index);
    return at === 0 ? 0 : this.i64(at);
  }
}

function keyValues(f: Flat, t: number, index: number): void {
  const { start, length } = f.vector(t, index, 4);
  for (let i = 0; i < length; i++) {
    const kv = f.table(start + 4 * i);
    const key = f.field(kv, 0);
    const value = f.field(kv, 1);
    if (key) f.string(key);
    if (value) f.string(value);
  }
}

function fields(f: Flat, t: number, index: number, depth: number): void {
  if (depth > MAX_DEPTH) throw new Corrupt(`fields nested deeper than ${MAX_DEPTH}`);
  const { start, length } = f.vector(t, index, 4);
  for (let i = 0; i < length; i++) {
    const field = f.table(start + 4 * i);
    const name = f.field(field, 0);
    if (name) f.string(name);
    const type = f.field(field, 3);
    if (type) f.table(type);
    const dictionary = f.field(field, 4);
    if (dictionary) {
      const encoding = f.table(dictionary);
      const indexType = f.field(encoding, 1);
      if (indexType) f.table(indexType);
    }
    fields(f, field, 5, depth + 1);
    keyValues(f, field, 6);
  }
}

function schema(f: Flat, t: number): void {
  fields(f, t, 1, 0);
  keyValues(f, t, 2);
  f.vector(t, 3, 8);
}

function recordBatch(f: Flat, t: number, bodyLength: number): void {
  const rows = f.int64Field(t, 0);
  if (!(rows >= 0 && rows <= MAX_BODY)) throw new Corrupt(`a batch of ${rows} rows`);
  const nodes = f.vector(t, 1, 16);
  for (let i = 0; i < nodes.length; i++) {
    const length = f.i64(nodes.start + 16 * i);
    const nulls = f.i64(nodes.start + 16 * i + 8);
    if (!(length >= 0 && length <= rows && nulls >= 0 && nulls <= length)) {
      throw new Corrupt(`column ${i} claims ${length} rows (${nulls} null) in a batch of ${rows}`);
    }
  }
  const buffers = f.vector(t, 2, 16);
  for (let i = 0; i < buffers.length; i++) {
    const offset = f.i64(buffers.start + 16 * i);
    const length = f.i64(buffers.start + 16 * i + 8);
    if (!(offset >= 0 && length >= 0 && offset + length <= bodyLength)) {
      throw new Corrupt(`buffer ${i} (${length} bytes at ${offset}) lies outside the ${bodyLength}-byte body`);
    }
  }
  f.vector(t, 4, 8);
}

/** What a checked message's metadata says of it. */
export interface MessageHead {
  /** Header kind: schema, dictionary batch or record batch. */
  readonly kind: number;
  /** Bytes of the body that follows the metadata. */
  readonly body: number;
}

/**
 * Checks one message's metadata (without its 8-byte prefix) and returns its kind and
 * body length. Only schemas and batches are accepted: the library's file reader never
 * moves past a block of any other kind.
 */
export function checkMessageHead(metadata: Uint8Array, expected?: number): MessageHead {
  const f = new Flat(metadata);
  const message = f.root();
  const typeAt = f.field(message, 1);
  const headerType = typeAt === 0 ? 0 : f.u8(typeAt);
  if (headerType !== HEADER_SCHEMA && headerType !== HEADER_DICTIONARY && headerType !== HEADER_RECORD_BATCH) {
    throw new Corrupt(`a message of unknown kind ${headerType}`);
  }
  if (expected !== undefined && headerType !== expected) throw new Corrupt(`a message of kind ${headerType} where kind ${expected} belongs`);
  const bodyLength = f.int64Field(message, 3);
  if (!(bodyLength >= 0 && bodyLength <= MAX_BODY)) throw new Corrupt(`a message body of ${bodyLength} bytes`);
  const headerAt = f.field(message, 2);
  if (headerAt !== 0) {
    const header = f.table(headerAt);
    if (headerType === HEADER_SCHEMA) schema(f, header);
    else if (headerType === HEADER_RECORD_BATCH) recordBatch(f, header, bodyLength);
    else if (headerType === HEADER_DICTIONARY) {
      const data = f.field(header, 1);
      if (data) recordBatch(f, f.table(data), bodyLength);
    }
  }
  keyValues(f, message, 4);
  return { kind: headerType, body: bodyLength };
}

/** Checks one message's metadata (without its 8-byte prefix) and returns its body length. */
export function checkMessage(metadata: Uint8Array, expected?: number): number {
  return checkMessageHead(metadata, expected).body;
}

/** A Corrupt error as the SourceError a reader reports, naming the input and the byte; other errors as they are. */
export function corruptAt(source: string, at: number, err: unknown): unknown {
  return err instanceof Corrupt ? new SourceError(`"${source}": corrupt Arrow IPC metadata at byte ${at}: ${err.message}`) : err;
}

/**
 * Checks an Arrow IPC file's footer and the metadata of every block it lists, reading
 * only those (a few bytes per batch), before any batch is decoded. Returns where the
 * footer starts (the messages before it are laid out as a stream) and its bytes.
 */
export async function checkFile(handle: FileHandle, source: string): Promise<{ footerAt: number; footer: Uint8Array }> {
  const { size } = await handle.stat();
  const read = async (position: number, length: number): Promise<Uint8Array> => {
    if (!(position >= 0 && length >= 0 && position + length <= size)) {
      throw new Corrupt(`${length} bytes at ${position} lie outside the ${size}-byte file`);
    }
    const buf = Buffer.alloc(length);
    await handle.read(buf, 0, length, position);
    return buf;
  };
  let at = size - 10;
  try {
    if (size < 18) throw new Corrupt(`${size} bytes cannot hold an Arrow file`);
    const tail = await read(size - 10, 10);
    if (Buffer.from(tail.subarray(4)).toString('latin1') !== 'ARROW1') throw new Corrupt('the file does not end with its footer (truncated?)');
    const footerLength = Buffer.from(tail).readInt32LE(0);
    at = size - 10 - footerLength;
    if (!(footerLength > 0 && footerLength <= MAX_METADATA)) throw new Corrupt(`a footer of ${footerLength} bytes`);
    const footerBytes = await read(at, footerLength);
    const f = new Flat(footerBytes);
    const footer = f.root();
    const schemaAt = f.field(footer, 1);
    if (schemaAt) schema(f, f.table(schemaAt));
    keyValues(f, footer, 4);
    for (const [index, kind] of [[2, HEADER_DICTIONARY], [3, HEADER_RECORD_BATCH]] as const) {
      const blocks = f.vector(footer, index, 24);
      for (let i = 0; i < blocks.length; i++) {
        const offset = f.i64(blocks.start + 24 * i);
        const metadataLength = f.i32(blocks.start + 24 * i + 8);
        const bodyLength = f.i64(blocks.start + 24 * i + 16);
        at = offset;
        if (!(metadataLength > 8 && metadataLength <= MAX_METADATA && bodyLength >= 0 && offset + metadataLength + bodyLength <= size)) {
          throw new Corrupt(`block ${i} (${metadataLength} + ${bodyLength} bytes at ${offset}) does not fit the file`);
        }
        const block = await read(offset, metadataLength);
        const prefix = Buffer.from(block.buffer, block.byteOffset, 8).readInt32LE(0) === -1 ? 8 : 4;
        if (checkMessage(block.subarray(prefix), kind) !== bodyLength) throw new Corrupt(`block ${i}'s message and footer disagree on its body length`);
      }
    }
    return { footerAt: size - 10 - footerLength, footer: footerBytes };
  } catch (err) {
    throw corruptAt(source, at, err);
  }
}
