import type { LeakPattern } from '../../engine/alert.js';

/** One growing stretch of the window: least-squares slope (per point), fit and rise. */
export interface GrowthRun {
  /** Index of the first and last point of the run within the classified window. */
  start: number;
  end: number;
  slope: number;
  r2: number;
  du: number;
}

export interface Classification {
  pattern: LeakPattern;
  /** Growing runs after flat segments were removed (slope_k, R^2_k, dU_k of the method). */
  runs: GrowthRun[];
  /** Points per segment used to tell flat from growing. */
  segment: number;
}

export interface PatternParams {
  /** A spike is a rise within this many points... */
  readonly spikePoints: number;
  /** ...of at least this share of the window's total rise. */
  readonly spikeShare: number;
  /** A segment is nearly flat when its slope is below this share of the window's mean slope. */
  readonly flatShare: number;
  /** Fewest points worth classifying. */
  readonly minPoints: number;
  /** Points of the moving average that finds where growth began (0: classify the whole window). */
  readonly smooth: number;
}

export const DEFAULT_PATTERN_PARAMS: PatternParams = { spikePoints: 3, spikeShare: 0.5, flatShare: 0.15, minPoints: 12, smooth: 6 };

/**
 * `values` without their cycle (classical decomposition): a centred moving average over
 * one cycle is the trend, and the median of what is left at each phase is the profile
 * taken out. A window shorter than two cycles is returned as it is: too short to tell a
 * profile from growth.
 */
/**
 * Where growth began in `values`: the last point at which their `smooth`-point moving
 * average was still within a tenth of its whole rise above its lowest (0 when smooth < 2
 * or the window is too short to tell).
 */
export function growthStart(values: Float64Array, length: number, smooth: number): number {
  if (!(smooth >= 2) || length < 2 * smooth) return 0;
  const avg = new Float64Array(length - smooth + 1);
  let sum = 0, n = 0, lo = Infinity, hi = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = values[i]!;
    if (v === v) { sum += v; n++; }
    if (i >= smooth) {
      const old = values[i - smooth]!;
      if (old === old) { sum -= old; n--; }
    }
    if (i < smooth - 1) continue;
    const a = n > 0 ? sum / n : NaN;
    avg[i - smooth + 1] = a;
    if (a < lo) lo = a;
    if (a > hi) hi = a;
  }
  if (!(hi > lo)) return 0;
  let at = 0;
  for (let k = 0; k < avg.length; k++) if (avg[k]! <= lo + 0.1 * (hi - lo)) at = k;
  return at;
}

export function withoutCycle(values: Float64Array, length: number, cycle: number): Float64Array {
  const out = values.slice(0, length);
  if (!(cycle >= 2) || length < 2 * cycle) return out;
  const half = cycle >> 1;
  const resid = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    let sum = 0, n = 0;
    for (let j = Math.max(0, i - half); j <= Math.min(length - 1, i + half); j++) {
      const v = values[j]!;
      if (v === v) { sum += v; n++; }
    }
    resid[i] = n > 0 ? values[i]! - sum / n : NaN;
  }
  const bucket = new Float64Array(Math.ceil(length / cycle));
  for (let phase = 0; phase < cycle; phase++) {
    let k = 0;
    for (let i = phase; i < length; i += cycle) if (resid[i] === resid[i]) bucket[k++] = resid[i]!;
    if (k === 0) continue;
    const profile = median(bucket, k);
    for (let i = phase; i < length; i += cycle) out[i] = out[i]! - profile;
  }
  return out;
}

function fit(x: Float64Array, y: Float64Array, from: number, to: number): { slope: number; r2: number } {
  let sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0, n = 0;
  for (let i = from; i <= to; i++) {
    const xi = x[i]!, yi = y[i]!;
    sx += xi; sy += yi; sxx += xi * xi; sxy += xi * yi; syy += yi * yi; n++;
  }
  const vx = sxx - (sx * sx) / n, vy = syy - (sy * sy) / n, cxy = sxy - (sx * sy) / n;
  const slope = vx > 0 ? cxy / vx : 0;
  const r2 = vx > 0 && vy > 0 ? (cxy * cxy) / (vx * vy) : 0;
  return { slope, r2 };
}

function median(a: Float64Array, n: number): number {
  const s = a.slice(0, n).sort();
  return n % 2 ? s[n >> 1]! : (s[(n >> 1) - 1]! + s[n >> 1]!) / 2;
}

