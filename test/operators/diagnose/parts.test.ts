import { describe, expect, it } from 'vitest';
import type { Alert, LeakPattern } from '../../../engine/alert.js';
import { ProfilingBudget } from '../../../operators/diagnose/budget.js';
import { rankSuspects, type Suspect } from '../../../operators/diagnose/rank.js';
import { SnapshotRing } from '../../../operators/diagnose/ring.js';
import { completionTrigger, fitWindow, type MemoryPoint } from '../../../operators/diagnose/triggers.js';

const HOUR = 3_600_000;
const MIN = 60_000;

function suspect(id: string, severity: number, pattern: LeakPattern, impact: number): Suspect {
  return { alert: { id, severity, pattern } as Alert, impact };
}

describe('ranking', () => {
  it('orders by severity, then pattern clarity, then low impact', () => {
    const ranked = rankSuspects([
      suspect('a', 2.2, 'steady', 10), suspect('b', 5.1, 'unknown', 99), suspect('c', 2.7, 'spike', 1),
      suspect('d', 2.5, 'steady', 3), suspect('e', 0.4, 'steady', 0),
    ], 1);
    // b: highest severity step; a, c, d share step 2: steady before spike, and d's lower impact before a.
    expect(ranked.map((s) => s.alert.id)).toEqual(['b', 'd', 'a', 'c', 'e']);
  });

  it('compares severities exactly when the step is fine', () => {
    const ranked = rankSuspects([suspect('a', 2.2, 'steady', 0), suspect('c', 2.7, 'spike', 0)], 0.01);
    expect(ranked.map((s) => s.alert.id)).toEqual(['c', 'a']);
  });
});

describe('budget', () => {
  it('allows a set number of starts per cluster in any hour', () => {
    const b = new ProfilingBudget(2);
    expect(b.take('c1', 0)).toBe(true);
    expect(b.take('c1', 10 * MIN)).toBe(true);
    expect(b.take('c1', 20 * MIN)).toBe(false);
    expect(b.take('c2', 20 * MIN)).toBe(true);
    expect(b.left('c1', 20 * MIN)).toBe(0);
    expect(b.nextFree('c1', 20 * MIN)).toBe(HOUR);
    expect(b.take('c1', HOUR)).toBe(true);
    expect(b.take('c1', HOUR + MIN)).toBe(false);
    expect(b.left('c1', 3 * HOUR)).toBe(2);
  });
});

describe('snapshot ring', () => {
  it('keeps the newest items, oldest first', () => {
    const r = new SnapshotRing<number>(3);
    expect(r.toArray()).toEqual([]);
    for (let i = 1; i <= 5; i++) r.push(i);
    expect(r.size).toBe(3);
    expect(r.toArray()).toEqual([3, 4, 5]);
    r.clear();
    expect(r.toArray()).toEqual([]);
    expect(() => new SnapshotRing(0)).toThrow(/at least 1/);
  });
});

describe('completion triggers', () => {
  const p = { window: 6 * HOUR, period: 30 * MIN, minPoints: 3 };
  const series = (n: number, f: (i: number) => number): MemoryPoint[] => Array.from({ length: n }, (_, i) => ({ at: i * 30 * MIN, rss: f(i) }));
  const wobble = (i: number) => [0, 3, -2, 4, -3, 1, -4, 2][i % 8]!;

  it('steady: R^2 of the window above 0.8', () => {
    const k = { pattern: 'steady' as const, slopePerHour: 2_000, growth: 50_000 };
    const clean = series(13, (i) => 1e6 + 1_000 * i + wobble(i) * 10);
    expect(completionTrigger(clean, 12 * 30 * MIN, k, p)).toMatch(/^steady: R\^2 \d\.\d\d > 0\.8/);
    const noisy = series(13, (i) => 1e6 + 100 * i + wobble(i) * 1_000);
    expect(completionTrigger(noisy, 12 * 30 * MIN, k, p)).toBeNull();
    // Fewer readings than min_snapshots in the window: not judged.
    expect(completionTrigger(clean.slice(0, 2), 30 * MIN, k, p)).toBeNull();
  });

  it('only the last window counts', () => {
    const k = { pattern: 'steady' as const, slopePerHour: 2_000, growth: 50_000 };
    // Noise for a day, then six hours of clean growth.
    const mem = series(61, (i) => (i < 48 ? 1e6 + wobble(i) * 5_000 : 1e6 + 20_000 * (i - 48)));
    expect(completionTrigger(mem.slice(0, 48), 47 * 30 * MIN, k, p)).toBeNull();
    expect(completionTrigger(mem, 60 * 30 * MIN, k, p)).not.toBeNull();
  });

  it('stair: slope as detected and a poor linear fit (a whole step in the window)', () => {
    // Flat and noisy, a little higher at the end: positive slope, R^2 under 0.1.
    const around = [0, 6, -5, 4, -6, 5, -4, 6, -5, 3, -6, 5, 4];
    const step = series(13, (i) => 1e6 + around[i]! * 1_000);
    const j = fitWindow(step, 12 * 30 * MIN, p)!;
    expect(j.r2).toBeLessThan(0.1);
    const k = { pattern: 'stair' as const, slopePerHour: j.slopePerHour * 1.05, growth: 5e6 };
    expect(completionTrigger(step, 12 * 30 * MIN, k, p)).toMatch(/^stair: \|1 - slope_j\/slope_k\| 0\.0\d+ < 0\.1 and R\^2 0\.\d\d < 0\.1/);
    // A window climbing faster than the stairs detection saw is not a step yet.
    expect(completionTrigger(step, 12 * 30 * MIN, { ...k, slopePerHour: j.slopePerHour * 1.5 }, p)).toBeNull();
    // A straight line at the same slope fits too well to be a stair.
    const linear = series(13, (i) => 1e6 + (j.slopePerHour / 2) * i);
    expect(completionTrigger(linear, 12 * 30 * MIN, { ...k, slopePerHour: j.slopePerHour }, p)).toBeNull();
  });

  it('spike: the window rose by more than half the detected growth', () => {
    const k = { pattern: 'spike' as const, slopePerHour: 10_000, growth: 4e6 };
    const jump = series(13, (i) => 1e6 + (i >= 8 ? 3e6 : 0) + wobble(i) * 1_000);
    expect(completionTrigger(jump, 12 * 30 * MIN, k, p)).toMatch(/^spike: dU_j\/dU_k 0\.7\d > 0\.5/);
    const small = series(13, (i) => 1e6 + (i >= 8 ? 1e6 : 0));
    expect(completionTrigger(small, 12 * 30 * MIN, k, p)).toBeNull();
  });
});
