import { packTimes, unpackTimes, type PackedTimes } from '../../engine/typedArrays.js';
import { grown } from './grow.js';

/**
 * The moving suspicious interval of RESIN's level 2, one process series at a time.
 *
 * Each series keeps an interval [T0, T1], started at [t1, t1]. A new point moves T1
 * forward; T0 jumps to the current point when the period difference dU is a 3-sigma
 * outlier of the model's N(mu2, sigma2) (an event such as a VM creation, not a leak),
 * when U falls below U(T0), or when the share of increasing points drops below epsilon.
 * What survives is the span over which memory has only gone up: T0 is the leak start
 * an alert reports, and the interval's points feed the severity of equation 1.
 *
 * Choices the method leaves open (docs/detection.md, "Level 2", has the measurements):
 * - "rose": dU > rose_k x sigma of the series' own period differences (an exponentially
 *   weighted mean absolute difference), the model's sigma2 until the series has a
 *   cycle of history; with rose_k = 0, any rise.
 * - epsilon applies once the interval has `epsilonMinSteps` steps: on a handful of
 *   points the share says nothing.
 * - An upward outlier is held for `eventWindow` before T0 moves. A spike that comes
 *   back within it (U again within 3 sigma2 of where it was) is left out and the
 *   interval goes on. Taken literally the rule moves T0 to the top of the spike, and
 *   again when U falls back below it: every transient spike would throw away a leak's
 *   history.
 * - A restart (the rollup's flag, or U falling by more than `restartDrop` in one period,
 *   unless it is a held spike ending) clears the interval and starts a warm-up during
 *   which points are ignored: a fresh process filling its caches is not leaking. The
 *   first point of a series counts as a start.
 * - Besides T0, each series keeps an anchor: where growth may be measured from (see
 *   reportRule.ts). It moves only on hard breaks: a (re)start, a step up that stayed,
 *   growth shared with peers. A dip below U(T0) at a daily trough, or a pause, moves T0
 *   but leaves the days before it a valid baseline.
 *
 * State lives in typed arrays indexed by catalog series id, so a batch is processed in
 * one numeric loop and the whole state is v8-serialisable.
 */

/** What a point did to its series' interval. */
export const Move = {
  /** T1 moved to the point, T0 kept. */
  extended: 0,
  /** First point after a (re)start and its warm-up: the interval is [t, t]. */
  started: 1,
  /** dU was a 3-sigma outlier of N(mu2, sigma2) (a fall, or a rise that stayed): T0 moved to the point. */
  outlier: 2,
  /** U fell below U(T0): T0 moved to the point. */
  below: 3,
  /** The share of increasing points fell below epsilon: T0 moved to the point. */
  epsilon: 4,
  /** The process restarted: interval cleared, warm-up begins. */
  restart: 5,
  /** Inside a warm-up: the point is not used. */
  warming: 6,
  /** Not later than the series' previous point: ignored. */
  stale: 7,
  /** An upward outlier that may be transient: held out until it reverses or stays. */
  event: 8,
  /** An upward outlier that stayed (a step): T0 moved to the point. */
  step: 9,
} as const;
export type MoveCode = (typeof Move)[keyof typeof Move];

export interface IntervalParams {
  /** Length of a period, ms. */
  readonly period: number;
  /** Reset T0 when fewer than this share of the interval's steps rose. */
  readonly epsilon: number;
  /** Steps an interval needs before epsilon applies. */
  readonly epsilonMinSteps: number;
  /** A step rose when dU > roseK x sigma of the series' dU. */
  readonly roseK: number;
  /** dU further than this many sigma2 from mu2 is an event (3 in the method). */
  readonly outlierSigma: number;
  /** Points ignored after a restart, ms of event time. */
  readonly warmup: number;
  /** How long an upward outlier may last and still be a transient spike, ms (0: T0 moves at once). */
  readonly eventWindow: number;
  /**
   * Whether a step up that stayed moves the anchor too (growth is then measured after
   * it) or only T0 (the step counts as growth, and the report rule's peer check decides
   * whether it was the process's own).
   */
  readonly stepMovesAnchor: boolean;
  /** A fall of more than this share of U within one period is treated as a restart. */
  readonly restartDrop: number;
  /** Steps after which the series' noise estimate replaces the model's sigma2. */
  readonly noiseMinSteps: number;
  /** Horizon of the noise estimate, in steps (weight 1/horizon per step once settled). */
  readonly noiseHorizon: number;
}

const FIELDS = [
  'lastTs', 'lastU', 'warmUntil', 'firstTs', 'firstU', 't0', 'u0', 't1', 'u1', 'n', 'nInc',
  'noise', 'noiseN', 'anchor', 'eventSince', 'eventBase', 'restartTs',
] as const;

