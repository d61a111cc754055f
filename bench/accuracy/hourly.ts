import { allocRows } from '../../connectors/simulator/generator.js';
import type { FleetSimulator } from '../../connectors/simulator/simulator.js';

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

/** A baseline detector: the event time of a series' first flag, or null. */
export type BaselineFn = (ts: Float64Array, rss: Float64Array) => number | null;

/**
 * Runs a baseline on every series' hourly points (missing hours skipped) and returns
 * each series' first flag, NaN when none. An hour's mean is known once the hour is
 * over, so a flag on hour h is raised at h + 1 h.
 */
export function firstFlags(m: HourlyMeans, fn: BaselineFn): Float64Array {
  const out = new Float64Array(m.series).fill(NaN);
  const ts = new Float64Array(m.hours), rss = new Float64Array(m.hours);
  for (let s = 0; s < m.series; s++) {
    let n = 0;
    const base = s * m.hours;
    for (let h = 0; h < m.hours; h++) {
      const v = m.mean[base + h]!;
      if (v !== v) continue;
      ts[n] = m.startMs + h * HOUR;
      rss[n] = v;
      n++;
    }
    const at = fn(ts.subarray(0, n), rss.subarray(0, n));
    if (at !== null) out[s] = at + HOUR;
  }
  return out;
}
