/**
 * Level 1 on the simulated fleet, end to end: simulator -> watermark -> rollup ->
 * bucketize -> bucket-anomaly, with the simulator's ground truth beside each component
 * alert (docs/detection.md quotes the output).
 *
 *   npm run build && node dist/bench/level1/simulated.js [--hosts 300] [--days 21] [--seed 1]
 *     [--leak-fraction 0.03] [--opts '{"score":40}']
 *
 * A component alert is right when the component has leaking hosts whose leak started
 * before the alert; the report gives, per component, the leaks the truth lists and the
 * first alert, so latency can be read against when the leaks began.
 */
import { from, lastValueFrom, toArray } from 'rxjs';
import { FleetSimulator } from '../../connectors/simulator/simulator.js';
import type { Alert } from '../../engine/alert.js';
import { MemoryDeadLetter } from '../../engine/deadLetter.js';
import { Flow } from '../../engine/flow.js';
import { silentLogger } from '../../engine/log.js';
import { MemoryStore } from '../../engine/memoryStore.js';
import { Metrics } from '../../engine/metrics.js';
import type { NodeContext } from '../../engine/spec.js';
import type { SampleBatch } from '../../engine/telemetry/schema.js';
import { SeriesCatalog } from '../../engine/telemetry/series.js';
import { bucketAnomaly } from '../../operators/level1/bucket-anomaly.js';
import { bucketize } from '../../operators/level1/bucketize.js';
import { rollup } from '../../operators/rollup/rollup.js';
import { watermark } from '../../operators/time/watermark.js';
import { HostActivity } from '../../engine/hostActivity.js';

const HOUR = 3_600_000;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main() {
  const sim = new FleetSimulator({
    hosts: arg('hosts', 300), days: arg('days', 21), seed: arg('seed', 1), leak_fraction: arg('leak-fraction', 0.03),
  });
  const opts = process.argv.includes('--opts') ? JSON.parse(process.argv[process.argv.indexOf('--opts') + 1]!) : {};
  const truth = sim.truth();
  const metrics = new Metrics();
  const ctx: NodeContext = {
    id: 'level1', metrics, deadLetter: new MemoryDeadLetter(metrics), flow: new Flow(), log: silentLogger,
    catalog: new SeriesCatalog(), store: new MemoryStore(), signal: new AbortController().signal, hosts: new HostActivity(),
  };
  const input = [...sim.batches()].map((b): SampleBatch => ({ ...b, source: 'simulator' }));
  const started = performance.now();
  const alerts: Alert[] = await lastValueFrom(
    bucketAnomaly(opts, ctx).apply(bucketize({}, ctx).apply(rollup({}, ctx).apply(
      watermark({ lateness: '10m', dedupe: true }, ctx).apply(from(input))))).pipe(toArray()),
  );
  const ms = performance.now() - started;
  const samples = input.reduce((n, b) => n + b.data.numRows, 0);
  console.log(`${sim.options.hosts} hosts, ${sim.options.days} days, seed ${sim.options.seed}: ${samples} samples in ${(ms / 1000).toFixed(1)} s; `
    + `${truth.leaks.length} leaking processes`);
  const components = [...new Set([...truth.leaks.map((l) => l.component), ...alerts.map((a) => a.component)])].sort();
  for (const name of ctx.catalog.components.names) if (!components.includes(name)) components.push(name);
  for (const c of components) {
    const leaks = truth.leaks.filter((l) => l.component === c).sort((a, b) => a.start - b.start);
    const opened = alerts.filter((a) => a.component === c && a.state === 'open');
    const first = opened[0];
    const hours = (t: number) => ((t - sim.options.startMs) / HOUR).toFixed(0);
    const leakText = leaks.length
      ? `${leaks.length} leaking (first at h${hours(leaks[0]!.start)}, ${leaks.filter((l) => first && l.start < first.at).length} before the alert; `
        + `median ${(leaks.map((l) => l.bytes_per_day / 2 ** 20).sort((a, b) => a - b)[leaks.length >> 1]!).toFixed(0)} MB/day)`
      : 'no leaks';
    const alertText = first
      ? `alert at h${hours(first.at)} (run from h${hours(first.start)}), >= ${first.bucket_mb} MB, ${first.hosts} hosts, severity ${first.severity}`
        + `${opened.length > 1 ? `, ${opened.length} alerts in all` : ''}`
      : 'no alert';
    const verdict = first ? (leaks.some((l) => l.start < first.at) ? 'right' : 'FALSE') : leaks.length ? 'missed' : 'quiet';
    console.log(`  ${c.padEnd(22)} ${verdict.padEnd(6)} ${leakText}; ${alertText}`);
  }
}

if (process.argv[1]?.endsWith('simulated.js')) await main();
