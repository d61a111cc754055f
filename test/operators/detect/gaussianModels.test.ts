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

  it('refuses a window or phase count that cannot work', () => {
    expect(() => new GaussianModels(0)).toThrow(/window/);
    expect(() => new GaussianModels(DAY, 0)).toThrow(/phases/);
  });
});
