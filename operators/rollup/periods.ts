import type { RollupBatch } from '../../engine/telemetry/rollup.js';
import { grown, narrowFloats, widenFloats, type NarrowFloats } from '../../engine/typedArrays.js';
import { exact, FENCED, HI, KEPT, LATE_TIME, LO, MAX, MULTI, OpenCells, SUM, WIDE } from './openCells.js';
import { fence, keepsAll, keepsRange, type OutlierRule } from './robustMean.js';

export interface PeriodsConfig {
  /** Period length, ms. */
  readonly period: number;
  /** Periods that can be open at once; an older one is closed when a newer one needs its slot. */
  readonly slots: number;
  /** Values kept per series and period for the outlier rule. */
  readonly keep: number;
  readonly rule: OutlierRule;
}

/** Columns of one batch of samples, already mapped to catalog series ids. */
export interface SampleColumns {
  readonly length: number;
  readonly series: Int32Array;
  readonly ts: Float64Array;
  readonly rss: Float64Array;
  /** Null when the batch has no pid at all. */
  readonly pid: Int32Array | null;
  /** Validity bitmap of `pid`, null when every pid is present. */
  readonly pidValid: Uint8Array | null;
}

export interface PeriodsListener {
  /** A period is done: `final` unless it is a snapshot of a period still open (stream end). */
  period(batch: RollupBatch, final: boolean): void;
  /** Row i of the current batch belongs to a period already closed. */
  late(row: number, periodStart: number): void;
}

/**
 * Saved form: only the cells in use, packed; v8-serialisable. Samples (values, max) are
 * saved as Float32 where that is exact (RSS in pages below 64 GiB), and the fence of the outlier rule (lo, hi, extraSum, extraKept) only for
 * cells that have more than `keep` samples, in cell order: the rest never read it.
 */
interface Saved {
  v: 1 | 2;
  period: number;
  slots: number;
  keep: number;
  closedBelow: number;
  newest: number;
  slotPeriod: Float64Array;
  members: Int32Array[];
  count: Int32Array; max: Float64Array | NarrowFloats; pidTs: Float64Array; pidLast: Int32Array; pidFirst: Int32Array;
  pidMulti: Uint8Array; extraSum: Float64Array; extraKept: Int32Array; lo: Float64Array; hi: Float64Array;
  values: Float64Array | NarrowFloats;
  lastPid: Int32Array;
}

/**
 * Per-series accumulation of the periods that are still open, in the cells of
 * openCells.ts (one per series and slot). Period p lives in slot p mod slots; at most
 * `slots` consecutive periods are open, so memory is bounded by series x slots x keep
 * values whatever the stream does. Each cell keeps the sample count, the first `keep`
 * values (the outlier rule's input) and, beyond those, the max and the sum and count
 * of later values that pass the fence computed from the first `keep`.
 */
export class Periods {
  /** Periods with index below this are closed; their samples are late. */
  closedBelow = -Infinity;
  /** Newest period index seen. */
  private newest = -Infinity;
  private readonly cells: OpenCells;
  /** Per series: last pid of its latest closed period, -1 if none. */
  private lastPid = new Int32Array(0);

  private readonly slotPeriod: Float64Array;
  private readonly values: Float64Array;
  private readonly scratch: Float64Array;
  private readonly bounds = new Float64Array(2);
  private readonly record = new Float64Array(5);

  /** Samples left out of period means by the outlier rule, since creation. */
  outliers = 0;

  constructor(readonly config: PeriodsConfig) {
    this.slotPeriod = new Float64Array(config.slots).fill(NaN);
    this.cells = new OpenCells(config.slots, config.keep, config.rule);
    this.values = new Float64Array(config.keep);
    this.scratch = new Float64Array(config.keep);
  }

  /** Open periods, oldest first. */
  openPeriods(): number[] {
    return [...this.slotPeriod].filter((p) => !Number.isNaN(p)).sort((a, b) => a - b);
  }

  private ensure(series: number): void {
    this.cells.ensure(series);
    if (series > this.lastPid.length) this.lastPid = grown(this.lastPid, series, -1);
  }

