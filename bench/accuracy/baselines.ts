import { mannKendall, type MannKendallOptions } from '../baselines/mannKendall.js';
import { predictLinear, type PredictLinearOptions } from '../baselines/predictLinear.js';
import { staticThreshold, type StaticThresholdOptions } from '../baselines/staticThreshold.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * A baseline rule over one series' points (ascending `ts`), as the benchmark runs it.
 * `first` is the rule's first flag. `firstFrom` is its first flag at or after point k,
 * exactly as the rule evaluated over the whole series would raise it there: a rule
 * that fired before a leak began fires again once the leak makes its condition true,
 * as an alert rule would after resolving, so a baseline is judged like the engine (an
 * early alert is a false one, a later one can still find the leak).
 */
export interface Baseline {
  name: string;
  first(ts: Float64Array, rss: Float64Array): number | null;
  firstFrom(ts: Float64Array, rss: Float64Array, k: number): number | null;
}

/** First index with ts[i] >= t (ts ascending). */
function lowerBound(ts: Float64Array, t: number): number {
  let lo = 0, hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid]! < t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

// Parameters spelled out, not left to defaults: firstFrom depends on the windows.
const STATIC: StaticThresholdOptions = { factor: 1.5, reference: DAY };
const PREDICT: Required<PredictLinearOptions> = { window: 24 * HOUR, horizon: 48 * HOUR, factor: 1.5 };
const MK: Required<MannKendallOptions> = { minWindow: DAY, maxWindow: 7 * DAY, alpha: 0.01, minDailyGrowth: 0.01 };

export const BASELINES: readonly Baseline[] = [
  {
    name: 'static',
    first: (ts, rss) => staticThreshold(ts, rss, STATIC),
    // The reference day followed directly by point k: the reference is unchanged and the scan starts at k.
    firstFrom: (ts, rss, k) => {
      const ref = lowerBound(ts, ts[0]! + STATIC.reference!);
      const from = Math.max(k, ref);
      const cut = (a: Float64Array) => {
        const out = new Float64Array(ref + a.length - from);
        out.set(a.subarray(0, ref));
        out.set(a.subarray(from), ref);
        return out;
      };
      return staticThreshold(cut(ts), cut(rss), STATIC);
    },
  },
  {
    name: 'predict_linear',
    first: (ts, rss) => predictLinear(ts, rss, PREDICT),
    // A window's fit sees only its own points, and the rule first evaluates one window
    // after the first point: starting at ts[k] - window, it first evaluates at ts[k].
    firstFrom: (ts, rss, k) => {
      const lo = lowerBound(ts, ts[k]! - PREDICT.window);
      return predictLinear(ts.subarray(lo), rss.subarray(lo), PREDICT);
    },
  },
  {
    name: 'mann_kendall',
    first: (ts, rss) => mannKendall(ts, rss, MK),
    // Every window at or after ts[k] lies within (ts[k] - maxWindow, end]; the first
    // test is held back to ts[k] (or to where the whole series would first test).
    firstFrom: (ts, rss, k) => {
      const lo = lowerBound(ts, ts[k]! - MK.maxWindow + 1);
      const firstTest = Math.max(ts[k]!, ts[0]! + MK.minWindow);
      return mannKendall(ts.subarray(lo), rss.subarray(lo), { ...MK, minWindow: firstTest - ts[lo]! });
    },
  },
];
