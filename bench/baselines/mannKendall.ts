const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface MannKendallOptions {
  /** Fewest ms of history before a test is made (default 24 h). */
  minWindow?: number;
  /** Longest window tested: the points in (t - maxWindow, t] (default 7 d). */
  maxWindow?: number;
  /** One-sided significance level of the increasing trend (default 0.01). */
  alpha?: number;
  /** Least Sen slope worth flagging, as a share of the window's median per day (default 0.01). */
  minDailyGrowth?: number;
}

/** Upper-tail standard normal quantile by bisection on erfc: exact enough for a threshold. */
function normalUpper(alpha: number): number {
  let lo = 0, hi = 10;
  for (let k = 0; k < 60; k++) {
    const mid = (lo + hi) / 2;
    if (0.5 * erfc(mid / Math.SQRT2) > alpha) lo = mid; else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Complementary error function (Numerical Recipes erfcc, relative error < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

/** Median of all pairwise slopes (bytes per ms) of points lo..hi. */
export function senSlope(ts: ArrayLike<number>, rss: ArrayLike<number>, lo: number, hi: number): number {
  const slopes: number[] = [];
  for (let i = lo; i < hi; i++) {
    for (let j = i + 1; j <= hi; j++) {
      const dt = ts[j]! - ts[i]!;
      if (dt > 0) slopes.push((rss[j]! - rss[i]!) / dt);
    }
  }
  if (slopes.length === 0) return 0;
  slopes.sort((a, b) => a - b);
  const m = slopes.length;
  return m % 2 ? slopes[m >> 1]! : (slopes[(m >> 1) - 1]! + slopes[m >> 1]!) / 2;
}

function medianOf(rss: ArrayLike<number>, lo: number, hi: number): number {
  const v = Array.prototype.slice.call(rss, lo, hi + 1) as number[];
  v.sort((a, b) => a - b);
  const m = v.length;
  return m % 2 ? v[m >> 1]! : (v[(m >> 1) - 1]! + v[m >> 1]!) / 2;
}

const sign = (d: number) => (d > 0 ? 1 : d < 0 ? -1 : 0);

/**
 * Baseline: the Mann-Kendall trend test with Sen's slope, the textbook non-parametric
 * trend detector. At each point with at least `minWindow` of history, the points of
 * the last `maxWindow` are tested for an increasing trend (S statistic, normal
 * approximation with continuity correction, variance without the ties term, which
 * only makes the test more conservative); the series is flagged when the one-sided p
 * is below `alpha` and the Sen slope is at least `minDailyGrowth` of the window's
 * median per day. S is updated in O(window) per point as points enter and leave; the
 * O(window^2) Sen slope is computed only when S is significant. Meant for hourly
 * points (a week is 168 of them).
 *
 * Returns the event time of the first detection, or null.
 */
export function mannKendall(ts: ArrayLike<number>, rss: ArrayLike<number>, options: MannKendallOptions = {}): number | null {
  const minWindow = options.minWindow ?? DAY;
  const maxWindow = options.maxWindow ?? 7 * DAY;
  const z = normalUpper(options.alpha ?? 0.01);
  const minDaily = options.minDailyGrowth ?? 0.01;
  const n = Math.min(ts.length, rss.length);
  let lo = 0;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const y = rss[i]!;
    for (let j = lo; j < i; j++) s += sign(y - rss[j]!);
    while (ts[lo]! <= ts[i]! - maxWindow) {
      const yo = rss[lo]!;
      for (let j = lo + 1; j <= i; j++) s -= sign(rss[j]! - yo);
      lo++;
    }
    if (ts[i]! - ts[0]! < minWindow) continue;
    const k = i - lo + 1;
    if (k < 3 || s <= 0) continue;
    const sd = Math.sqrt((k * (k - 1) * (2 * k + 5)) / 18);
    if ((s - 1) / sd <= z) continue;
    const slopePerDay = senSlope(ts, rss, lo, i) * DAY;
    if (slopePerDay > 0 && slopePerDay >= minDaily * medianOf(rss, lo, i)) return ts[i]!;
  }
  return null;
}
