import { deserialize, serialize } from 'node:v8';
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { MemoryStore } from '../../../engine/memoryStore.js';
import type { RollupBatch } from '../../../engine/telemetry/rollup.js';
import type { SampleBatch } from '../../../engine/telemetry/schema.js';
import { SeriesCatalog } from '../../../engine/telemetry/series.js';
import { widenFloats, type NarrowFloats } from '../../../engine/typedArrays.js';
import { rollup, type RollupOptions } from '../../../operators/rollup/rollup.js';
import { batchOf, testContext, type Row } from '../../helpers/samples.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const MB = 1024 * 1024;
const T0 = Date.UTC(2026, 0, 1);

const withMark = (rows: Row[], watermark: number, firstLine = 1): SampleBatch => ({ ...batchOf(rows, { firstLine }), watermark });

async function run(batches: SampleBatch[], options: Partial<RollupOptions> = {}, env = testContext('hourly')) {
  const op = rollup(options, env.ctx);
  const out = await lastValueFrom(op.apply(from(batches)).pipe(toArray()));
  await env.ctx.flow.idle();
  return { out, op, ...env, store: env.ctx.store as MemoryStore };
}

/** Rollup rows by series name, for assertions that do not depend on id order. */
function rowsOf(batch: RollupBatch, catalog: SeriesCatalog) {
  const rows: Record<string, { mean: number; max: number; count: number; pid: number; restarted: number }> = {};
  for (let i = 0; i < batch.length; i++) {
    const d = catalog.describe(batch.series[i]!);
    rows[`${d.host}/${d.process}`] = {
      mean: batch.mean[i]!, max: batch.max[i]!, count: batch.count[i]!, pid: batch.pid[i]!, restarted: batch.restarted[i]!,
    };
  }
  return rows;
}

const hourOf = (host: string, values: number[], start = T0, extra: Partial<Row> = {}): Row[] =>
  values.map((v, i) => ({ ts: start + i * 5 * MIN, host, component: 'svc', rss: v, ...extra }));