/**
 * Classifies the growth in `values[0..length)` (period means, oldest first, NaN for
 * missing periods, best with their daily cycle taken out: see `withoutCycle`) as the
 * method's three patterns. The window is first cut to where growth began (see
 * `growthStart`), so that days before a leak, and their noise, do not pass for flat
 * stretches or steps of it.
 *
 * - spike: a rise within `spikePoints` points of at least `spikeShare` of the total rise
 *   (rise = mean of the last `spikePoints` points minus mean of the first; a jump is
 *   measured between the means of the `spikePoints` points either side, so one noisy
 *   point cannot pass for a spike);
 * - otherwise the window is cut into equal segments, nearly flat ones (slope below
 *   `flatShare` of the window's mean slope) are removed, and consecutive growing ones
 *   merge into runs that are regressed. stair: flat segments remain between growing
 *   runs; steady: none do (flat stretches before the first or after the last run are
 *   not between growing ones).
 *
 * Segments are as short as the noise allows: long enough that a segment's slope is
 * known to within a quarter of the mean slope (sigma from the median absolute period
 * difference), and at least 3 points; a window too noisy for two segments is steady
 * when its overall fit is positive. Returns `unknown` for fewer than `minPoints` points
 * or no rise.
 */
export function classifyGrowth(values: Float64Array, length: number, p: PatternParams = DEFAULT_PATTERN_PARAMS): Classification {
  const x = new Float64Array(length);
  const y = new Float64Array(length);
  let n = 0;
  for (let i = growthStart(values, length, p.smooth); i < length; i++) {
    const v = values[i]!;
    if (v === v) { x[n] = i; y[n] = v; n++; }
  }
  const none: Classification = { pattern: 'unknown', runs: [], segment: 0 };
  if (n < Math.max(p.minPoints, 2 * p.spikePoints + 1)) return none;

  const h = p.spikePoints;
  let headSum = 0, tailSum = 0;
  for (let i = 0; i < h; i++) { headSum += y[i]!; tailSum += y[n - 1 - i]!; }
  const rise = (tailSum - headSum) / h;
  if (!(rise > 0)) return none;

  // Jump across each boundary between two h-point windows, with running sums.
  let left = 0, right = 0;
  for (let i = 0; i < h; i++) { left += y[i]!; right += y[h + i]!; }
  let jump = right - left;
  let jumpAt = h;
  for (let b = h + 1; b + h <= n; b++) {
    left += y[b - 1]! - y[b - 1 - h]!;
    right += y[b + h - 1]! - y[b - 1]!;
    if (right - left > jump) { jump = right - left; jumpAt = b; }
  }
  jump /= h;

  const diffs = new Float64Array(n - 1);
  for (let i = 1; i < n; i++) diffs[i - 1] = Math.abs(y[i]! - y[i - 1]!);
  // Median |dU| / 0.6745 is sigma of dU; sigma of one point is that over sqrt 2.
  const sigma = median(diffs, n - 1) / 0.6745 / Math.SQRT2;
  const meanSlope = rise / Math.max(x[n - 1]! - x[0]!, 1);
  // Slope standard error sigma * sqrt(12 / L^3) <= meanSlope / 4  =>  L >= cbrt(192 sigma^2 / slope^2).
  const seg = Math.max(3, Math.ceil(Math.cbrt((192 * sigma * sigma) / (meanSlope * meanSlope))));

  if (jump >= p.spikeShare * rise) {
    const from = Math.max(0, jumpAt - h), to = Math.min(n - 1, jumpAt + h - 1);
    const f = fit(x, y, from, to);
    return { pattern: 'spike', runs: [{ start: x[from]!, end: x[to]!, slope: f.slope, r2: f.r2, du: y[to]! - y[from]! }], segment: seg };
  }

  const segments = Math.floor(n / seg);
  if (segments < 2) {
    const f = fit(x, y, 0, n - 1);
    if (!(f.slope > 0)) return none;
    return { pattern: 'steady', runs: [{ start: x[0]!, end: x[n - 1]!, slope: f.slope, r2: f.r2, du: y[n - 1]! - y[0]! }], segment: seg };
  }
  const growing = new Uint8Array(segments);
  for (let k = 0; k < segments; k++) {
    const from = k * seg, to = k === segments - 1 ? n - 1 : from + seg - 1;
    growing[k] = fit(x, y, from, to).slope >= p.flatShare * meanSlope ? 1 : 0;
  }
  const runs: GrowthRun[] = [];
  let flatBetween = false;
  let k = 0;
  while (k < segments) {
    if (!growing[k]) { k++; continue; }
    const first = k;
    while (k < segments && growing[k]) k++;
    if (runs.length > 0 && first > 0 && !growing[first - 1]) flatBetween = true;
    const from = first * seg, to = k === segments ? n - 1 : k * seg - 1;
    const f = fit(x, y, from, to);
    runs.push({ start: x[from]!, end: x[to]!, slope: f.slope, r2: f.r2, du: y[to]! - y[from]! });
  }
  if (runs.length === 0) return none;
  return { pattern: flatBetween ? 'stair' : 'steady', runs, segment: seg };
}
