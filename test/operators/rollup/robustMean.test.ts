import { describe, expect, it } from 'vitest';
import { fence, keepsAll, type OutlierRule } from '../../../operators/rollup/robustMean.js';
import { sort12 } from '../../../operators/rollup/sort12.js';
import { plainFence, random } from './plainRule.js';

describe('fence', () => {
  const rule: OutlierRule = { threshold: 3.5, minSpread: 0.001, minSamples: 3 };

  it('sort12 orders every 0/1 input (so every input, by the 0-1 principle)', () => {
    const a = new Float64Array(12);
    const unsorted: number[] = [];
    for (let m = 0; m < 4096; m++) {
      for (let i = 0; i < 12; i++) a[i] = (m >> i) & 1;
      sort12(a, 0);
      for (let i = 1; i < 12; i++) if (a[i - 1]! > a[i]!) unsorted.push(m);
    }
    expect(unsorted).toEqual([]);
  });

  it('gives the fence of the plain rule, bit for bit, for 1 to 40 values with ties and outliers', () => {
    const rnd = random(5);
    const values = new Float64Array(64), scratch = new Float64Array(64), out = new Float64Array(2);
    for (let trial = 0; trial < 3000; trial++) {
      const n = 1 + (trial % 40);
      const base = 1e8 * (1 + rnd() * 50);
      const xs = Array.from({ length: n }, () => {
        const r = rnd();
        if (r < 0.1) return base * (1 + 10 * rnd()); // an extreme reading
        if (r < 0.3) return base; // a process at rest repeats its value
        return Math.round(base * (1 + 0.05 * (rnd() - 0.5)));
      });
      values.set(xs, 7);
      fence(values, 7, n, rule, scratch, out);
      expect([out[0], out[1]]).toEqual(plainFence(xs, rule));
      // The rule sorts the values it judges in place; the rollup then sums them in that order.
      if (n >= rule.minSamples) expect(Array.from(values.subarray(7, 7 + n))).toEqual([...xs].sort((a, b) => a - b));
    }
  });
});

describe('keepsAll', () => {
  const rule: OutlierRule = { threshold: 3.5, minSpread: 0.01, minSamples: 3 };

  it('holds only where the fence keeps every value and the sum does not depend on the order', () => {
    const rnd = random(9);
    const values = new Float64Array(16);
    let held = 0, refused = 0;
    for (let trial = 0; trial < 4000; trial++) {
      const n = 1 + (trial % 12);
      const base = 1e6 * (1 + rnd() * 1e4);
      const jitter = [0.001, 0.02, 0.05, 0.2][trial % 4]!;
      const xs = Array.from({ length: n }, () => {
        const v = base * (1 + jitter * (rnd() - 0.5));
        return trial % 7 === 0 ? v : Math.round(v); // now and then a fractional reading
      });
      const extra = trial % 5 === 0 ? 0.5 : Math.round(base) * (trial % 3);
      values.set(xs);
      if (!keepsAll(values, 0, n, rule, extra)) {
        refused++;
        continue;
      }
      held++;
      const [lo, hi] = plainFence(xs, rule);
      expect(xs.every((v) => v >= lo && v <= hi)).toBe(true);
      const sorted = [...xs].sort((a, b) => a - b);
      expect(xs.reduce((s, v) => s + v, extra)).toBe(sorted.reduce((s, v) => s + v, extra));
    }
    // Both answers occur, so neither branch above is vacuous.
    expect(held).toBeGreaterThan(500);
    expect(refused).toBeGreaterThan(500);
  });

  it('refuses NaN, infinities, zero and too few values', () => {
    const of = (xs: number[]) => keepsAll(Float64Array.from(xs), 0, xs.length, rule, 0);
    expect(of([100, 100, 100])).toBe(true);
    expect(of([100, NaN, 100])).toBe(false);
    expect(of([100, Infinity, 100])).toBe(false);
    expect(of([0, 0, 0])).toBe(false);
    expect(of([100, 100])).toBe(false);
  });
});