/** Fields that hold event times (ms, NaN for none). */
const TIMES = new Set<string>(['lastTs', 'warmUntil', 'firstTs', 't0', 't1', 'anchor', 'eventSince', 'restartTs']);

/** Per-series interval state; entry i belongs to catalog series i. */
export class IntervalState {
  /** Event time of the series' last point (NaN before the first), and its U. */
  lastTs = new Float64Array(0);
  lastU = new Float64Array(0);
  /** Points before this event time are a warm-up and ignored. */
  warmUntil = new Float64Array(0);
  /** t1 and U(t1): first point of the current process lifetime after its warm-up. */
  firstTs = new Float64Array(0);
  firstU = new Float64Array(0);
  /** T0, U(T0), T1, U(T1); T0 is NaN while there is no interval (warm-up). */
  t0 = new Float64Array(0);
  u0 = new Float64Array(0);
  t1 = new Float64Array(0);
  u1 = new Float64Array(0);
  /** Points in [T0, T1] (T0 included) and the steps among them that rose. */
  n = new Int32Array(0);
  nInc = new Int32Array(0);
  /** Sigma of the series' period differences and the steps it was estimated from. */
  noise = new Float64Array(0);
  noiseN = new Int32Array(0);
  /** Where growth may be measured from (event time, NaN during a warm-up). */
  anchor = new Float64Array(0);
  /** Start of a held upward outlier (NaN: none) and U just before it. */
  eventSince = new Float64Array(0);
  eventBase = new Float64Array(0);
  /** Event time of the last restart seen (NaN: none; a series' first point is not one). */
  restartTs = new Float64Array(0);
  /** Start of the transient spike the last call to `observe` ended (NaN: it ended none). */
  spikeFrom = NaN;

  get capacity(): number {
    return this.lastTs.length;
  }

  ensure(need: number): void {
    if (need <= this.lastTs.length) return;
    for (const k of FIELDS) {
      const nan = k === 'lastTs' || k === 'firstTs' || k === 't0' || k === 't1' || k === 'anchor' || k === 'eventSince' || k === 'restartTs';
      (this as unknown as Record<string, Float64Array | Int32Array>)[k] = grown(this[k], need, nan ? NaN : 0);
    }
  }

  /** The first `count` entries of every array (copies), for a checkpoint; event times packed when that is exact. */
  snapshot(count: number): Record<string, Float64Array | Int32Array | PackedTimes> {
    const out: Record<string, Float64Array | Int32Array | PackedTimes> = {};
    for (const k of FIELDS) out[k] = TIMES.has(k) ? packTimes(this[k].slice(0, count) as Float64Array) : this[k].slice(0, count);
    return out;
  }

  load(saved: Record<string, Float64Array | Int32Array | PackedTimes>): void {
    const lastTs = unpackTimes(saved.lastTs as Float64Array | PackedTimes);
    this.ensure(lastTs.length);
    // A field missing from an older checkpoint keeps its initial value.
    for (const k of FIELDS) {
      const v = saved[k];
      if (v) this[k].set(v instanceof Int32Array ? v : unpackTimes(v));
    }
  }
}

function begin(s: IntervalState, id: number, ts: number, u: number): void {
  s.t0[id] = ts;
  s.u0[id] = u;
  s.t1[id] = ts;
  s.u1[id] = u;
  s.n[id] = 1;
  s.nInc[id] = 0;
}

/**
 * Moves series `id`'s interval to start at point (ts, u) after growth it shared with
 * its peers: an event, like the method's outliers, so the anchor moves too.
 */
export function restartInterval(s: IntervalState, id: number, ts: number, u: number): void {
  begin(s, id, ts, u);
  s.anchor[id] = ts;
}

/** sqrt(pi / 2): sigma of a zero-mean Gaussian from its mean absolute value. */
export const ABS_TO_SIGMA = 1.2533141373155001;

/**
 * Feeds point (ts, u) of series `id`. `restarted`: the rollup saw a new pid. `pidKnown`:
 * the rollup knows the series' pid, so a fall without a new pid is memory released (a
 * buffer drained, a cache evicted), not a restart; without pids a fall of more than
 * `restartDrop` has to stand for one. `mu2`/`sigma2` model its period difference (NaN
 * while the model has too little data: no outlier resets then).
 */
