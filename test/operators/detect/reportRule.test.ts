import { describe, expect, it } from 'vitest';
import { LifetimeEvidence } from '../../../operators/detect/lifetimeEvidence.js';
import { PeerIndex } from '../../../operators/detect/peerGrowth.js';
import { PeriodRing } from '../../../operators/detect/periodRing.js';
import { GrowthJudge, Held, Verdict, type ReportParams } from '../../../operators/detect/reportRule.js';
import { IntervalState } from '../../../operators/detect/suspiciousInterval.js';
import { gauss } from './fleet.js';

const H = 3_600_000;
const RP: ReportParams = {
  period: H, cycle: 24, growthPoints: 72, minSpan: 30, minGrowth: 0.018, minGrowthBytes: 0,
  growthZ: 5, recentShare: 0.25, latestPoints: 6, latestShare: 0.3, peerShare: 0.25, lifetimeZ: 2, clearSpan: 30, clearGrowth: Infinity,
};

/** A judge over `n` series on one host, filled for periods [0, periods) by value(i, p). */
function setup(n: number, periods: number, value: (i: number, p: number) => number, rp = RP, group = (_: number) => 0, host = (_: number) => 0) {
  const ring = new PeriodRing(168), peers = new PeerIndex(), state = new IntervalState();
  ring.ensure(n);
  state.ensure(n);
  for (let i = 0; i < n; i++) {
    peers.join(i, host(i), group(i));
    state.warmUntil[i] = -Infinity;
    for (let p = 0; p < periods; p++) ring.write(i, p, value(i, p));
  }
  const lives = new LifetimeEvidence(rp.lifetimeZ);
  lives.ensure(n);
  const judge = new GrowthJudge(rp, ring, peers, state, lives);
  judge.ensure(n, 1);
  return Object.assign(judge, { evidence: lives, interval: state, periods: ring });
}

const cycle = (p: number) => 1000 * (1 + 0.08 * Math.sin((2 * Math.PI * p) / 24));

