import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { DuckDbStore } from '../connectors/duckdb/store.js';
import { FleetSimulator } from '../connectors/simulator/simulator.js';
import { bytes, int } from '../engine/cli/format.js';
import { DEFAULT_PIPELINE } from '../engine/cli/paths.js';
import { compileFile } from '../engine/cli/session.js';
import { FileDeadLetter } from '../engine/deadLetter.js';
import { toMs } from '../engine/duration.js';
import { createLogger } from '../engine/log.js';
import { Metrics } from '../engine/metrics.js';
import { defaultRegistry } from '../engine/nodes.js';
import type { PipelineDefinition } from '../engine/pipeline/definition.js';
import { runPipeline } from '../engine/runtime.js';
import { RUN_SETTINGS } from '../engine/ops/config.js';
import { RunStatus } from '../engine/runStatus.js';
import { saveResults } from './lib.js';

/**
 * Soak: a simulated fleet of ~100,000 processes over 60 simulated days through the
 * default pipeline (pipelines/resin.yaml) with a DuckDB state file, in this process.
 * Every simulated day it records the process's RSS and heap (after a full GC when
 * node runs with --expose-gc), the size of each part of the checkpointed state, the
 * DuckDB file size and the rows its tables hold; at the end it checks the targets:
 * RSS growth under 10% from day 30 to day 60, under 1 KiB of in-memory state per
 * monitored process, and rollups expired past their retention in memory and in DuckDB.
 *
 *   npm run bench:soak -- [--processes 100000] [--days 60] [--seed 1] [--state PATH] [--keep]
 *     [--state-memory 1GB]   (DuckDB's memory limit, as `resin run` sets it; "unlimited" for DuckDB's own default)
 *
 * The full run generates and processes ~1.7 billion samples: tens of minutes. The
 * simulator runs in the same process; its own state is measured apart and reported.
 */

const DAY = 86_400_000;
const { values } = parseArgs({
  options: {
    processes: { type: 'string', default: '100000' }, days: { type: 'string', default: '60' },
    components: { type: 'string', default: '6' }, seed: { type: 'string', default: '1' },
    state: { type: 'string' }, keep: { type: 'boolean', default: false }, pipeline: { type: 'string' },
    'state-memory': { type: 'string', default: RUN_SETTINGS.state_memory.fallback },
  },
});
const processes = Number(values.processes);
const days = Number(values.days);
const components = Number(values.components);
const seed = Number(values.seed);
if (!(processes > 0 && days > 0 && components > 0)) throw new Error('--processes, --days and --components must be positive');
const gc = (globalThis as { gc?: () => void }).gc;

interface DayRecord {
  day: number;
  wall_s: number;
  samples: number;
  rss: number;
  /** Highest RSS of the process so far. */
  max_rss: number;
  heap_total: number;
  heap_used: number;
  array_buffers: number;
  external: number;
  duckdb_bytes: number;
  /** Memory DuckDB says it holds (duckdb_memory(): buffer pool, WAL, appenders). */
  duckdb_memory: number;
  rollup_rows: number;
  rollup_oldest_day: number | null;
  bucket_rows: number;
  /** Checkpoint sizes taken at this day's boundary, by part (catalog, node id). */
  checkpoint: Record<string, number>;
  /** Typed arrays each node's state holds in memory, at capacity (`state_bytes{part}`). */
  held: Record<string, number>;
}

function memory(): NodeJS.MemoryUsage {
  gc?.();
  return process.memoryUsage();
}

function fileBytes(path: string): number {
  let n = 0;
  for (const p of [path, `${path}.wal`]) {
    try {
      n += statSync(p).size;
    } catch {
      // no WAL right now
    }
  }
  return n;
}

/** Hosts that give about `processes` series with this many components. */
function hostsFor(): number {
  const probe = new FleetSimulator({ hosts: 2000, components, days: 1, seed });
  return Math.max(1, Math.round(processes / (probe.plan.seriesCount / 2000)));
}

/** Bytes the simulator itself holds for this fleet (plan and per-series generator state). */
function simulatorBytes(options: ConstructorParameters<typeof FleetSimulator>[0]): number {
  const before = memory();
  const sim = new FleetSimulator(options);
  const stream = sim.stream();
  const after = memory();
  if (stream.emitted < 0) throw new Error('unreachable');
  return after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
}

const total = (o: Record<string, number>) => Object.entries(o).reduce((a, [f, n]) => a + (f.includes('.') ? 0 : n), 0);

