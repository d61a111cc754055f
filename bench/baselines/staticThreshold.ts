const DAY = 86_400_000;

export interface StaticThresholdOptions {
  /** Flag when rss exceeds this multiple of the reference median (default 1.5). */
  factor?: number;
  /** The reference is the median of the series' points within this span of its first point, ms (default 1 day). */
  reference?: number;
}

/**
 * Baseline: a fixed threshold per series, the alarm most fleets start with. The
 * reference is the median of the first day (a median, so that a warm-up or one spike
 * does not set it); the series is flagged at the first later point above
 * factor x reference.
 *
 * Returns the event time of the first detection, or null.
 */
export function staticThreshold(ts: ArrayLike<number>, rss: ArrayLike<number>, options: StaticThresholdOptions = {}): number | null {
  const factor = options.factor ?? 1.5;
  const span = options.reference ?? DAY;
  const n = Math.min(ts.length, rss.length);
  if (n === 0) return null;
  const end = ts[0]! + span;
  const first: number[] = [];
  let i = 0;
  for (; i < n && ts[i]! < end; i++) first.push(rss[i]!);
  if (first.length === 0) return null;
  first.sort((a, b) => a - b);
  const m = first.length;
  const median = m % 2 ? first[m >> 1]! : (first[(m >> 1) - 1]! + first[m >> 1]!) / 2;
  const limit = factor * median;
  for (; i < n; i++) if (rss[i]! > limit) return ts[i]!;
  return null;
}
