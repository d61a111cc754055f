import { grown } from './grow.js';
import type { LifetimeEvidence } from './lifetimeEvidence.js';
import type { PeerIndex } from './peerGrowth.js';
import { stitchedGrowth } from './peerGrowth.js';
import type { PeriodRing } from './periodRing.js';
import { ABS_TO_SIGMA, type IntervalState } from './suspiciousInterval.js';

/**
 * When a live suspicious interval is worth reporting. The method reports any T0 != T1;
 * across 100k healthy processes that would page all day, so growth must also be large,
 * clear of the series' own noise, still going on, and the process's own.
 *
 * Growth is measured day against day, hour by hour (PeriodRing.pairedChange): the same
 * hour on two days, so that a daily cycle cancels however large, and trimmed, so that a
 * spike on either day does not count. It is measured from the first day after the
 * series' anchor (the last restart, step or shared event), or from `growthPoints` ago if
 * that is later: a step days old is no longer growth.
 *
 * With `ahead` periods between that first day's start and the last day's:
 * - growth = (ahead / cycle) x trimmed mean of the last `ahead` hour-pairs a cycle apart
 *   while ahead < cycle (the two days overlap), else the trimmed mean of the last
 *   cycle's pairs `lag` = whole cycles apart: steady growth gives rate x span either way;
 * - it must reach `minGrowth` of the first day's level, `minGrowthBytes`, and `growthZ`
 *   sigmas of the day-to-day noise of the series (`dayNoise`: second differences of its
 *   daily levels, which a steady leak does not raise but spikes, weekends and wander do;
 *   before a week of them, the relative day noise typical of its component);
 * - recent growth, over the later half of the span, must be `recentShare` of what steady
 *   growth would have added then: a warm-up (fast, then flat) and a step that is over
 *   fail it; so must its growth over the last day the peers are compared over;
 * - the latest `latestPoints` hour-pairs must still show `latestShare` of the growth: a
 *   drained buffer or a bump that has passed lifts a day's mean for a day after it, a
 *   leak keeps its latest hours up;
 * - the median host-mate, and the median process of its model group, must not have grown
 *   by `peerShare` of its own growth over the same days (see peerGrowth.ts).
 * A process that restarts often may pass with less than `growthZ` sigmas when earlier
 * lifetimes grew too, every other test passing (lifetimeEvidence.ts).
 *
 * Growth `clearGrowth` times over both thresholds is clear: no daily cycle, warm-up tail
 * or day-to-day wander of the process explains that much. It is judged from `clearSpan`
 * periods after the anchor (two overlapping days with a few non-shared hours, not the
 * quarter cycle of the rule), and needs a shorter confirmation (`clear`, read by the
 * operator after each judgement). Every other test applies unchanged.
 */
export interface ReportParams {
  /** Length of a period, ms. */
  readonly period: number;
  /** Periods in a daily cycle. */
  readonly cycle: number;
  /** Most periods growth is measured over. */
  readonly growthPoints: number;
  /** Fewest periods since the anchor before a report. */
  readonly minSpan: number;
  /** Fewest periods since the anchor before a report of clear growth (at most minSpan). */
  readonly clearSpan: number;
  /** Growth of this many times both minGrowth and growthZ sigmas is clear (Infinity: never). */
  readonly clearGrowth: number;
  readonly minGrowth: number;
  readonly minGrowthBytes: number;
  readonly growthZ: number;
  readonly recentShare: number;
  /** Latest hour-pairs that must still show `latestShare` of the growth (latestShare 0: off). */
  readonly latestPoints: number;
  readonly latestShare: number;
  /** 0 turns the peer check off. */
  readonly peerShare: number;
  /** Least z of a lifetime whose growth is pooled with other lifetimes' (Infinity: never pooled). */
  readonly lifetimeZ: number;
}

export const Verdict = { notYet: 0, report: 1, shared: 2 } as const;
export type VerdictCode = (typeof Verdict)[keyof typeof Verdict];

