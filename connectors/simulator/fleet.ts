import { componentProfiles, type ComponentProfile } from './components.js';
import type { ResolvedOptions } from './options.js';
import { Stream, draw, hash, lognormal, logUniform } from './random.js';
import { loadShapes, type Shapes } from './shapes.js';

/**
 * The fleet as fixed facts: hosts and where they are, which processes run where, their
 * baselines, the version rollouts and the leaks. Everything here is O(series), drawn
 * once from the seed; what changes over time is scheduled in schedule.ts and played in
 * generator.ts.
 */

export interface Region {
  readonly name: string;
  /** Local time offset from UTC, hours: the daily cycle peaks in the afternoon local time. */
  readonly utcOffset: number;
  /** Share of hosts. */
  readonly weight: number;
}

export const REGIONS: readonly Region[] = [
  { name: 'us-east', utcOffset: -5, weight: 0.35 },
  { name: 'eu-west', utcOffset: 0, weight: 0.3 },
  { name: 'us-west', utcOffset: -8, weight: 0.2 },
  { name: 'ap-south', utcOffset: 5.5, weight: 0.15 },
];

/** Hosts per cluster, roughly: a cluster is the unit a downstream outage hits. */
const HOSTS_PER_CLUSTER = 60;
const GB = 1024 ** 3;
const MB = 1024 ** 2;

export type LeakPattern = 'steady' | 'stair' | 'spike';

export interface LeakPlan {
  readonly series: number;
  readonly pattern: LeakPattern;
  /** Start, in ticks. */
  readonly start: number;
  /** Mean growth per day as a fraction of the baseline at the start. */
  readonly ratePerDay: number;
  readonly baseline: number;
  readonly bytesPerTick: number;
  readonly culprit: string;
  /** Index of the rollout that introduced the leak, or -1. */
  readonly rollout: number;
}

export interface RolloutPlan {
  /** Tick at which the first hosts update. */
  readonly start: number;
  /** Multiplier of the baseline of every process of the component. */
  readonly step: number;
  /** Dictionary index of the new version. */
  readonly version: number;
}

export interface FleetPlan {
  readonly opts: ResolvedOptions;
  readonly seed: number;
  readonly ticksPerDay: number;
  readonly profiles: readonly ComponentProfile[];
  readonly shapes: Shapes | null;

  readonly hostNames: readonly string[];
  readonly hostRegion: Int32Array;
  readonly hostCluster: Int32Array;
  /** Physical memory of each host, bytes (the `host_mem` column). */
  readonly hostMem: Float64Array;
  readonly clusterNames: readonly string[];
  readonly regionNames: readonly string[];

  /** Series, host-major: every process of every component on host 0, then host 1, ... */
  readonly seriesCount: number;
  readonly seriesHost: Int32Array;
  readonly seriesComponent: Int32Array;
  /** Index into processNames. */
  readonly seriesProcess: Int32Array;
  /** Baseline RSS at the start, bytes. */
  readonly seriesBaseline: Float64Array;
  /** Mean ticks between unplanned restarts. */
  readonly seriesRestartMean: Float64Array;
  /** Index into `leaks`, or -1. */
  readonly seriesLeak: Int32Array;
  readonly processNames: readonly string[];
  /** Hosts running each component. */
  readonly componentHosts: Int32Array;

  readonly versions: readonly string[];
  /** Dictionary index of each component's version at the start. */
  readonly componentVersion: Int32Array;
  readonly rollouts: readonly (readonly RolloutPlan[])[];
  readonly leaks: readonly LeakPlan[];
}

/** Where in the span a leak may start: after enough history, before too little is left. */
export function leakWindow(ticks: number, ticksPerDay: number): [number, number] {
  const earliest = Math.round(Math.min(4 * ticksPerDay, 0.3 * ticks));
  const latest = Math.max(earliest, Math.round(ticks - Math.max(0.3 * ticks, ticksPerDay)));
  return [earliest, latest];
}

