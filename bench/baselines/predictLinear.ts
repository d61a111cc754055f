const HOUR = 3_600_000;

export interface PredictLinearOptions {
  /** Least-squares window, ms (default 24 h, as in `predict_linear(rss[24h], ...)`). */
  window?: number;
  /** How far ahead the fit is projected, ms (default 48 h). */
  horizon?: number;
  /** Flag when the projection exceeds this multiple of the window's mean (default 1.5). */
  factor?: number;
}

/**
 * Baseline: Prometheus-style `predict_linear(rss[24h], 48h) > 1.5 * avg_over_time(rss[24h])`,
 * evaluated at every point once a full window of history exists. The fit uses the
 * points in (t - window, t] with running sums, so a series costs O(n).
 *
 * Returns the event time of the first detection, or null.
 */
export function predictLinear(ts: ArrayLike<number>, rss: ArrayLike<number>, options: PredictLinearOptions = {}): number | null {
  const window = options.window ?? 24 * HOUR;
  const horizon = options.horizon ?? 48 * HOUR;
  const factor = options.factor ?? 1.5;
  const n = Math.min(ts.length, rss.length);
  if (n < 2) return null;
  // Hours since the first point keep the sums' magnitudes small.
  const t0 = ts[0]!;
  let sx = 0, sy = 0, sxx = 0, sxy = 0, k = 0;
  let lo = 0;
  for (let i = 0; i < n; i++) {
    const x = (ts[i]! - t0) / HOUR, y = rss[i]!;
    sx += x; sy += y; sxx += x * x; sxy += x * y; k++;
    while (ts[lo]! <= ts[i]! - window) {
      const xo = (ts[lo]! - t0) / HOUR, yo = rss[lo]!;
      sx -= xo; sy -= yo; sxx -= xo * xo; sxy -= xo * yo; k--;
      lo++;
    }
    if (ts[i]! - t0 < window || k < 2) continue;
    const vx = sxx - (sx * sx) / k;
    if (!(vx > 0)) continue;
    const slope = (sxy - (sx * sy) / k) / vx;
    const mean = sy / k;
    const predicted = mean + slope * (x + horizon / HOUR - sx / k);
    if (predicted > factor * mean) return ts[i]!;
  }
  return null;
}
