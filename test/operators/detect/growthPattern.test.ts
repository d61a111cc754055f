import { describe, expect, it } from 'vitest';
import { classifyGrowth, DEFAULT_PATTERN_PARAMS, growthStart, withoutCycle } from '../../../operators/detect/growthPattern.js';
import { gauss } from './fleet.js';

const noise = gauss(11);
const series = (n: number, f: (k: number) => number, sd = 0) => Float64Array.from({ length: n }, (_, k) => f(k) + sd * noise());

describe('growth pattern', () => {
  it('steady: growth with no flat stretch between growing ones; the slope is the leak rate', () => {
    const c = classifyGrowth(series(168, (k) => 500 + 2 * k, 1), 168);
    expect(c.pattern).toBe('steady');
    expect(c.runs).toHaveLength(1);
    expect(c.runs[0]!.slope).toBeCloseTo(2, 1);
    expect(c.runs[0]!.r2).toBeGreaterThan(0.99);
  });

  it('stair: flat stretches between growing ones, each growing run regressed', () => {
    // 6 periods up by 10 each, 20 flat, three times.
    const stair = (k: number) => 500 + 60 * Math.floor(k / 26) + 10 * Math.min(k % 26, 6);
    const c = classifyGrowth(series(26 * 3 + 10, stair, 0.5), 26 * 3 + 10);
    expect(c.pattern).toBe('stair');
    // The three steps are growing runs of about 10 a period (noise may add short ones).
    expect(c.runs.filter((r) => r.slope > 6 && r.slope < 14).length).toBeGreaterThanOrEqual(3);
  });

  it('spike: a large increase within a few points', () => {
    const c = classifyGrowth(series(100, (k) => 500 + (k >= 50 ? 200 : k >= 49 ? 100 : 0) + 0.05 * k, 1), 100);
    expect(c.pattern).toBe('spike');
    expect(c.runs[0]!.start).toBeLessThanOrEqual(49);
    expect(c.runs[0]!.end).toBeGreaterThanOrEqual(50);
    expect(c.runs[0]!.du).toBeGreaterThan(150);
  });

  it('unknown: too few points, or no rise', () => {
    expect(classifyGrowth(series(8, (k) => 10 * k), 8).pattern).toBe('unknown');
    expect(classifyGrowth(series(100, (k) => 500 - k, 0.5), 100).pattern).toBe('unknown');
    expect(classifyGrowth(new Float64Array(50).fill(NaN), 50).pattern).toBe('unknown');
  });

  it('ignores the days before growth began', () => {
    // Flat for 100 periods, then steady: without the cut the flat days would make it a stair or a spike.
    const v = series(168, (k) => 500 + (k > 100 ? 3 * (k - 100) : 0), 1);
    expect(growthStart(v, 168, 6)).toBeGreaterThan(90);
    expect(growthStart(v, 168, 6)).toBeLessThanOrEqual(106);
    expect(classifyGrowth(v, 168).pattern).toBe('steady');
    expect(classifyGrowth(v, 168, { ...DEFAULT_PATTERN_PARAMS, smooth: 0 }).pattern).not.toBe('steady');
  });

  it('takes a daily cycle out, so that it does not pass for stairs', () => {
    const daily = series(168, (k) => 500 + k + 60 * Math.sin((2 * Math.PI * k) / 24), 0.5);
    const flat = withoutCycle(daily, 168, 24);
    let worst = 0;
    for (let k = 12; k < 156; k++) worst = Math.max(worst, Math.abs(flat[k]! - flat[k - 1]! - 1));
    expect(worst).toBeLessThan(6);
    expect(classifyGrowth(flat, 168).pattern).toBe('steady');
    // Too short to tell a cycle from growth: left as it is.
    expect(Array.from(withoutCycle(daily, 40, 24))).toEqual(Array.from(daily.subarray(0, 40)));
  });
});
