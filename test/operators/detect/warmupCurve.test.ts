import { describe, expect, it } from 'vitest';
import { WarmupCurve, type WarmupParams } from '../../../operators/detect/warmupCurve.js';
import { gauss } from './fleet.js';

const H = 3_600_000;
const P: WarmupParams = { horizon: 48, tolerance: 0.007, smooth: 6, minRestarts: 30, fallback: 24 * H, period: H };

/** Feeds `restarts` restarts of an exponential warm-up (depth, tau hours) with day-to-day noise of `noise`. */
function learn(curve: WarmupCurve, depth: number, tau: number, restarts: number, noise: number, seed = 1): void {
  const g = gauss(seed);
  const level = (k: number) => Math.log(1 - depth * Math.exp(-k / tau));
  for (let r = 0; r < restarts; r++) {
    for (let k = 0; k < P.horizon; k++) curve.add(0, k, level(k + 24) - level(k) + noise * g());
  }
}

describe('warm-up curve', () => {
  it('keeps the fixed warm-up until every period after a restart has been seen often enough', () => {
    const curve = new WarmupCurve(P);
    curve.ensure(1);
    learn(curve, 0.3, 1, 29, 0);
    expect(curve.warmup(0)).toBe(24 * H);
    expect(curve.warmup(5)).toBe(24 * H); // a model it has never heard of
  });

  it('learns a short warm-up for a component that is warm within the hour, and a long one for slow caches', () => {
    const fast = new WarmupCurve(P);
    fast.ensure(1);
    learn(fast, 0.35, 0.75, 400, 0.02);
    // 35% below, tau 45 min: the next day's rise falls under 0.7% after about 3 h.
    expect(fast.warmup(0) / H).toBeGreaterThanOrEqual(2);
    expect(fast.warmup(0) / H).toBeLessThanOrEqual(6);
    const slow = new WarmupCurve(P);
    slow.ensure(1);
    learn(slow, 0.75, 8, 400, 0.02, 2);
    // 75% below, tau 8 h: longer than the fixed day.
    expect(slow.warmup(0) / H).toBeGreaterThan(30);
    expect(slow.warmup(0) / H).toBeLessThanOrEqual(48);
  });

  it('survives a checkpoint', () => {
    const curve = new WarmupCurve(P);
    curve.ensure(1);
    learn(curve, 0.35, 0.75, 100, 0.01);
    const copy = new WarmupCurve(P);
    copy.restore(structuredClone(curve.checkpoint(1)));
    expect(copy.warmup(0)).toBe(curve.warmup(0));
    expect(copy.warmup(0)).not.toBe(24 * H);
  });

  it('refits after a checkpoint when an uninterrupted curve would, not a horizon of observations later', () => {
    const g = gauss(3);
    const level = (k: number) => Math.log(1 - 0.35 * Math.exp(-k / 0.75));
    const rise = (k: number) => level(k + 24) - level(k) + 0.01 * g();
    const curve = new WarmupCurve(P);
    curve.ensure(1);
    // 29 restarts followed all the way, the 30th up to period 20: the curve is not trusted yet.
    for (let r = 0; r < 29; r++) for (let k = 0; k < P.horizon; k++) curve.add(0, k, rise(k));
    for (let k = 0; k < 20; k++) curve.add(0, k, rise(k));
    expect(curve.warmup(0)).toBe(24 * H);
    const copy = new WarmupCurve(P);
    copy.restore(structuredClone(curve.checkpoint(1)));
    // The rest of the 30th restart: the uninterrupted curve refits once it has seen a horizon
    // since its last refit, and then trusts what it learned; the restored one must do the same.
    for (let k = 20; k < P.horizon; k++) {
      const change = rise(k);
      curve.add(0, k, change);
      copy.add(0, k, change);
      expect(copy.warmup(0)).toBe(curve.warmup(0));
    }
    expect(curve.warmup(0)).not.toBe(24 * H);
  });

  it('restores a checkpoint written before it held the observations since the last refit', () => {
    const curve = new WarmupCurve(P);
    curve.ensure(1);
    learn(curve, 0.35, 0.75, 100, 0.01);
    const { sinceRefresh: _, ...older } = structuredClone(curve.checkpoint(1));
    const copy = new WarmupCurve(P);
    copy.restore(older);
    expect(copy.warmup(0)).toBe(curve.warmup(0));
    expect(copy.warmup(0)).not.toBe(24 * H);
  });
});
