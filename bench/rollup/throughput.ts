/**
 * Throughput of the rollup operator and of the DuckDB state store (docs/detection.md
 * quotes the output).
 *
 *   npm run build && node dist/bench/rollup/throughput.js [--series 20000] [--hours 24] [--rounds 3] [--no-store]
 *
 * Rollup: S series sampled every 5 minutes for H hours, in 64k-row batches in time
 * order with a 10-minute watermark, as the watermark operator would stamp them. The
 * same run times a bare loop over the same typed arrays doing the operator's per-sample
 * arithmetic (period, cell, count, max, value kept, pid), the ceiling the operator is
 * measured against, and the catalog's row-to-series mapping alone.
 *
 * Period close: the close of one full hour of S series (12 whole-page samples each, at
 * rest or leaking, as RSS comes), timed as Periods.snapshot, which summarises the open
 * periods without closing them and so can be repeated on the same state.
 *
 * Store: appendRollups of 100k-row periods into a fresh file (no delete needed), the
 * same periods again (delete, then insert), and the alternatives measured to choose:
 * a PRIMARY KEY (start, series) table written through a staging table with INSERT OR
 * REPLACE, and the node-api value-by-value DataChunk path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIGINT, BOOLEAN, DOUBLE, DuckDBDataChunk, DuckDBInstance, INTEGER } from '@duckdb/node-api';
import { from, lastValueFrom, reduce } from 'rxjs';
import { DuckDbStore } from '../../connectors/duckdb/store.js';
import { MemoryDeadLetter } from '../../engine/deadLetter.js';
import { Flow } from '../../engine/flow.js';
import { silentLogger } from '../../engine/log.js';
import { MemoryStore } from '../../engine/memoryStore.js';
import { Metrics } from '../../engine/metrics.js';
import type { NodeContext } from '../../engine/spec.js';
import { makeSampleBatch, utf8Data } from '../../engine/telemetry/arrowData.js';
import type { RollupBatch } from '../../engine/telemetry/rollup.js';
import type { SampleBatch } from '../../engine/telemetry/schema.js';
import { SeriesCatalog } from '../../engine/telemetry/series.js';
import { Periods } from '../../operators/rollup/periods.js';
import { periodsConfig, rollup, ROLLUP_DEFAULTS } from '../../operators/rollup/rollup.js';
import { HostActivity } from '../../engine/hostActivity.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const MB = 1024 * 1024;
const T0 = Date.UTC(2026, 0, 1);
const BATCH = 65_536;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function context(store = new MemoryStore()): NodeContext {
  const metrics = new Metrics();
  return {
    id: 'bench', metrics, deadLetter: new MemoryDeadLetter(metrics), flow: new Flow(), log: silentLogger,
    catalog: new SeriesCatalog(), store, signal: new AbortController().signal, hosts: new HostActivity(),
  };
}

/** Samples of `series` series (hosts x 10 components), every 5 minutes for `hours`, in time order. */
function samples(series: number, hours: number): { batches: SampleBatch[]; rows: number } {
  const components = 10;
  const hosts = Math.ceil(series / components);
  const hostDict = utf8Data(Array.from({ length: hosts }, (_, h) => `host-${h}`));
  const compDict = utf8Data(Array.from({ length: components }, (_, c) => `component-${c}`));
  const ticks = hours * 12;
  const rows = ticks * series;
  const ts = new Float64Array(rows), rss = new Float64Array(rows), pid = new Int32Array(rows);
  const host = new Int32Array(rows), comp = new Int32Array(rows);
  let i = 0;
  for (let t = 0; t < ticks; t++) {
    for (let s = 0; s < series; s++, i++) {
      ts[i] = T0 + t * 5 * MIN;
      host[i] = Math.floor(s / components);
      comp[i] = s % components;
      rss[i] = (200 + (s % 977)) * MB * (1 + 0.01 * Math.sin(t + s));
      pid[i] = 1000 + s;
    }
  }
  const batches: SampleBatch[] = [];
  for (let off = 0; off < rows; off += BATCH) {
    const n = Math.min(BATCH, rows - off);
    const data = makeSampleBatch({
      length: n, ts: ts.subarray(off, off + n), rss: rss.subarray(off, off + n), pid: pid.subarray(off, off + n),
      strings: {
        host: { indices: host.subarray(off, off + n), dictionary: hostDict },
        component: { indices: comp.subarray(off, off + n), dictionary: compDict },
        process: { indices: comp.subarray(off, off + n), dictionary: compDict },
        region: null, cluster: null, version: null,
      },
    });
    batches.push({ data, source: 'bench', records: new Float64Array(n), watermark: ts[off + n - 1]! - 10 * MIN });
  }
  return { batches, rows };
}

async function rollupOnce(batches: SampleBatch[]): Promise<number> {
  const ctx = context();
  const started = performance.now();
  const periods = await lastValueFrom(rollup({}, ctx).apply(from(batches)).pipe(reduce((n) => n + 1, 0)));
  await ctx.flow.idle();
  if (periods === 0) throw new Error('no periods');
  return performance.now() - started;
}