/**
 * Why a judgement did not report (GrowthJudge.held), by the first test it failed: too
 * soon after the anchor, growth too small, not clear enough before min_duration, within
 * the noise, not recent, gone from the latest hours, short of growth_z with earlier
 * lifetimes pooled, peers grew too, or peers grew as an event does only with the
 * peers restarted meanwhile counted.
 * For tools that trace the rule (bench/detect/pool.ts --why); the operator does not read it.
 */
export const Held = {
  none: 0, span: 1, small: 2, unclear: 3, noise: 4, stopped: 5, gone: 6, pooled: 7, peers: 8, restartedPeers: 9,
} as const;
export type HeldCode = (typeof Held)[keyof typeof Held];

/** Share of values dropped at each end of a day's hour-pairs (4 of 24). */
export const TRIM = 1 / 6;
/** Day-noise samples (one every quarter cycle) before a series' own day noise is trusted. */
const DAY_NOISE_MIN = 8;
/** Day-noise samples weighed: a week at four a day. */
const DAY_NOISE_HORIZON = 28;
/**
 * A series' own day-noise sample counts at most this many times its day noise so far: the
 * onset of a leak or one buffer fill is one burst, not a week's noise (the component's
 * typical noise takes samples as they are).
 */
const DAY_NOISE_CLIP = 3;
/** Samples weighed in a component's typical relative day noise. */
const PEER_HORIZON = 2000;
/**
 * Median peer log growth from which growth shared with peers is an event that restarts
 * the interval; below it, shared growth only holds the report back. 2%: a host's load
 * change or a cluster's buffering moves its peers by more, a few peers' drift by less.
 */
const PEER_EVENT = 0.02;
/** Hours either side of a step's day-ago value that may stand for it when it was left out. */
const NEAR_HOURS = 3;
/** Most peers compared (the latest to join): bounds the work per reported process. */
const MAX_PEERS = 256;

export class GrowthJudge {
  /** Per series: sigma of the second difference of its daily levels, and the samples behind it. */
  dayNoise = new Float64Array(0);
  dayNoiseN = new Int32Array(0);
  /** Per component model: typical day noise relative to the level, and the samples behind it. */
  peerNoise = new Float64Array(0);
  peerNoiseN = new Int32Array(0);
  private readonly scratch: Float64Array;
  private readonly peerGrowth = new Float64Array(MAX_PEERS);
  private readonly shared = { own: NaN, peers: NaN };
  /** Whether the last judgement found clear growth (scratch, not state: it is set by every judgement). */
  clear = false;
  /** Why the last judgement did not report (Held.none when it did, or found growth shared). */
  held: HeldCode = Held.none;

  constructor(
    private readonly rp: ReportParams, private readonly ring: PeriodRing,
    private readonly peers: PeerIndex, private readonly state: IntervalState,
    private readonly lives: LifetimeEvidence,
  ) {
    this.scratch = new Float64Array(Math.max(ring.slots, rp.cycle));
  }

  ensure(series: number, models: number): void {
    this.dayNoise = grown(this.dayNoise, series);
    this.dayNoiseN = grown(this.dayNoiseN, series);
    this.peerNoise = grown(this.peerNoise, models);
    this.peerNoiseN = grown(this.peerNoiseN, models);
  }

