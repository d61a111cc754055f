import { grown } from './grow.js';

/**
 * How long a component's processes take to fill their caches after a restart, learned
 * from the restarts of all its processes: a warm-up is the component's (every restart of
 * it rises the same way), a leak is one process's own.
 *
 * Per component model and period k after a restart, the mean rise of a restarted process
 * over the next cycle: the log change from period k to period k + cycle after the
 * restart. A cycle apart, the daily load cancels, whatever hour the restart came at; a
 * buffer or a spike is as likely on either side, so it adds noise but no bias (each
 * change is clipped to +-CLIP so that one does not decide). The warm-up is over at the
 * first k where that rise, averaged over `smooth` periods, is below `tolerance` of the
 * level: the curve only falls, so its first crossing is its end, and noise in the rises
 * measured days after a restart (fewer processes get that far without another) cannot
 * stretch it. Until every k has `minRestarts` observations the fixed `fallback`
 * applies: a young fleet knows nothing yet.
 *
 * A component whose caches take a day and a half (the simulator's cache-server) gets a
 * longer warm-up than the fixed 24 hours; one that is warm within the hour gets an hour
 * or two, and its leaks can be judged the better part of a day earlier.
 */
export interface WarmupParams {
  /** Periods after a restart that are learned (the longest warm-up). */
  readonly horizon: number;
  /** Rise over the next cycle, as a share of the level, below which the warm-up is over. */
  readonly tolerance: number;
  /** Periods the rise is averaged over when looking for the end: the estimate of one period is noisy. */
  readonly smooth: number;
  /** Observations per period after a restart before the curve is trusted. */
  readonly minRestarts: number;
  /** Warm-up used until then, ms. */
  readonly fallback: number;
  /** Length of a period, ms. */
  readonly period: number;
}

/** Largest log change counted: one wild day must not decide. */
const CLIP = 0.25;
/** Observations weighed per period after a restart: a component's warm-up changes with its versions. */
const HORIZON = 1000;
/** Periods added to the estimate: the curve's end is known to a period or two. */
const MARGIN = 1;

export class WarmupCurve {
  /** Per model and period after a restart: mean clipped log change, and observations. */
  private mean = new Float64Array(0);
  private count = new Int32Array(0);
  /** Per model: the warm-up learned (ms; NaN: not yet), refitted every `horizon` observations, and those since the last refit. */
  private learned = new Float64Array(0);
  private sinceRefresh = new Int32Array(0);

  constructor(private readonly p: WarmupParams) {}

  ensure(models: number): void {
    const k = this.p.horizon;
    this.mean = grown(this.mean, models * k);
    this.count = grown(this.count, models * k);
    this.learned = grown(this.learned, models, NaN);
    this.sinceRefresh = grown(this.sinceRefresh, models);
  }

  /** A restarted process of model m rose by log ratio `change` from its `k`th period after the restart to a cycle later. */
  add(m: number, k: number, change: number): void {
    if (!(k >= 0 && k < this.p.horizon) || change !== change) return;
    const i = m * this.p.horizon + k;
    const n = Math.min(this.count[i]! + 1, HORIZON);
    this.count[i] = n;
    this.mean[i]! += (Math.max(-CLIP, Math.min(CLIP, change)) - this.mean[i]!) / n;
    if (++this.sinceRefresh[m]! >= this.p.horizon) {
      this.sinceRefresh[m] = 0;
      this.learned[m] = this.fit(m);
    }
  }

  /** The warm-up of model m, ms. */
  warmup(m: number): number {
    const w = m >= 0 && m < this.learned.length ? this.learned[m]! : NaN;
    return w === w ? w : this.p.fallback;
  }

  /** Warm-up from the curve, NaN while any period has too few observations. */
  private fit(m: number): number {
    const k = this.p.horizon, base = m * k;
    for (let j = 0; j < k; j++) if (this.count[base + j]! < this.p.minRestarts) return NaN;
    // The first k from which the rise, averaged over `smooth` periods (a warm-up only slows down), is small.
    const q = Math.max(1, Math.min(this.p.smooth, k));
    let sum = 0;
    for (let j = 0; j < q; j++) sum += this.mean[base + j]!;
    for (let j = 0; j + q <= k; j++) {
      if (sum / q <= this.p.tolerance) return Math.min(k, j + MARGIN) * this.p.period;
      if (j + q < k) sum += this.mean[base + j + q]! - this.mean[base + j]!;
    }
    return k * this.p.period;
  }

  checkpoint(models: number): { horizon: number; mean: Float64Array; count: Int32Array; learned: Float64Array; sinceRefresh: Int32Array } {
    const k = this.p.horizon;
    return {
      horizon: k, mean: this.mean.slice(0, models * k), count: this.count.slice(0, models * k),
      learned: this.learned.slice(0, models), sinceRefresh: this.sinceRefresh.slice(0, models),
    };
  }

  /**
   * Takes back a checkpoint of the same horizon. The observations since the last refit are
   * part of it: the warm-up is refitted every `horizon` of them, and a count started again
   * at 0 would refit later than an uninterrupted run, so restarts in between would get a
   * stale warm-up. A checkpoint without them (older format) counts from 0.
   */
  restore(st: (Omit<ReturnType<WarmupCurve['checkpoint']>, 'sinceRefresh'> & { sinceRefresh?: Int32Array }) | undefined): void {
    if (!st || st.horizon !== this.p.horizon) return;
    this.ensure(st.learned.length);
    this.mean.set(st.mean);
    this.count.set(st.count);
    this.learned.set(st.learned);
    if (st.sinceRefresh) this.sinceRefresh.set(st.sinceRefresh);
  }
}