function catalogOnce(batches: SampleBatch[]): number {
  const catalog = new SeriesCatalog();
  let buf: Int32Array = new Int32Array(BATCH);
  const started = performance.now();
  for (const b of batches) buf = catalog.rowsToSeries(b.data, buf);
  return performance.now() - started;
}

/** The operator's per-sample arithmetic, inlined, over precomputed series ids: the ceiling. */
function ceilingOnce(batches: SampleBatch[], series: number): number {
  const catalog = new SeriesCatalog();
  const ids = batches.map((b) => catalog.rowsToSeries(b.data));
  const started = performance.now();
  rollupCeiling(batches, ids, series);
  return performance.now() - started;
}

/**
 * The rollup's per-sample work as one plain loop over typed arrays (period, cell,
 * count, max, value kept, pid), with series ids computed beforehand; returns the
 * number of cells touched, so the work cannot be optimised away.
 */
export function rollupCeiling(batches: readonly SampleBatch[], ids: readonly Int32Array[], series: number): number {
  const S = 2, K = 12, P = HOUR;
  const count = new Int32Array(series * S), max = new Float64Array(series * S), values = new Float64Array(series * S * K);
  const pidLast = new Int32Array(series * S), pidTs = new Float64Array(series * S);
  for (let k = 0; k < batches.length; k++) {
    const b = batches[k]!.data;
    const ts = b.getChild('ts')!.data[0]!.values as Float64Array;
    const rss = b.getChild('rss')!.data[0]!.values as Float64Array;
    const pid = b.getChild('pid')!.data[0]!.values as Int32Array;
    const sid = ids[k]!;
    for (let i = 0; i < b.numRows; i++) {
      const t = ts[i]!;
      const p = Math.floor(t / P);
      const cell = sid[i]! * S + (p % S);
      const c = count[cell]!;
      count[cell] = c + 1;
      const v = rss[i]!;
      if (c === 0 || v > max[cell]!) max[cell] = v;
      if (c < K) values[cell * K + c] = v;
      if (t >= pidTs[cell]!) {
        pidTs[cell] = t;
        pidLast[cell] = pid[i]!;
      }
    }
  }
  let touched = 0;
  for (let i = 0; i < count.length; i++) if (count[i]! > 0) touched++;
  if (touched === 0) throw new Error('nothing counted');
  return touched;
}

/** Median ms of summarising one full hour of `series` series (Periods.snapshot, repeated on the same state). */
function closeOnce(series: number, rounds: number): number {
  const periods = new Periods(periodsConfig(HOUR, ROLLUP_DEFAULTS));
  const n = series * 12;
  const cols = {
    length: n, series: new Int32Array(n), ts: new Float64Array(n), rss: new Float64Array(n), pid: new Int32Array(n), pidValid: null,
  };
  for (let t = 0, i = 0; t < 12; t++) {
    for (let s = 0; s < series; s++, i++) {
      cols.series[i] = s;
      cols.ts[i] = T0 + t * 5 * MIN;
      // Whole pages; every third series leaks ~1 % an hour, some past the rule's floor.
      cols.rss[i] = 4096 * Math.round((200 + (s % 977)) * 256 * (1 + (s % 3 === 0 ? 0.001 * t * (s % 7) : 0)));
      cols.pid[i] = 1000 + s;
    }
  }
  const ignore = { period: () => {}, late: () => {} };
  periods.add(cols, series, T0, ignore);
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const started = performance.now();
    periods.snapshot(T0, ignore);
    times.push(performance.now() - started);
  }
  return median(times);
}

function rollupBatch(start: number, n: number): RollupBatch {
  return {
    start, period: HOUR, length: n, series: Int32Array.from({ length: n }, (_, i) => i),
    mean: Float64Array.from({ length: n }, (_, i) => i * 1.5), max: Float64Array.from({ length: n }, (_, i) => i * 2),
    count: new Int32Array(n).fill(12), pid: Int32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? -1 : i)),
    restarted: Uint8Array.from({ length: n }, (_, i) => (i % 13 === 0 ? 1 : 0)), watermark: start + HOUR,
  };
}