  /**
   * Adds a batch of samples. `seriesCount` bounds the ids in `cols.series` (the catalog
   * size). Periods pushed out of the ring by newer ones are closed on the way.
   */
  add(cols: SampleColumns, seriesCount: number, watermark: number, out: PeriodsListener): void {
    this.ensure(seriesCount);
    const { period: P, slots: S, keep: K } = this.config;
    const { series, ts, rss, pid, pidValid } = cols;
    // The common case (a value among the first K that fits its offset, a pid time in
    // whole milliseconds) on the cells' arrays here; the rest in OpenCells.
    const cells = this.cells, count = cells.count, base = cells.base, offsets = cells.offsets, flags = cells.flags;
    const pidTs = cells.pidTs, pidFirst = cells.pidFirst, pidLast = cells.pidLast, M = K - 1;
    const n = cols.length;
    let start = NaN, end = NaN, slot = 0;
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      if (!(t >= start && t < end)) {
        const p = Math.floor(t / P);
        if (p < this.closedBelow) {
          out.late(i, p * P);
          continue;
        }
        if (p > this.newest) {
          if (p - S + 1 > this.closedBelow) this.closeBelow(p - S + 1, watermark, out);
          this.newest = p;
        }
        slot = ((p % S) + S) % S;
        if (this.slotPeriod[slot] !== p) this.slotPeriod[slot] = p;
        start = p * P;
        end = start + P;
      }
      const cell = series[i]! * S + slot;
      const c = count[cell]!;
      count[cell] = c + 1;
      const v = rss[i]!;
      if (c === 0) {
        cells.open(cell, slot, v);
      } else if (c >= K) {
        const r = c === K ? cells.fenced(cell, slot) : base[cell]! | 0;
        const f = cells.fences[slot]!;
        if (v > f[r + MAX]!) f[r + MAX] = v;
        if (v >= f[r + LO]! && v <= f[r + HI]!) {
          f[r + SUM] += v;
          f[r + KEPT]++;
        }
      } else {
        const b = base[cell]!, off = v - b;
        if ((flags[cell]! & WIDE) === 0 && exact(off, b, v)) offsets[cell * M + c - 1] = off;
        else cells.store(cell, slot, c, v);
      }
      if (pid !== null && (pidValid === null || (pidValid[i >> 3]! & (1 << (i & 7))) !== 0)) {
        const id = pid[i]!, first = pidFirst[cell]!;
        if (first === -1) pidFirst[cell] = id;
        else if (id !== first) flags[cell]! |= MULTI;
        const off = t - start;
        if ((flags[cell]! & LATE_TIME) === 0 && exact(off, start, t)) {
          if (off >= pidTs[cell]!) {
            pidTs[cell] = off;
            pidLast[cell] = id;
          }
        } else {
          cells.latePid(cell, slot, start, t, id);
        }
      }
    }
  }

  private slotOf(p: number): number {
    const S = this.config.slots;
    return ((p % S) + S) % S;
  }

  /** Closes every open period with index below `k` (oldest first) for good. */
  closeBelow(k: number, watermark: number, out: PeriodsListener): void {
    if (k <= this.closedBelow) return;
    this.closedBelow = k;
    for (const p of this.openPeriods()) {
      if (p >= k) break;
      const slot = this.slotOf(p);
      out.period(this.summarise(slot, p, watermark, true), true);
      this.cells.clear(slot);
      this.slotPeriod[slot] = NaN;
    }
  }

  /** Rollups of the periods still open, as they stand; they stay open (stream end, see rollup.ts). */
  snapshot(watermark: number, out: PeriodsListener): void {
    for (const p of this.openPeriods()) {
      out.period(this.summarise(this.slotOf(p), p, watermark, false), false);
    }
  }

  /** Series with a cell in `slot`, ascending: the same rows in the same order however samples arrived. */
  private members(slot: number): Int32Array {
    const S = this.config.slots, count = this.cells.count;
    const out = new Int32Array(this.cells.opened[slot]!);
    for (let s = 0, j = 0; j < out.length; s++) if (count[s * S + slot]! > 0) out[j++] = s;
    return out;
  }

  private summarise(slot: number, p: number, watermark: number, final: boolean): RollupBatch {
    const { period: P, slots: S, keep: K, rule } = this.config;
    const series = this.members(slot);
    const n = series.length;
    const mean = new Float64Array(n), max = new Float64Array(n), count = new Int32Array(n);
    const pid = new Int32Array(n), restarted = new Uint8Array(n);
    const cells = this.cells, counts = cells.count, base = cells.base, offsets = cells.offsets, flags = cells.flags;
    const pidFirst = cells.pidFirst, pidLast = cells.pidLast, lastPid = this.lastPid, M = K - 1;
    let seen = 0, kept = 0;
    for (let j = 0; j < n; j++) {
      const s = series[j]!;
      const cell = s * S + slot;
      const c = counts[cell]!;
      if ((flags[cell]! & (WIDE | FENCED)) === 0 && c <= K) {
        // The common form (a first value and Int32 offsets from it): the max, the range
        // and the sum come straight from the offsets, without copying the values out.
        // Every value is b + offset exactly, so the largest offset gives the max a
        // running max finds, and the smallest and largest the range keepsAll judges.
        const b = base[cell]!, at = cell * M;
        let lo = 0, hi = 0, sum = 0;
        for (let i = at, e = at + c - 1; i < e; i++) {
          const o = offsets[i]!;
          if (o < lo) lo = o;
          else if (o > hi) hi = o;
          sum += o;
        }
        max[j] = b + hi;
        if (Math.floor(b) === b && keepsRange(b + lo, b + hi, c, rule, 0)) {
          // Whole values summing below 2^53: c * b + sum is the sum in any order, exactly.
          mean[j] = (c * b + sum) / c;
          kept += c;
        } else {
          kept += this.trim(cell, slot, j, mean, max);
        }
      } else {
        kept += this.trim(cell, slot, j, mean, max);
      }
      seen += c;
      count[j] = c;
      const first = pidFirst[cell]!, last = pidLast[cell]!, before = lastPid[s]!;
      pid[j] = last;
      restarted[j] = (flags[cell]! & MULTI) !== 0 || (first >= 0 && before >= 0 && first !== before) ? 1 : 0;
      if (final) {
        if (last >= 0) lastPid[s] = last;
        counts[cell] = 0;
      }
    }
    if (final) this.outliers += seen - kept;
    return {
      start: p * P, period: P, length: n, series,
      mean, max, count, pid, restarted, watermark, provisional: !final,
    };
  }

  /**
   * Writes the cell's mean and max at row j the long way (its values copied out, and
   * sorted and fenced unless keepsAll says nothing can be an outlier); returns how many
   * values the mean kept.
   */
  private trim(cell: number, slot: number, j: number, mean: Float64Array, max: Float64Array): number {
    const rule = this.config.rule, cells = this.cells;
    const values = this.values, scratch = this.scratch, bounds = this.bounds, record = this.record;
    const k = cells.read(cell, slot, values);
    let sum = 0, kept = 0;
    if (cells.fenceOf(cell, slot, record)) {
      sum = record[2]!;
      kept = record[3]!;
      max[j] = record[4]!;
    } else {
      // The running max, over the values in the order they came (before a fence sorts them).
      let m = values[0]!;
      for (let i = 1; i < k; i++) if (values[i]! > m) m = values[i]!;
      max[j] = m;
    }
    if (keepsAll(values, 0, k, rule, sum)) {
      // Nothing to fence out, and the sum is exact: the same mean as sorted and fenced.
      for (let i = 0; i < k; i++) sum += values[i]!;
      kept += k;
    } else {
      fence(values, 0, k, rule, scratch, bounds);
      const lo = bounds[0]!, hi = bounds[1]!;
      for (let i = 0; i < k; i++) {
        const v = values[i]!;
        if (v >= lo && v <= hi) {
          sum += v;
          kept++;
        }
      }
      if (kept === 0) {
        // Only a threshold far below the published 3.5 can fence out even the median.
        for (let i = 0; i < k; i++) sum += values[i]!;
        kept = k;
      }
    }
    mean[j] = sum / kept;
    return kept;
  }

  checkpoint(): Saved {
    const { period: P, slots: S, keep: K } = this.config;
    const cells = this.cells;
    const members = Array.from({ length: S }, (_, slot) => this.members(slot));
    let total = 0, stored = 0, fenced = 0;
    for (let slot = 0; slot < S; slot++) {
      for (const s of members[slot]!) {
        const c = cells.count[s * S + slot]!;
        total++;
        stored += Math.min(c, K);
        if (c > K) fenced++;
      }
    }
    const max = new Float64Array(total), values = new Float64Array(stored);
    const saved: Saved = {
      v: 2, period: P, slots: S, keep: K, closedBelow: this.closedBelow, newest: this.newest,
      slotPeriod: this.slotPeriod.slice(), members,
      count: new Int32Array(total), max, pidTs: new Float64Array(total),
      pidLast: new Int32Array(total), pidFirst: new Int32Array(total), pidMulti: new Uint8Array(total),
      extraSum: new Float64Array(fenced), extraKept: new Int32Array(fenced), lo: new Float64Array(fenced), hi: new Float64Array(fenced),
      values, lastPid: this.lastPid.slice(0, cells.capacity),
    };
    const record = this.record;
    let at = 0, v = 0, f = 0;
    for (let slot = 0; slot < S; slot++) {
      const start = this.slotPeriod[slot]! * P;
      for (const s of members[slot]!) {
        const cell = s * S + slot;
        saved.count[at] = cells.count[cell]!;
        max[at] = cells.max(cell, slot);
        saved.pidTs[at] = cells.pidTime(cell, slot, start);
        saved.pidLast[at] = cells.pidLast[cell]!;
        saved.pidFirst[at] = cells.pidFirst[cell]!;
        saved.pidMulti[at] = cells.multi(cell) ? 1 : 0;
        if (cells.fenceOf(cell, slot, record)) {
          saved.lo[f] = record[0]!;
          saved.hi[f] = record[1]!;
          saved.extraSum[f] = record[2]!;
          saved.extraKept[f] = record[3]!;
          f++;
        }
        const k = cells.read(cell, slot, this.values);
        values.set(this.values.subarray(0, k), v);
        v += k;
        at++;
      }
    }
    saved.values = narrowFloats(values);
    saved.max = narrowFloats(max);
    return saved;
  }

  /** Returns false (and keeps a fresh state) when the state was saved under other settings. */
  restore(state: unknown): boolean {
    const s = state as Saved;
    const { period, slots: S, keep: K } = this.config;
    if ((s?.v !== 1 && s?.v !== 2) || s.period !== period || s.slots !== S || s.keep !== K) return false;
    let most = s.lastPid.length;
    for (const m of s.members) for (const id of m) most = Math.max(most, id + 1);
    this.ensure(most);
    this.closedBelow = s.closedBelow;
    this.newest = s.newest;
    this.slotPeriod.set(s.slotPeriod);
    this.lastPid.fill(-1);
    this.lastPid.set(s.lastPid);
    const max = widenFloats(s.max), values = widenFloats(s.values);
    const record = this.record;
    let at = 0, v = 0, f = 0;
    for (let slot = 0; slot < S; slot++) {
      const start = this.slotPeriod[slot]! * period;
      for (const id of s.members[slot]!) {
        const count = s.count[at]!;
        // Version 1 saved the fence of every cell, version 2 only of those past `keep`.
        let fenced: Float64Array | null = null;
        if (count > K) {
          const g = s.v === 1 ? at : f++;
          record[0] = s.lo[g]!;
          record[1] = s.hi[g]!;
          record[2] = s.extraSum[g]!;
          record[3] = s.extraKept[g]!;
          record[4] = max[at]!;
          fenced = record;
        }
        this.cells.load(id * S + slot, slot, start, count, values, v, {
          first: s.pidFirst[at]!, last: s.pidLast[at]!, multi: s.pidMulti[at] === 1, ts: s.pidTs[at]!,
        }, fenced);
        v += Math.min(count, K);
        at++;
      }
    }
    return true;
  }
}
