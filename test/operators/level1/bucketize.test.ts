import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { MemoryStore } from '../../../engine/memoryStore.js';
import type { BucketBatch } from '../../../engine/telemetry/buckets.js';
import type { RollupBatch } from '../../../engine/telemetry/rollup.js';
import type { SeriesCatalog } from '../../../engine/telemetry/series.js';
import { bucketize, DEFAULT_BUCKETS_MB } from '../../../operators/level1/bucketize.js';
import { testContext } from '../../helpers/samples.js';

const MB = 1024 * 1024;
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

interface Proc { host: string; component: string; process?: string; mb: number }

function rollupsOf(catalog: SeriesCatalog, procs: Proc[], start = T0): RollupBatch {
  const n = procs.length;
  const series = Int32Array.from(procs, (p) => catalog.seriesId(
    catalog.hosts.intern(p.host), catalog.components.intern(p.component), catalog.processes.intern(p.process ?? p.component)));
  return {
    start, period: HOUR, length: n, series,
    mean: Float64Array.from(procs, (p) => p.mb * MB), max: Float64Array.from(procs, (p) => p.mb * MB),
    count: new Int32Array(n).fill(12), pid: new Int32Array(n).fill(-1), restarted: new Uint8Array(n), watermark: start + HOUR,
  };
}

/** Counts of a batch by component name. */
function countsOf(batch: BucketBatch, catalog: SeriesCatalog): Record<string, number[]> {
  const B = batch.bucketMb.length;
  const out: Record<string, number[]> = {};
  batch.components.forEach((c, r) => { out[catalog.components.name(c)] = [...batch.hosts.subarray(r * B, (r + 1) * B)]; });
  return out;
}

async function run(batches: (catalog: SeriesCatalog) => RollupBatch[], bucketsMb?: number[]) {
  const env = testContext('buckets');
  const op = bucketize(bucketsMb ? { buckets_mb: bucketsMb } : {}, env.ctx);
  const out = await lastValueFrom(op.apply(from(batches(env.ctx.catalog))).pipe(toArray()));
  await env.ctx.flow.idle();
  return { out, catalog: env.ctx.catalog, store: env.ctx.store as MemoryStore };
}

describe('bucketize', () => {
  it('counts hosts cumulatively: a bucket counts every host at or above it', async () => {
    const { out, catalog } = await run((c) => [rollupsOf(c, [
      { host: 'a', component: 'svc', mb: 99.9 }, { host: 'b', component: 'svc', mb: 100 },
      { host: 'c', component: 'svc', mb: 250 }, { host: 'd', component: 'svc', mb: 900 }, { host: 'e', component: 'svc', mb: 40 },
    ])], [100, 200, 500, 1000]);
    expect(out).toHaveLength(1);
    expect(countsOf(out[0]!, catalog)).toEqual({ svc: [3, 2, 1, 0] });
    expect([...out[0]!.bucketMb]).toEqual([100, 200, 500, 1000]);
    expect(out[0]!.start).toBe(T0);
  });

  it('counts each host once per component, at its largest process', async () => {
    const { out, catalog } = await run((c) => [rollupsOf(c, [
      { host: 'a', component: 'svc', process: 'w1', mb: 150 }, { host: 'a', component: 'svc', process: 'w2', mb: 600 },
      { host: 'a', component: 'svc', process: 'w3', mb: 120 }, { host: 'b', component: 'svc', process: 'w1', mb: 150 },
      // A sum would put host c at 600 MB; no process of it is that large.
      { host: 'c', component: 'svc', process: 'w1', mb: 300 }, { host: 'c', component: 'svc', process: 'w2', mb: 300 },
      { host: 'a', component: 'db', mb: 2000 },
    ])], [100, 200, 500, 1000]);
    expect(countsOf(out[0]!, catalog)).toEqual({ svc: [3, 2, 1, 0], db: [1, 1, 1, 1] });
  });

  it('keeps a component whose hosts are all below the first bucket, with zero counts', async () => {
    const { out, catalog } = await run((c) => [rollupsOf(c, [{ host: 'a', component: 'tiny', mb: 3 }, { host: 'a', component: 'svc', mb: 70 }])]);
    expect(countsOf(out[0]!, catalog)).toEqual({ tiny: new Array(20).fill(0), svc: [1, ...new Array(19).fill(0)] });
  });

  it('emits one batch per period and writes each to the store with component names', async () => {
    const { out, store } = await run((c) => [0, 1, 2].map((h) => rollupsOf(c, [
      { host: 'a', component: 'svc', mb: 100 + h * 1000 }, { host: 'b', component: 'svc', mb: 60 },
    ], T0 + h * HOUR)), [50, 1000]);
    expect(out.map((b) => [...b.hosts])).toEqual([[2, 0], [2, 1], [2, 1]]);
    expect([...store.buckets.keys()]).toEqual([T0, T0 + HOUR, T0 + 2 * HOUR]);
    const rows = store.buckets.get(T0 + HOUR)!;
    expect({ length: rows.length, bucketMb: [...rows.bucketMb], hosts: [...rows.hosts], bucket: [...rows.bucket] })
      .toEqual({ length: 2, bucketMb: [50, 1000], hosts: [2, 1], bucket: [0, 1] });
    expect(rows.componentNames[rows.component[0]!]).toBe('svc');
  });

  it('counts a period the same whatever buckets its processes were in the period before', async () => {
    // Each period moves every process: up, down, across several buckets, below the first, past the last, to NaN.
    const walk = [40, 99.9, 100, 5000, 150, 49.99, 60000, 50000, 49999, NaN, 75, 1e9, 0, 200];
    const period = (c: SeriesCatalog, k: number) => rollupsOf(c, Array.from({ length: 40 }, (_, i) => ({
      host: `h${i % 13}`, component: `svc${i % 3}`, process: `p${i}`, mb: walk[(i + k) % walk.length]!,
    })), T0 + k * HOUR);
    const periods = walk.length;
    const { out, catalog } = await run((c) => Array.from({ length: periods }, (_, k) => period(c, k)));
    for (let k = 0; k < periods; k++) {
      // A fresh operator sees period k alone.
      const fresh = await run((c) => [period(c, k)]);
      expect(countsOf(out[k]!, catalog)).toEqual(countsOf(fresh.out[0]!, fresh.catalog));
    }
    expect(out).toHaveLength(periods);
  });

  it('has 20 default buckets from 50 MB to 50 GB', () => {
    expect(DEFAULT_BUCKETS_MB).toHaveLength(20);
    expect([DEFAULT_BUCKETS_MB[0], DEFAULT_BUCKETS_MB[1], DEFAULT_BUCKETS_MB[2], DEFAULT_BUCKETS_MB[18], DEFAULT_BUCKETS_MB[19]])
      .toEqual([50, 100, 200, 40000, 50000]);
  });

  it('refuses bucket lists that are empty, unordered or not positive when built', () => {
    const { ctx } = testContext();
    expect(() => bucketize({ buckets_mb: [] }, ctx)).toThrow(/at least one bucket/);
    expect(() => bucketize({ buckets_mb: [100, 50] }, ctx)).toThrow(/strictly ascending: 100 then 50/);
    expect(() => bucketize({ buckets_mb: [0, 50] }, ctx)).toThrow(/"buckets_mb\[0\]" must be a number > 0/);
  });
});