  /**
   * Every quarter cycle (staggered across series), the second difference of the series'
   * last three daily levels feeds its day noise and its component's, unless a restart or
   * warm-up lies within those days. The series' own noise also leaves out days that hold
   * its anchor (a step that stayed, growth shared with peers): growth is never measured
   * across the anchor, so the step is not noise that growth after it must clear.
   */
  trackDayNoise(id: number, p: number, model: number): void {
    const d = this.rp.cycle, ring = this.ring, sc = this.scratch;
    if ((p + id) % Math.max(1, d >> 2) !== 0) return;
    const first = p - 3 * d + 1;
    if (first * this.rp.period < this.state.warmUntil[id]!) return;
    const m0 = ring.trimmedMean(id, p - d + 1, p, TRIM, sc);
    const m1 = ring.trimmedMean(id, p - 2 * d + 1, p - d, TRIM, sc);
    const m2 = ring.trimmedMean(id, first, p - 2 * d, TRIM, sc);
    const dd = Math.abs(m0 - 2 * m1 + m2) * ABS_TO_SIGMA;
    if (dd !== dd) return;
    if (!(first * this.rp.period < this.state.anchor[id]!)) {
      const seen = this.dayNoiseN[id]!;
      const sample = seen >= DAY_NOISE_MIN ? Math.min(dd, DAY_NOISE_CLIP * this.dayNoise[id]!) : dd;
      this.dayNoise[id]! += (sample - this.dayNoise[id]!) / Math.min(seen + 1, DAY_NOISE_HORIZON);
      this.dayNoiseN[id] = seen + 1;
    }
    if (m1 > 0) {
      const k = this.peerNoiseN[model]!;
      this.peerNoise[model]! += (dd / m1 - this.peerNoise[model]!) / Math.min(k + 1, PEER_HORIZON);
      this.peerNoiseN[model] = k + 1;
    }
  }

  /**
   * The verdict on series `id` at period p, growth measured from period `from` on (its
   * anchor); `model` is its component model, `sigmaStep` the sigma of one period's
   * difference.
   */
  judge(id: number, p: number, from: number, model: number, sigmaStep: number): VerdictCode {
    const rp = this.rp, ring = this.ring, d = rp.cycle, sc = this.scratch;
    const a = Math.max(from, p - rp.growthPoints + 1);
    const ahead = p - a + 1 - d;
    this.clear = false;
    this.held = Held.none;
    // Before min_duration, only clear growth may be reported: such a judgement is no lifetime's evidence either way.
    const early = p - from < rp.minSpan || ahead < Math.max(1, d >> 2);
    if (early && (p - from < rp.clearSpan || ahead < 1 || rp.clearGrowth === Infinity)) return this.hold(Held.span);
    const head = ring.mean(id, a, a + d - 1);
    const lag = ahead < d ? d : d * Math.floor(ahead / d);
    const pairs = ahead < d ? ahead : d;
    const scale = ahead < d ? ahead / d : 1;
    // Periods the growth spans: steady growth gives rate x span.
    const span = ahead < d ? ahead : lag;
    const lives = this.lives;
    // From here on the lifetime's evidence learns what each judgement showed (0: no growth of its own).
    if (!early) lives.note(id, 0);
    // Untrimmed means bound the trimmed pairs cheaply: most series stop here.
    const quick = (ring.mean(id, p - pairs + 1, p) - ring.mean(id, p - pairs + 1 - lag, p - lag)) * scale;
    if (!(quick >= 0.5 * rp.minGrowth * head)) return this.hold(Held.small);
    const growth = ring.pairedChange(id, p - pairs + 1, p, lag, TRIM, sc) * scale;
    if (!(growth >= rp.minGrowth * head && growth >= rp.minGrowthBytes)) return this.hold(Held.small);
    // The noise of a difference of daily levels (sqrt 2 sigma of a level; second differences have sqrt 6),
    // scaled down when fewer than a cycle of pairs differ; never below what white noise would give.
    const own = this.dayNoiseN[id]! >= DAY_NOISE_MIN ? this.dayNoise[id]!
      : this.peerNoiseN[model]! >= DAY_NOISE_MIN ? this.peerNoise[model]! * head : 0;
    const sigma = Math.max(sigmaStep * Math.sqrt(2 / d), own / Math.sqrt(3)) * Math.sqrt(pairs / d);
    const z = growth / sigma;
    this.clear = z >= rp.clearGrowth * rp.growthZ && growth >= rp.clearGrowth * rp.minGrowth * head;
    if (early && !this.clear) return this.hold(Held.unclear);
    // Short of growth_z, growth may still count when earlier lifetimes showed it too (lifetimeEvidence.ts).
    const alone = z >= rp.growthZ;
    if (!alone && !(z >= lives.zMin)) {
      lives.note(id, z);
      return this.hold(Held.noise);
    }
    const recentPairs = ahead < d ? Math.ceil(ahead / 2) : d;
    const recentLag = ahead < d ? d : d * Math.max(1, Math.floor(lag / (2 * d)));
    const recent = ring.pairedChange(id, p - recentPairs + 1, p, recentLag, TRIM, sc) * (recentPairs / d);
    const expected = growth * (ahead < d ? recentPairs : recentLag) / span;
    if (!(recent >= rp.recentShare * expected)) return this.hold(Held.stopped);
    if (rp.latestShare > 0) {
      const k = Math.min(rp.latestPoints, pairs);
      const latest = ring.pairedChange(id, p - k + 1, p, lag, TRIM, sc) * scale;
      if (!(latest >= rp.latestShare * growth)) return this.hold(Held.gone);
    }
    const shift = Math.min(d, Math.ceil(ahead / 2));
    // The peers are asked about the last day against the one `shift` before it, so the process must
    // have grown there itself, by recent_share of its pace over the span: a step days old (a host's
    // shift that its host-mates took then) is still in the span's growth but in no window they are
    // asked about.
    const now = stitchedGrowth(ring, id, p, d, shift, 0, 0);
    if (rp.recentShare > 0 && !(now > rp.recentShare * (growth / head) * (shift / span))) return this.hold(Held.stopped);
    // The peers are asked about a lifetime's last judgement when it ends (endLifetime), and here only before a report.
    lives.note(id, z, p, shift);
    if (!alone && !(lives.pooled(id, z) >= rp.growthZ)) return this.hold(Held.pooled);
    if (!(rp.peerShare > 0)) return Verdict.report;
    const shared = this.sharedGrowth(id, p, shift, false, now);
    if (!(shared.peers >= rp.peerShare * shared.own)) return Verdict.report;
    // Peers that grew for real make it an event (the interval starts after it); peers that only
    // drifted a little hold the report back without throwing the interval away.
    if (!(alone && shared.peers >= PEER_EVENT)) return this.hold(Held.peers);
    // An event throws away the growth so far, so it must be the host's or the group's and not some
    // peers' own restarts: peers restarted within the compared days (their warm-up is theirs) are left out.
    const settled = this.sharedGrowth(id, p, shift, true, now);
    return settled.peers >= PEER_EVENT && settled.peers >= rp.peerShare * settled.own ? Verdict.shared : this.hold(Held.restartedPeers);
  }

