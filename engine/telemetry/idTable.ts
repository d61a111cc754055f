/**
 * Ids keyed by a pair of non-negative int32s, in open addressing over typed arrays: the
 * catalog looks one up for every row whose series differs from the row before, where a
 * Map with a combined number key hashes a double each time.
 */
export class IdTable {
  private first = new Int32Array(1024).fill(-1);
  private second = new Int32Array(1024);
  private ids = new Int32Array(1024);
  private mask = 1023;
  private count = 0;

  /** The id of (a, b), or -1. */
  get(a: number, b: number): number {
    const first = this.first, mask = this.mask;
    for (let h = hash(a, b) & mask; ; h = (h + 1) & mask) {
      const k = first[h]!;
      if (k === a && this.second[h] === b) return this.ids[h]!;
      if (k === -1) return -1;
    }
  }

  /** Sets the id of (a, b), which must not be in the table yet. */
  add(a: number, b: number, id: number): void {
    if ((this.count + 1) * 2 > this.first.length) this.resize(this.first.length * 2);
    this.place(a, b, id);
    this.count++;
  }

  get size(): number {
    return this.count;
  }

  private place(a: number, b: number, id: number): void {
    const mask = this.mask;
    let h = hash(a, b) & mask;
    while (this.first[h] !== -1) h = (h + 1) & mask;
    this.first[h] = a;
    this.second[h] = b;
    this.ids[h] = id;
  }

  private resize(capacity: number): void {
    const first = this.first, second = this.second, ids = this.ids;
    this.first = new Int32Array(capacity).fill(-1);
    this.second = new Int32Array(capacity);
    this.ids = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (let h = 0; h < first.length; h++) if (first[h] !== -1) this.place(first[h]!, second[h]!, ids[h]!);
  }
}

function hash(a: number, b: number): number {
  const h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
  return h ^ (h >>> 15);
}
