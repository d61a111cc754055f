import type { RollupBatch } from '../../engine/telemetry/rollup.js';
import { grown, narrowFloats, widenFloats, type NarrowFloats } from '../../engine/typedArrays.js';
import { fence, keepsAll, type OutlierRule } from './robustMean.js';

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
 * Per-series accumulation of the periods that are still open, in typed arrays indexed
 * by `series * slots + slot` (a "cell"). Period p lives in slot p mod slots; at most
 * `slots` consecutive periods are open, so memory is bounded by series x slots x keep
 * values whatever the stream does. Each cell keeps the sample count, the raw max, the
 * first `keep` values (the outlier rule's input) and, beyond those, the sum and count
 * of later values that pass the fence computed from the first `keep`.
 */
export class Periods {
  /** Periods with index below this are closed; their samples are late. */
  closedBelow = -Infinity;
  /** Newest period index seen. */
  private newest = -Infinity;
  private capacity = 0;

  private count = new Int32Array(0);
  private max = new Float64Array(0);
  private pidTs = new Float64Array(0);
  private pidLast = new Int32Array(0);
  private pidFirst = new Int32Array(0);
  private pidMulti = new Uint8Array(0);
  private extraSum = new Float64Array(0);
  private extraKept = new Int32Array(0);
  private lo = new Float64Array(0);
  private hi = new Float64Array(0);
  private values = new Float64Array(0);
  /** Per series: last pid of its latest closed period, -1 if none. */
  private lastPid = new Int32Array(0);

  private readonly slotPeriod: Float64Array;
  private members: Int32Array[];
  private readonly memberCount: Int32Array;
  private readonly scratch: Float64Array;
  private readonly bounds = new Float64Array(2);

  /** Samples left out of period means by the outlier rule, since creation. */
  outliers = 0;

  constructor(readonly config: PeriodsConfig) {
    const s = config.slots;
    this.slotPeriod = new Float64Array(s).fill(NaN);
    this.members = Array.from({ length: s }, () => new Int32Array(64));
    this.memberCount = new Int32Array(s);
    this.scratch = new Float64Array(config.keep);
  }

  /** Open periods, oldest first. */
  openPeriods(): number[] {
    return [...this.slotPeriod].filter((p) => !Number.isNaN(p)).sort((a, b) => a - b);
  }

  private ensure(series: number): void {
    if (series <= this.capacity) return;
    const cap = Math.max(series, this.capacity * 2, 256);
    const cells = cap * this.config.slots;
    this.count = grown(this.count, cells);
    this.max = grown(this.max, cells);
    this.pidTs = grown(this.pidTs, cells);
    this.pidLast = grown(this.pidLast, cells);
    this.pidFirst = grown(this.pidFirst, cells);
    this.pidMulti = grown(this.pidMulti, cells);
    this.extraSum = grown(this.extraSum, cells);
    this.extraKept = grown(this.extraKept, cells);
    this.lo = grown(this.lo, cells);
    this.hi = grown(this.hi, cells);
    this.values = grown(this.values, cells * this.config.keep);
    this.lastPid = grown(this.lastPid, cap, -1);
    this.capacity = cap;
  }

  /**
   * Adds a batch of samples. `seriesCount` bounds the ids in `cols.series` (the catalog
   * size). Periods pushed out of the ring by newer ones are closed on the way.
   */
  add(cols: SampleColumns, seriesCount: number, watermark: number, out: PeriodsListener): void {
    this.ensure(seriesCount);
    const { period: P, slots: S, keep: K } = this.config;
    const { series, ts, rss, pid, pidValid } = cols;
    const count = this.count, max = this.max, values = this.values;
    const pidTs = this.pidTs, pidLast = this.pidLast, pidFirst = this.pidFirst, pidMulti = this.pidMulti;
    const extraSum = this.extraSum, extraKept = this.extraKept, lo = this.lo, hi = this.hi;
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
      const s = series[i]!;
      const cell = s * S + slot;
      const c = count[cell]!;
      count[cell] = c + 1;
      const v = rss[i]!;
      if (c === 0) {
        this.join(slot, s);
        max[cell] = v;
        pidTs[cell] = -Infinity;
        pidLast[cell] = -1;
        pidFirst[cell] = -1;
        pidMulti[cell] = 0;
        extraSum[cell] = 0;
        extraKept[cell] = 0;
      } else if (v > max[cell]!) {
        max[cell] = v;
      }
      if (c < K) {
        values[cell * K + c] = v;
      } else {
        if (c === K) {
          fence(values, cell * K, K, this.config.rule, this.scratch, this.bounds);
          lo[cell] = this.bounds[0]!;
          hi[cell] = this.bounds[1]!;
        }
        if (v >= lo[cell]! && v <= hi[cell]!) {
          extraSum[cell] += v;
          extraKept[cell]++;
        }
      }
      if (pid !== null && (pidValid === null || (pidValid[i >> 3]! & (1 << (i & 7))) !== 0)) {
        const id = pid[i]!;
        if (pidFirst[cell] === -1) pidFirst[cell] = id;
        else if (id !== pidFirst[cell]) pidMulti[cell] = 1;
        if (t >= pidTs[cell]!) {
          pidTs[cell] = t;
          pidLast[cell] = id;
        }
      }
    }
  }

  private slotOf(p: number): number {
    const S = this.config.slots;
    return ((p % S) + S) % S;
  }

  private join(slot: number, series: number): void {
    const k = this.memberCount[slot]!;
    let list = this.members[slot]!;
    if (k === list.length) {
      list = grown(list, k * 2);
      this.members[slot] = list;
    }
    list[k] = series;
    this.memberCount[slot] = k + 1;
  }

  /** Closes every open period with index below `k` (oldest first) for good. */
  closeBelow(k: number, watermark: number, out: PeriodsListener): void {
    if (k <= this.closedBelow) return;
    this.closedBelow = k;
    for (const p of this.openPeriods()) {
      if (p >= k) break;
      const slot = this.slotOf(p);
      out.period(this.summarise(slot, p, watermark, true), true);
      this.memberCount[slot] = 0;
      this.slotPeriod[slot] = NaN;
    }
  }

  /** Rollups of the periods still open, as they stand; they stay open (stream end, see rollup.ts). */
  snapshot(watermark: number, out: PeriodsListener): void {
    for (const p of this.openPeriods()) {
      out.period(this.summarise(this.slotOf(p), p, watermark, false), false);
    }
  }

  private summarise(slot: number, p: number, watermark: number, final: boolean): RollupBatch {
    const { period: P, slots: S, keep: K, rule } = this.config;
    const n = this.memberCount[slot]!;
    // Ascending series ids: the same rows in the same order however samples arrived.
    const members = this.members[slot]!.subarray(0, n).sort();
    const batch = {
      start: p * P, period: P, length: n, series: members.slice(),
      mean: new Float64Array(n), max: new Float64Array(n), count: new Int32Array(n),
      pid: new Int32Array(n), restarted: new Uint8Array(n), watermark, provisional: !final,
    };
    const count = this.count, values = this.values, lastPid = this.lastPid, pidLast = this.pidLast;
    const scratch = this.scratch, bounds = this.bounds;
    for (let j = 0; j < n; j++) {
      const s = members[j]!;
      const cell = s * S + slot;
      const c = count[cell]!;
      const k = c < K ? c : K;
      let sum = this.extraSum[cell]!, kept = this.extraKept[cell]!;
      if (keepsAll(values, cell * K, k, rule, sum)) {
        // Nothing to fence out, and the sum is exact: the same mean as sorted and fenced.
        for (let i = cell * K, e = i + k; i < e; i++) sum += values[i]!;
        kept += k;
      } else {
        fence(values, cell * K, k, rule, scratch, bounds);
        const lo = bounds[0]!, hi = bounds[1]!;
        for (let i = cell * K, e = i + k; i < e; i++) {
          const v = values[i]!;
          if (v >= lo && v <= hi) {
            sum += v;
            kept++;
          }
        }
        if (kept === 0) {
          // Only a threshold far below the published 3.5 can fence out even the median.
          for (let i = cell * K, e = i + k; i < e; i++) sum += values[i]!;
          kept = k;
        }
      }
      batch.mean[j] = sum / kept;
      batch.max[j] = this.max[cell]!;
      batch.count[j] = c;
      batch.pid[j] = pidLast[cell]!;
      const first = this.pidFirst[cell]!, before = lastPid[s]!;
      batch.restarted[j] = this.pidMulti[cell] === 1 || (first >= 0 && before >= 0 && first !== before) ? 1 : 0;
      if (final) {
        this.outliers += c - kept;
        if (pidLast[cell]! >= 0) lastPid[s] = pidLast[cell]!;
        count[cell] = 0;
      }
    }
    return batch;
  }

  checkpoint(): Saved {
    const { slots: S, keep: K } = this.config;
    let cells = 0, stored = 0, fenced = 0;
    for (let slot = 0; slot < S; slot++) {
      for (let j = 0; j < this.memberCount[slot]!; j++) {
        const c = this.count[this.members[slot]![j]! * S + slot]!;
        cells++;
        stored += Math.min(c, K);
        if (c > K) fenced++;
      }
    }
    const max = new Float64Array(cells), values = new Float64Array(stored);
    const saved: Saved = {
      v: 2, period: this.config.period, slots: S, keep: K, closedBelow: this.closedBelow, newest: this.newest,
      slotPeriod: this.slotPeriod.slice(),
      members: Array.from({ length: S }, (_, slot) => this.members[slot]!.slice(0, this.memberCount[slot]!)),
      count: new Int32Array(cells), max, pidTs: new Float64Array(cells),
      pidLast: new Int32Array(cells), pidFirst: new Int32Array(cells), pidMulti: new Uint8Array(cells),
      extraSum: new Float64Array(fenced), extraKept: new Int32Array(fenced), lo: new Float64Array(fenced), hi: new Float64Array(fenced),
      values, lastPid: this.lastPid.slice(0, this.capacity),
    };
    let at = 0, v = 0, f = 0;
    for (let slot = 0; slot < S; slot++) {
      for (const s of saved.members[slot]!) {
        const cell = s * S + slot;
        saved.count[at] = this.count[cell]!;
        max[at] = this.max[cell]!;
        saved.pidTs[at] = this.pidTs[cell]!;
        saved.pidLast[at] = this.pidLast[cell]!;
        saved.pidFirst[at] = this.pidFirst[cell]!;
        saved.pidMulti[at] = this.pidMulti[cell]!;
        if (this.count[cell]! > K) {
          saved.extraSum[f] = this.extraSum[cell]!;
          saved.extraKept[f] = this.extraKept[cell]!;
          saved.lo[f] = this.lo[cell]!;
          saved.hi[f] = this.hi[cell]!;
          f++;
        }
        const k = Math.min(this.count[cell]!, K);
        values.set(this.values.subarray(cell * K, cell * K + k), v);
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
    let at = 0, v = 0, f = 0;
    for (let slot = 0; slot < S; slot++) {
      const list = s.members[slot]!;
      const own = new Int32Array(Math.max(64, list.length));
      own.set(list);
      this.members[slot] = own;
      this.memberCount[slot] = list.length;
      for (const id of list) {
        const cell = id * S + slot;
        this.count[cell] = s.count[at]!;
        this.max[cell] = max[at]!;
        this.pidTs[cell] = s.pidTs[at]!;
        this.pidLast[cell] = s.pidLast[at]!;
        this.pidFirst[cell] = s.pidFirst[at]!;
        this.pidMulti[cell] = s.pidMulti[at]!;
        // Version 1 saved the fence of every cell, version 2 only of those past `keep`.
        if (s.v === 1 || s.count[at]! > K) {
          const g = s.v === 1 ? at : f++;
          this.extraSum[cell] = s.extraSum[g]!;
          this.extraKept[cell] = s.extraKept[g]!;
          this.lo[cell] = s.lo[g]!;
          this.hi[cell] = s.hi[g]!;
        } else {
          // Nothing past `keep` yet: no sum beyond it, and no fence until it is computed.
          this.extraSum[cell] = 0;
          this.extraKept[cell] = 0;
        }
        const k = Math.min(s.count[at]!, K);
        this.values.set(values.subarray(v, v + k), cell * K);
        v += k;
        at++;
      }
    }
    return true;
  }
}
