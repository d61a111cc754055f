import { firstValueFrom, from, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { floatColumn, type SampleBatch } from '../../../engine/telemetry/schema.js';
import { unpackTimes, widenFloats, type NarrowFloats, type PackedTimes } from '../../../engine/typedArrays.js';
import { watermark } from '../../../operators/time/watermark.js';
import { batchOf, testContext } from '../../helpers/samples.js';

const MIN = 60_000;
const run = async (batches: SampleBatch[], lateness = '10m', dedupe = true) => {
  const t = testContext('ordered');
  const op = watermark({ lateness, dedupe }, t.ctx);
  const out = await firstValueFrom(op.apply(from(batches)).pipe(toArray()));
  return { ...t, out, op };
};
const tsOf = (out: SampleBatch[]) => out.flatMap((b) => [...floatColumn(b.data, 'ts')]);

describe('watermark', () => {
  it('keeps samples out of order within the lateness and stamps the watermark', async () => {
    const { out, deadLetter } = await run([batchOf([
      { ts: 20 * MIN, host: 'a', component: 'c', rss: 1 },
      { ts: 12 * MIN, host: 'a', component: 'c', rss: 2 },
      { ts: 25 * MIN, host: 'b', component: 'c', rss: 3 },
    ])]);
    expect(tsOf(out)).toEqual([20 * MIN, 12 * MIN, 25 * MIN]);
    expect(out[0]!.watermark).toBe(15 * MIN);
    expect(deadLetter.rejections).toHaveLength(0);
  });

  it('dead-letters samples behind the watermark with their line number', async () => {
    const { out, deadLetter, metrics } = await run([
      batchOf([{ ts: 60 * MIN, host: 'a', component: 'c', rss: 1 }], { firstLine: 1 }),
      batchOf([{ ts: 49 * MIN, host: 'a', component: 'c', rss: 1 }, { ts: 51 * MIN, host: 'a', component: 'c', rss: 1 }], { firstLine: 2 }),
    ]);
    expect(tsOf(out)).toEqual([60 * MIN, 51 * MIN]);
    expect(deadLetter.rejections).toMatchObject([{ reason: 'late', line: 2, field: 'ts' }]);
    expect(metrics.total('samples_rejected', { reason: 'late' })).toBe(1);
  });

  it('drops exact duplicates, even after newer samples, and counts them', async () => {
    const { out, metrics, deadLetter } = await run([
      batchOf([{ ts: 10 * MIN, host: 'a', component: 'c', rss: 5 }, { ts: 15 * MIN, host: 'a', component: 'c', rss: 6 }]),
      batchOf([{ ts: 10 * MIN, host: 'a', component: 'c', rss: 5 }, { ts: 10 * MIN, host: 'b', component: 'c', rss: 5 }]),
    ]);
    expect(tsOf(out)).toEqual([10 * MIN, 15 * MIN, 10 * MIN]);
    expect(metrics.total('samples_dropped', { reason: 'duplicate' })).toBe(1);
    expect(deadLetter.rejections).toHaveLength(0);
  });

  it('dead-letters a repeat of the same key with a different value as a conflict', async () => {
    const { out, deadLetter } = await run([batchOf([
      { ts: 10 * MIN, host: 'a', component: 'c', rss: 5 },
      { ts: 10 * MIN, host: 'a', component: 'c', rss: 7 },
    ])]);
    expect(tsOf(out)).toEqual([10 * MIN]);
    expect(deadLetter.rejections).toMatchObject([{ reason: 'conflict', line: 2, field: 'rss' }]);
  });

  it('forgets samples once the watermark has passed them, keeping state bounded', async () => {
    const batches = Array.from({ length: 200 }, (_, k) => batchOf([{ ts: k * 5 * MIN, host: 'a', component: 'c', rss: k }]));
    const { op } = await run(batches);
    const state = op.checkpoint() as { recent: { slots: number; ts: Float64Array | PackedTimes; spilled: unknown[] } };
    // Three samples a series are live (10 minutes of 5-minute samples): the ring never grows past its first 4 slots.
    expect(state.recent.slots).toBe(4);
    expect(unpackTimes(state.recent.ts).length).toBe(4);
    expect(state.recent.spilled).toEqual([]);
  });

  it('finds every repeat within the lateness of a densely sampled series, beyond its ring', async () => {
    // One sample a second with 10 minutes of lateness: 601 live samples, more than any ring holds.
    const rows = (from: number, to: number, rss = (k: number) => k) =>
      Array.from({ length: to - from }, (_, j) => ({ ts: (from + j) * 1000, host: 'a', component: 'c', rss: rss(from + j) }));
    const { out, metrics, deadLetter, op } = await run([
      batchOf(rows(0, 1200)),
      // Every sample again, newest first: the last 601 are live repeats, the rest late.
      batchOf(rows(0, 1200).reverse()),
      // And the live ones with another value: conflicts.
      batchOf(rows(600, 1200, (k) => k + 0.5)),
    ]);
    expect(tsOf(out)).toHaveLength(1200);
    expect(metrics.total('samples_dropped', { reason: 'duplicate' })).toBe(601);
    expect(metrics.total('samples_rejected', { reason: 'late' })).toBe(599);
    expect(deadLetter.rejections.filter((r) => r.reason === 'conflict')).toHaveLength(600);
    // Spilled samples older than the watermark are dropped.
    const state = op.checkpoint() as { recent: { slots: number; spilled: [number, [number, number][]][] } };
    expect(state.recent.slots).toBe(64);
    const spilled = state.recent.spilled.reduce((n, [, slice]) => n + slice.length, 0);
    expect(spilled).toBeGreaterThan(0);
    expect(spilled).toBeLessThanOrEqual(2 * 601);
  });

  it('spills the samples of one dense series without growing every ring', async () => {
    // 400 series at 5 minutes, one of them also every 10 seconds.
    const rows = [];
    for (let m = 0; m < 60; m += 5) {
      for (let h = 0; h < 400; h++) rows.push({ ts: m * MIN, host: `h${h}`, component: 'c', rss: m });
      for (let k = 0; k < 30; k++) rows.push({ ts: m * MIN + k * 10_000 + 1, host: 'h0', component: 'c', rss: k });
    }
    const { op, metrics } = await run([batchOf(rows), batchOf(rows.slice(-30))]);
    expect(metrics.total('samples_dropped', { reason: 'duplicate' })).toBe(30);
    const state = op.checkpoint() as { recent: { slots: number; spilled: [number, [number, number][]][] } };
    expect(state.recent.slots).toBe(4);
    expect(state.recent.spilled.reduce((n, [, slice]) => n + slice.length, 0)).toBeGreaterThan(0);
  });

  it('finds repeats of out-of-order samples among many series', async () => {
    const hosts = ['a', 'b', 'c', 'd', 'e'];
    // Per host: 0, 9, 3, 6 minutes (out of order), then each again.
    const order = [0, 9, 3, 6];
    const first = order.flatMap((m) => hosts.map((host) => ({ ts: m * MIN, host, component: 'c', rss: m })));
    const { out, metrics, deadLetter } = await run([batchOf(first), batchOf([...first].reverse())]);
    expect(tsOf(out)).toHaveLength(20);
    expect(metrics.total('samples_dropped', { reason: 'duplicate' })).toBe(20);
    expect(deadLetter.rejections).toHaveLength(0);
  });

  it('tells repeats from new samples exactly: times a fraction of a millisecond apart, values Float32 cannot hold, a month-long gap', async () => {
    // Rings hold Int32 offsets and Float32 values while those are exact; these are not.
    const DAY = 86_400_000, T = Date.UTC(2026, 0, 1);
    const first = [
      { ts: T, host: 'a', component: 'c', rss: 4096 },
      { ts: T + 0.5, host: 'a', component: 'c', rss: 4096 },
      { ts: T + 1000, host: 'b', component: 'c', rss: 943_718_401 },
      { ts: T + 2000, host: 'b', component: 'c', rss: 943_718_402 },
    ];
    const later = [
      { ts: T + 40 * DAY, host: 'a', component: 'c', rss: 8192 },
      { ts: T + 40 * DAY - 60_000, host: 'b', component: 'c', rss: 1 },
    ];
    const { out, metrics, deadLetter, op } = await run([
      batchOf(first), batchOf([...first].reverse()), batchOf([{ ...first[3]!, rss: 943_718_401 }]),
      batchOf(later), batchOf(later), batchOf([{ ...later[1]!, rss: 2 }]),
    ]);
    expect(tsOf(out)).toEqual([...first, ...later].map((r) => r.ts));
    expect(metrics.total('samples_dropped', { reason: 'duplicate' })).toBe(first.length + later.length);
    expect(deadLetter.rejections.map((r) => [r.reason, r.detail])).toEqual([
      ['conflict', `a sample of this host, component and process at ts ${T + 2000} was already seen with rss 943718402`],
      ['conflict', `a sample of this host, component and process at ts ${T + 40 * DAY - 60_000} was already seen with rss 1`],
    ]);
    // The checkpoint gives every time and value back as it came.
    const state = op.checkpoint() as { recent: { ts: Float64Array | PackedTimes; value: Float64Array | NarrowFloats } };
    const times = [...unpackTimes(state.recent.ts)], values = [...widenFloats(state.recent.value)];
    for (const r of [first[1]!, first[3]!, later[1]!]) expect(values[times.indexOf(r.ts)]).toBe(r.rss);
  });

  it('finds repeats across a checkpoint and restore, and reads the earlier checkpoint form', async () => {
    const a = batchOf([{ ts: 10 * MIN, host: 'a', component: 'c', rss: 5 }, { ts: 12 * MIN, host: 'b', component: 'c', rss: 6 }]);
    const first = await run([a]);
    const again = batchOf([{ ts: 10 * MIN, host: 'a', component: 'c', rss: 5 }, { ts: 12 * MIN, host: 'b', component: 'c', rss: 7 }]);
    const resume = async (state: unknown) => {
      const t = testContext('ordered');
      t.ctx.catalog.restore(first.ctx.catalog.checkpoint());
      const op = watermark({ lateness: '10m', dedupe: true }, t.ctx);
      op.restore(state);
      const out = await firstValueFrom(op.apply(from([again])).pipe(toArray()));
      return { ...t, out };
    };
    const now = await resume(first.op.checkpoint());
    // The form written before the per-series rings: slices of time, key = series * span + offset.
    const span = 10 * MIN;
    const before = await resume({ maxTs: 12 * MIN, segments: [{ start: 10 * MIN, seen: new Map([[0 * span + 0, 5], [1 * span + 2 * MIN, 6]]) }] });
    for (const r of [now, before]) {
      expect(r.out.reduce((n, b) => n + b.data.numRows, 0)).toBe(0);
      expect(r.metrics.total('samples_dropped', { reason: 'duplicate' })).toBe(1);
      expect(r.deadLetter.rejections).toMatchObject([{ reason: 'conflict', field: 'rss' }]);
    }
  });

  it('refuses a negative lateness when built', () => {
    expect(() => watermark({ lateness: -5, dedupe: true }, testContext().ctx)).toThrow(/lateness/);
  });
});
