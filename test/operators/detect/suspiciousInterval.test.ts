import { describe, expect, it } from 'vitest';
import {
  IntervalState, Move, MONTH_MS, observe, restartInterval, severity, type IntervalParams,
} from '../../../operators/detect/suspiciousInterval.js';

const H = 3_600_000;
const P: IntervalParams = {
  period: H, epsilon: 0.2, epsilonMinSteps: 24, roseK: 0, outlierSigma: 3, warmup: 0,
  eventWindow: 6 * H, stepMovesAnchor: true, restartDrop: 0.3, noiseMinSteps: 24, noiseHorizon: 168,
};

/** Feeds values (hour k = values[k]) to series 0 against N(0, sigma2); returns the move of each point. */
function feed(values: number[], p: IntervalParams = P, sigma2 = 1, s = new IntervalState()): { s: IntervalState; moves: number[] } {
  s.ensure(1);
  const moves = values.map((u, k) => observe(s, 0, k * H, u, false, false, 0, sigma2, p));
  return { s, moves };
}

describe('moving suspicious interval', () => {
  it("ends with T0 at the start of the steady rise on the shape of the paper's Figure 5", () => {
    // Noise around 100, an event (a lasting jump to 130: a VM created), a slide below the
    // level after the event (U falls below U(T0)), then a steady rise from hour 60.
    const wiggle = (k: number) => 0.4 * Math.sin(k * 1.7);
    const values: number[] = [];
    for (let k = 0; k < 20; k++) values.push(100 + wiggle(k));
    for (let k = 20; k < 40; k++) values.push(130 + wiggle(k));
    for (let k = 40; k < 60; k++) values.push(130 - (k - 39) * 1.5 + wiggle(k));
    for (let k = 60; k < 120; k++) values.push(values[59]! + (k - 60) * 0.8 + wiggle(k));
    const { s, moves } = feed(values);
    expect(moves[0]).toBe(Move.restart); // a series' first point is a start
    expect(moves[20]).toBe(Move.event); // held: it may be a spike
    expect(moves[26]).toBe(Move.step); // it stayed: T0 moves past it
    expect(moves.slice(41, 60).every((m) => m === Move.below)).toBe(true);
    expect(s.t0[0]).toBe(59 * H);
    expect(s.t1[0]).toBe(119 * H);
    expect(s.n[0]).toBe(61);
    expect(s.nInc[0]).toBe(60);
    // The lasting jump moved the anchor, the slide below U(T0) did not.
    expect(s.anchor[0]).toBe(26 * H);
  });

  it('leaves a spike that comes back out of the interval', () => {
    const values = [100, 100.5, 101, 160, 170, 101.5, 102, 102.5];
    const { s, moves } = feed(values);
    expect(moves.slice(3, 5)).toEqual([Move.event, Move.event]);
    expect(moves[5]).toBe(Move.extended);
    expect(s.t0[0]).toBe(1 * H);
    expect(s.n[0]).toBe(5); // hours 1, 2, 5, 6, 7
    expect(s.eventSince[0]).toBeNaN();
    // The fall at the spike's end is not a restart, though it is more than 30%.
    expect(moves.slice(1)).not.toContain(Move.restart);
  });

  it('tells the last observe which spike ended, for the caller to mask', () => {
    const s = new IntervalState();
    s.ensure(1);
    [100, 101, 160, 165].forEach((u, k) => observe(s, 0, k * H, u, false, false, 0, 1, P));
    expect(s.spikeFrom).toBeNaN();
    observe(s, 0, 4 * H, 101.5, false, false, 0, 1, P);
    expect(s.spikeFrom).toBe(2 * H);
    observe(s, 0, 5 * H, 102, false, false, 0, 1, P);
    expect(s.spikeFrom).toBeNaN();
  });

  it('treats a fall of more than restart_drop, and the restart flag, as a restart with a warm-up', () => {
    const p = { ...P, warmup: 3 * H };
    const s = new IntervalState();
    s.ensure(1);
    const moves = [100, 101, 102, 60, 70, 80, 85, 86, 87].map((u, k) => observe(s, 0, k * H, u, false, false, 0, 100, p));
    expect(moves).toEqual([Move.restart, Move.warming, Move.warming, Move.restart, Move.warming, Move.warming, Move.started, Move.extended, Move.extended]);
    expect(s.firstTs[0]).toBe(6 * H);
    expect(s.firstU[0]).toBe(85);
    expect(observe(s, 0, 9 * H, 88, true, false, 0, 100, p)).toBe(Move.restart);
    expect(s.t0[0]).toBeNaN();
  });

  it('takes a fall for released memory, not a restart, when the rollup knows the pid', () => {
    // A buffer drained: memory falls by 40% in one period, the pid stays the same.
    const p = { ...P, warmup: 3 * H };
    const s = new IntervalState();
    s.ensure(1);
    const moves = [100, 101, 102, 103, 61, 62].map((u, k) => observe(s, 0, k * H, u, false, true, 0, 100, p));
    expect(moves).toEqual([Move.restart, Move.warming, Move.warming, Move.started, Move.below, Move.extended]);
    expect(s.t0[0]).toBe(4 * H);
    // The anchor (where growth is measured from) stays where the lifetime began.
    expect(s.anchor[0]).toBe(3 * H);
  });

  it('moves T0 when too few steps rose (epsilon), counting rises with the rose test', () => {
    // Flat but for a rise every 10 hours: 10% of steps rose, below epsilon 0.2 after 24 steps.
    const values = Array.from({ length: 40 }, (_, k) => 100 + Math.floor(k / 10) * 0.01);
    const { moves } = feed(values, P, 0);
    expect(moves.indexOf(Move.epsilon)).toBe(25);
    // rose_k: a step rises only when dU > rose_k x sigma; here sigma2 = 1 before the series' own settles.
    const { s } = feed([100, 100.5, 101.5, 101.8, 103], { ...P, roseK: 0.6 }, 1);
    expect(s.nInc[0]).toBe(2);
  });

  it('ignores points not later than the last one', () => {
    const s = new IntervalState();
    s.ensure(1);
    observe(s, 0, 5 * H, 100, false, false, 0, 1, P);
    expect(observe(s, 0, 5 * H, 101, false, false, 0, 1, P)).toBe(Move.stale);
    expect(observe(s, 0, 4 * H, 101, false, false, 0, 1, P)).toBe(Move.stale);
    expect(s.lastU[0]).toBe(100);
  });

  it('does not test a difference across a gap', () => {
    // 100 -> 200 across a 5-hour gap would be a 100-sigma outlier as one step.
    const s = new IntervalState();
    s.ensure(1);
    [100, 100].forEach((u, k) => observe(s, 0, k * H, u, false, false, 0, 1, P));
    expect(observe(s, 0, 6 * H, 200, false, false, 0, 1, P)).toBe(Move.extended);
    expect(s.nInc[0]).toBe(0);
  });

  it('restartInterval moves T0 and the anchor (growth shared with peers)', () => {
    const { s } = feed([100, 101, 102, 103]);
    restartInterval(s, 0, 3 * H, 103);
    expect([s.t0[0], s.anchor[0], s.n[0], s.nInc[0]]).toEqual([3 * H, 3 * H, 1, 0]);
  });

  it('grows its arrays for new series, new entries empty', () => {
    const s = new IntervalState();
    s.ensure(3);
    observe(s, 2, 0, 100, false, false, 0, 1, P);
    s.ensure(5000);
    expect(s.capacity).toBeGreaterThanOrEqual(5000);
    expect(s.lastU[2]).toBe(100);
    expect(s.lastTs[4999]).toBeNaN();
    expect(s.t0[4999]).toBeNaN();
  });
});

describe('severity (equation 1)', () => {
  it('adds growth in sigma1, the share of increasing points, months and relative size', () => {
    // 100 MB over sigma1 10 MB, 3 of 4 points increasing, 15 days, U = mu1.
    const v = severity(100, 10, 3, 4, 15 * 86_400_000, 500, 500);
    expect(v).toBeCloseTo(10 + 0.75 + 0.5 + 1 / (1 + Math.exp(-1)), 12);
    expect(severity(0, 10, 0, 1, MONTH_MS, 0, 500)).toBeCloseTo(1 + 0.5, 12);
  });

  it('floors sigma1 at 0.1% of mu1 and copes with no model', () => {
    expect(severity(1000, 0, 0, 0, 0, 1e6, 1e6)).toBeCloseTo(1000 / 1000 + 1 / (1 + Math.exp(-1)), 12);
    expect(severity(10, NaN, 1, 2, 0, 5, NaN)).toBeCloseTo(10 + 0.5 + 1, 12);
  });
});
