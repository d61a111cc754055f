import { capacityFor, grown, resized } from '../../engine/typedArrays.js';
import { fence, type OutlierRule } from './robustMean.js';

/** `flags` bits of a cell. */
export const MULTI = 1;
/** Its values are held as Float64 in the slot's wide pool; its base is the record's index. */
export const WIDE = 2;
/** Its last pid's time is held in the slot's `pidTimes` Map. */
export const LATE_TIME = 4;
/** It has a fence record, and `base` holds the record's offset (the record holds the base). */
export const FENCED = 8;
/** `pidTs` of a cell that has seen no pid. */
export const NO_TIME = -1;

/** Fields of a fence record, in the slot's fence pool. */
export const LO = 0, HI = 1, SUM = 2, KEPT = 3, MAX = 4, BASE = 5, FENCE = 6;

/**
 * The open cells of the rollup: one per series and slot (cell = series * slots + slot),
 * each the count, values and pid of one series in one open period, held compactly and
 * exactly.
 *
 * - The first value is the cell's base, the next `keep - 1` Int32 offsets from it: RSS in
 *   bytes moves by far less than 2 GiB within a period. A value that is not an integer,
 *   or that moves further, makes its cell wide: the values go to a Float64 record in the
 *   slot's wide pool.
 * - The time of the last pid is an Int32 offset from the period's start; one that is
 *   not a whole millisecond goes to a Map of the slot.
 * - The max is the largest of the values kept, until the cell has more values than
 *   `keep`: then the outlier fence of the first `keep` values is computed and the
 *   cell gets a fence record (lo, hi, sum and count of the later values kept, max, and
 *   its base, whose place then holds the record's offset) in the slot's fence pool. At
 *   5-minute sampling hourly cells never need one.
 *
 * Pools belong to a slot and are emptied when its period closes. Every value read back
 * is the value added, so the rollups are those of Float64 storage.
 */
export class OpenCells {
  /** Series the per-cell arrays hold. */
  capacity = 0;
  count = new Int32Array(0);
  /** First value of the cell (or the index of its wide record); once FENCED, the offset of its fence record. */
  base = new Float64Array(0);
  /** keep - 1 per cell: its values after the first, as offsets from it. */
  offsets = new Int32Array(0);
  pidTs = new Int32Array(0);
  pidFirst = new Int32Array(0);
  pidLast = new Int32Array(0);
  flags = new Uint8Array(0);

  /** Per slot: cells with data, and the pools. */
  readonly opened: Int32Array;
  readonly fences: Float64Array[];
  private readonly fenceCount: Int32Array;
  private readonly wides: Float64Array[];
  private readonly wideCount: Int32Array;
  private readonly pidTimes: Map<number, number>[];

  private readonly values: Float64Array;
  private readonly scratch: Float64Array;
  private readonly bounds = new Float64Array(2);

  constructor(readonly slots: number, readonly keep: number, readonly rule: OutlierRule) {
    this.opened = new Int32Array(slots);
    this.fences = Array.from({ length: slots }, () => new Float64Array(0));
    this.fenceCount = new Int32Array(slots);
    this.wides = Array.from({ length: slots }, () => new Float64Array(0));
    this.wideCount = new Int32Array(slots);
    this.pidTimes = Array.from({ length: slots }, () => new Map());
    this.values = new Float64Array(keep);
    this.scratch = new Float64Array(keep);
  }

  /** Makes room for series ids below `series`. */
  ensure(series: number): void {
    if (series <= this.capacity) return;
    const cap = capacityFor(series, this.capacity, 256);
    const cells = cap * this.slots;
    this.count = resized(this.count, cells);
    this.base = resized(this.base, cells);
    this.offsets = resized(this.offsets, cells * (this.keep - 1));
    this.pidTs = resized(this.pidTs, cells);
    this.pidFirst = resized(this.pidFirst, cells);
    this.pidLast = resized(this.pidLast, cells);
    this.flags = resized(this.flags, cells);
    this.capacity = cap;
  }

