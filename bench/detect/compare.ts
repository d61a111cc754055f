/**
 * CPU of level-2 detection (process-detect) and of level 1's bucket counting in two
 * builds on the same rollups, alternating in one process so that a shared machine's
 * load falls on both alike; the alerts (and bucket counts) of the two must be equal.
 *
 *   npm run build && node dist/bench/detect/compare.js --base OTHER/dist
 *     [--fleet h300-d21-s1-c6 [--hours 24]] [--replay FILE.arrows] [--rounds 9]
 *
 * `--base` is the dist/ of another checkout, built. `--fleet` takes a fleet cached by
 * level2.js; `--replay` instead captures the rollups of one replay of FILE through
 * pipelines/resin.yaml (what the replay benchmark's default pipeline detects on).
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { RollupBatch } from '../../engine/telemetry/rollup.js';
import type { SeriesCatalog } from '../../engine/telemetry/series.js';
import { replayEdit } from '../../engine/cli/replay.js';
import { runSession } from '../../engine/cli/session.js';
import { silentLogger } from '../../engine/log.js';
import { ProcessDetector } from '../../operators/detect/process-detect.js';
import { median, option } from '../lib.js';
import { loadHourly } from './cache.js';
import { catalogOf } from './hourly.js';

/** The rollups of a cached fleet, one batch per hour, as detection.ts feeds them. */
function fleetBatches(key: string, hours: number): { batches: RollupBatch[]; catalog: SeriesCatalog } {
  const fleet = loadHourly(key);
  if (!fleet) throw new Error(`no cached fleet ${key}: run level2.js on it first`);
  const S = fleet.series, batches: RollupBatch[] = [];
  for (let h = 0; h < Math.min(hours, fleet.hours); h++) {
    const ids: number[] = [];
    for (let id = 0; id < S; id++) if (fleet.mean[h * S + id] === fleet.mean[h * S + id]) ids.push(id);
    const n = ids.length, mean = Float64Array.from(ids, (id) => fleet.mean[h * S + id]!);
    const start = fleet.startMs + h * fleet.period;
    batches.push({
      start, period: fleet.period, length: n, series: Int32Array.from(ids), mean, max: mean, count: new Int32Array(n).fill(12),
      pid: new Int32Array(n).fill(1), restarted: Uint8Array.from(ids, (id) => fleet.restarted[h * S + id]!), watermark: start + fleet.period,
    });
  }
  return { batches, catalog: catalogOf(fleet) };
}

/** The rollups process-detect receives in one replay of `file` through the default pipeline. */
async function replayBatches(file: string): Promise<{ batches: RollupBatch[]; catalog: SeriesCatalog }> {
  const batches: RollupBatch[] = [];
  let catalog: SeriesCatalog | null = null;
  const proto = ProcessDetector.prototype as unknown as { process(b: RollupBatch): unknown; ctx: { catalog: SeriesCatalog } };
  const process0 = proto.process;
  proto.process = function (this: typeof proto, b: RollupBatch) {
    catalog = this.ctx.catalog;
    batches.push(deserialize(serialize({ ...b })) as RollupBatch);
    return process0.call(this, b);
  };
  try {
    await runSession({
      pipeline: resolve(import.meta.dirname, '../../../pipelines/resin.yaml'), edit: replayEdit(file, {}),
      deadLetter: join(tmpdir(), 'resin-compare-rejected.ndjson'), log: silentLogger, checkpointEvery: 0,
    });
  } finally {
    proto.process = process0;
  }
  if (!catalog) throw new Error(`${file}: no rollups reached process-detect`);
  return { batches, catalog };
}

interface Build {
  detect: typeof import('../../operators/detect/process-detect.js');
  level1: typeof import('../../operators/level1/bucketize.js');
  series: typeof import('../../engine/telemetry/series.js');
  hourly: typeof import('./hourly.js');
}

async function load(dist: string): Promise<Build> {
  return {
    detect: await import(join(dist, 'operators/detect/process-detect.js')),
    level1: await import(join(dist, 'operators/level1/bucketize.js')),
    series: await import(join(dist, 'engine/telemetry/series.js')),
    hourly: await import(join(dist, 'bench/detect/hourly.js')),
  };
}

/** One run of a build over the batches: CPU ms of detection and of counting, and what they output. */
function run(b: Build, batches: RollupBatch[], saved: unknown): { detect: number; count: number; output: string } {
  const catalog = new b.series.SeriesCatalog();
  catalog.restore(saved);
  const detector = new b.detect.ProcessDetector({ ...b.detect.PROCESS_DETECT_DEFAULTS, model_window: '30d' }, b.hourly.context(catalog));
  const counter = new b.level1.BucketCounter(b.level1.checkBuckets([...b.level1.DEFAULT_BUCKETS_MB]));
  const alerts: unknown[] = [], counts: number[] = [];
  let c0 = process.cpuUsage();
  for (const batch of batches) alerts.push(...detector.process(batch));
  const detect = process.cpuUsage(c0);
  c0 = process.cpuUsage();
  for (const batch of batches) counts.push(...counter.count(batch, catalog).hosts);
  const count = process.cpuUsage(c0);
  return { detect: (detect.user + detect.system) / 1000, count: (count.user + count.system) / 1000, output: JSON.stringify([alerts, counts]) };
}

async function main(): Promise<void> {
  const base = option('base');
  if (!base) throw new Error('--base must name the dist/ of the build to compare with');
  const replay = option('replay');
  const rounds = Number(option('rounds') ?? 9);
  const { batches, catalog } = replay ? await replayBatches(replay) : fleetBatches(option('fleet') ?? 'h300-d21-s1-c6', Number(option('hours') ?? Infinity));
  const saved = deserialize(serialize(catalog.checkpoint()));
  const points = batches.reduce((n, b) => n + b.length, 0);
  const builds: Record<string, Build> = { base: await load(resolve(base)), this: await load(resolve(import.meta.dirname, '../..')) };
  const cpu: Record<string, { detect: number[]; count: number[] }> = { base: { detect: [], count: [] }, this: { detect: [], count: [] } };
  const outputs: Record<string, string> = {};
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 ? ['this', 'base'] : ['base', 'this']) {
      const res = run(builds[name]!, batches, saved);
      // The first round warms the JIT up.
      if (r > 0) { cpu[name]!.detect.push(res.detect); cpu[name]!.count.push(res.count); }
      outputs[name] ??= res.output;
      if (outputs[name] !== res.output) throw new Error(`${name}: a second run gave other output`);
    }
  }
  console.log(`${batches.length} periods, ${points} points, ${catalog.size} series; ${rounds} rounds`);
  console.log(`same alerts and bucket counts: ${outputs.base === outputs.this}`);
  for (const task of ['detect', 'count'] as const) {
    const b = median(cpu.base![task]), t = median(cpu.this![task]);
    console.log(`${task === 'detect' ? 'process-detect' : 'bucketize count'}: base ${b.toFixed(1)} ms (${(points / b / 1000).toFixed(2)}M points/CPU-s), `
      + `this ${t.toFixed(1)} ms (${(points / t / 1000).toFixed(2)}M points/CPU-s), ${(b / t).toFixed(2)}x`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