/** Serialized size of each top-level field of each saved checkpoint: which structure holds the bytes. */
async function stateFields(store: DuckDbStore, keys: string[]): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const key of keys) {
    const blob = await store.loadCheckpoint(key);
    if (!blob) continue;
    const state = deserialize(blob) as unknown;
    const byField: Record<string, number> = {};
    if (state !== null && typeof state === 'object' && !ArrayBuffer.isView(state)) {
      for (const [f, v] of Object.entries(state)) {
        byField[f] = serialize(v).byteLength;
        // One level down for structures (the ring of a detector, ...): which array it is.
        if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v) && !Array.isArray(v)) {
          for (const [g, w] of Object.entries(v)) byField[`${f}.${g}`] = serialize(w).byteLength;
        }
      }
    } else {
      byField['(whole)'] = blob.byteLength;
    }
    out[key] = byField;
  }
  return out;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'resin-soak-'));
  const statePath = values.state ?? join(dir, 'state.duckdb');
  const hosts = hostsFor();
  const simOptions = { hosts, components, days, seed };
  const simMeta = new FleetSimulator(simOptions);
  const series = simMeta.plan.seriesCount;
  const startMs = simMeta.options.startMs;
  const totalSamples = series * simMeta.options.ticks;
  const simBytes = simulatorBytes(simOptions);

  const graph = await compileFile(values.pipeline ?? DEFAULT_PIPELINE, (def: PipelineDefinition) => {
    const sources = Object.values(def.nodes).filter((n) => n.type === 'simulator');
    if (sources.length !== 1) throw new Error('the soak pipeline needs exactly one simulator source');
    sources[0]!.options = { ...sources[0]!.options, ...simOptions };
    for (const n of Object.values(def.nodes)) if (n.type === 'alert-log') n.options = { ...n.options, path: join(dir, 'alerts.ndjson') };
  });
  const stateMemory = values['state-memory'] === 'unlimited' ? undefined : values['state-memory'];
  const rollupNode = graph.nodes.find((n) => n.type === 'rollup');
  const retentionMs = rollupNode ? toMs(rollupNode.options.retention as string) : Infinity;
  const periodMs = rollupNode ? toMs(rollupNode.options.period as string) : 3_600_000;

  console.log(`soak: ${int(series)} processes (${int(hosts)} hosts x ${components} components), ${days} days, ${int(totalSamples)} samples`);
  console.log(`pipeline ${graph.name} (${graph.nodes.map((n) => n.id).join(' -> ')}); state ${statePath} (memory limit ${stateMemory ?? 'DuckDB default'})${gc ? '' : '; no --expose-gc: heap figures include garbage'}`);
  console.log(`simulator state in this process: ${bytes(simBytes)} (${(simBytes / series).toFixed(0)} B per process)`);

  const metrics = new Metrics();
  const status = new RunStatus();
  const store = await DuckDbStore.open(statePath, { memoryLimit: stateMemory });
  status.storeOpen = true;
  const deadLetter = new FileDeadLetter(metrics, join(dir, 'rejected.ndjson'));
  const base = memory();
  const started = performance.now();
  const records: DayRecord[] = [];
  let finished = false;

  const run = runPipeline({
    nodes: graph.nodes, specs: defaultRegistry(), metrics, deadLetter, log: createLogger({ level: 'warn' }), store,
    status, checkpointEvery: 0,
  }).finally(() => { finished = true; });

  // Each simulated day: ask for a checkpoint, and once it is saved record memory (a
  // checkpoint's serialised copy of the state is part of what the engine needs) and
  // the checkpoint's sizes (the state held, by part).
  let askedDay = 0;
  let pending: { day: number; checkpoints: number } | null = null;
  const record = async (day: number) => {
    const m = memory();
    const sizes: Record<string, number> = {};
    const held: Record<string, number> = {};
    for (const g of metrics.gauges()) {
      if (g.name === 'checkpoint_bytes') sizes[g.labels.part!] = g.value;
      if (g.name === 'state_bytes') held[g.labels.part!] = g.value;
    }
    const [r] = await store.query('SELECT count(*) AS n, min(start) AS lo FROM rollups');
    const [b] = await store.query('SELECT count(*) AS n FROM buckets');
    const [dm] = await store.query('SELECT sum(memory_usage_bytes)::BIGINT AS n FROM duckdb_memory()');
    const rec: DayRecord = {
      day, wall_s: (performance.now() - started) / 1000, samples: metrics.total('rows_out'),
      rss: m.rss, max_rss: process.resourceUsage().maxRSS * 1024, heap_total: m.heapTotal, heap_used: m.heapUsed, array_buffers: m.arrayBuffers, external: m.external, duckdb_bytes: fileBytes(statePath),
      duckdb_memory: Number(dm!.n ?? 0),
      rollup_rows: r!.n as number, rollup_oldest_day: r!.lo === null ? null : ((r!.lo as number) - startMs) / DAY, bucket_rows: b!.n as number,
      checkpoint: sizes, held,
    };
    records.push(rec);
    const rate = rec.samples / rec.wall_s;
    const eta = (totalSamples - rec.samples) / rate;
    console.log(`day ${String(day).padStart(3)}/${days}  rss ${bytes(rec.rss).padStart(10)}  heap ${bytes(rec.heap_used).padStart(10)} of ${bytes(rec.heap_total).padStart(10)}  `
      + `buffers ${bytes(rec.array_buffers).padStart(10)}  duckdb ${bytes(rec.duckdb_bytes).padStart(10)} file ${bytes(rec.duckdb_memory).padStart(10)} mem  rollups ${int(rec.rollup_rows).padStart(11)} rows `
      + `(oldest day ${rec.rollup_oldest_day?.toFixed(1) ?? '-'})  ${(rate / 1e6).toFixed(2)}M samples/s  eta ${(eta / 60).toFixed(1)} min`);
  };
  while (!finished) {
    await new Promise((r) => setTimeout(r, 100));
    if (pending && metrics.total('checkpoints') > pending.checkpoints && !finished) {
      await record(pending.day);
      pending = null;
    }
    const day = Math.floor((status.newestEvent - startMs) / DAY);
    if (!pending && day > askedDay && !finished) {
      askedDay = day;
      pending = { day, checkpoints: metrics.total('checkpoints') };
      status.requestCheckpoint();
    }
  }
  await run;
  await yieldToLoop();
  await deadLetter.close();
  // The run's last checkpoint was taken after its last sample: the state at the end.
  await record(days);
  const fields = await stateFields(store, graph.nodes.map((n) => `node/${n.id}/${n.type}`));
  await store.close();
  status.storeOpen = false;

  const at = (d: number) => records.reduce((best, r) => (Math.abs(r.day - d) < Math.abs(best.day - d) ? r : best), records[0]!);
  const mid = at(Math.min(30, Math.floor(days / 2)));
  const end = records[records.length - 1]!;
  // The day-60 sizes are those of the final checkpoint (after the last sample).
  const stateOf = (r: DayRecord) => Object.values(r.checkpoint).reduce((a, b) => a + b, 0);
  const growth = (end.rss - mid.rss) / mid.rss;
  // RSS at one instant moves with garbage not yet returned to the system and with the
  // checkpoint just written; the median of the five daily samples up to a day, and the
  // high-water mark, do not.
  const window = (to: number) => {
    const xs = records.filter((r) => r.day > to - 5 && r.day <= to).map((r) => r.rss).sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)]!;
  };
  const medianGrowth = (window(end.day) - window(mid.day)) / window(mid.day);
  const peakGrowth = (end.max_rss - mid.max_rss) / mid.max_rss;
  const statePerProcess = stateOf(end) / series;
  // In memory: the nodes' typed arrays at capacity; the catalog (names in strings) by its checkpoint.
  const heldOf = (r: DayRecord) => Object.values(r.held).reduce((a, b) => a + b, 0) + (r.checkpoint.catalog ?? 0);
  const heldPerProcess = heldOf(end) / series;
  const heapDelta = end.heap_used + end.array_buffers - base.heapUsed - base.arrayBuffers - simBytes;
  const retentionDays = retentionMs / DAY;
  // Rollups kept: `retention` behind the newest closed period, plus up to one expiry step (retention / 35) not yet deleted.
  const rowBound = series * Math.ceil((retentionMs * (1 + 1 / 35) + 2 * periodMs) / periodMs);
  const oldestOk = end.rollup_oldest_day === null || days <= retentionDays
    || end.rollup_oldest_day >= days - retentionDays * (1 + 1 / 35) - 1;

  const parts = [...new Set(records.flatMap((r) => Object.keys(r.checkpoint)))];
  console.log(`\nstate held, by part (checkpoint bytes, and typed arrays held in memory at capacity; per process at day ${end.day}):`);
  for (const p of parts) {
    const a = mid.checkpoint[p] ?? 0, b = end.checkpoint[p] ?? 0, h = end.held[p];
    console.log(`  ${p.padEnd(12)} day ${mid.day}: ${bytes(a).padStart(10)}  day ${end.day}: ${bytes(b).padStart(10)}  ${(b / series).toFixed(0).padStart(6)} B/process`
      + (h === undefined ? '' : `  in memory ${bytes(h).padStart(10)} ${(h / series).toFixed(0).padStart(6)} B/process`));
  }
  const nodeSeconds = Object.fromEntries(metrics.histograms().filter((h) => h.name === 'node_seconds').map((h) => [h.labels.node!, h.sum]));
  console.log(`\nwhat the largest parts hold (bytes per process, serialized, by top-level field):`);
  const perProcess = (list: [string, number][]) => list.map(([f, n]) => `${f} ${(n / series).toFixed(0)}`).join(', ');
  for (const [key, byField] of Object.entries(fields).sort((a, b) => total(b[1]) - total(a[1])).slice(0, 2)) {
    const entries = Object.entries(byField).sort((a, b) => b[1] - a[1]);
    const top = entries.filter(([f]) => !f.includes('.'));
    console.log(`  ${key}: ${perProcess(top.slice(0, 8))}`);
    const inner = entries.filter(([f]) => f.startsWith(`${top[0]?.[0]}.`));
    if (inner.length) console.log(`    ${top[0]![0]}: ${perProcess(inner.slice(0, 8))}`);
  }
  console.log(`processing time by node (own work, s): ${Object.entries(nodeSeconds).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}; wall ${end.wall_s.toFixed(1)}`);
  const cp = metrics.histogram('checkpoint_seconds');
  console.log(`checkpoints: ${cp.count}, ${(cp.sum / Math.max(1, cp.count)).toFixed(2)} s each on average`);
  const result = {
    processes: series, hosts, components, days, seed, state_memory: stateMemory ?? null, samples: end.samples, wall_s: end.wall_s,
    samples_per_s: end.samples / end.wall_s, node_seconds: nodeSeconds,
    checkpoint_seconds_mean: metrics.histogram('checkpoint_seconds').sum / Math.max(1, metrics.histogram('checkpoint_seconds').count), state_fields: fields, expose_gc: gc !== undefined, simulator_bytes: simBytes,
    rss_mid: { day: mid.day, bytes: mid.rss }, rss_end: { day: end.day, bytes: end.rss }, rss_growth: growth,
    rss_median_5d_mid: window(mid.day), rss_median_5d_end: window(end.day), rss_median_5d_growth: medianGrowth,
    max_rss_mid: mid.max_rss, max_rss_end: end.max_rss, max_rss_growth: peakGrowth,
    state_bytes_per_process: statePerProcess, held_bytes_per_process: heldPerProcess, heap_delta_bytes_per_process: heapDelta / series,
    rollup_rows_end: end.rollup_rows, rollup_row_bound: rowBound, rollup_oldest_day_end: end.rollup_oldest_day,
    targets: {
      rss_growth_below_10pct: medianGrowth < 0.1 && peakGrowth < 0.1,
      state_below_1KiB_per_process: statePerProcess < 1024 && heldPerProcess < 1024,
      rollups_expired_in_duckdb: end.rollup_rows <= rowBound && oldestOk,
      state_flat_in_memory: stateOf(end) <= stateOf(mid) * 1.1,
    },
    days_recorded: records,
  };
  console.log(`\nRSS day ${mid.day}: ${bytes(mid.rss)}, day ${end.day}: ${bytes(end.rss)}, growth ${(growth * 100).toFixed(1)}% (target < 10%); `
    + `median of the 5 days before: ${bytes(window(mid.day))} -> ${bytes(window(end.day))}, ${(medianGrowth * 100).toFixed(1)}%; `
    + `highest so far: ${bytes(mid.max_rss)} -> ${bytes(end.max_rss)}, ${(peakGrowth * 100).toFixed(1)}%`);
  console.log(`state per process (target < 1024 B): checkpointed ${statePerProcess.toFixed(0)} B, held in memory ${heldPerProcess.toFixed(0)} B; heap + array buffers grew `
    + `${(heapDelta / series).toFixed(0)} B per process beyond the simulator's ${(simBytes / series).toFixed(0)} B`);
  console.log(`DuckDB: ${bytes(end.duckdb_bytes)}; rollups ${int(end.rollup_rows)} rows (bound ${int(rowBound)} for ${retentionDays} d retention), `
    + `oldest day ${end.rollup_oldest_day?.toFixed(1) ?? '-'}; bucket rows ${int(end.bucket_rows)}`);
  console.log(`${int(end.samples)} samples in ${(end.wall_s / 60).toFixed(1)} min (${(result.samples_per_s / 1e6).toFixed(2)}M samples/s)`);
  console.log(`targets: ${Object.entries(result.targets).map(([k, v]) => `${k} ${v ? 'met' : 'MISSED'}`).join(', ')}`);
  console.log(`results: ${saveResults(`soak-${series}p-${days}d`, result)}`);
  if (!values.keep && !values.state) rmSync(dir, { recursive: true, force: true });
}

await main();
