import { describe, expect, it } from 'vitest';
import { mannKendall, senSlope } from '../../../bench/baselines/mannKendall.js';
import { predictLinear } from '../../../bench/baselines/predictLinear.js';
import { staticThreshold } from '../../../bench/baselines/staticThreshold.js';
import { hourly, rng } from './series.js';

const HOUR = 3_600_000;

describe('staticThreshold', () => {
  it('flags the first point above 1.5x the first-day median', () => {
    const { ts, rss } = hourly(24 * 20, { noise: 0.005, perDay: 0.1, leakAt: 48 });
    const at = staticThreshold(ts, rss);
    // 50% growth at 10%/day takes 5 days from hour 48; noise moves the crossing by an hour or two.
    expect(at).not.toBeNull();
    expect(at! / HOUR).toBeGreaterThan(48 + 115);
    expect(at! / HOUR).toBeLessThan(48 + 125);
    expect(rss[at! / HOUR]!).toBeGreaterThan(1.5 * 500 * 1024 * 1024);
    expect(rss[at! / HOUR - 1]!).toBeLessThanOrEqual(1.5 * 500 * 1024 * 1024 * 1.02);
  });

  it('ignores a first-day spike (median reference) and a flat series', () => {
    const { ts, rss } = hourly(24 * 30, { noise: 0.01 });
    rss[3] = rss[3]! * 10;
    expect(staticThreshold(ts, rss)).toBeNull();
    rss[200] = rss[200]! * 1.6;
    expect(staticThreshold(ts, rss)).toBe(200 * HOUR);
  });

  it('honours factor and reference span, and copes with empty input', () => {
    const ts = Float64Array.from([0, 1, 2, 3, 4].map((h) => h * HOUR));
    const rss = Float64Array.from([100, 100, 130, 160, 400]);
    expect(staticThreshold(ts, rss, { reference: 2 * HOUR })).toBe(3 * HOUR);
    expect(staticThreshold(ts, rss, { reference: 2 * HOUR, factor: 2 })).toBe(4 * HOUR);
    expect(staticThreshold(new Float64Array(0), new Float64Array(0))).toBeNull();
  });
});

describe('predictLinear', () => {
  it('projects a 24 h least-squares fit 48 h ahead', () => {
    // y = 100 + h: at hour 24 the window (0, 24] has mean 112.5 and projects to 172 > 168.75.
    const ts = Float64Array.from({ length: 100 }, (_, h) => h * HOUR);
    const line = (b: number) => Float64Array.from({ length: 100 }, (_, h) => b + h);
    expect(predictLinear(ts, line(100))).toBe(24 * HOUR);
    // y = 1000 + h projects to 1048 + h, never above 1.5 x (988.5 + h); nor y = 100 + h 24 h ahead.
    expect(predictLinear(ts, line(1000))).toBeNull();
    expect(predictLinear(ts, line(100), { horizon: 24 * HOUR })).toBeNull();
  });

  it('matches a from-scratch least-squares fit at every point', () => {
    const { ts, rss } = hourly(24 * 10, { noise: 0.01, perDay: 0.4, leakAt: 60, seed: 3 });
    let expected: number | null = null;
    for (let i = 24; i < ts.length && expected === null; i++) {
      const xs: number[] = [], ys: number[] = [];
      for (let j = i - 23; j <= i; j++) { xs.push(ts[j]! / HOUR); ys.push(rss[j]!); }
      const mx = xs.reduce((a, b) => a + b) / 24, my = ys.reduce((a, b) => a + b) / 24;
      let cxy = 0, vx = 0;
      for (let j = 0; j < 24; j++) { cxy += (xs[j]! - mx) * (ys[j]! - my); vx += (xs[j]! - mx) ** 2; }
      if (my + (cxy / vx) * (ts[i]! / HOUR + 48 - mx) > 1.5 * my) expected = ts[i]!;
    }
    expect(expected).not.toBeNull();
    expect(predictLinear(ts, rss)).toBe(expected);
  });

  it('waits for a full window and never flags a flat noisy series', () => {
    const { ts, rss } = hourly(24 * 30, { noise: 0.03 });
    expect(predictLinear(ts, rss)).toBeNull();
    const steep = Float64Array.from({ length: 30 }, (_, h) => 100 * 2 ** h);
    expect(predictLinear(ts.subarray(0, 30), steep)).toBe(24 * HOUR);
  });

  it('flags a fast leak and not a slow one', () => {
    const fast = hourly(24 * 20, { noise: 0.005, perDay: 0.3, leakAt: 72 });
    const at = predictLinear(fast.ts, fast.rss);
    expect(at).not.toBeNull();
    expect(at! / HOUR).toBeGreaterThan(72);
    const slow = hourly(24 * 20, { noise: 0.005, perDay: 0.03, leakAt: 72 });
    expect(predictLinear(slow.ts, slow.rss)).toBeNull();
  });
});

describe('mannKendall', () => {
  it("Sen's slope is the slope of a line, robust to an outlier", () => {
    const ts = Float64Array.from({ length: 20 }, (_, h) => h * HOUR);
    const rss = Float64Array.from({ length: 20 }, (_, h) => 1000 + 7 * h);
    rss[5] = 1e9;
    expect(senSlope(ts, rss, 0, 19) * HOUR).toBeCloseTo(7, 9);
  });

  it('flags a steady leak soon after a day of history, with a meaningful slope', () => {
    const { ts, rss } = hourly(24 * 14, { noise: 0.002, perDay: 0.05, leakAt: 48 });
    const at = mannKendall(ts, rss);
    expect(at).not.toBeNull();
    expect(at! / HOUR).toBeGreaterThanOrEqual(48);
    expect(at! / HOUR).toBeLessThan(48 + 36);
  });

  it('does not flag white noise, nor a significant but negligible trend', () => {
    let flagged = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const { ts, rss } = hourly(24 * 14, { noise: 0.01, seed });
      if (mannKendall(ts, rss) !== null) flagged++;
    }
    // 20 series x ~300 correlated tests at p < 0.01: a few may fire on noise alone, not most.
    expect(flagged).toBeLessThanOrEqual(6);
    const tiny = hourly(24 * 14, { noise: 0.0001, perDay: 0.002, leakAt: 0 });
    expect(mannKendall(tiny.ts, tiny.rss)).toBeNull();
    expect(mannKendall(tiny.ts, tiny.rss, { minDailyGrowth: 0.001 })).not.toBeNull();
  });

  it('keeps S right while the window slides (matches a from-scratch count)', () => {
    const next = rng(7);
    const n = 400;
    const ts = Float64Array.from({ length: n }, (_, h) => h * HOUR);
    const rss = Float64Array.from({ length: n }, (_, h) => 1000 + (h > 300 ? (h - 300) * 3 : 0) + next() * 20);
    const at = mannKendall(ts, rss, { maxWindow: 48 * HOUR, minDailyGrowth: 0 });
    // Brute force with the same rule.
    let expected: number | null = null;
    for (let i = 24; i < n && expected === null; i++) {
      const lo = Math.max(0, i - 47);
      let s = 0;
      for (let a = lo; a < i; a++) for (let b = a + 1; b <= i; b++) s += Math.sign(rss[b]! - rss[a]!);
      const k = i - lo + 1;
      const z = (s - 1) / Math.sqrt((k * (k - 1) * (2 * k + 5)) / 18);
      if (s > 0 && z > 2.3263 && senSlope(ts, rss, lo, i) > 0) expected = ts[i]!;
    }
    expect(at).toBe(expected);
    expect(at).not.toBeNull();
  });
});
