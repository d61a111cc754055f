import { mulberry32 } from '../connectors/simulator/random.js';
import { from, lastValueFrom, reduce, type Observable } from 'rxjs';
import { FleetSimulator } from '../connectors/simulator/simulator.js';
import { MemoryDeadLetter } from '../engine/deadLetter.js';
import { Flow } from '../engine/flow.js';
import { silentLogger } from '../engine/log.js';
import { MemoryStore } from '../engine/memoryStore.js';
import { Metrics } from '../engine/metrics.js';
import { resolveOptions } from '../engine/pipeline/options.js';
import type { NodeContext, OperatorSpec } from '../engine/spec.js';
import type { BucketBatch } from '../engine/telemetry/buckets.js';
import type { RollupBatch } from '../engine/telemetry/rollup.js';
import { floatColumn, type SampleBatch } from '../engine/telemetry/schema.js';
import { SeriesCatalog } from '../engine/telemetry/series.js';
import { processDetectSpec } from '../operators/detect/process-detect.js';
import { bucketAnomalySpec } from '../operators/level1/bucket-anomaly.js';
import { bucketizeSpec, DEFAULT_BUCKETS_MB } from '../operators/level1/bucketize.js';
import { rollupSpec } from '../operators/rollup/rollup.js';
import { watermarkSpec } from '../operators/time/watermark.js';
import type { RowTask } from './lib.js';
import { rollupCeiling } from './rollup/throughput.js';
import { HostActivity } from '../engine/hostActivity.js';

/**
 * One task per operator of the default pipeline, each built from its spec with the
 * defaults a pipeline definition gets and fed pre-built input through RxJS as the
 * runtime feeds it, beside a ceiling: one plain loop over the same typed arrays doing
 * the operator's per-row arithmetic, without its bookkeeping. Inputs are made once,
 * outside the measured code: simulator samples for watermark and rollup, synthetic
 * hourly means (deterministic) for bucketize and process-detect, and the bucket
 * counts bucketize makes of them for bucket-anomaly.
 */

const HOUR = 3_600_000;
const MB = 1024 * 1024;
const T0 = Date.UTC(2026, 0, 1);

export interface OperatorSizes {
  /** Samples through watermark and rollup. */
  samples: number;
  /** Series and hours of the synthetic hourly means (bucketize, process-detect). */
  series: number;
  hours: number;
  /** Series and days behind bucket-anomaly's input. */
  bucketSeries: number;
  bucketDays: number;
}

export const DEFAULT_SIZES: OperatorSizes = { samples: 1_000_000, series: 5_000, hours: 240, bucketSeries: 2_000, bucketDays: 30 };

function context(catalog: SeriesCatalog, store = new MemoryStore()): NodeContext {
  const metrics = new Metrics();
  return {
    id: 'bench', metrics, deadLetter: new MemoryDeadLetter(metrics), flow: new Flow(), log: silentLogger,
    catalog, store, signal: new AbortController().signal, hosts: new HostActivity(),
  };
}

/** Items out of a fresh instance of `spec` fed `input`; its store writes go to a store that keeps nothing. */
async function runOperator<I, O>(spec: OperatorSpec, options: unknown, input: readonly I[], catalog: SeriesCatalog): Promise<number> {
  const ctx = context(catalog, new NullStore());
  const op = spec.create(resolveOptions(spec, options) as never, ctx) as unknown as { apply(i: Observable<I>): Observable<O> };
  const n = await lastValueFrom(op.apply(from(input)).pipe(reduce((k) => k + 1, 0)));
  await ctx.flow.idle();
  return n;
}

/** A store that accepts and drops writes: operators are measured, not DuckDB (bench/rollup/throughput.ts measures that). */
class NullStore extends MemoryStore {
  override async appendRollups(): Promise<void> {}
  override async appendBuckets(): Promise<void> {}
}

const random = mulberry32;

/**
 * Hourly means of `series` processes (one per host and component, 12 components) for
 * `hours`: a lognormal baseline from ~100 MB to ~10 GB, a daily cycle, noise, and a
 * leak of 0.2% of the baseline per hour in 2% of them.
 */
