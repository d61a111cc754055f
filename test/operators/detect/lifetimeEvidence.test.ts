import { serialize, deserialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { LifetimeEvidence } from '../../../operators/detect/lifetimeEvidence.js';
import { testContext } from '../../helpers/samples.js';
import { batches, detect, detectInTwoRuns, gauss, HOUR, hoursToOpen, MB, seriesIds, T0 } from './fleet.js';

describe('lifetime evidence', () => {
  it('pools a lifetime with the last two that grew, and only when the current one reaches zMin', () => {
    const ev = new LifetimeEvidence(2);
    ev.ensure(1);
    expect(ev.pooled(0, 4)).toBeNaN();
    ev.note(0, 3);
    ev.end(0);
    expect(ev.pooled(0, 1.5)).toBeNaN();
    expect(ev.pooled(0, 4)).toBeCloseTo(7 / Math.SQRT2);
    ev.note(0, 0);
    ev.note(0, 3.5);
    ev.end(0);
    expect(ev.pooled(0, 3)).toBeCloseTo(9.5 / Math.sqrt(3));
  });

  it('keeps the chain over a lifetime never judged, and drops it after one judged without growth', () => {
    const ev = new LifetimeEvidence(2);
    ev.ensure(2);
    ev.note(0, 3);
    ev.end(0);
    ev.end(0);
    expect(ev.pooled(0, 3)).toBeCloseTo(6 / Math.SQRT2);
    ev.note(0, 2.5);
    ev.note(0, 0);
    ev.end(0);
    expect(ev.pooled(0, 3)).toBeNaN();
    expect(ev.pooled(1, 3)).toBeNaN();
  });

  it('survives a checkpoint', () => {
    const ev = new LifetimeEvidence(2);
    ev.ensure(3);
    ev.note(2, 3);
    ev.end(2);
    ev.note(2, 2.5);
    const back = new LifetimeEvidence(2);
    back.restore(deserialize(serialize(ev.checkpoint(3))));
    expect(back.pooled(2, 2.5)).toBe(ev.pooled(2, 2.5));
    back.end(2);
    ev.end(2);
    expect(back.pooled(2, 2)).toBe(ev.pooled(2, 2));
  });
});

/**
 * Forty processes whose daily level wanders by `dayNoise` (share of the level, drawn once a
 * day and reached over the first 6 hours of the day, so that no hour steps), with a daily
 * cycle and `hourNoise` on each hour; every process restarts every 5-8 days, process 0
 * every 44 h from day 8 on, and from then it leaks `rate` a day, freed at each restart.
 */
function restartingFleet(rate: number, dayNoise = 0.008, hourNoise = 0.008) {
  const { ctx } = testContext('level2');
  const n = 40, periods = 16 * 24, leakAt = 8 * 24;
  const ids = seriesIds(ctx.catalog, n);
  const days = ids.map((_, i) => {
    const g = gauss(500 + i);
    return Float64Array.from({ length: periods / 24 + 2 }, () => dayNoise * g());
  });
  const hourly = ids.map((_, i) => gauss(900 + i));
  const restarted = (i: number, k: number) => (i === 0 ? k >= leakAt && (k - leakAt) % 44 === 0 : k > 0 && (k + 7 * i) % (24 * (5 + (i % 4))) === 0);
  const since = new Int32Array(n).fill(1000);
  const input = batches({
    ids, periods, restarted,
    value: (i, k) => {
      since[i] = restarted(i, k) ? 0 : since[i]! + 1;
      const d = Math.floor(k / 24), f = Math.min(1, (k % 24) / 6);
      const wander = days[i]![d]! * (1 - f) + days[i]![d + 1]! * f;
      const warm = 1 - 0.2 * Math.exp(-since[i]!);
      const leak = i === 0 && k >= leakAt ? (rate * since[i]!) / 24 : 0;
      return (300 + 10 * i) * MB * (warm + wander + leak + 0.04 * Math.sin((2 * Math.PI * k) / 24) + hourNoise * hourly[i]!());
    },
  });
  return { ctx, input, leakAt };
}

describe('process-detect, growth across lifetimes', () => {
  it('reports a leak that resumes after every restart, which no single 44 h lifetime shows clearly enough', async () => {
    const pooled = restartingFleet(0.05);
    const alone = restartingFleet(0.05);
    const a = (await detect(pooled.input, {}, pooled.ctx)).alerts;
    const b = (await detect(alone.input, { lifetime_z: 0 }, alone.ctx)).alerts;
    expect(b.map((x) => x.host)).toEqual([]);
    expect(new Set(a.map((x) => x.host))).toEqual(new Set(['host-0']));
    // Reported once a lifetime that grew has ended, within the third.
    const h = hoursToOpen(a, 'host-0', T0 + pooled.leakAt * HOUR)!;
    expect(h).toBeGreaterThan(44);
    expect(h).toBeLessThanOrEqual(3 * 44);
  });

  it('gives the same alerts when a checkpoint falls between the lifetimes that pool', async () => {
    const whole = restartingFleet(0.05);
    const all = (await detect(whole.input, {}, whole.ctx)).alerts;
    expect(all.length).toBeGreaterThan(0);
    const split = whole.leakAt + 50;
    const first = restartingFleet(0.05);
    expect(detectInTwoRuns(first.input, first.ctx, split)).toEqual(all);
  });
});
