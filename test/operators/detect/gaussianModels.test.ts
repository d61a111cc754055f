import { describe, expect, it } from 'vitest';
import { serialize, deserialize } from 'node:v8';
import { emptyParams, GaussianModels, SLOTS } from '../../../operators/detect/gaussianModels.js';

const DAY = 86_400_000;

function meanSd(xs: number[]): [number, number] {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return [m, Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1))];
}

describe('Gaussian models', () => {
  it('fits U over all phases and dU per phase of the cycle, and over all phases', () => {
    const g = new GaussianModels(30 * DAY, 2);
    const m = g.model('c|svc');
    const us = [5e9, 5.1e9, 5.3e9, 4.9e9, 5.2e9, 5.05e9];
    const dus = [1e6, -2e6, 3e6, 5e5, -1e6, 2e6];
    us.forEach((u, k) => g.add(m, k * 3_600_000, u, dus[k]!, k % 2));
    const out = g.params(m, 6 * 3_600_000, 0, emptyParams());
    const [mu1, s1] = meanSd(us);
    expect(out.mu1).toBeCloseTo(mu1, 3);
    expect(out.sigma1).toBeCloseTo(s1, 3);
    expect(out.nU).toBe(6);
    const [mu2, s2] = meanSd([1e6, 3e6, -1e6]);
    expect(out.mu2).toBeCloseTo(mu2, 6);
    expect(out.sigma2).toBeCloseTo(s2, 6);
    expect(out.nD).toBe(3);
    const all = g.params(m, 6 * 3_600_000, -1, emptyParams());
    expect(all.mu2).toBeCloseTo(meanSd(dus)[0], 6);
    expect(all.sigma2).toBeCloseTo(meanSd(dus)[1], 6);
    // A difference across a gap (NaN) adds to U only.
    g.add(m, 7 * 3_600_000, 5e9, NaN, 1);
    expect(g.params(m, 7 * 3_600_000, -1, emptyParams())).toMatchObject({ nU: 7, nD: 6 });
  });

  it('forgets data older than the window, a slot at a time', () => {
    const g = new GaussianModels(30 * DAY);
    const m = g.model('c|svc');
    g.add(m, 0, 100, 1);
    g.add(m, 0, 200, 3);
    g.add(m, 29 * DAY, 400, 5);
    g.add(m, 29 * DAY, 500, 7);
    expect(g.params(m, 29 * DAY, 0, emptyParams())).toMatchObject({ nU: 4, mu1: 300, mu2: 4 });
    // Day 0's slot leaves the window when day 30 begins.
    const later = g.params(m, 30 * DAY, 0, emptyParams());
    expect(later).toMatchObject({ nU: 2, mu1: 450, mu2: 6 });
    // Its slot is reused for day 30, emptied first.
    g.add(m, 30 * DAY + 1, 1000, NaN);
    g.add(m, 30 * DAY + 2, 1000, NaN);
    expect(g.params(m, 30 * DAY + 2, 0, emptyParams())).toMatchObject({ nU: 4, mu1: 725, nD: 2 });
    // Nothing left after another window.
    const empty = g.params(m, 61 * DAY, 0, emptyParams());
    expect(empty.nU).toBe(0);
    expect(empty.mu1).toBeNaN();
    expect(empty.sigma2).toBeNaN();
    expect(SLOTS).toBe(30);
  });

  it('keeps models apart, keeps multi-GB variances exact, and survives a checkpoint', () => {
    const g = new GaussianModels(30 * DAY, 3);
    const a = g.model('c|a'), b = g.model('c|b');
    expect(g.model('c|a')).toBe(a);
    for (let k = 0; k < 100; k++) {
      g.add(a, k * 60_000, 40e9 + (k % 2), 0, 0);
      g.add(b, k * 60_000, 1e6 * k, k, 2);
    }
    const pa = g.params(a, 100 * 60_000, 0, emptyParams());
    expect(pa.mu1).toBeCloseTo(40e9 + 0.5, 3);
    expect(pa.sigma1).toBeCloseTo(Math.sqrt(0.25 * 100 / 99), 6);
    const copy = new GaussianModels(30 * DAY, 3);
    copy.restore(deserialize(serialize(g.checkpoint())));
    expect(copy.keyOf(b)).toBe('c|b');
    expect(copy.params(b, 100 * 60_000, 2, emptyParams())).toEqual(g.params(b, 100 * 60_000, 2, emptyParams()));
    // A checkpoint of another window or phase count is not taken.
    const other = new GaussianModels(7 * DAY, 3);
    other.restore(g.checkpoint());
    expect(other.size).toBe(0);
  });

  it('stores past days in Float32 to within 1e-6 of an exact fit, and takes a checkpoint of the earlier Float64 form', () => {
    const g = new GaussianModels(30 * DAY, 24);
    const m = g.model('r|a|eu|c1');
    const us: number[] = [], dus: number[][] = Array.from({ length: 24 }, () => []);
    let x = 12345;
    const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let h = 0; h < 24 * 40; h++) {
      for (let q = 0; q < 50; q++) {
        const u = 3e9 + 2e8 * rand() + 1e6 * h, du = 1e6 * (rand() - 0.45);
        g.add(m, h * 3_600_000, u, du, h % 24);
        // The window at hour 40 * 24 - 1 holds days 10 to 39.
        if (h >= 24 * 10) { us.push(u); dus[h % 24]!.push(du); }
      }
    }
    const t = (24 * 40 - 1) * 3_600_000;
    const out = g.params(m, t, 5, emptyParams());
    const [mu1, s1] = meanSd(us), [mu2, s2] = meanSd(dus[5]!);
    expect(out.nU).toBe(us.length);
    expect(out.nD).toBe(dus[5]!.length);
    expect(Math.abs(out.mu1 / mu1 - 1)).toBeLessThan(1e-6);
    expect(Math.abs(out.sigma1 / s1 - 1)).toBeLessThan(1e-6);
    expect(Math.abs(out.mu2 - mu2) / s2).toBeLessThan(1e-6);
    expect(Math.abs(out.sigma2 / s2 - 1)).toBeLessThan(1e-6);
    // The earlier form: every slot's count, sum and sum of squares in Float64.
    const width = 3 + 3 * 24;
    const sums = new Float64Array(SLOTS * width), epochs = new Float64Array(SLOTS).fill(-1);
    const day = (e: number, k: number, vals: number[]) => {
      epochs[e % SLOTS] = e;
      const o = (e % SLOTS) * width + k;
      for (const v of vals) { sums[o]! += 1; sums[o + 1]! += v; sums[o + 2]! += v * v; }
    };
    day(3, 0, [0, 10, 20]);
    day(4, 0, [30, 40]);
    day(4, 3, [1, 2, 3]);
    const old = new GaussianModels(30 * DAY, 24);
    old.restore({ window: 30 * DAY, phases: 24, keys: ['c|x'], sums, epochs, refs: new Float64Array([100]) });
    expect(old.params(0, 4 * DAY, 0, emptyParams())).toMatchObject({ nU: 5, mu1: 120, nD: 3, mu2: 2 });
    // The newest slot stays open and takes more points.
    old.add(0, 4 * DAY + 1, 150, 4, 0);
    expect(old.params(0, 4 * DAY + 1, 0, emptyParams())).toMatchObject({ nU: 6, mu1: 125, nD: 4, mu2: 2.5 });
  });

  it('refuses a window or phase count that cannot work', () => {
    expect(() => new GaussianModels(0)).toThrow(/window/);
    expect(() => new GaussianModels(DAY, 0)).toThrow(/phases/);
  });
});