  private hold(why: HeldCode): VerdictCode {
    this.held = why;
    return Verdict.notYet;
  }

  /**
   * Series `id` restarted: its lifetime's last judgement, if it showed growth, is kept as
   * evidence unless its peers grew with it then (the lifetime then counts as not judged).
   */
  endLifetime(id: number): void {
    const lives = this.lives, z = lives.current[id]!;
    if (z >= lives.zMin && this.rp.peerShare > 0) {
      const shared = this.sharedGrowth(id, lives.at[id]!, lives.shift[id]!);
      if (shared.peers >= this.rp.peerShare * shared.own) lives.current[id] = NaN;
    }
    lives.end(id);
  }

  /**
   * Whether the step up that series `id` took by period p was shared: the larger of the
   * median host-mate's and the median group peer's log change from the same period a
   * cycle earlier reached `peerShare` of its own. A cycle apart, the daily load cancels;
   * a host's workload shift moves its host-mates, a cluster's outage the group's
   * buffers, while a leak that jumps is the process's own. Peers that restarted within
   * the cycle (and its warm-up) say nothing and are left out. A step whose own change
   * cannot be measured (or did not grow) counts as shared.
   */
  stepShared(id: number, p: number): boolean {
    const d = this.rp.cycle, ring = this.ring, s = this.state, period = this.rp.period;
    const dayLog = (q: number) => {
      const now = ring.value(q, p), then = ring.value(q, p - d);
      return now > 0 && then > 0 ? Math.log(now / then) : NaN;
    };
    let own = dayLog(id);
    // A day before may be a spike left out (or a gap): the nearest hour kept stands for it.
    // Unmeasured, the step would count as shared and throw away the growth so far, and a
    // fast leak's own rises make such spikes.
    const now = ring.value(id, p);
    for (let k = 1; k <= NEAR_HOURS && own !== own; k++) {
      const before = ring.value(id, p - d - k), then = before > 0 ? before : ring.value(id, p - d + k);
      if (now > 0 && then > 0) own = Math.log(now / then);
    }
    if (!(own > 0)) return true;
    const since = (p - d) * period;
    const peer = (q: number) => (s.warmUntil[q]! >= since ? NaN : dayLog(q));
    const host = this.peers.medianGrowth(id, true, peer, this.peerGrowth);
    const group = this.peers.medianGrowth(id, false, peer, this.peerGrowth);
    const peers = Math.max(host === host ? host : -Infinity, group === group ? group : -Infinity);
    return peers >= this.rp.peerShare * own;
  }

