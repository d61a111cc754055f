import { describe, expect, it } from 'vitest';
import { BASELINES, type Baseline } from '../../../bench/accuracy/baselines.js';
import { senSlope } from '../../../bench/baselines/mannKendall.js';
import { hourly } from '../baselines/series.js';

const H = 3_600_000;
const DAY = 24 * H;

/**
 * Oracles: whether each rule, evaluated over the whole series, fires at point i. Written
 * from the rules' definitions (bench/accuracy/baselines.ts parameters), not from their code.
 */
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[(s.length >> 1) - 1]! + s[s.length >> 1]!) / 2;
};

const ORACLES: Record<string, (ts: Float64Array, rss: Float64Array, i: number) => boolean> = {
  static: (ts, rss, i) => {
    const ref: number[] = [];
    for (let j = 0; j < ts.length && ts[j]! < ts[0]! + DAY; j++) ref.push(rss[j]!);
    return ts[i]! >= ts[0]! + DAY && rss[i]! > 1.5 * median(ref);
  },
  predict_linear: (ts, rss, i) => {
    if (ts[i]! - ts[0]! < DAY) return false;
    const xs: number[] = [], ys: number[] = [];
    for (let j = 0; j <= i; j++) if (ts[j]! > ts[i]! - DAY) { xs.push(ts[j]! / H); ys.push(rss[j]!); }
    const mx = xs.reduce((a, b) => a + b) / xs.length, my = ys.reduce((a, b) => a + b) / ys.length;
    let sxy = 0, sxx = 0;
    xs.forEach((x, j) => { sxy += (x - mx) * (ys[j]! - my); sxx += (x - mx) ** 2; });
    return my + (sxy / sxx) * (ts[i]! / H + 48 - mx) > 1.5 * my;
  },
  mann_kendall: (ts, rss, i) => {
    if (ts[i]! - ts[0]! < DAY) return false;
    let lo = 0;
    while (ts[lo]! <= ts[i]! - 7 * DAY) lo++;
    let s = 0;
    for (let a = lo; a < i; a++) for (let b = a + 1; b <= i; b++) s += Math.sign(rss[b]! - rss[a]!);
    const k = i - lo + 1;
    if (k < 3 || s <= 0 || (s - 1) / Math.sqrt((k * (k - 1) * (2 * k + 5)) / 18) <= 2.3263479) return false;
    const slope = senSlope(ts, rss, lo, i) * DAY;
    return slope > 0 && slope >= 0.01 * median(Array.from(rss.subarray(lo, i + 1)));
  },
};

/** 14 days hourly: a transient rise on day 2 that every rule fires on, released, then a leak from day 8. */
function series(): { ts: Float64Array; rss: Float64Array; k: number } {
  const base = hourly(14 * 24, { noise: 0.01, diurnal: 0.03, perDay: 0.25, leakAt: 8 * 24, seed: 11 });
  for (let h = 40; h < 72; h++) base.rss[h] = base.rss[h]! * (1 + Math.min(h - 40, 12) * 0.07);
  // A missing hour inside the leak, as a whole-host agent gap leaves.
  const keep = [...base.ts.keys()].filter((h) => h !== 8 * 24 + 30);
  return { ts: Float64Array.from(keep, (h) => base.ts[h]!), rss: Float64Array.from(keep, (h) => base.rss[h]!), k: 8 * 24 };
}

describe('baselines: firing again after a leak begins', () => {
  for (const b of BASELINES as Baseline[]) {
    it(`${b.name}: firstFrom(k) is the first point at or after k where the whole-series rule fires`, () => {
      const { ts, rss, k } = series();
      const fires = ORACLES[b.name]!;
      const first = b.first(ts, rss);
      // The case under test: the rule fired before the leak.
      expect(first).not.toBeNull();
      expect(first!).toBeLessThan(ts[k]!);
      expect(first).toBe(ts[[...ts.keys()].find((i) => fires(ts, rss, i))!]);
      const expected = [...ts.keys()].find((i) => i >= k && fires(ts, rss, i));
      expect(expected).toBeDefined();
      expect(b.firstFrom(ts, rss, k)).toBe(ts[expected!]);
      // And from a later point, too.
      const later = [...ts.keys()].find((i) => i >= expected! + 5 && fires(ts, rss, i));
      if (later !== undefined) expect(b.firstFrom(ts, rss, expected! + 5)).toBe(ts[later]);
    });
  }
});