  /** Starts the cell with its first value v (its count already counts it). */
  open(cell: number, slot: number, v: number): void {
    this.opened[slot]++;
    this.flags[cell] = 0;
    this.base[cell] = v;
    this.pidTs[cell] = NO_TIME;
    this.pidFirst[cell] = -1;
    this.pidLast[cell] = -1;
    // NaN, an infinity or -0 cannot be a base that offsets give back.
    if (!exact(v - v, v, v)) this.widen(cell, slot, 0, v);
  }

  /**
   * Keeps v as the cell's c-th value (0 < c < keep): an offset when that is exact, else
   * in its wide record. Periods.add does the common case itself, on the same arrays.
   */
  store(cell: number, slot: number, c: number, v: number): void {
    const K = this.keep;
    if ((this.flags[cell]! & WIDE) !== 0) {
      this.wides[slot]![this.base[cell]! * K + c] = v;
      return;
    }
    const b = this.base[cell]!, off = v - b;
    if (exact(off, b, v)) this.offsets[cell * (K - 1) + c - 1] = off;
    else this.widen(cell, slot, c, v);
  }

  /** Pid `id` at time t whose offset from the period start is not a whole millisecond: the cell's time goes to a Map. */
  latePid(cell: number, slot: number, start: number, t: number, id: number): void {
    const times = this.pidTimes[slot]!;
    if ((this.flags[cell]! & LATE_TIME) === 0) {
      times.set(cell, this.pidTime(cell, slot, start));
      this.flags[cell]! |= LATE_TIME;
    }
    if (t >= times.get(cell)!) {
      times.set(cell, t);
      this.pidLast[cell] = id;
    }
  }

  /** Whether the cell saw more than one pid. */
  multi(cell: number): boolean {
    return (this.flags[cell]! & MULTI) !== 0;
  }

  /** Time of the cell's last pid, -Infinity if none. */
  pidTime(cell: number, slot: number, start: number): number {
    if ((this.flags[cell]! & LATE_TIME) !== 0) return this.pidTimes[slot]!.get(cell)!;
    const off = this.pidTs[cell]!;
    return off === NO_TIME ? -Infinity : start + off;
  }

  /** Copies the cell's first min(count, keep) values, in the order they came, into `out`; returns how many. */
  read(cell: number, slot: number, out: Float64Array): number {
    const K = this.keep, k = Math.min(this.count[cell]!, K);
    let b = this.base[cell]!;
    const flags = this.flags[cell]!;
    if ((flags & FENCED) !== 0) b = this.fences[slot]![b + BASE]!;
    if ((flags & WIDE) !== 0) {
      const w = this.wides[slot]!, at = b * K;
      for (let i = 0; i < k; i++) out[i] = w[at + i]!;
    } else if (k > 0) {
      const offsets = this.offsets, at = cell * (K - 1) - 1;
      out[0] = b;
      for (let i = 1; i < k; i++) out[i] = b + offsets[at + i]!;
    }
    return k;
  }

  /**
   * The cell's fence record (lo, hi, sum and count of the values past `keep` that it
   * kept, max) at `out[0..4]`; false (out untouched) while the cell has no more than
   * `keep` values.
   */
  fenceOf(cell: number, slot: number, out: Float64Array): boolean {
    if ((this.flags[cell]! & FENCED) === 0) return false;
    const f = this.fences[slot]!, r = this.base[cell]!;
    for (let i = LO; i <= MAX; i++) out[i] = f[r + i]!;
    return true;
  }

  /** Largest value of the cell (the first one when NaN came first, as a running max keeps it). */
  max(cell: number, slot: number): number {
    if ((this.flags[cell]! & FENCED) !== 0) return this.fences[slot]![this.base[cell]! + MAX]!;
    const k = this.read(cell, slot, this.values);
    let m = this.values[0]!;
    for (let i = 1; i < k; i++) if (this.values[i]! > m) m = this.values[i]!;
    return m;
  }

