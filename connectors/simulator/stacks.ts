import type { StackSample } from '../../engine/diagnosis.js';
import type { FleetPlan } from './fleet.js';
import { draw } from './random.js';
import { leakSegment, pidOf, segmentSlope, type LeakSegment } from './schedule.js';
import { culpritSite, siteFrames, sitesOf, type Site } from './sites.js';
import { startsOf } from './truth.js';

/** Draw stream of the heap model: apart from the generator's streams (random.ts), so adding it changes no sample. */
const HEAP_STREAM = 101;
const HOUR = 3_600_000;
/** Memory outside the profiled heap (code, runtime), share of the baseline. */
const NON_HEAP = 0.6;

/** What a simulated heap profile of one process says at one instant. */
export interface SimulatedHeap {
  stacks: StackSample[];
  /** Non-heap memory plus every site's live bytes. */
  rss: number;
}

/**
 * Allocation stacks of simulated processes as of any event time, deterministically per
 * seed: the same (series, time) always gives the same profile, so a replay can be
 * profiled after the fact and two runs agree. Restarts come from the same schedule the
 * generator plays (truth.ts `startsOf`): a restart frees the leak, empties caches and
 * restarts the pools that only grow. A leak's culprit site keeps what the leak added
 * since its start or the last restart, segment by segment as the generator grows it
 * (without the daily modulation of the rate, which averages out over a day).
 *
 * The profile's rss is its own model (non-heap share plus the sites), not the sampled
 * rss of the stream, which depends on noise drawn in row order and cannot be read at an
 * arbitrary instant.
 */
export class StackModel {
  private readonly index = new Map<string, number>();
  private readonly starts = new Map<number, { ticks: number[]; pids: number[] }>();
  private readonly seg: LeakSegment = { grow: 0, flat: 0 };

  constructor(readonly plan: FleetPlan) {
    const p = plan;
    for (let s = 0; s < p.seriesCount; s++) {
      this.index.set(key(p.hostNames[p.seriesHost[s]!]!, p.profiles[p.seriesComponent[s]!]!.name, p.processNames[p.seriesProcess[s]!]!), s);
    }
  }

  /** Series of (host, component, process), or -1 when the fleet has no such process. */
  seriesOf(host: string, component: string, proc: string): number {
    return this.index.get(key(host, component, proc)) ?? -1;
  }

  /** Event time of the first sample: nothing ran before it. */
  get startMs(): number {
    return this.plan.opts.startMs;
  }

  /** Start (tick) and pid of the process running as series s at tick t. */
  private lifeAt(s: number, tick: number): { since: number; pid: number } {
    let life = this.starts.get(s);
    if (!life) {
      const list = startsOf(this.plan, s);
      life = { ticks: list.map((x) => x.tick), pids: list.map((_, i) => pidOf(this.plan, s, i + 1)) };
      // Bounded by the fleet: one entry per series ever profiled, each as long as its restarts in the span.
      this.starts.set(s, life);
    }
    let since = 0, pid = pidOf(this.plan, s, 0);
    for (let i = 0; i < life.ticks.length && life.ticks[i]! <= tick; i++) {
      since = life.ticks[i]!;
      pid = life.pids[i]!;
    }
    return { since, pid };
  }

  /** Pid of series s at event time `ms`. */
  pidAt(s: number, ms: number): number {
    return this.lifeAt(s, this.tickOf(ms)).pid;
  }

  private tickOf(ms: number): number {
    return (ms - this.plan.opts.startMs) / this.plan.opts.intervalMs;
  }

  /** Bytes leaked by series s's leak (if any) that are still live at tick t, the process having started at `since`. */
  leakedAt(s: number, tick: number, since: number): number {
    const i = this.plan.seriesLeak[s]!;
    if (i < 0) return 0;
    const leak = this.plan.leaks[i]!;
    const from = Math.max(leak.start, since);
    let bytes = 0;
    // Walk the segments from the leak's start: growth, then a flat stretch (steady: one endless growth).
    for (let k = 0, at = leak.start; at < tick; k++) {
      const seg = leakSegment(this.plan, leak, i, k, this.seg);
      const slope = segmentSlope(leak, seg);
      const growEnd = at + seg.grow;
      const overlap = Math.min(growEnd, tick) - Math.max(at, from);
      if (overlap > 0) bytes += overlap * slope;
      at = growEnd + seg.flat;
    }
    return bytes;
  }

  /** The heap of series s at event time `ms`. */
  heapAt(s: number, ms: number): SimulatedHeap {
    const p = this.plan;
    const c = p.seriesComponent[s]!;
    const profile = p.profiles[c]!;
    const tick = this.tickOf(ms);
    const { since } = this.lifeAt(s, tick);
    const base = p.seriesBaseline[s]!;
    const upHours = ((tick - since) * p.opts.intervalMs) / HOUR;
    const minute = Math.floor(ms / 60_000);
    const leakIndex = p.seriesLeak[s]!;
    const culprit = leakIndex >= 0 ? culpritSite(p, p.leaks[leakIndex]!) : -1;
    const sites = sitesOf(profile);
    const stacks: StackSample[] = [];
    let rss = NON_HEAP * base;
    for (let j = 0; j < sites.length; j++) {
      const site = sites[j]!;
      // Each process sizes a site its own way (lognormal-ish factor 0.6-1.6), fixed for its life.
      const scale = 0.6 + draw(p.seed, HEAP_STREAM, s, j, 0);
      let live = this.siteBytes(site, base * scale, upHours, draw(p.seed, HEAP_STREAM, s, j, minute + 1));
      if (j === culprit) live += this.leakedAt(s, tick, since);
      if (!(live > 0)) continue;
      rss += live;
      stacks.push({ frames: siteFrames(profile.name, site), live_bytes: Math.round(live), count: Math.max(1, Math.round(live / site.objectBytes)) });
    }
    return { stacks, rss: Math.round(rss) };
  }

  /** Live bytes of one site `upHours` after its process started; `u` is this instant's uniform draw. */
  private siteBytes(site: Site, base: number, upHours: number, u: number): number {
    const swing = 2 * u - 1;
    switch (site.kind) {
      case 'stable':
        return site.share * base * (1 + site.param * swing);
      case 'cache':
        return site.share * base * (1 - Math.exp(-upHours / site.param)) * (1 + 0.01 * swing);
      case 'churn':
        return site.share * base * (1 + site.param * swing);
      case 'fleet':
        return (site.param * base * upHours) / 24 * (1 + 0.01 * swing);
    }
  }
}

function key(host: string, component: string, proc: string): string {
  return `${host}\u0000${component}\u0000${proc}`;
}