async function storeFigures(rowsPerPeriod: number, periods: number) {
  const dir = mkdtempSync(join(tmpdir(), 'resin-bench-'));
  try {
    const store = await DuckDbStore.open(join(dir, 'state.duckdb'));
    const catalog = new SeriesCatalog();
    const h = catalog.hosts.intern('h');
    for (let i = 0; i < rowsPerPeriod; i++) catalog.seriesId(h, catalog.components.intern(`c${i % 50}`), catalog.processes.intern(`p${i}`));
    const batches = Array.from({ length: periods }, (_, p) => rollupBatch(T0 + p * HOUR, rowsPerPeriod));
    await store.appendRollups(batches[0]!, catalog); // dimension rows written once, outside the timing
    let started = performance.now();
    for (const b of batches.slice(1)) await store.appendRollups(b, catalog);
    const fresh = ((periods - 1) * rowsPerPeriod) / ((performance.now() - started) / 1000);
    started = performance.now();
    for (const b of batches.slice(1)) await store.appendRollups(b, catalog);
    const rewrite = ((periods - 1) * rowsPerPeriod) / ((performance.now() - started) / 1000);
    await store.close();

    // Alternative: a primary key and INSERT OR REPLACE from a staging table.
    const db = await DuckDBInstance.create(join(dir, 'pk.duckdb'));
    const conn = await db.connect();
    await conn.run(`CREATE TABLE rollups (start BIGINT, series INTEGER, mean DOUBLE, max DOUBLE, n INTEGER, pid INTEGER, restarted BOOLEAN,
      PRIMARY KEY (start, series)); CREATE TABLE staging AS SELECT * FROM rollups LIMIT 0`);
    const types = [BIGINT, INTEGER, DOUBLE, DOUBLE, INTEGER, INTEGER, BOOLEAN];
    const appender = await conn.createAppender('staging');
    const chunk = DuckDBDataChunk.create(types, 2048);
    // The node-api value-by-value path (setItem per value), the public alternative to the raw copy.
    const fill = (b: RollupBatch) => {
      const start = BigInt(b.start);
      for (let off = 0; off < b.length; off += 2048) {
        const m = Math.min(2048, b.length - off);
        chunk.reset();
        chunk.rowCount = m;
        const v = types.map((_, k) => chunk.getColumnVector(k));
        for (let i = 0; i < m; i++) {
          const j = off + i;
          v[0]!.setItem(i, start); v[1]!.setItem(i, b.series[j]!); v[2]!.setItem(i, b.mean[j]!); v[3]!.setItem(i, b.max[j]!);
          v[4]!.setItem(i, b.count[j]!); v[5]!.setItem(i, b.pid[j]! < 0 ? null : b.pid[j]!); v[6]!.setItem(i, b.restarted[j] === 1);
        }
        for (const x of v) x.flush();
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    };
    started = performance.now();
    for (const b of batches) fill(b);
    const setItem = (periods * rowsPerPeriod) / ((performance.now() - started) / 1000);
    await conn.run('DELETE FROM staging');
    const upsert = async () => {
      const t = performance.now();
      for (const b of batches) {
        fill(b);
        await conn.run('INSERT OR REPLACE INTO rollups SELECT * FROM staging');
        await conn.run('DELETE FROM staging');
      }
      return (periods * rowsPerPeriod) / ((performance.now() - t) / 1000);
    };
    const upsertFresh = await upsert();
    const upsertRewrite = await upsert();
    appender.closeSync();
    conn.closeSync();
    db.closeSync();
    return { fresh, rewrite, upsertFresh, upsertRewrite, setItem };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const series = arg('series', 20_000);
  const hours = arg('hours', 24);
  const rounds = arg('rounds', 3);
  const { batches, rows } = samples(series, hours);
  const op: number[] = [], ceiling: number[] = [], cat: number[] = [];
  const only = process.argv.includes('--operator-only');
  for (let r = 0; r < rounds; r++) {
    op.push(await rollupOnce(batches));
    ceiling.push(only ? NaN : ceilingOnce(batches, series));
    cat.push(only ? NaN : catalogOnce(batches));
  }
  const rate = (ms: number) => `${(rows / (ms / 1000) / 1e6).toFixed(1)}M samples/s`;
  console.log(`rollup: ${series} series x ${hours} h at 5 min = ${rows} samples in ${batches.length} batches; median of ${rounds}`);
  console.log(`  operator (catalog mapping + accumulate + close + emit): ${rate(median(op))}`);
  console.log(`  typed-array loop ceiling (same per-sample arithmetic):  ${rate(median(ceiling))}`);
  console.log(`  catalog rowsToSeries alone:                              ${rate(median(cat))}`);
  const close = closeOnce(series, 50 * rounds);
  console.log(`  period close (Periods.snapshot of one full hour):        ${((close * 1e6) / series).toFixed(0)} ns a series (median of ${50 * rounds})`);
  if (process.argv.includes('--no-store')) return;
  const perPeriod = arg('store-rows', 100_000), periods = arg('store-periods', 10);
  const s = await storeFigures(perPeriod, periods);
  const m = (x: number) => `${(x / 1e6).toFixed(2)}M rows/s`;
  console.log(`store: ${periods} periods of ${perPeriod} rollup rows`);
  console.log(`  DuckDbStore.appendRollups, new periods:                ${m(s.fresh)}`);
  console.log(`  DuckDbStore.appendRollups, same periods again:         ${m(s.rewrite)}  (delete, then insert)`);
  console.log(`  PRIMARY KEY + INSERT OR REPLACE via staging, new:      ${m(s.upsertFresh)}`);
  console.log(`  PRIMARY KEY + INSERT OR REPLACE via staging, again:    ${m(s.upsertRewrite)}`);
  console.log(`  node-api setItem DataChunks into a plain table:        ${m(s.setItem)}`);
}

if (process.argv[1]?.endsWith('throughput.js')) await main();