  /**
   * Log growth of series `id` and of its peers (the larger of its host-mates' median and
   * its model group's median) between two day-long windows `shift` periods apart, ending
   * at p. Peers are measured without their restart and the first quarter of its warm-up:
   * most of a warm-up is over within hours, and what remains only makes peers look more
   * like growing, which errs towards silence. With `settled`, peers restarted since the
   * earlier day began are left out altogether, host-mates and group peers alike: the
   * rest of their warm-up is theirs, and a rollout that restarted a whole group says
   * nothing about a process it did not restart (a cluster's buffers fill in the peers
   * left as well).
   * `own` is the series' growth over those windows, when the caller has it already.
   */
  private sharedGrowth(
    id: number, p: number, shift: number, settled = false, own = stitchedGrowth(this.ring, id, p, this.rp.cycle, shift, 0, 0),
  ): { own: number; peers: number } {
    const d = this.rp.cycle, s = this.state, period = this.rp.period, ring = this.ring;
    const out = this.shared;
    out.own = own;
    out.peers = NaN;
    if (!(out.own > 0)) return out;
    const growth = (q: number) => {
      const restart = s.restartTs[q]!;
      if (restart !== restart) return stitchedGrowth(ring, q, p, d, shift, 0, 0);
      const from = Math.floor(restart / period);
      return stitchedGrowth(ring, q, p, d, shift, from, from + Math.ceil((s.warmUntil[q]! - restart) / 4 / period));
    };
    const since = (p - d - shift + 1) * period;
    const peer = settled ? (q: number) => (s.warmUntil[q]! >= since ? NaN : growth(q)) : growth;
    const host = this.peers.medianGrowth(id, true, peer, this.peerGrowth);
    const group = this.peers.medianGrowth(id, false, peer, this.peerGrowth);
    out.peers = Math.max(host === host ? host : -Infinity, group === group ? group : -Infinity);
    return out;
  }

  checkpoint(count: number, models: number): { dayNoise: Float64Array; dayNoiseN: Int32Array; peerNoise: Float64Array; peerNoiseN: Int32Array } {
    return {
      dayNoise: this.dayNoise.slice(0, count), dayNoiseN: this.dayNoiseN.slice(0, count),
      peerNoise: this.peerNoise.slice(0, models), peerNoiseN: this.peerNoiseN.slice(0, models),
    };
  }

  restore(state: ReturnType<GrowthJudge['checkpoint']>): void {
    this.ensure(state.dayNoise.length, state.peerNoise.length);
    this.dayNoise.set(state.dayNoise);
    this.dayNoiseN.set(state.dayNoiseN);
    this.peerNoise.set(state.peerNoise);
    this.peerNoiseN.set(state.peerNoiseN);
  }
}