describe('rollup', () => {
  it('drops extreme outliers from the mean but keeps them in max and count', async () => {
    const values = [1000, 1002, 998, 1001, 999, 1000, 5000, 1003, 997, 1000, 1001, 999].map((v) => v * MB);
    const flat = [500, 500, 500, 500, 500, 502, 500, 500, 500, 500, 500, 40].map((v) => v * MB);
    const { out, ctx, metrics } = await run([withMark([...hourOf('a', values), ...hourOf('b', flat)], T0 + HOUR)]);
    expect(out).toHaveLength(1);
    const rows = rowsOf(out[0]!, ctx.catalog);
    const kept = values.filter((v) => v !== 5000 * MB);
    expect(rows['a/svc']!.mean).toBeCloseTo(kept.reduce((a, b) => a + b, 0) / kept.length, 0);
    expect(rows['a/svc']!.max).toBe(5000 * MB);
    expect(rows['a/svc']!.count).toBe(12);
    // MAD is 0 for a process at rest: the 1% floor keeps 502 MB and drops the 40 MB reading.
    expect(rows['b/svc']!.mean).toBeCloseTo((500 * 10 + 502) * MB / 11, 0);
    expect(metrics.total('outliers_excluded')).toBe(2);
  });

  it('keeps every sample when too few to judge, and when none is extreme', async () => {
    const steady = Array.from({ length: 12 }, (_, i) => (1000 + i * 20) * MB);
    const { out, ctx } = await run([withMark([...hourOf('a', steady), ...hourOf('b', [100 * MB, 900 * MB])], T0 + HOUR)]);
    const rows = rowsOf(out[0]!, ctx.catalog);
    expect(rows['a/svc']!.mean).toBeCloseTo(steady.reduce((a, b) => a + b, 0) / 12, 0);
    expect(rows['b/svc']!.mean).toBe(500 * MB);
  });

  it('judges samples beyond the kept values by the fence of the first ones', async () => {
    const values = Array.from({ length: 30 }, (_, i) => (i === 25 ? 9000 : 1000 + (i % 3)) * MB);
    const rows = values.map((v, i) => ({ ts: T0 + i * MIN, host: 'a', component: 'svc', rss: v }));
    const { out } = await run([withMark(rows, T0 + HOUR)], { outliers: { values: 8, threshold: 3.5, min_spread: 0.01, min_samples: 3 } });
    const kept = values.filter((v) => v !== 9000 * MB);
    expect(out[0]!.mean[0]).toBeCloseTo(kept.reduce((a, b) => a + b, 0) / kept.length, 0);
    expect(out[0]!.count[0]).toBe(30);
    expect(out[0]!.max[0]).toBe(9000 * MB);
  });

  it('gives the same rollup whatever the order of samples within the period', async () => {
    const values = [10, 12, 11, 13, 80, 12, 11, 10, 12, 13, 11, 12].map((v) => v * MB);
    const ordered = hourOf('a', values, T0, { pid: 7 });
    const shuffled = [5, 2, 11, 0, 7, 3, 9, 1, 10, 4, 8, 6].map((i) => ordered[i]!);
    const a = await run([withMark(ordered, T0 + HOUR)]);
    const b = await run([withMark(shuffled.slice(0, 6), -Infinity), withMark(shuffled.slice(6), T0 + HOUR)]);
    expect(b.out).toEqual(a.out);
  });

  it('gives back every value exactly: jumps past 2 GiB, fractions, huge values and fractional times', async () => {
    // Values are held as Int32 offsets from a period's first value where that is exact;
    // these do not fit, and each series must still get the plain mean, max and last pid.
    const GB = 1024 * MB;
    const series: Record<string, number[]> = {
      jump: [1 * GB, 1 * GB + 4096, 5 * GB, 1 * GB, 1 * GB + 8192],
      fraction: [1000.5, 1000.25, 1000.75, 1000],
      huge: [2 ** 60, 2 ** 60 + 2 ** 10, 2 ** 60 - 2 ** 10],
      pages: [300 * MB, 300 * MB + 4096, 300 * MB - 4096],
    };
    const rows: Row[] = [];
    for (const [host, values] of Object.entries(series)) {
      // Pid 2 at a time 0.25 ms after pid 1's: the later one is the last pid.
      values.forEach((rss, i) => rows.push({ ts: T0 + i * 5 * MIN + (i === values.length - 1 ? 0.25 : 0), host, component: 'svc', rss, pid: 1 }));
      rows.push({ ts: T0 + (values.length - 1) * 5 * MIN + 0.5, host, component: 'svc', rss: values[0]!, pid: 2 });
    }
    const options = { outliers: { values: 12, threshold: 3.5, min_spread: 10, min_samples: 3 } };
    const whole = await run([withMark(rows, T0 + HOUR)], options);
    const got = rowsOf(whole.out[0]!, whole.ctx.catalog);
    for (const [host, values] of Object.entries(series)) {
      const all = [...values, values[0]!];
      // A spread of 10 x the median keeps every value: the mean is their plain mean, summed in ascending order.
      const sorted = [...all].sort((a, b) => a - b);
      expect(got[`${host}/svc`]).toEqual({
        mean: sorted.reduce((a, b) => a + b, 0) / all.length, max: Math.max(...all), count: all.length, pid: 2, restarted: 1,
      });
    }
    // The same through a checkpoint taken with the period open.
    const first = await run([withMark(rows.slice(0, 9), -Infinity)], options);
    const env = testContext('hourly');
    const catalog = new SeriesCatalog();
    catalog.restore(deserialize(serialize(first.ctx.catalog.checkpoint())));
    const op = rollup(options, { ...env.ctx, catalog });
    op.restore(deserialize(serialize(first.op.checkpoint())));
    const second = await lastValueFrom(op.apply(from([withMark(rows.slice(9), T0 + HOUR)])).pipe(toArray()));
    expect(rowsOf(second[0]!, catalog)).toEqual(got);
  });

  it('closes a period when the watermark passes its end, and snapshots open ones at the end', async () => {
    const h0 = hourOf('a', [100 * MB, 100 * MB]);
    const h1 = hourOf('a', [200 * MB], T0 + HOUR);
    const op = testContext('hourly');
    const rollupOp = rollup({}, op.ctx);
    const batches = [withMark(h0, T0 + 30 * MIN), withMark(h1, T0 + HOUR - 1), withMark([], T0 + HOUR)];
    const out: RollupBatch[] = [];
    rollupOp.apply(from(batches)).subscribe((b) => out.push(b));
    await op.ctx.flow.idle();
    expect(out.map((b) => [b.start, b.mean[0]])).toEqual([[T0, 100 * MB], [T0 + HOUR, 200 * MB]]);
    // Only the snapshot says it will come again: level 2 waits for the complete period.
    expect(out.map((b) => b.provisional)).toEqual([false, true]);
    expect(op.metrics.total('periods_closed')).toBe(1);
    // The snapshot of the open hour was written too, and it stays open in the checkpoint.
    const store = op.ctx.store as MemoryStore;
    expect([...store.rollups.keys()]).toEqual([T0, T0 + HOUR]);
    const saved = deserialize(serialize(rollupOp.checkpoint())) as { periods: { slotPeriod: Float64Array } };
    expect([...saved.periods.slotPeriod].filter((p) => !Number.isNaN(p))).toEqual([(T0 + HOUR) / HOUR]);
  });

  it('emits only the series that had samples in a period, each once', async () => {
    const rows = [...hourOf('a', [1, 2, 3]), ...hourOf('b', [4]), ...hourOf('a', [5], T0 + HOUR)];
    const { out, ctx } = await run([withMark(rows, T0 + 2 * HOUR)]);
    expect(out.map((b) => Object.keys(rowsOf(b, ctx.catalog)).sort())).toEqual([['a/svc', 'b/svc'], ['a/svc']]);
    expect(out[0]!.series).toEqual(Int32Array.from([...out[0]!.series].sort((x, y) => x - y)));
  });

  it('flags restarts within a period and since the previous one; a missing pid is -1', async () => {
    const rows: Row[] = [
      ...hourOf('same', [1, 1], T0, { pid: 10 }), ...hourOf('same', [1], T0 + HOUR, { pid: 10 }),
      ...hourOf('within', [1], T0, { pid: 20 }), { ts: T0 + HOUR + 30 * MIN, host: 'within', component: 'svc', rss: 1, pid: 21 },
      { ts: T0 + HOUR + 10 * MIN, host: 'within', component: 'svc', rss: 1, pid: 20 },
      ...hourOf('across', [1], T0, { pid: 30 }), ...hourOf('across', [1], T0 + HOUR, { pid: 31 }),
      ...hourOf('nopid', [1], T0), ...hourOf('nopid', [1], T0 + HOUR),
    ];
    const { out, ctx } = await run([withMark(rows, T0 + 2 * HOUR)]);
    const second = rowsOf(out[1]!, ctx.catalog);
    expect(second['same/svc']).toMatchObject({ pid: 10, restarted: 0 });
    // The last pid is the one of the latest sample, whatever the arrival order.
    expect(second['within/svc']).toMatchObject({ pid: 21, restarted: 1 });
    expect(second['across/svc']).toMatchObject({ pid: 31, restarted: 1 });
    expect(second['nopid/svc']).toMatchObject({ pid: -1, restarted: 0 });
    expect(rowsOf(out[0]!, ctx.catalog)['across/svc']).toMatchObject({ pid: 30, restarted: 0 });
  });

  it('dead-letters samples of a period already closed', async () => {
    const { out, deadLetter } = await run([
      withMark(hourOf('a', [1]), T0 + HOUR),
      withMark([{ ts: T0 + 50 * MIN, host: 'a', component: 'svc', rss: 2 }], T0 + HOUR, 42),
    ]);
    expect(out).toHaveLength(1);
    expect(deadLetter.rejections).toHaveLength(1);
    expect(deadLetter.rejections[0]).toMatchObject({ reason: 'late', line: 42, field: 'ts', record: { host: 'a', rss: 2 } });
  });

  it('holds at most open_periods periods, closing the oldest when a newer one needs room', async () => {
    // No watermark at all: the ring alone bounds the state.
    const rows: Row[] = [];
    for (let h = 0; h < 48; h++) rows.push(...hourOf('a', [h], T0 + h * HOUR), ...hourOf('b', [h], T0 + h * HOUR));
    const late = { ts: T0 + 3 * HOUR, host: 'a', component: 'svc', rss: 1 };
    const env = testContext('hourly');
    const op = rollup({ open_periods: 3 }, env.ctx);
    const out = await lastValueFrom(op.apply(from([withMark(rows, -Infinity), withMark([late], -Infinity)])).pipe(toArray()));
    expect(out).toHaveLength(48);
    expect(env.metrics.total('periods_closed')).toBe(45);
    expect(env.deadLetter.rejections.map((r) => r.reason)).toEqual(['late']);
    const saved = op.checkpoint() as { periods: { members: Int32Array[]; values: Float64Array | NarrowFloats } };
    expect(saved.periods.members.map((m) => m.length)).toEqual([2, 2, 2]);
    expect(widenFloats(saved.periods.values).length).toBe(6);
  });

  it('writes every period to the store and expires what is older than the retention', async () => {
    const rows: Row[] = [];
    for (let s = 0; s < 100; s++) rows.push({ ts: T0 + s * 1000, host: 'a', component: 'svc', rss: s });
    const { out, store } = await run([withMark(rows.slice(0, 50), T0 + 49_000), withMark(rows.slice(50), T0 + 99_000)],
      { period: '1s', retention: '35s' });
    expect(out).toHaveLength(100);
    expect(store.rollups.size).toBeLessThanOrEqual(35 + 2);
    expect(store.expiredBefore).toBeGreaterThanOrEqual(T0 + 99_000 - 35_000 - 2000);
    expect(store.rollups.get(T0 + 99_000)!.mean[0]).toBe(99);
  });

  // 5-minute samples in whole MB (saved as Float32), and 1-minute samples of any byte
  // count (Float64), past `keep` in a period, so that the outlier fence is saved too.
  it.each([[5, 0], [1, 0.5]])('resumes from a checkpoint: two halves give the rollups of one whole run (samples every %i min)', async (every, odd) => {
    const rows: Row[] = [];
    for (let m = 0; m < 6 * 60; m += every) {
      for (const host of ['a', 'b', 'c']) {
        rows.push({ ts: T0 + m * MIN, host, component: 'svc', rss: (host === 'b' && m % 45 === 0 ? 5000 : 1000 + m) * MB + odd, pid: m < 100 || m >= 300 ? 1 : 2 });
      }
    }
    // Batches with a 10-minute watermark, as the watermark operator would stamp them.
    const batches = (from: number, to: number) => {
      const out: SampleBatch[] = [];
      for (let i = from; i < to; i += 20) {
        const part = rows.slice(i, Math.min(i + 20, to));
        out.push(withMark(part, Math.max(...part.map((r) => r.ts)) - 10 * MIN, i + 1));
      }
      return out;
    };
    const whole = await run(batches(0, rows.length));
    const half = Math.round(190 * (5 / every)); // mid-period, so an open period crosses the cut
    const first = await run(batches(0, half));
    const catalog = new SeriesCatalog();
    catalog.restore(deserialize(serialize(first.ctx.catalog.checkpoint())));
    const env = testContext('hourly');
    const resumed = { ...env, ctx: { ...env.ctx, catalog } };
    const op = rollup({}, resumed.ctx);
    op.restore(deserialize(serialize(first.op.checkpoint())));
    const second = await lastValueFrom(op.apply(from(batches(half, rows.length))).pipe(toArray()));
    // The period open at the cut is emitted twice (snapshot, then complete); the last emission wins.
    const lastByStart = new Map<number, RollupBatch>();
    for (const b of [...first.out, ...second]) lastByStart.set(b.start, b);
    expect([...lastByStart.values()].map((b) => rowsOf(b, catalog))).toEqual(whole.out.map((b) => rowsOf(b, whole.ctx.catalog)));
    expect(first.deadLetter.rejections.length + env.deadLetter.rejections.length).toBe(0);
  });

  it('refuses bad options when built', () => {
    const { ctx } = testContext();
    expect(() => rollup({ period: '0s' }, ctx)).toThrow(/"period" must be greater than 0/);
    expect(() => rollup({ period: '1h', retention: '30m' }, ctx)).toThrow(/"retention" must be at least one period/);
    expect(() => rollup({ open_periods: 0 }, ctx)).toThrow(/"open_periods"/);
    expect(() => rollup({ period: 'soon' }, ctx)).toThrow(/not a duration/);
  });
});
