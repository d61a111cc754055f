import { from } from 'rxjs';
import { FleetSimulator } from '../../connectors/simulator/simulator.js';
import type { TruthBehaviour } from '../../connectors/simulator/truth.js';
import { MemoryDeadLetter } from '../../engine/deadLetter.js';
import { Flow } from '../../engine/flow.js';
import { HostActivity } from '../../engine/hostActivity.js';
import { silentLogger } from '../../engine/log.js';
import { Metrics } from '../../engine/metrics.js';
import type { NodeContext } from '../../engine/spec.js';
import type { StateStore } from '../../engine/state.js';
import type { RollupBatch } from '../../engine/telemetry/rollup.js';
import { SeriesCatalog } from '../../engine/telemetry/series.js';
import { rollup } from '../../operators/rollup/rollup.js';

export const HOUR = 3_600_000;

/** Hourly means of a simulated fleet, hour-major, with what the truth says about each series. */
export interface HourlyFleet {
  series: number;
  hours: number;
  startMs: number;
  period: number;
  /** mean[h * series + id], NaN where the series had no samples. */
  mean: Float32Array;
  restarted: Uint8Array;
  /** host, component, process, region, cluster of each catalog id. */
  names: [string, string, string, string | null, string | null][];
  /** Per catalog id: leak start (ms) or NaN, pattern and rate per day. */
  leakStart: Float64Array;
  leakPattern: string[];
  leakRate: Float64Array;
  behaviours: Map<number, TruthBehaviour[]>;
}

const nullStore: StateStore = {
  location: '(none)',
  appendRollups: async () => {},
  appendBuckets: async () => {},
  expire: async () => {},
  recordDecisions: async () => {},
  expireDecisions: async () => {},
  loadCheckpoint: async () => null,
  saveCheckpoint: async () => {},
  query: async () => [],
  close: async () => {},
};

export function context(catalog: SeriesCatalog): NodeContext {
  const metrics = new Metrics();
  return {
    id: 'bench', metrics, deadLetter: new MemoryDeadLetter(metrics), flow: new Flow(), log: silentLogger,
    catalog, store: nullStore, signal: new AbortController().signal, hosts: new HostActivity(),
  };
}
export interface SimulatedFleet { hosts: number; days: number; seed: number; components?: number; leakFraction?: number; interval?: string }

/** The simulator of a fleet as the detection benches name it (its plan holds the leaks' segments). */
export function simulatorOf(opts: SimulatedFleet): FleetSimulator {
  return new FleetSimulator({
    hosts: opts.hosts, days: opts.days, seed: opts.seed, components: opts.components ?? 12,
    ...(opts.leakFraction === undefined ? {} : { leak_fraction: opts.leakFraction }), ...(opts.interval === undefined ? {} : { interval: opts.interval }),
  });
}

export function simulate(opts: SimulatedFleet): { fleet: HourlyFleet; catalog: SeriesCatalog } {
  const sim = simulatorOf(opts);
  const catalog = new SeriesCatalog();
  const ctx = context(catalog);
  const period = HOUR;
  const startMs = sim.options.startMs;
  const hours = Math.ceil((sim.options.endMs - startMs) / period);
  const cap = sim.plan.seriesCount;
  const mean = new Float32Array(hours * cap).fill(NaN);
  const restarted = new Uint8Array(hours * cap);
  const batches = (function* () {
    for (const b of sim.batches()) yield { data: b.data, source: 'simulator', records: b.records, watermark: b.watermark };
  })();
  rollup({ period: '1h' }, ctx).apply(from(batches)).subscribe((r: RollupBatch) => {
    const h = Math.round((r.start - startMs) / period);
    if (h < 0 || h >= hours) return;
    for (let i = 0; i < r.length; i++) {
      const id = r.series[i]!;
      if (id >= cap) throw new Error('more series than the plan has');
      mean[h * cap + id] = r.mean[i]!;
      restarted[h * cap + id] = r.restarted[i]!;
    }
  });
  const truth = sim.truth();
  const byName = new Map<string, number>();
  const names: HourlyFleet['names'] = [];
  for (let id = 0; id < catalog.size; id++) {
    const d = catalog.describe(id);
    names.push([d.host, d.component, d.process, d.region, d.cluster]);
    byName.set(`${d.host}|${d.component}|${d.process}`, id);
  }
  const leakStart = new Float64Array(cap).fill(NaN);
  const leakRate = new Float64Array(cap);
  const leakPattern: string[] = new Array(cap).fill('');
  for (const l of truth.leaks) {
    const id = byName.get(`${l.host}|${l.component}|${l.process}`);
    if (id === undefined) continue;
    leakStart[id] = l.start;
    leakRate[id] = l.rate_per_day;
    leakPattern[id] = l.pattern;
  }
  const behaviours = new Map<number, TruthBehaviour[]>();
  for (const b of truth.behaviours) {
    if (b.component === null || b.process === null) continue;
    const id = byName.get(`${b.host}|${b.component}|${b.process}`);
    if (id === undefined) continue;
    let list = behaviours.get(id);
    if (!list) behaviours.set(id, (list = []));
    list.push(b);
  }
  return {
    fleet: { series: cap, hours, startMs, period, mean, restarted, names, leakStart, leakPattern, leakRate, behaviours },
    catalog,
  };
}

/** The first hour in [from, to] (hour indexes of the fleet) in which series `id` restarted, or -1. */
export function restartAt(fleet: HourlyFleet, id: number, from: number, to: number): number {
  for (let h = Math.max(0, from); h <= Math.min(fleet.hours - 1, to); h++) if (fleet.restarted[h * fleet.series + id]) return h;
  return -1;
}

/** A catalog whose ids are the fleet's ids, with region and cluster recorded. */
export function catalogOf(fleet: HourlyFleet): SeriesCatalog {
  const c = new SeriesCatalog();
  for (const [host, component, proc, region, cluster] of fleet.names) {
    const id = c.seriesId(c.hosts.intern(host), c.components.intern(component), c.processes.intern(proc));
    c.seriesRegion[id] = region === null ? -1 : c.attrs.intern(region);
    c.seriesCluster[id] = cluster === null ? -1 : c.attrs.intern(cluster);
  }
  return c;
}