  /**
   * Puts back a saved cell: its values in the order saved, count, pid fields and, past
   * `keep`, its fence record (lo, hi, sum, kept, max).
   */
  load(cell: number, slot: number, start: number, count: number, values: Float64Array | Float32Array, from: number,
    pid: { first: number; last: number; multi: boolean; ts: number }, fenced: Float64Array | null): void {
    const K = this.keep, k = Math.min(count, K);
    this.count[cell] = count;
    this.open(cell, slot, values[from]!);
    for (let i = 1; i < k; i++) this.store(cell, slot, i, values[from + i]!);
    if (count > K && fenced) {
      const r = this.record(cell, slot);
      this.fences[slot]!.set(fenced.subarray(LO, MAX + 1), r);
    }
    this.pidFirst[cell] = pid.first;
    this.pidLast[cell] = pid.last;
    if (pid.multi) this.flags[cell]! |= MULTI;
    if (pid.ts !== -Infinity) {
      const off = pid.ts - start;
      if (exact(off, start, pid.ts)) {
        this.pidTs[cell] = off;
      } else {
        this.pidTimes[slot]!.set(cell, pid.ts);
        this.flags[cell]! |= LATE_TIME;
      }
    }
  }

  /**
   * Empties a slot whose period closed (its cells' counts must be 0 by now). A pool
   * that held four times what this period needed is cut down, so that one odd period
   * does not keep its memory.
   */
  clear(slot: number): void {
    this.opened[slot] = 0;
    this.fences[slot] = shrunk(this.fences[slot]!, this.fenceCount[slot]! * FENCE);
    this.fenceCount[slot] = 0;
    this.wides[slot] = shrunk(this.wides[slot]!, this.wideCount[slot]! * this.keep);
    this.wideCount[slot] = 0;
    this.pidTimes[slot]!.clear();
  }

  /** Moves the cell's c values so far and v (the one that did not fit) to a Float64 record. */
  private widen(cell: number, slot: number, c: number, v: number): void {
    const K = this.keep;
    this.read(cell, slot, this.values);
    const idx = this.wideCount[slot]!++;
    const w = this.wides[slot] = grown(this.wides[slot]!, (idx + 1) * K);
    w.set(this.values.subarray(0, c), idx * K);
    w[idx * K + c] = v;
    this.base[cell] = idx;
    this.flags[cell]! |= WIDE;
  }

  /**
   * The cell's (K + 1)-th value has come: its fence is computed from the first K (the
   * max of those too) into a new record, whose offset is returned.
   */
  fenced(cell: number, slot: number): number {
    const K = this.keep, values = this.values;
    this.read(cell, slot, values);
    // The running max of the first K, in the order they came (before the fence sorts them).
    let max = values[0]!;
    for (let i = 1; i < K; i++) if (values[i]! > max) max = values[i]!;
    fence(values, 0, K, this.rule, this.scratch, this.bounds);
    const r = this.record(cell, slot), f = this.fences[slot]!;
    f[r + LO] = this.bounds[0]!;
    f[r + HI] = this.bounds[1]!;
    f[r + SUM] = 0;
    f[r + KEPT] = 0;
    f[r + MAX] = max;
    return r;
  }

  /** A new fence record for the cell, which takes its base; returns the record's offset. */
  private record(cell: number, slot: number): number {
    const idx = this.fenceCount[slot]!++, r = idx * FENCE;
    const f = this.fences[slot] = grown(this.fences[slot]!, r + FENCE);
    f[r + BASE] = this.base[cell]!;
    this.base[cell] = r;
    this.flags[cell]! |= FENCED;
    return r;
  }
}

/**
 * Whether `off` = x - base gives x back exactly as base + off and fits an Int32: not
 * NaN, not an infinity, not a fraction, and not -0 (which base + 0 would turn into 0).
 */
export function exact(off: number, base: number, x: number): boolean {
  return (off | 0) === off && base + off === x && (x !== 0 || 1 / x > 0);
}

/** `pool` as it is, or cut to a little over `used` entries when it holds more than four times that. */
function shrunk(pool: Float64Array, used: number): Float64Array {
  return pool.length > 4 * used && pool.length > 64 ? resized(pool, capacityFor(used, 0, 64)) : pool;
}
