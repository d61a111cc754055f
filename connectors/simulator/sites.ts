import type { Frame } from '../../engine/diagnosis.js';
import type { ComponentProfile } from './components.js';
import type { FleetPlan, LeakPlan } from './fleet.js';
import { hash } from './random.js';

/**
 * The allocation sites of a simulated process, as a heap profiler would list them:
 * what each site holds and how that moves over time. Every process of a component has
 * the same sites (the same code), so a stack is comparable across hosts; the leaking
 * process differs only in what its culprit site keeps.
 *
 * - stable: pools allocated at start (configuration, thread stacks), and the
 *   component's culprit candidates, which allocate on every host but free what they
 *   allocate unless the host leaks; +-1 % between snapshots.
 * - cache: empty after a (re)start, filling towards a cap with a time constant of hours.
 * - churn: per-request buffers allocated and freed, +-30-45 % from one snapshot to the next.
 * - fleet: grows on every host of the component until the next restart (registries,
 *   pools that only expand); on a suspect it looks like a leak, which is what
 *   reference snapshots from healthy hosts are for.
 */
export type SiteKind = 'stable' | 'cache' | 'churn' | 'fleet';

export interface Site {
  readonly kind: SiteKind;
  /** `Class.method` of the allocating frame. */
  readonly fn: string;
  /** Caller of the allocating frame, for a realistic stack. */
  readonly caller: string;
  /** Size as a share of the process's baseline: the cap of a cache, the mean of churn, the pool of a stable site. */
  readonly share: number;
  /** stable and churn: relative swing between snapshots; cache: time constant, hours; fleet: growth per day, share of baseline. */
  readonly param: number;
  /** Mean bytes per live object, for the count. */
  readonly objectBytes: number;
}

/** Sites every component has besides its culprit candidates. */
const COMMON: readonly Site[] = [
  { kind: 'stable', fn: 'ConfigStore.load', caller: 'Main.init', share: 0.05, param: 0.005, objectBytes: 512 },
  { kind: 'stable', fn: 'ThreadPool.start', caller: 'Main.init', share: 0.03, param: 0.005, objectBytes: 65_536 },
  { kind: 'cache', fn: 'ResponseCache.store', caller: 'RequestHandler.handle', share: 0.08, param: 3, objectBytes: 2_048 },
  { kind: 'cache', fn: 'DnsResolver.remember', caller: 'Connector.connect', share: 0.01, param: 1, objectBytes: 256 },
  { kind: 'churn', fn: 'RequestArena.allocate', caller: 'RequestHandler.handle', share: 0.02, param: 0.45, objectBytes: 4_096 },
  { kind: 'churn', fn: 'JsonParser.parse', caller: 'RequestHandler.decode', share: 0.015, param: 0.35, objectBytes: 128 },
  { kind: 'churn', fn: 'Buffer.allocate', caller: 'Socket.read', share: 0.025, param: 0.3, objectBytes: 16_384 },
  { kind: 'fleet', fn: 'MetricsRegistry.register', caller: 'Telemetry.observe', share: 0, param: 0.03, objectBytes: 192 },
  { kind: 'fleet', fn: 'ConnectionPool.expand', caller: 'Connector.connect', share: 0, param: 0.012, objectBytes: 1_024 },
];

/** Pool of each culprit candidate on a process that does not leak through it. */
const CANDIDATE_SHARE = 0.02;
const CANDIDATE_SWING = 0.01;

const sitesByComponent = new WeakMap<ComponentProfile, readonly Site[]>();

/** The sites of a component: its culprit candidates first (in the profile's order), then the common ones. */
export function sitesOf(profile: ComponentProfile): readonly Site[] {
  let sites = sitesByComponent.get(profile);
  if (!sites) {
    sites = [
      ...profile.culprits.map((fn): Site => ({ kind: 'stable', fn, caller: 'RequestHandler.handle', share: CANDIDATE_SHARE, param: CANDIDATE_SWING, objectBytes: 96 })),
      ...COMMON,
    ];
    sitesByComponent.set(profile, sites);
  }
  return sites;
}

/** The stack of a site: allocating frame, its caller, the entry point. Same on every host of the component. */
export function siteFrames(component: string, site: Site): Frame[] {
  const line = (fn: string) => 20 + (hash(0, 0, fnv(`${component}/${fn}`)) % 900);
  const file = (fn: string) => `${component}/src/${fn.split('.')[0]}.cc`;
  return [
    { function: site.fn, file: file(site.fn), line: line(site.fn) },
    { function: site.caller, file: file(site.caller), line: line(site.caller) },
    { function: 'main', file: `${component}/src/main.cc`, line: 12 },
  ];
}

/** Index in `sitesOf` of a leak's culprit site. */
export function culpritSite(plan: FleetPlan, leak: LeakPlan): number {
  const profile = plan.profiles[plan.seriesComponent[leak.series]!]!;
  const fn = leak.culprit.slice(leak.culprit.indexOf('::') + 2);
  return profile.culprits.indexOf(fn);
}

/** The culprit's stack, as the ground truth records it. */
export function culpritStack(plan: FleetPlan, leak: LeakPlan): Frame[] {
  const profile = plan.profiles[plan.seriesComponent[leak.series]!]!;
  return siteFrames(profile.name, sitesOf(profile)[culpritSite(plan, leak)]!);
}

/** 32-bit FNV-1a of a string: a stable line number per function. */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