export function hourlyMeans(series: number, hours: number, catalog: SeriesCatalog): RollupBatch[] {
  const components = 12;
  const rnd = random(7);
  const ids = new Int32Array(series);
  const base = new Float64Array(series), phase = new Float64Array(series), leak = new Float64Array(series);
  for (let s = 0; s < series; s++) {
    const c = s % components, h = Math.floor(s / components);
    ids[s] = catalog.seriesId(catalog.hosts.intern(`host-${h}`), catalog.components.intern(`component-${c}`), catalog.processes.intern(`component-${c}`));
    base[s] = 2 ** (7 + c * 0.5 + rnd() * 1.5) * MB;
    phase[s] = rnd() * 2 * Math.PI;
    leak[s] = rnd() < 0.02 ? base[s]! * 0.002 : 0;
  }
  const out: RollupBatch[] = [];
  for (let t = 0; t < hours; t++) {
    const mean = new Float64Array(series), max = new Float64Array(series);
    for (let s = 0; s < series; s++) {
      const v = base[s]! * (1 + 0.05 * Math.sin((2 * Math.PI * t) / 24 + phase[s]!) + 0.01 * (rnd() - 0.5)) + leak[s]! * t;
      mean[s] = v;
      max[s] = v * 1.02;
    }
    const start = T0 + t * HOUR;
    out.push({
      start, period: HOUR, length: series, series: ids, mean, max, count: new Int32Array(series).fill(12),
      pid: Int32Array.from({ length: series }, (_, s) => 1000 + s), restarted: new Uint8Array(series), watermark: start + HOUR,
    });
  }
  return out;
}

/** The first `rows` samples (whole batches) of a simulated fleet of ~10k processes. */
function simulatedSamples(rows: number): SampleBatch[] {
  const sim = new FleetSimulator({ hosts: 2000, components: 6, days: Math.max(1, Math.ceil(rows / (2000 * 5 * 288))) + 1, seed: 3 });
  const out: SampleBatch[] = [];
  let n = 0;
  for (const b of sim.batches()) {
    if (n >= rows) break;
    out.push({ data: b.data, source: 'simulator', records: b.records, watermark: b.watermark });
    n += b.data.numRows;
  }
  return out;
}

const rowsOf = (batches: readonly SampleBatch[]) => batches.reduce((n, b) => n + b.data.numRows, 0);

/** The watermark's checks as a plain loop: newest time, lateness, and a repeat of the series' last (ts, rss). */
function watermarkCeiling(batches: readonly SampleBatch[], ids: readonly Int32Array[], series: number): number {
  const lastTs = new Float64Array(series).fill(-1), lastRss = new Float64Array(series);
  const lateness = 600_000;
  let maxTs = -Infinity, kept = 0;
  for (let k = 0; k < batches.length; k++) {
    const ts = floatColumn(batches[k]!.data, 'ts'), rss = floatColumn(batches[k]!.data, 'rss'), sid = ids[k]!;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      if (t > maxTs) maxTs = t;
      if (t < maxTs - lateness) continue;
      const s = sid[i]!;
      if (lastTs[s] === t && lastRss[s] === rss[i]) continue;
      lastTs[s] = t;
      lastRss[s] = rss[i]!;
      kept++;
    }
  }
  return kept;
}

/**
 * Bucketize's arithmetic: bucket index by binary search, each (host, component)'s
 * highest bucket (cells stamped per period instead of cleared), then cumulative
 * counts per (component, bucket).
 */