describe('report rule', () => {
  it('reports steady growth of 5%/day under a large daily cycle, measured from the anchor', () => {
    const judge = setup(1, 120, (_, p) => cycle(p) + (p >= 60 ? (50 * (p - 60)) / 24 : 0));
    expect(judge.judge(0, 119, 0, 0, 5)).toBe(Verdict.report);
    // The same series before the growth was large enough.
    expect(judge.judge(0, 66, 0, 0, 5)).toBe(Verdict.notYet);
  });

  it('never reports the daily cycle itself, nor a span shorter than min_duration', () => {
    const judge = setup(1, 120, (_, p) => cycle(p));
    for (let p = 40; p < 120; p++) expect(judge.judge(0, p, 0, 0, 5)).toBe(Verdict.notYet);
    const growing = setup(1, 120, (_, p) => 1000 + 5 * p);
    expect(growing.judge(0, 119, 119 - 29, 0, 1)).toBe(Verdict.notYet);
    expect(growing.judge(0, 119, 119 - 30, 0, 1)).toBe(Verdict.report);
  });

  it('does not report growth that stopped before the last day the peers are asked about', () => {
    // A 5% step at p = 100 (a host's shift that its host-mates took then, so the anchor stayed),
    // flat since; judged at p = 160 over five days, the step is in the growth and in its later half.
    const rp = { ...RP, growthPoints: 168 };
    const stepped = setup(3, 168, (i, p) => cycle(p) + (i === 0 && p >= 100 ? 50 : 0), rp);
    expect(stepped.judge(0, 160, 0, 0, 1)).toBe(Verdict.notYet);
    expect(stepped.held).toBe(Held.stopped);
    // A leak of the same size that keeps growing is reported.
    const leaking = setup(3, 168, (i, p) => cycle(p) + (i === 0 && p >= 100 ? (50 * (p - 100)) / 60 : 0), rp);
    expect(leaking.judge(0, 160, 0, 0, 1)).toBe(Verdict.report);
  });

  it('says which test held a judgement back', () => {
    const growing = setup(1, 120, (_, p) => 1000 + 5 * p);
    expect(growing.judge(0, 119, 119 - 29, 0, 1)).toBe(Verdict.notYet);
    expect(growing.held).toBe(Held.span);
    expect(growing.judge(0, 119, 119 - 30, 0, 1)).toBe(Verdict.report);
    expect(growing.held).toBe(Held.none);
    const flat = setup(1, 120, (_, p) => cycle(p));
    expect(flat.judge(0, 119, 0, 0, 5)).toBe(Verdict.notYet);
    expect(flat.held).toBe(Held.small);
    // 3%/day under a day noise of 6%: large enough, within the noise.
    const noisy = setup(1, 120, (_, p) => 1000 + (30 * p) / 24);
    noisy.dayNoise[0] = 60;
    noisy.dayNoiseN[0] = 8;
    expect(noisy.judge(0, 119, 0, 0, 1)).toBe(Verdict.notYet);
    expect(noisy.held).toBe(Held.noise);
  });

  it('does not report what is left of a warm-up once the warm-up hours are skipped', () => {
    // A cache filling from 75% short of its plateau with a time constant of 8 h; the operator
    // measures from the first hour after the 24 h warm-up (the anchor).
    const judge = setup(1, 120, (_, p) => cycle(p) * (1 - 0.75 * Math.exp(-p / 8)));
    for (let p = 54; p < 120; p++) expect(judge.judge(0, p, 24, 0, 1)).toBe(Verdict.notYet);
    // Seen from its very start it would pass for growth: the warm-up skip is what keeps it out.
    expect([40, 48, 53].some((p) => judge.judge(0, p, 0, 0, 1) === Verdict.report)).toBe(true);
  });

  it('does not report a step that is a day or more old', () => {
    const judge = setup(1, 120, (_, p) => 1000 + (p >= 50 ? 100 : 0));
    expect(judge.judge(0, 119, 0, 0, 1)).toBe(Verdict.notYet);
  });

  it('does not report a bump that has drained, though it still lifts the last day against the one before', () => {
    // A buffer filling for 10 hours during a downstream outage (+40%), then drained.
    const bump = (p: number) => cycle(p) * (p >= 100 && p < 110 ? 1.4 : 1);
    const judge = setup(1, 120, (_, p) => bump(p));
    // Once the latest 6 hour-pairs (one trimmed at each end) are past it.
    for (let p = 114; p < 120; p++) expect(judge.judge(0, p, 0, 0, 1)).toBe(Verdict.notYet);
    // Without the latest hours' test the day's mean alone reports it.
    const blind = setup(1, 120, (_, p) => bump(p), { ...RP, latestShare: 0 });
    for (let p = 114; p < 120; p++) expect(blind.judge(0, p, 0, 0, 1)).toBe(Verdict.report);
  });

  it('reports growth short of growth_z only when an earlier lifetime grew too', () => {
    // 5%/day from period 60 judged at 119 with a noise that puts it near 4 sigmas: alone it needs 5, pooled with a lifetime like it 5.4.
    const judge = setup(1, 120, (_, p) => cycle(p) + (p >= 60 ? (50 * (p - 60)) / 24 : 0));
    expect(judge.judge(0, 119, 0, 0, 90)).toBe(Verdict.notYet);
    const z = judge.evidence.current[0]!;
    expect(z).toBeGreaterThan(2);
    expect(z).toBeLessThan(5);
    // The process restarts; its next lifetime grows the same way.
    judge.evidence.end(0);
    expect(judge.judge(0, 119, 0, 0, 90)).toBe(Verdict.report);
    // Twice the noise: below lifetime_z, and the chain is dropped when the lifetime ends so.
    expect(judge.judge(0, 119, 0, 0, 180)).toBe(Verdict.notYet);
    judge.evidence.end(0);
    expect(judge.judge(0, 119, 0, 0, 90)).toBe(Verdict.notYet);
  });

  it('holds back growth in the noise of a wandering series', () => {
    // Day-to-day wander of 3% (a random walk of daily levels): 5% growth over three days is not enough.
    const g = gauss(5);
    const days = Array.from({ length: 8 }, () => 30 * g());
    const judge = setup(1, 168, (_, p) => cycle(p) + days[Math.floor(p / 24)]! + (p >= 96 ? (17 * (p - 96)) / 24 : 0));
    for (let p = 24 * 3; p < 168; p += 6) judge.trackDayNoise(0, p - ((p + 0) % 6), 0);
    expect(judge.dayNoiseN[0]).toBeGreaterThanOrEqual(8);
    expect(judge.judge(0, 167, 0, 0, 1)).toBe(Verdict.notYet);
  });

  it('leaves a step that moved the anchor out of the series\' own day noise', () => {
    // Daily levels wander by ~0.5%; a 10% step at p = 130 stays (the anchor moves past it), then 8%/day growth.
    const g = gauss(7);
    const days = Array.from({ length: 8 }, () => 5 * g());
    const judge = setup(1, 168, (_, p) => cycle(p) + days[Math.floor(p / 24)]! + (p >= 130 ? 100 + (80 * (p - 130)) / 24 : 0));
    judge.interval.anchor[0] = 0;
    for (let p = 72; p < 168; p++) {
      if (p === 130) judge.interval.anchor[0] = 130 * H;
      judge.trackDayNoise(0, p, 0);
    }
    expect(judge.dayNoiseN[0]).toBeGreaterThanOrEqual(8);
    // The days that hold the step are not noise that growth after it must clear.
    expect(judge.dayNoise[0]).toBeLessThan(15);
    expect(judge.judge(0, 167, 130, 0, 1)).toBe(Verdict.report);
    // The component's typical noise still takes the step: it stands for processes whose anchors it does not know.
    expect(judge.peerNoise[0]! * 1000).toBeGreaterThan(judge.dayNoise[0]!);
  });

  it('lets one burst raise a series\' own day noise by at most three times its noise so far', () => {
    // A steady series with a 0.5% wander, then one day 10% up (a buffer that filled and drained).
    const g = gauss(9);
    const days = Array.from({ length: 7 }, (_, d) => 5 * g() + (d === 5 ? 100 : 0));
    const judge = setup(1, 168, (_, p) => cycle(p) + days[Math.floor(p / 24)]!);
    for (let p = 72; p < 120; p++) judge.trackDayNoise(0, p, 0);
    const before = judge.dayNoise[0]!;
    expect(judge.dayNoiseN[0]).toBeGreaterThanOrEqual(8);
    for (let p = 120; p < 168; p++) judge.trackDayNoise(0, p, 0);
    expect(judge.dayNoise[0]).toBeGreaterThan(before);
    expect(judge.dayNoise[0]).toBeLessThan(3 * before);
  });

  it('calls growth that the host-mates share an event, and a little shared drift a reason to wait', () => {
    // Four processes on one host; all grow 10% over six hours at period 80.
    const shared = setup(4, 100, (i, p) => (1000 + 100 * i) * (1 + 0.1 * Math.min(1, Math.max(0, (p - 80) / 6))));
    expect(shared.judge(0, 99, 0, 0, 1)).toBe(Verdict.shared);
    // Only process 0 grows: its own.
    const own = setup(4, 100, (i, p) => (1000 + 100 * i) * (1 + (i === 0 ? 0.1 * Math.min(1, Math.max(0, (p - 80) / 6)) : 0)));
    expect(own.judge(0, 99, 0, 0, 1)).toBe(Verdict.report);
    // The others drift up 1%, more than a quarter of its 3%: wait.
    const drift = setup(4, 100, (i, p) => (1000 + 100 * i) * (1 + (i === 0 ? 0.03 : 0.01) * Math.min(1, Math.max(0, (p - 80) / 6))));
    expect(drift.judge(0, 99, 0, 0, 1)).toBe(Verdict.notYet);
    // A lifetime whose last judgement its peers held back is no evidence when it ends (the
    // chain kept from before stands); one whose growth was its own is.
    drift.evidence.note(0, 3);
    drift.evidence.end(0);
    expect(drift.judge(0, 99, 0, 0, 1)).toBe(Verdict.notYet);
    drift.endLifetime(0);
    expect(drift.evidence.last[0]).toBe(3);
    expect(own.judge(0, 99, 0, 0, 1)).toBe(Verdict.report);
    own.endLifetime(0);
    expect(own.evidence.last[0]).toBeGreaterThan(5);
    expect(setup(4, 100, (i, p) => (1000 + 100 * i) * (1 + (i === 0 ? 0.03 : 0.01) * Math.min(1, Math.max(0, (p - 80) / 6))), { ...RP, peerShare: 0 })
      .judge(0, 99, 0, 0, 1)).toBe(Verdict.report);
  });

  it('judges clear growth before min_duration, and nothing less clear', () => {
    // 60%/day from the anchor at 0, under the daily cycle: 26 periods on, the two overlapping days
    // differ by 3 non-shared hours' worth (6% of the first day's level), more than 2.5 x min_growth.
    const clear = { ...RP, clearSpan: 25, clearGrowth: 2.5 };
    const fast = setup(1, 60, (_, p) => cycle(p) * (1 + (0.6 * p) / 24), clear);
    expect(fast.judge(0, 26, 0, 0, 1)).toBe(Verdict.report);
    expect(fast.clear).toBe(true);
    // Not before clear_min_duration, and never without the option.
    expect(fast.judge(0, 23, 0, 0, 1)).toBe(Verdict.notYet);
    expect(setup(1, 60, (_, p) => cycle(p) * (1 + (0.6 * p) / 24)).judge(0, 26, 0, 0, 1)).toBe(Verdict.notYet);
    // 10%/day is reported at min_duration, not before, and is not clear then.
    const slow = setup(1, 60, (_, p) => cycle(p) * (1 + (0.1 * p) / 24), clear);
    for (let p = 25; p < 30; p++) expect(slow.judge(0, p, 0, 0, 1)).toBe(Verdict.notYet);
    expect(slow.judge(0, 30, 0, 0, 1)).toBe(Verdict.report);
    expect(slow.clear).toBe(false);
    // An early judgement that is not clear is no lifetime's evidence: the chain kept stands.
    slow.evidence.last[0] = 3;
    slow.evidence.current[0] = NaN;
    slow.judge(0, 26, 0, 0, 1);
    expect(slow.evidence.current[0]).toBeNaN();
  });

  it('does not call growth an event when the host-mates that grew with it had just restarted', () => {
    // Five processes on one host, each of another component (no group peers); process 0 grows 10%
    // over six hours at period 80. Two host-mates warm up by 12% over a day from period 70; two stay flat.
    const warm = (p: number) => 1 + 0.12 * Math.min(1, Math.max(0, (p - 70) / 24));
    const rise = (p: number) => 1 + 0.1 * Math.min(1, Math.max(0, (p - 80) / 6));
    const value = (i: number, p: number) => (1000 + 100 * i) * (i === 0 ? rise(p) : i <= 2 ? warm(p) : 1);
    const own = (i: number) => i;
    // Not known to have restarted, the median host-mate grew by more than 2% and a quarter of its growth: an event.
    expect(setup(5, 100, value, RP, own).judge(0, 99, 0, 0, 1)).toBe(Verdict.shared);
    // Restarted at period 70, their rise is their warm-up, not the host's load: held back, not thrown away.
    const judge = setup(5, 100, value, RP, own);
    for (const q of [1, 2]) {
      judge.interval.restartTs[q] = 70 * H;
      judge.interval.warmUntil[q] = 72 * H;
    }
    expect(judge.judge(0, 99, 0, 0, 1)).toBe(Verdict.notYet);
    // Host-mates that took the same growth without a restart make it an event.
    expect(setup(5, 100, (i, p) => (1000 + 100 * i) * (i <= 2 ? rise(p) : 1), RP, own).judge(0, 99, 0, 0, 1)).toBe(Verdict.shared);
  });

  it('does not call growth an event when the group peers that grew with it had just restarted in a rollout', () => {
    // Five processes of one component, each on a host of its own; process 0 grows 10% over six
    // hours at period 80. Two group peers warm up by 12% over a day from period 70; two stay flat.
    const warm = (p: number) => 1 + 0.12 * Math.min(1, Math.max(0, (p - 70) / 24));
    const rise = (p: number) => 1 + 0.1 * Math.min(1, Math.max(0, (p - 80) / 6));
    const value = (i: number, p: number) => (1000 + 100 * i) * (i === 0 ? rise(p) : i <= 2 ? warm(p) : 1);
    const own = (i: number) => i, one = () => 0;
    expect(setup(5, 100, value, RP, one, own).judge(0, 99, 0, 0, 1)).toBe(Verdict.shared);
    const judge = setup(5, 100, value, RP, one, own);
    for (const q of [1, 2]) {
      judge.interval.restartTs[q] = 70 * H;
      judge.interval.warmUntil[q] = 72 * H;
    }
    expect(judge.judge(0, 99, 0, 0, 1)).toBe(Verdict.notYet);
    expect(judge.held).toBe(Held.restartedPeers);
    // Group peers that took the same growth without a restart make it an event.
    expect(setup(5, 100, (i, p) => (1000 + 100 * i) * (i <= 2 ? rise(p) : 1), RP, one, own).judge(0, 99, 0, 0, 1)).toBe(Verdict.shared);
  });

  it('measures a step against the nearest hour kept when the hour a day before was a spike left out', () => {
    // Series 0 leaks 10%/day under the daily cycle; its two host-mates stay flat.
    const leak = (i: number, p: number) => cycle(p) + (i === 0 ? (100 * p) / 24 : 0);
    const judge = setup(3, 100, leak);
    expect(judge.stepShared(0, 99)).toBe(false);
    // The hour a day before held a spike, left out of every level (PeriodRing.mask).
    const masked = setup(3, 100, leak);
    masked.periods.mask(0, 75, 75);
    expect(masked.stepShared(0, 99)).toBe(false);
    // With every hour within three of it left out, nothing stands for it: shared, as before.
    const gone = setup(3, 100, leak);
    gone.periods.mask(0, 72, 78);
    expect(gone.stepShared(0, 99)).toBe(true);
  });
});