export function buildFleet(opts: ResolvedOptions): FleetPlan {
  const seed = opts.seed;
  const ticksPerDay = 86_400_000 / opts.intervalMs;
  const profiles = componentProfiles(opts.components);
  const H = opts.hosts;
  const C = profiles.length;

  // Regions by weight; clusters within a region of about HOSTS_PER_CLUSTER hosts.
  const hostRegion = new Int32Array(H);
  const perRegion = new Int32Array(REGIONS.length);
  for (let h = 0; h < H; h++) {
    let u = draw(seed, Stream.HostPlace, h, 0);
    let r = 0;
    while (r < REGIONS.length - 1 && u >= REGIONS[r]!.weight) u -= REGIONS[r++]!.weight;
    hostRegion[h] = r;
    perRegion[r]++;
  }
  const clusterNames: string[] = [];
  const clusterBase = new Int32Array(REGIONS.length);
  const clustersIn = new Int32Array(REGIONS.length);
  for (let r = 0; r < REGIONS.length; r++) {
    clusterBase[r] = clusterNames.length;
    clustersIn[r] = Math.max(1, Math.round(perRegion[r]! / HOSTS_PER_CLUSTER));
    for (let k = 0; k < clustersIn[r]!; k++) clusterNames.push(`${REGIONS[r]!.name}-c${String(k + 1).padStart(2, '0')}`);
  }
  const hostCluster = new Int32Array(H);
  for (let h = 0; h < H; h++) {
    const r = hostRegion[h]!;
    hostCluster[h] = clusterBase[r]! + Math.floor(draw(seed, Stream.HostPlace, h, 1) * clustersIn[r]!);
  }
  const width = Math.max(5, String(H - 1).length);
  const hostNames = Array.from({ length: H }, (_, h) => `host-${String(h).padStart(width, '0')}`);

  // Which components run where; every component runs on at least one host.
  const runs = new Uint8Array(H * C);
  const componentHosts = new Int32Array(C);
  for (let c = 0; c < C; c++) {
    for (let h = 0; h < H; h++) {
      if (draw(seed, Stream.Coverage, h, c) < profiles[c]!.coverage) {
        runs[h * C + c] = 1;
        componentHosts[c]++;
      }
    }
    if (componentHosts[c] === 0) {
      runs[Math.floor(draw(seed, Stream.Coverage, -1, c) * H) * C + c] = 1;
      componentHosts[c] = 1;
    }
  }

  const processNames: string[] = [];
  const processBase = new Int32Array(C);
  for (let c = 0; c < C; c++) {
    processBase[c] = processNames.length;
    processNames.push(...profiles[c]!.processes);
  }
  let S = 0;
  for (let h = 0; h < H; h++) for (let c = 0; c < C; c++) if (runs[h * C + c]) S += profiles[c]!.processes.length;

  const seriesHost = new Int32Array(S);
  const seriesComponent = new Int32Array(S);
  const seriesProcess = new Int32Array(S);
  const seriesBaseline = new Float64Array(S);
  const seriesRestartMean = new Float64Array(S);
  const hostMem = new Float64Array(H);
  // First series of each (host, component) pair, for picking leaks by pair.
  const pairSeries: number[] = [];
  let s = 0;
  for (let h = 0; h < H; h++) {
    // Bigger hosts serve more: one factor shared by every process of the host.
    const hostFactor = lognormal(draw(seed, Stream.HostFactor, h), 0.15);
    let hostSum = 0;
    for (let c = 0; c < C; c++) {
      if (!runs[h * C + c]) continue;
      const p = profiles[c]!;
      const pairFactor = lognormal(draw(seed, Stream.PairFactor, h, c), p.sigma);
      pairSeries.push(s);
      for (let k = 0; k < p.processes.length; k++) {
        // Processes of a pool share the load unevenly.
        const procFactor = k === 0 ? 1 : 0.6 + 0.4 * draw(seed, Stream.ProcessFactor, h, c, k);
        seriesHost[s] = h;
        seriesComponent[s] = c;
        seriesProcess[s] = processBase[c]! + k;
        seriesBaseline[s] = Math.round(p.medianMb * MB * hostFactor * pairFactor * procFactor);
        seriesRestartMean[s] = p.restartDays * ticksPerDay * lognormal(draw(seed, Stream.Restart, s, -1), 0.5);
        hostSum += seriesBaseline[s]!;
        s++;
      }
    }
    // The smallest common machine size that leaves room for the host's own needs.
    let size = 32 * GB;
    while (size < 2.5 * hostSum && size < 4096 * GB) size *= 2;
    if (draw(seed, Stream.HostMem, h) < 0.25) size *= 2;
    hostMem[h] = size;
  }

  // Versions: each component starts at its profile's version; each rollout bumps the minor.
  const versions: string[] = [];
  const versionIndex = new Map<string, number>();
  const versionId = (v: string) => {
    let i = versionIndex.get(v);
    if (i === undefined) {
      i = versions.length;
      versions.push(v);
      versionIndex.set(v, i);
    }
    return i;
  };
  const componentVersion = new Int32Array(C);
  const rollouts: RolloutPlan[][] = [];
  const ticks = opts.ticks;
  for (let c = 0; c < C; c++) {
    const [major, minor] = profiles[c]!.version;
    componentVersion[c] = versionId(`${major}.${minor}.0`);
    // About one rollout per ten days, one per slot of the span so they never overlap.
    const count = Math.floor(opts.days / 10 + draw(seed, Stream.Rollout, c, -1));
    const slot = ticks / Math.max(count, 1);
    const plan: RolloutPlan[] = [];
    for (let r = 0; r < count; r++) {
      const start = Math.floor((r + 0.1 + 0.5 * draw(seed, Stream.Rollout, c, r, 0)) * slot);
      const u = draw(seed, Stream.Rollout, c, r, 1);
      // Most releases need a little more memory; some trim it.
      const step = u < 0.2 ? 1 - logUniform(u / 0.2, 0.01, 0.06) : 1 + logUniform((u - 0.2) / 0.8, 0.02, 0.25);
      plan.push({ start, step, version: versionId(`${major}.${minor + r + 1}.0`) });
    }
    rollouts.push(plan);
  }

  const seriesLeak = new Int32Array(S).fill(-1);
  const leaks = pickLeaks(opts, seed, ticksPerDay, profiles, pairSeries, seriesHost, seriesComponent, seriesBaseline, rollouts, seriesLeak);

  return {
    opts, seed, ticksPerDay, profiles,
    shapes: opts.background === 'alibaba' ? loadShapes() : null,
    hostNames, hostRegion, hostCluster, hostMem, clusterNames, regionNames: REGIONS.map((r) => r.name),
    seriesCount: S, seriesHost, seriesComponent, seriesProcess, seriesBaseline, seriesRestartMean, seriesLeak,
    processNames, componentHosts, versions, componentVersion, rollouts, leaks,
  };
}