export function observe(
  s: IntervalState, id: number, ts: number, u: number, restarted: boolean, pidKnown: boolean,
  mu2: number, sigma2: number, p: IntervalParams,
): MoveCode {
  const prevTs = s.lastTs[id]!;
  s.spikeFrom = NaN;
  if (ts <= prevTs) return Move.stale;
  const prevU = s.lastU[id]!;
  s.lastTs[id] = ts;
  s.lastU[id] = u;
  // The end of a held spike is a fall too, but not a restart.
  const spikeEnds = s.eventSince[id] === s.eventSince[id] && u <= s.eventBase[id]! * (1 + p.restartDrop);
  if (prevTs !== prevTs || restarted || (!pidKnown && u < prevU * (1 - p.restartDrop) && !spikeEnds)) {
    s.warmUntil[id] = ts + p.warmup;
    s.restartTs[id] = prevTs === prevTs ? ts : NaN;
    s.t0[id] = NaN;
    s.firstTs[id] = NaN;
    s.anchor[id] = NaN;
    s.eventSince[id] = NaN;
    return Move.restart;
  }
  if (ts < s.warmUntil[id]!) return Move.warming;
  if (s.t0[id] !== s.t0[id]) {
    if (s.firstTs[id] !== s.firstTs[id]) {
      s.firstTs[id] = ts;
      s.firstU[id] = u;
    }
    begin(s, id, ts, u);
    s.anchor[id] = ts;
    return Move.started;
  }
  // A difference across a gap is not one period's change: it is neither tested nor counted.
  let dU = ts - prevTs < 1.5 * p.period ? u - prevU : NaN;
  const since = s.eventSince[id]!;
  if (since === since) {
    const base = s.eventBase[id]!;
    if (sigma2 > 0 ? Math.abs(u - base - mu2) <= p.outlierSigma * sigma2 : u <= base) {
      // The spike is over: the interval goes on from before it, its points left out.
      s.eventSince[id] = NaN;
      s.spikeFrom = since;
      dU = u - base;
    } else if (ts - since >= p.eventWindow) {
      s.eventSince[id] = NaN;
      begin(s, id, ts, u);
      if (p.stepMovesAnchor) s.anchor[id] = ts;
      return Move.step;
    } else {
      return Move.event;
    }
  } else if (dU === dU && sigma2 > 0 && Math.abs(dU - mu2) > p.outlierSigma * sigma2) {
    if (dU > mu2 && p.eventWindow > 0) {
      s.eventSince[id] = ts;
      s.eventBase[id] = prevU;
      return Move.event;
    }
    begin(s, id, ts, u);
    if (dU < mu2) return Move.outlier;
    if (p.stepMovesAnchor) s.anchor[id] = ts;
    return Move.step;
  }
  const seen = s.noiseN[id]!;
  if (dU === dU) {
    // A running mean at first, then a fixed horizon: quick to settle, slow to forget.
    s.noise[id]! += (Math.abs(dU) * ABS_TO_SIGMA - s.noise[id]!) / Math.min(seen + 1, p.noiseHorizon);
    s.noiseN[id] = seen + 1;
  }
  if (u < s.u0[id]!) {
    begin(s, id, ts, u);
    return Move.below;
  }
  const n = s.n[id]! + 1;
  s.n[id] = n;
  if (dU === dU && dU > p.roseK * noiseOf(s, id, sigma2, p)) s.nInc[id]!++;
  s.t1[id] = ts;
  s.u1[id] = u;
  if (n - 1 >= p.epsilonMinSteps && s.nInc[id]! < p.epsilon * (n - 1)) {
    begin(s, id, ts, u);
    return Move.epsilon;
  }
  return Move.extended;
}

/** Sigma of one period's difference for series `id`: its own estimate, else the model's (0 if neither). */
export function noiseOf(s: IntervalState, id: number, sigma2: number, p: IntervalParams): number {
  return s.noiseN[id]! >= p.noiseMinSteps ? s.noise[id]! : sigma2 === sigma2 ? sigma2 : 0;
}

/** Milliseconds in the month of the severity formula's dT term. */
export const MONTH_MS = 30 * 86_400_000;

/**
 * Equation 1 of the method:
 *   dU_total / sigma1 + N_inc / n + dT (months) + 1 / (1 + exp(-U(tn) / mu1)),
 * with dU_total = U(tn) - U(t1) and dT = T1 - T0. sigma1 is floored at 0.1% of mu1 (and
 * 1 byte) so that a component of identical processes does not divide by zero; without
 * a model (mu1 NaN) the last term is 1.
 */
export function severity(duTotal: number, sigma1: number, nInc: number, n: number, dtMs: number, u: number, mu1: number): number {
  const s1 = Math.max(sigma1 === sigma1 ? sigma1 : 0, mu1 === mu1 ? Math.abs(mu1) * 1e-3 : 0, 1);
  const share = n > 0 ? nInc / n : 0;
  const size = mu1 > 0 ? 1 / (1 + Math.exp(-u / mu1)) : 1;
  return duTotal / s1 + share + dtMs / MONTH_MS + size;
}