function bucketizeCeiling(batches: readonly RollupBatch[], catalog: SeriesCatalog): number {
  const bounds = Float64Array.from(DEFAULT_BUCKETS_MB, (mb) => mb * MB);
  const B = bounds.length, C = catalog.components.size;
  const cells = catalog.hosts.size * C;
  const best = new Int8Array(cells), stamp = new Int32Array(cells), touched = new Int32Array(cells);
  const counts = new Int32Array(C * B);
  const comp = catalog.seriesComponent, host = catalog.seriesHost;
  let total = 0;
  for (let p = 0; p < batches.length; p++) {
    const batch = batches[p]!, gen = p + 1;
    let n = 0;
    counts.fill(0);
    for (let i = 0; i < batch.length; i++) {
      const s = batch.series[i]!, v = batch.mean[i]!;
      let lo = 0, hi = B;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (bounds[mid]! <= v) lo = mid + 1;
        else hi = mid;
      }
      const cell = host[s]! * C + comp[s]!;
      if (stamp[cell] !== gen) {
        stamp[cell] = gen;
        best[cell] = lo - 1;
        touched[n++] = cell;
      } else if (lo - 1 > best[cell]!) {
        best[cell] = lo - 1;
      }
    }
    for (let k = 0; k < n; k++) {
      const cell = touched[k]!, b = best[cell]!;
      if (b >= 0) counts[(cell % C) * B + b]!++;
    }
    for (let c = 0; c < C; c++) for (let b = B - 2; b >= 0; b--) counts[c * B + b]! += counts[c * B + b + 1]!;
    total += counts[0]!;
  }
  return total;
}

/** Baseline mean and deviation over the window of every (component, bucket) and a 3-sigma test of the newest count. */
function bucketAnomalyCeiling(batches: readonly BucketBatch[], windowPeriods: number): number {
  const B = batches[0]!.bucketMb.length, C = batches[0]!.components.length;
  const ring = new Int32Array(C * B * windowPeriods);
  const baseline = Math.floor(windowPeriods * (2 / 3));
  let anomalous = 0;
  for (let p = 0; p < batches.length; p++) {
    const hosts = batches[p]!.hosts, slot = p % windowPeriods;
    for (let r = 0; r < C * B; r++) ring[r * windowPeriods + slot] = hosts[r]!;
    if (p < windowPeriods) continue;
    for (let r = 0; r < C * B; r++) {
      let sum = 0, squares = 0;
      for (let q = p - windowPeriods + 1; q < p - windowPeriods + 1 + baseline; q++) {
        const v = ring[r * windowPeriods + (q % windowPeriods)]!;
        sum += v;
        squares += v * v;
      }
      const mean = sum / baseline, sd = Math.sqrt(Math.max(0, squares / baseline - mean * mean));
      if (hosts[r]! > mean + 3 * sd) anomalous++;
    }
  }
  return anomalous;
}

/**
 * The moving suspicious interval at its plainest: per point, the difference from the
 * previous one, a 3-sigma test against the component's running Gaussian of
 * differences, the interval start reset on an outlier or a fall below its start, the
 * count of rising points, and the model updated with the difference.
 */
function processDetectCeiling(batches: readonly RollupBatch[], catalog: SeriesCatalog): number {
  const S = catalog.size, C = catalog.components.size;
  const lastU = new Float64Array(S).fill(NaN), startU = new Float64Array(S), t0 = new Float64Array(S);
  const rising = new Int32Array(S), points = new Int32Array(S);
  const n = new Float64Array(C), sum = new Float64Array(C), squares = new Float64Array(C);
  const comp = catalog.seriesComponent;
  let open = 0;
  for (const batch of batches) {
    const ts = batch.start;
    for (let i = 0; i < batch.length; i++) {
      const id = batch.series[i]!, u = batch.mean[i]!, c = comp[id]!;
      const prev = lastU[id]!;
      lastU[id] = u;
      if (prev !== prev) {
        t0[id] = ts;
        startU[id] = u;
        continue;
      }
      const d = u - prev;
      const k = n[c]!, mu = k > 0 ? sum[c]! / k : 0, sd = k > 1 ? Math.sqrt(Math.max(0, squares[c]! / k - mu * mu)) : Infinity;
      if (Math.abs(d - mu) > 3 * sd || u < startU[id]!) {
        t0[id] = ts;
        startU[id] = u;
        rising[id] = 0;
        points[id] = 0;
      } else {
        points[id]!++;
        if (d > 0) rising[id]!++;
        if (rising[id]! > 24 && rising[id]! > 0.6 * points[id]!) open++;
      }
      n[c]!++;
      sum[c]! += d;
      squares[c]! += d * d;
    }
  }
  return open;
}

