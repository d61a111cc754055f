import { allocRows } from '../../connectors/simulator/rows.js';
import type { FleetSimulator } from '../../connectors/simulator/simulator.js';
import type { Baseline } from './baselines.js';

const HOUR = 3_600_000;

/** Hourly means of every series of a simulated fleet, series-major so a series' hours are contiguous. */
export interface HourlyMeans {
  series: number;
  hours: number;
  startMs: number;
  /** mean[s * hours + h]; NaN where series s had no sample in hour h. */
  mean: Float64Array;
  /** host, component and process of each series (the simulator plan's order). */
  units: { host: string; component: string; process: string }[];
}

/**
 * Plain per-hour means straight from the simulator's generator, in reused column arrays:
 * the baselines' input, computed without the engine so that they are judged on the data
 * itself and not on the engine's rollup (duplicates and late samples are averaged in,
 * as a naive exporter would).
 */
export function hourlyMeans(sim: FleetSimulator, chunk = 65_536): HourlyMeans {
  const plan = sim.plan;
  const S = plan.seriesCount;
  const startMs = sim.options.startMs;
  const hours = Math.ceil((sim.options.endMs - startMs) / HOUR);
  const C = plan.profiles.length, P = plan.processNames.length;
  // Dense (host, component, process) -> series lookup; small next to the sums.
  const seriesOf = new Int32Array(plan.hostNames.length * C * P).fill(-1);
  for (let s = 0; s < S; s++) seriesOf[(plan.seriesHost[s]! * C + plan.seriesComponent[s]!) * P + plan.seriesProcess[s]!] = s;
  const sum = new Float64Array(S * hours);
  const count = new Uint32Array(S * hours);
  const rows = allocRows(chunk);
  const stream = sim.stream();
  for (let n = stream.fill(rows, chunk); n > 0; n = stream.fill(rows, chunk)) {
    const { ts, rss, host, component, process } = rows;
    for (let i = 0; i < n; i++) {
      const s = seriesOf[(host[i]! * C + component[i]!) * P + process[i]!]!;
      const h = Math.floor((ts[i]! - startMs) / HOUR);
      if (s < 0 || h < 0 || h >= hours) continue;
      const at = s * hours + h;
      sum[at] += rss[i]!;
      count[at]++;
    }
  }
  for (let i = 0; i < sum.length; i++) sum[i] = count[i] ? sum[i]! / count[i]! : NaN;
  const units = new Array<HourlyMeans['units'][number]>(S);
  for (let s = 0; s < S; s++) {
    units[s] = {
      host: plan.hostNames[plan.seriesHost[s]!]!,
      component: plan.profiles[plan.seriesComponent[s]!]!.name,
      process: plan.processNames[plan.seriesProcess[s]!]!,
    };
  }
  return { series: S, hours, startMs, mean: sum, units };
}

/** Series s's hours with data, as points (hour start, mean) in `ts`, `rss`; returns how many. */
export function seriesPoints(m: HourlyMeans, s: number, ts: Float64Array, rss: Float64Array): number {
  let n = 0;
  const base = s * m.hours;
  for (let h = 0; h < m.hours; h++) {
    const v = m.mean[base + h]!;
    if (v !== v) continue;
    ts[n] = m.startMs + h * HOUR;
    rss[n] = v;
    n++;
  }
  return n;
}

export interface BaselineFlags {
  /** Each series' first flag, NaN when none. */
  first: Float64Array;
  /** For a leaking series first flagged before its leak began: the first flag after that, else NaN. */
  afterLeak: Float64Array;
}

/**
 * Runs a baseline on every series' hourly points (missing hours skipped). An hour's
 * mean is known once the hour is over, so a flag on hour h is raised at h + 1 h; the
 * first hour that can flag a leak is the one the leak started in. `leakStart` holds
 * each series' leak start (NaN: none).
 */
export function baselineFlags(m: HourlyMeans, b: Baseline, leakStart: Float64Array): BaselineFlags {
  const first = new Float64Array(m.series).fill(NaN);
  const afterLeak = new Float64Array(m.series).fill(NaN);
  const ts = new Float64Array(m.hours), rss = new Float64Array(m.hours);
  for (let s = 0; s < m.series; s++) {
    const n = seriesPoints(m, s, ts, rss);
    const t = ts.subarray(0, n), r = rss.subarray(0, n);
    const at = b.first(t, r);
    if (at === null) continue;
    first[s] = at + HOUR;
    const start = leakStart[s]!;
    if (!(first[s]! < start)) continue;
    let k = 0;
    while (k < n && t[k]! + HOUR < start) k++;
    const again = k < n ? b.firstFrom(t, r, k) : null;
    if (again !== null) afterLeak[s] = again + HOUR;
  }
  return { first, afterLeak };
}
