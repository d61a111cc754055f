/**
 * Computes each scenario's hourly means and every baseline's flags per series off the
 * main thread, so that the baselines run while the engine does. Scenarios are done in
 * the order given, each posted as soon as it is done; scoring stays on the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FleetSimulator } from '../../connectors/simulator/simulator.js';
import type { SimulatorOptions } from '../../connectors/simulator/options.js';
import { truthLeaks } from '../../connectors/simulator/truth.js';
import { BASELINES } from './baselines.js';
import { baselineFlags, hourlyMeans, type BaselineFlags, type HourlyMeans } from './hourly.js';

export interface BaselineJob {
  scenarios: { name: string; sim: Partial<SimulatorOptions> }[];
  /** Baselines to run (all when absent). */
  names?: string[];
}

export interface BaselineResult {
  scenario: string;
  units: HourlyMeans['units'];
  meansSeconds: number;
  /** Per baseline: its flags per series and the seconds they took. */
  flags: Record<string, BaselineFlags & { seconds: number }>;
}

const job = workerData as BaselineJob;
for (const s of job.scenarios) {
  const sim = new FleetSimulator(s.sim);
  let t = performance.now();
  const means = hourlyMeans(sim);
  const meansSeconds = (performance.now() - t) / 1000;
  const leaks = truthLeaks(sim.plan);
  const leakStart = Float64Array.from(sim.plan.seriesLeak, (i) => (i < 0 ? NaN : leaks[i]!.start));
  const flags: BaselineResult['flags'] = {};
  for (const b of BASELINES) {
    if (job.names && !job.names.includes(b.name)) continue;
    t = performance.now();
    flags[b.name] = { ...baselineFlags(means, b, leakStart), seconds: (performance.now() - t) / 1000 };
  }
  const done: BaselineResult = { scenario: s.name, units: means.units, meansSeconds, flags };
  parentPort!.postMessage(done);
}