/** Builds every input once, then returns the tasks (operator and its ceiling, side by side). */
export async function operatorTasks(sizes: OperatorSizes = DEFAULT_SIZES): Promise<RowTask[]> {
  // Samples: raw for the watermark, its output (stamped, duplicates gone) for the rollup.
  const raw = simulatedSamples(sizes.samples);
  const sampleCatalog = new SeriesCatalog();
  const stamped: SampleBatch[] = [];
  const wm = watermarkSpec.create(resolveOptions(watermarkSpec, {}) as never, context(sampleCatalog)) as unknown as { apply(i: Observable<SampleBatch>): Observable<SampleBatch> };
  wm.apply(from(raw)).subscribe((b) => stamped.push(b));
  const rawIds = raw.map((b) => sampleCatalog.rowsToSeries(b.data));
  const stampedIds = stamped.map((b) => sampleCatalog.rowsToSeries(b.data));
  const rawRows = rowsOf(raw), stampedRows = rowsOf(stamped);

  // Hourly means for bucketize and process-detect; bucket counts of a longer, smaller fleet for bucket-anomaly.
  const meanCatalog = new SeriesCatalog();
  const means = hourlyMeans(sizes.series, sizes.hours, meanCatalog);
  const meanRows = sizes.series * sizes.hours;
  const bucketCatalog = new SeriesCatalog();
  const buckets: BucketBatch[] = [];
  const bz = bucketizeSpec.create(resolveOptions(bucketizeSpec, {}) as never, context(bucketCatalog, new NullStore())) as unknown as { apply(i: Observable<RollupBatch>): Observable<BucketBatch> };
  bz.apply(from(hourlyMeans(sizes.bucketSeries, sizes.bucketDays * 24, bucketCatalog))).subscribe((b) => buckets.push(b));
  const bucketValues = buckets.reduce((n, b) => n + b.hosts.length, 0);
  const windowPeriods = 15 * 24;

  return [
    { name: 'watermark: typed-array loop (ceiling)', rows: rawRows, fn: () => watermarkCeiling(raw, rawIds, sampleCatalog.size) },
    { name: 'watermark', rows: rawRows, fn: () => runOperator(watermarkSpec, {}, raw, new SeriesCatalog()), ceiling: 'watermark: typed-array loop (ceiling)' },
    { name: 'rollup: typed-array loop (ceiling)', rows: stampedRows, fn: () => rollupCeiling(stamped, stampedIds, sampleCatalog.size) },
    { name: 'rollup', rows: stampedRows, fn: () => runOperator(rollupSpec, {}, stamped, new SeriesCatalog()), ceiling: 'rollup: typed-array loop (ceiling)' },
    { name: 'bucketize: typed-array loop (ceiling)', rows: meanRows, fn: () => bucketizeCeiling(means, meanCatalog) },
    { name: 'bucketize', rows: meanRows, fn: () => runOperator(bucketizeSpec, {}, means, meanCatalog), ceiling: 'bucketize: typed-array loop (ceiling)' },
    { name: 'bucket-anomaly: typed-array loop (ceiling)', rows: bucketValues, fn: () => bucketAnomalyCeiling(buckets, windowPeriods) },
    { name: 'bucket-anomaly', rows: bucketValues, fn: () => runOperator(bucketAnomalySpec, {}, buckets, bucketCatalog), ceiling: 'bucket-anomaly: typed-array loop (ceiling)' },
    { name: 'process-detect: typed-array loop (ceiling)', rows: meanRows, fn: () => processDetectCeiling(means, meanCatalog) },
    { name: 'process-detect', rows: meanRows, fn: () => runOperator(processDetectSpec, {}, means, meanCatalog), ceiling: 'process-detect: typed-array loop (ceiling)' },
  ];
}
