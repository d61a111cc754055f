import { describe, expect, it } from 'vitest';
import { gaussianTail, leaked } from '../../bench/detect/bound.js';
import { simulatorOf } from '../../bench/detect/hourly.js';

describe('bench/detect/bound', () => {
  const plan = simulatorOf({ hosts: 60, days: 14, seed: 5, components: 6, leakFraction: 0.1 }).plan;

  it('adds what a steady leak adds in a day: its rate', () => {
    const steady = plan.leaks.map((l, i) => [l, i] as const).filter(([l]) => l.pattern === 'steady');
    expect(steady.length).toBeGreaterThan(0);
    for (const [l, i] of steady) expect(leaked(plan, i, plan.ticksPerDay)).toBeCloseTo(l.ratePerDay, 6);
  });

  it('adds a stair or spike leak in segments that average its rate', () => {
    const stepped = plan.leaks.map((l, i) => [l, i] as const).filter(([l]) => l.pattern !== 'steady');
    expect(stepped.length).toBeGreaterThan(0);
    for (const [l, i] of stepped) {
      // A spike grows within hours, then stays flat for days: its first hours carry days' worth.
      if (l.pattern === 'spike') expect(leaked(plan, i, 3)).toBeGreaterThan(l.ratePerDay);
      // Over 60 days, one segment (at most 4 days) of difference either way.
      expect(leaked(plan, i, 60 * plan.ticksPerDay) / (60 * l.ratePerDay)).toBeGreaterThan(1 - 4 / 60);
      expect(leaked(plan, i, 60 * plan.ticksPerDay) / (60 * l.ratePerDay)).toBeLessThan(1 + 4 / 60);
    }
  });

  it('gives the Gaussian tail', () => {
    expect(gaussianTail(3)).toBeCloseTo(0.0013499, 6);
    expect(gaussianTail(4)).toBeCloseTo(3.167e-5, 7);
  });
});
