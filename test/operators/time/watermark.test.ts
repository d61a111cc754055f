import { firstValueFrom, from, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { floatColumn, type SampleBatch } from '../../../engine/telemetry/schema.js';
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

  it('forgets keys once the watermark has passed them, keeping state bounded', async () => {
    const batches = Array.from({ length: 200 }, (_, k) => batchOf([{ ts: k * 5 * MIN, host: 'a', component: 'c', rss: k }]));
    const { op } = await run(batches);
    const state = op.checkpoint() as { segments: { seen: Map<number, number> }[] };
    expect(state.segments.length).toBeLessThanOrEqual(3);
    expect(state.segments.reduce((s, g) => s + g.seen.size, 0)).toBeLessThanOrEqual(6);
  });

  it('refuses a negative lateness when built', () => {
    expect(() => watermark({ lateness: -5, dedupe: true }, testContext().ctx)).toThrow(/lateness/);
  });
});
