import type { HeapSnapshot, ProfileTarget } from '../../engine/diagnosis.js';
import { dayOf, type Fingerprint, type ReferenceSet } from '../../engine/references.js';
import type { SeriesCatalog } from '../../engine/telemetry/series.js';
import { classifyGrowth, DEFAULT_PATTERN_PARAMS } from '../detect/growthPattern.js';
import { stackKey } from './localise.js';
import type { MemoryPoint } from './triggers.js';

/** Attributes of a process as the catalog knows them. */
export interface ProcessAttrs {
  series: number;
  region: string | null;
  cluster: string | null;
  version: string | null;
}

/** The catalog's series of (host, component, process), or null when it has not seen it. */
export function attrsOf(catalog: SeriesCatalog, host: string, component: string, proc: string): ProcessAttrs | null {
  const h = catalog.hosts.lookup(host), c = catalog.components.lookup(component), p = catalog.processes.lookup(proc);
  if (h === undefined || c === undefined || p === undefined) return null;
  for (let s = 0; s < catalog.size; s++) {
    if (catalog.seriesHost[s] === h && catalog.seriesComponent[s] === c && catalog.seriesProcess[s] === p) {
      const d = catalog.describe(s);
      return { series: s, region: d.region, cluster: d.cluster, version: d.version };
    }
  }
  return null;
}

/** The method's fingerprint of a process at `now`; the telemetry carries no OS version, so it is null. */
export function fingerprintOf(component: string, attrs: Pick<ProcessAttrs, 'cluster' | 'version'>, now: number): Fingerprint {
  return { component, cluster: attrs.cluster, os_version: null, service_version: attrs.version, day: dayOf(now) };
}

export function fingerprintKey(fp: Fingerprint): string {
  return JSON.stringify([fp.component, fp.cluster, fp.os_version, fp.service_version, fp.day]);
}

/**
 * Healthy processes to take references from: the same component and service version
 * on other hosts, none under alert or being profiled; the same cluster first, then the
 * same region, then anywhere. Within a tier the order is a hash of the series and the
 * salt, so that successive references spread over the fleet instead of hitting one host.
 */
export function pickCandidates(
  catalog: SeriesCatalog, component: string, target: ProcessAttrs & { host: string }, n: number, salt: number,
  excluded: (host: string, proc: string) => boolean,
): ProfileTarget[] {
  const c = catalog.components.lookup(component);
  if (c === undefined) return [];
  const scored: { s: number; tier: number; order: number }[] = [];
  for (let s = 0; s < catalog.size; s++) {
    if (catalog.seriesComponent[s] !== c || s === target.series) continue;
    const d = catalog.describe(s);
    if (d.host === target.host || d.version !== target.version || excluded(d.host, d.process)) continue;
    const tier = d.cluster === target.cluster ? 0 : d.region === target.region ? 1 : 2;
    scored.push({ s, tier, order: mix(s, salt) });
  }
  scored.sort((a, b) => a.tier - b.tier || a.order - b.order || a.s - b.s);
  // A reference carries no pid: the catalog keeps none. Profilers resolve the process by name or decline it.
  return scored.slice(0, n).map(({ s }) => {
    const d = catalog.describe(s);
    return { host: d.host, component: d.component, process: d.process, pid: 0 };
  });
}

function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b, 0xc2b2ae35);
  h ^= h >>> 15;
  return Math.imul(h, 0x27d4eb2f) >>> 0;
}

/**
 * Whether a reference's memory grew like a leak over its trace: the detector's pattern
 * analysis (growthPattern.ts) finds a pattern and memory rose by more than `maxGrowth`
 * of its first reading. Such a process is not healthy and gives no reference.
 */
export function leaksDuringTrace(memory: readonly MemoryPoint[], period: number, maxGrowth: number): boolean {
  if (memory.length < 3) return false;
  const t0 = memory[0]!.at;
  const slots = Math.round((memory[memory.length - 1]!.at - t0) / period) + 1;
  const values = new Float64Array(slots).fill(NaN);
  for (const m of memory) values[Math.round((m.at - t0) / period)] = m.rss;
  // A reference trace is a few snapshots: spikes are judged point to point, and nothing is cut before growth began.
  const c = classifyGrowth(values, slots, { ...DEFAULT_PATTERN_PARAMS, spikePoints: 1, minPoints: 3, smooth: 0 });
  const first = memory[0]!.rss, last = memory[memory.length - 1]!.rss;
  return c.pattern !== 'unknown' && last - first > maxGrowth * first;
}

/**
 * Keys of the stacks that grew on the references: between a set's first and last
 * snapshot, by more than `minGrowth` of the process's memory at the first, on more than
 * `quorum` of the sets. These are the stacks localisation drops (they grow on healthy
 * processes too). A quorum rather than any one set: a reference that leaks slowly
 * through the same culprit passes a short trace's pattern check, and alone would hide
 * the culprit.
 */
export function growingStacks(sets: readonly ReferenceSet[], minGrowth: number, quorum = 0.5): Set<string> {
  const votes = new Map<string, number>();
  let usable = 0;
  for (const set of sets) {
    if (set.snapshots.length < 2) continue;
    const first = set.snapshots[0]!, last = set.snapshots[set.snapshots.length - 1]!;
    let rss = first.memory?.rss;
    if (rss === undefined) {
      rss = 0;
      for (const s of first.stacks) rss += s.live_bytes;
    }
    const before = bytesByStack(first), after = bytesByStack(last);
    usable++;
    for (const [k, bytes] of after) if (bytes - (before.get(k) ?? 0) > minGrowth * rss) votes.set(k, (votes.get(k) ?? 0) + 1);
  }
  const out = new Set<string>();
  for (const [k, n] of votes) if (n > quorum * usable) out.add(k);
  return out;
}

/** Live bytes per stack key (a stack may appear more than once in a profile). */
function bytesByStack(snap: HeapSnapshot): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of snap.stacks) {
    const k = stackKey(s.frames);
    out.set(k, (out.get(k) ?? 0) + s.live_bytes);
  }
  return out;
}