/**
 * Tick at which host `h` gets rollout `r` of component `c`: a few canary hosts within
 * two hours, the rest spread over the following day.
 */
export function rolloutTick(seed: number, ticksPerDay: number, plan: RolloutPlan, h: number, c: number, r: number): number {
  const u = draw(seed, Stream.RolloutHost, h, c, r);
  const hours = u < 0.05 ? (u / 0.05) * 2 : 3 + ((u - 0.05) / 0.95) * 21;
  return plan.start + Math.round((hours / 24) * ticksPerDay);
}

function pickLeaks(
  opts: ResolvedOptions, seed: number, ticksPerDay: number, profiles: readonly ComponentProfile[], pairSeries: number[],
  seriesHost: Int32Array, seriesComponent: Int32Array, seriesBaseline: Float64Array,
  rollouts: readonly (readonly RolloutPlan[])[], seriesLeak: Int32Array,
): LeakPlan[] {
  const P = pairSeries.length;
  const wanted = opts.leak_fraction > 0 ? Math.min(P, Math.max(1, Math.round(opts.leak_fraction * P))) : 0;
  if (wanted === 0) return [];
  // The pairs with the smallest hashes: a uniform sample without replacement.
  const keys = new Uint32Array(P);
  for (let p = 0; p < P; p++) keys[p] = hash(seed, Stream.LeakPick, p);
  const order = Array.from({ length: P }, (_, p) => p).sort((a, b) => keys[a]! - keys[b]! || a - b).slice(0, wanted);
  order.sort((a, b) => a - b);
  const [earliest, latest] = leakWindow(opts.ticks, ticksPerDay);
  const leaks: LeakPlan[] = [];
  for (const p of order) {
    const first = pairSeries[p]!;
    const h = seriesHost[first]!, c = seriesComponent[first]!;
    const profile = profiles[c]!;
    const u = (k: number) => draw(seed, Stream.LeakShape, p, k);
    const series = first + Math.min(profile.processes.length - 1, Math.floor(u(0) * profile.processes.length));
    const pu = u(1);
    // Steady growth dominates in production (63% of the leaks RESIN studied).
    const pattern: LeakPattern = pu < 0.6 ? 'steady' : pu < 0.85 ? 'stair' : 'spike';
    const ratePerDay = logUniform(u(2), 0.015, 0.3);
    let start = earliest + Math.floor(u(3) * (latest - earliest + 1));
    let rollout = -1;
    // Some leaks arrive with a new version: they start when the host takes the rollout.
    if (u(4) < 0.3) {
      const plans = rollouts[c]!;
      for (let r = 0; r < plans.length; r++) {
        const t = rolloutTick(seed, ticksPerDay, plans[r]!, h, c, r);
        if (t >= earliest && t <= latest) {
          start = t;
          rollout = r;
          break;
        }
      }
    }
    let baseline = seriesBaseline[series]!;
    const plans = rollouts[c]!;
    for (let r = 0; r < plans.length; r++) if (rolloutTick(seed, ticksPerDay, plans[r]!, h, c, r) <= start) baseline *= plans[r]!.step;
    baseline = Math.round(baseline);
    const culprit = `${profile.name}::${profile.culprits[Math.floor(u(5) * profile.culprits.length)]!}`;
    seriesLeak[series] = leaks.length;
    leaks.push({ series, pattern, start, ratePerDay, baseline, bytesPerTick: (ratePerDay * baseline) / ticksPerDay, culprit, rollout });
  }
  return leaks;
}
