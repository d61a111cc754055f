import type { SampleBatchBuilder } from '../../engine/telemetry/builder.js';

/** Longest value kept, in bytes: 1,024 UTF-16 units take at most 3 bytes each. */
export const MAX_STRING_BYTES = 3 * 1024;

/** String columns of the builder (HOST ... VERSION). */
const COLUMNS = 6;

/**
 * Strings recognised by their UTF-8 bytes: host, component and process names repeat
 * on every line, and finding one by its bytes and a hash taken while scanning them
 * costs neither a string per value nor a Map lookup per row. Each distinct value is
 * decoded once; the builder's number for it is kept per column and batch, so that a
 * row's strings cost the builder nothing after their first row in a batch.
 *
 * Bounded: past `maxEntries` values or `maxBytes` of them, `find` answers -1 (the
 * caller reads the line another way) until `trim` starts over, between batches.
 */
export class ByteStrings {
  /** Entry + 1 per slot, 0 when free; open addressing, at most half full. */
  private slots = new Int32Array(1024);
  private hashes = new Int32Array(512);
  private starts = new Int32Array(512);
  private lengths = new Int32Array(512);
  /** UTF-16 length of each entry's string. */
  private units = new Int32Array(512);
  private pool = new Uint8Array(16 * 1024);
  private poolUsed = 0;
  private readonly strings: string[] = [];
  /** Per entry and column: the builder generation that `ids` is good for. */
  private generations = new Int32Array(512 * COLUMNS).fill(-1);
  private ids = new Int32Array(512 * COLUMNS);
  private count = 0;

  constructor(private readonly maxEntries = 1 << 16, private readonly maxBytes = 4 << 20) {}

  get size(): number {
    return this.count;
  }

  /**
   * The entry for `buf[start, end)`, whose `hash` is `hash(31 * h + byte)` over its
   * bytes from 0 (as a scanner takes it in passing), added if new; -1 when full.
   * The bytes must be a JSON string's content without escapes.
   */
  find(buf: Uint8Array, start: number, end: number, hash: number): number {
    const length = end - start;
    const slots = this.slots, mask = slots.length - 1;
    for (let s = mix(hash) & mask; ; s = (s + 1) & mask) {
      const e = slots[s]! - 1;
      if (e < 0) return this.add(buf, start, end, hash, s);
      if (this.hashes[e] === hash && this.lengths[e] === length && this.same(e, buf, start, length)) return e;
    }
  }

  /** UTF-16 length of an entry's string, what the sample rules limit. */
  unitsOf(entry: number): number {
    return this.units[entry]!;
  }

  stringOf(entry: number): string {
    return this.strings[entry]!;
  }

  /** The builder's number for an entry's string in a string column of its current batch. */
  id(entry: number, column: number, builder: SampleBatchBuilder): number {
    const k = entry * COLUMNS + column;
    if (this.generations[k] === builder.generation) return this.ids[k]!;
    const id = builder.stringId(column, this.strings[entry]!);
    this.generations[k] = builder.generation;
    this.ids[k] = id;
    return id;
  }

  /** Starts over if full, so that new values are found again; call between batches. */
  trim(): void {
    if (this.count < this.maxEntries && this.poolUsed < this.maxBytes) return;
    this.slots.fill(0);
    this.generations.fill(-1);
    this.strings.length = 0;
    this.count = 0;
    this.poolUsed = 0;
  }

  private same(e: number, buf: Uint8Array, start: number, length: number): boolean {
    const pool = this.pool;
    for (let j = 0, p = this.starts[e]!; j < length; j++, p++) if (pool[p] !== buf[start + j]) return false;
    return true;
  }

  private add(buf: Uint8Array, start: number, end: number, hash: number, slot: number): number {
    const length = end - start;
    if (this.count >= this.maxEntries || this.poolUsed + length > this.maxBytes) return -1;
    const e = this.count++;
    if (e >= this.hashes.length) this.growEntries();
    if (this.poolUsed + length > this.pool.length) this.growPool(this.poolUsed + length);
    this.pool.set(buf.subarray(start, end), this.poolUsed);
    this.starts[e] = this.poolUsed;
    this.poolUsed += length;
    this.hashes[e] = hash;
    this.lengths[e] = length;
    const s = Buffer.from(buf.buffer, buf.byteOffset + start, length).toString('utf8');
    this.strings.push(s);
    this.units[e] = s.length;
    if (this.count * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.slots[slot] = e + 1;
    return e;
  }

  private growEntries(): void {
    const n = this.hashes.length * 2;
    this.hashes = grown(this.hashes, n);
    this.starts = grown(this.starts, n);
    this.lengths = grown(this.lengths, n);
    this.units = grown(this.units, n);
    this.ids = grown(this.ids, n * COLUMNS);
    const generations = new Int32Array(n * COLUMNS).fill(-1);
    generations.set(this.generations);
    this.generations = generations;
  }

  private growPool(atLeast: number): void {
    let n = this.pool.length * 2;
    while (n < atLeast) n *= 2;
    const pool = new Uint8Array(n);
    pool.set(this.pool.subarray(0, this.poolUsed));
    this.pool = pool;
  }

  /** A larger slot table with every entry placed again (the newest included). */
  private rehash(size: number): void {
    const slots = new Int32Array(size), mask = size - 1;
    for (let e = 0; e < this.count; e++) {
      let s = mix(this.hashes[e]!) & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = e + 1;
    }
    this.slots = slots;
  }
}

function grown(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

/** Spreads the bits of a multiplicative hash over the low ones that pick a slot. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return h ^ (h >>> 16);
}
