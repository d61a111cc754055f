/**
 * How many of the simulated leaks could any rule of this method find within 24 hours of
 * their start? A bound on the median-latency target, measured on the fleets that
 * docs/detection.md weighs every choice on (pool.ts's sets), with the truth's help.
 *
 * A rule that compares a process with its own past must cancel the daily load cycle, so
 * it measures growth against the same hour a day before. This bench measures how much
 * such a comparison moves on healthy processes: per component, the robust sigma
 * (1.4826 x the median absolute deviation) of the 24-hour change of a process's level
 * (the mean of three hourly means), over clean windows only (no restart in them, none
 * starting within the simulator's warm-up after one). Then, for each leak, the truth's
 * own leak segments say how much it had added by 24 hours after its start, or by its
 * first restart if that came sooner (a restart frees it). A leak cannot be found within
 * a day, by such a rule needing k sigmas, if it started with a restart (its process is
 * younger than the day it must be compared across, and is warming up) or had added less
 * than k sigmas by then.
 *
 * k = 3 is lenient: the healthy changes have heavy tails (workload shifts, buffers,
 * spikes), so 3 sigmas page most healthy processes over a few weeks (printed beside
 * it). If more than half of the leaks found must come after 24 hours, the median does.
 *
 *   npm run build && node dist/bench/detect/bound.js [--set tuning|holdout|all] [--recall 0.95]
 */
import { leakSegment, segmentSlope, warmupTicks, type LeakSegment } from '../../connectors/simulator/schedule.js';
import type { FleetPlan } from '../../connectors/simulator/fleet.js';
import { option } from '../lib.js';
import { hourlyFleet, type FleetSpec } from './cache.js';
import { HOUR, restartAt, simulatorOf, type HourlyFleet } from './hourly.js';
import { SETS } from './pool.js';

const DAY_HOURS = 24;
/** Hours averaged into one level: hourly means still carry the GC sawtooth. */
const LEVEL_HOURS = 3;
const SIGMAS = [3, 3.5, 4, 5];

/** The 24-hour changes of series `id`'s level, as shares, at every clean hour. */
function dayChanges(fleet: HourlyFleet, id: number, warmupHours: number): number[] {
  const H = fleet.hours, S = fleet.series;
  const level = new Float64Array(H).fill(NaN);
  const lastRestart = new Int32Array(H);
  let last = -1_000_000;
  for (let h = 0; h < H; h++) {
    if (fleet.restarted[h * S + id]) last = h;
    lastRestart[h] = last;
    let sum = 0, n = 0;
    for (let k = Math.max(0, h - LEVEL_HOURS + 1); k <= h; k++) {
      const v = fleet.mean[k * S + id]!;
      if (v === v) { sum += v; n++; }
    }
    if (n >= 2) level[h] = sum / n;
  }
  const out: number[] = [];
  for (let h = DAY_HOURS; h < H; h++) {
    const from = h - DAY_HOURS - LEVEL_HOURS + 1;
    if (lastRestart[h]! >= from || from - lastRestart[h]! < warmupHours) continue;
    const a = level[h - DAY_HOURS]!, b = level[h]!;
    if (a === a && b === b && a > 0) out.push(b / a - 1);
  }
  return out;
}

/** One-sided Gaussian tail beyond k sigmas (Abramowitz and Stegun 7.1.26, error under 1.5e-7). */
export function gaussianTail(k: number): number {
  const x = k / Math.SQRT2, t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return 0.5 * poly * Math.exp(-x * x);
}

function robustSigma(values: number[]): number {
  const sorted = Float64Array.from(values).sort();
  const med = sorted[sorted.length >> 1]!;
  const dev = sorted.map((v) => Math.abs(v - med)).sort();
  return 1.4826 * dev[dev.length >> 1]!;
}

/** What leak `index` of the plan had added in its first `ticks` ticks, as a share of its baseline (the truth's segments). */
export function leaked(plan: FleetPlan, index: number, ticks: number): number {
  const leak = plan.leaks[index]!;
  const seg: LeakSegment = { grow: 0, flat: 0 };
  let bytes = 0, left = ticks;
  for (let k = 0; left > 0; k++) {
    leakSegment(plan, leak, index, k, seg);
    bytes += segmentSlope(leak, seg) * Math.min(seg.grow, left);
    left -= seg.grow + seg.flat;
  }
  return bytes / leak.baseline;
}

interface Leak { component: string; firstDay: number; startsWithRestart: boolean }

