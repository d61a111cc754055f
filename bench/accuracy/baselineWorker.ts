/**
 * Scores nothing: computes each scenario's hourly means and every baseline's first flag
 * per series, off the main thread, so that the baselines run while the engine does.
 * Scenarios are done in the order given and each is posted as soon as it is done.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FleetSimulator } from '../../connectors/simulator/simulator.js';
import type { SimulatorOptions } from '../../connectors/simulator/options.js';
import { BASELINES } from './baselines.js';
import { firstFlags, hourlyMeans, type HourlyMeans } from './hourly.js';

export interface BaselineJob {
  scenarios: { name: string; sim: Partial<SimulatorOptions> }[];
}

export interface BaselineFlags {
  scenario: string;
  units: HourlyMeans['units'];
  meansSeconds: number;
  /** Per baseline: each series' first flag (NaN: none) and the seconds it took. */
  flags: Record<string, { at: Float64Array; seconds: number }>;
}

const job = workerData as BaselineJob;
for (const s of job.scenarios) {
  let t = performance.now();
  const means = hourlyMeans(new FleetSimulator(s.sim));
  const meansSeconds = (performance.now() - t) / 1000;
  const flags: BaselineFlags['flags'] = {};
  for (const b of BASELINES) {
    t = performance.now();
    flags[b.name] = { at: firstFlags(means, b.fn), seconds: (performance.now() - t) / 1000 };
  }
  const done: BaselineFlags = { scenario: s.name, units: means.units, meansSeconds, flags };
  parentPort!.postMessage(done);
}
