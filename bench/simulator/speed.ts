/**
 * Generation speed of the fleet simulator on one core, and its memory on a fleet of
 * 100,000 processes.
 *
 *   npm run build && node dist/bench/simulator/speed.js [--large-days N]
 *
 * - default fleet (300 hosts x 6 components x 21 days), as the `simulator` source emits
 *   it: Arrow batches of 65,536 rows with fresh column arrays per batch;
 * - the same rows written into one reused set of arrays (the generator alone);
 * - 20,000 hosts (~100k processes) for `--large-days` days (default 1; 60 is the full
 *   span, ~1.7G samples), reporting throughput and the peak RSS of the process.
 */
import { parseArgs } from 'node:util';
import { allocRows } from '../../connectors/simulator/rows.js';
import { FleetSimulator } from '../../connectors/simulator/simulator.js';
import { mainThreadCpuMs } from '../cpu.js';
import { quantile } from '../lib.js';

interface Run {
  rows: number;
  ms: number;
  cpuMs: number;
}

function batchesRun(sim: FleetSimulator): Run {
  const c0 = mainThreadCpuMs(), t0 = performance.now();
  let rows = 0;
  for (const b of sim.batches()) rows += b.data.numRows;
  return { rows, ms: performance.now() - t0, cpuMs: mainThreadCpuMs() - c0 };
}

function fillRun(sim: FleetSimulator): Run {
  const stream = sim.stream();
  const buf = allocRows(65536);
  const c0 = mainThreadCpuMs(), t0 = performance.now();
  let rows = 0;
  for (let n; (n = stream.fill(buf, 65536)) > 0;) rows += n;
  return { rows, ms: performance.now() - t0, cpuMs: mainThreadCpuMs() - c0 };
}

function report(name: string, runs: Run[]): void {
  const ms = quantile(runs.map((r) => r.ms), 0.5);
  const cpu = quantile(runs.map((r) => r.cpuMs), 0.5);
  const rows = runs[0]!.rows;
  console.log(`${name.padEnd(40)} ${rows.toLocaleString('en').padStart(14)} rows  wall ${ms.toFixed(0).padStart(6)} ms `
    + `${(rows / ms / 1000).toFixed(2).padStart(6)} M/s  main-thread cpu ${cpu.toFixed(0).padStart(6)} ms ${(rows / cpu / 1000).toFixed(2).padStart(6)} M/s`);
}

const { values } = parseArgs({ options: { 'large-days': { type: 'string' }, runs: { type: 'string' } } });
const runs = Number(values.runs ?? 5);
const largeDays = Number(values['large-days'] ?? 1);

const sim = new FleetSimulator({});
console.log(`default fleet: ${sim.plan.seriesCount} processes, ${sim.options.ticks} ticks, median of ${runs} runs after one warm-up`);
batchesRun(sim);
report('Arrow batches (what the source emits)', Array.from({ length: runs }, () => batchesRun(sim)));
report('generator only (reused arrays)', Array.from({ length: runs }, () => fillRun(sim)));

const large = new FleetSimulator({ hosts: 20_000, days: largeDays });
const before = process.memoryUsage().rss;
const run = batchesRun(large);
console.log(`large fleet: ${large.plan.seriesCount} processes x ${large.options.ticks} ticks`);
report(`Arrow batches, ${largeDays} day(s)`, [run]);
console.log(`rss before ${(before / 2 ** 20).toFixed(0)} MB, peak ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