/** What a set of fleets shows: healthy processes' day changes by component, and each leak's first day. */
interface Measured {
  changes: Map<string, number[]>;
  /** The largest day change of each healthy process, by component. */
  peaks: Map<string, number[]>;
  /** Clean 24-hour windows of healthy processes, in days. */
  cleanDays: number;
  leaks: Leak[];
}

function listIn<T>(map: Map<string, T[]>, key: string): T[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}

function measure(specs: readonly FleetSpec[]): Measured {
  const m: Measured = { changes: new Map(), peaks: new Map(), cleanDays: 0, leaks: [] };
  for (const spec of specs) {
    const { fleet } = hourlyFleet(spec);
    const plan = simulatorOf(spec).plan;
    const ticksPerHour = plan.ticksPerDay / DAY_HOURS;
    const warmup = new Map(plan.profiles.map((p, c) => [p.name, warmupTicks(plan, c) / ticksPerHour]));
    // The plan's leak of each leaking series, by host, component and process name.
    const leakOf = new Map<string, number>();
    for (let s = 0; s < plan.seriesCount; s++) {
      const i = plan.seriesLeak[s]!;
      if (i >= 0) leakOf.set(`${plan.hostNames[plan.seriesHost[s]!]}|${plan.profiles[plan.seriesComponent[s]!]!.name}|${plan.processNames[plan.seriesProcess[s]!]}`, i);
    }
    for (let id = 0; id < fleet.series; id++) {
      const component = fleet.names[id]![1];
      const start = fleet.leakStart[id]!;
      if (start !== start) {
        const c = dayChanges(fleet, id, warmup.get(component)!);
        const all = listIn(m.changes, component);
        for (const v of c) all.push(v);
        m.cleanDays += c.length / DAY_HOURS;
        listIn(m.peaks, component).push(c.reduce((max, v) => (v > max ? v : max), -Infinity));
        continue;
      }
      const at = Math.floor((start - fleet.startMs) / HOUR);
      const next = restartAt(fleet, id, at + 2, at + DAY_HOURS);
      const hours = next < 0 ? DAY_HOURS : next - at;
      const key = fleet.names[id]!.slice(0, 3).join('|');
      const index = leakOf.get(key);
      if (index === undefined) throw new Error(`no planned leak for series ${key}`);
      m.leaks.push({ component, firstDay: leaked(plan, index, hours * ticksPerHour), startsWithRestart: restartAt(fleet, id, at - 1, at + 1) >= 0 });
    }
  }
  return m;
}

function report(name: string, m: Measured, recall: number): void {
  const sigma = new Map([...m.changes].map(([c, v]) => [c, robustSigma(v)]));
  console.log(`${name}: robust sigma of healthy 24-h changes: ${[...sigma].map(([c, s]) => `${c} ${(100 * s).toFixed(2)} %`).join(', ')}`);
  const L = m.leaks.length;
  const restarted = m.leaks.filter((l) => l.startsWithRestart).length;
  const found = Math.ceil(recall * L);
  for (const k of SIGMAS) {
    let healthy = 0, paged = 0;
    for (const [c, peaks] of m.peaks) {
      healthy += peaks.length;
      paged += peaks.filter((p) => p > k * sigma.get(c)!).length;
    }
    const late = m.leaks.filter((l) => l.startsWithRestart || l.firstDay < k * sigma.get(l.component)!).length;
    // Of `found` leaks, at least late - (L - found) come after a day; pct(…, 0.5) in score.ts is the floor(n/2)-th.
    const lateFound = Math.max(0, late - (L - found));
    const verdict = found - lateFound <= Math.floor(found / 2) ? 'over 24 h' : 'possibly within 24 h';
    // Even a rule that explained away every shift, buffer and spike would meet the Gaussian core: one look a day.
    const core = m.cleanDays * gaussianTail(k);
    console.log(`  ${k} sigmas (page ${(100 * paged / healthy).toFixed(0)} % of ${healthy} healthy processes as measured, ~${core.toFixed(0)} on Gaussian noise alone): `
      + `${late} of ${L} leaks cannot be found within a day (${restarted} start with a restart); `
      + `at recall ${recall}, ${lateFound} of ${found} found come later: median ${verdict}`);
  }
}

function main(): void {
  const set = option('set') ?? 'all';
  const recall = Number(option('recall') ?? 0.95);
  for (const name of set === 'all' ? Object.keys(SETS) : [set]) {
    const specs = SETS[name];
    if (!specs) throw new Error(`--set must be tuning, holdout or all, got ${set}`);
    report(name, measure(specs), recall);
  }
}

if (process.argv[1]?.endsWith('bound.js')) main();
