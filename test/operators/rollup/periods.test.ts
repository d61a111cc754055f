import { describe, expect, it } from 'vitest';
import type { RollupBatch } from '../../../engine/telemetry/rollup.js';
import { Periods } from '../../../operators/rollup/periods.js';
import type { OutlierRule } from '../../../operators/rollup/robustMean.js';
import { plainFence, random } from './plainRule.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const KEEP = 12;
const rule: OutlierRule = { threshold: 3.5, minSpread: 0.01, minSamples: 3 };

/** Mean and max of one series' period written out plainly: the fence of the first `keep` values judges them all. */
function plainRollup(xs: number[]): { mean: number; max: number } {
  const [lo, hi] = plainFence(xs.slice(0, KEEP), rule);
  let kept = xs.filter((v) => v >= lo && v <= hi);
  if (kept.length === 0) kept = xs;
  return { mean: kept.reduce((a, b) => a + b, 0) / kept.length, max: Math.max(...xs) };
}

describe('Periods', () => {
  it('gives the mean and max of the plain rule, bit for bit, for cells at rest, drifting, noisy, past keep and wide', () => {
    const rnd = random(11);
    const cells: number[][] = [];
    for (let s = 0; s < 3000; s++) {
      const n = 1 + (s % 20);
      const base = 4096 * Math.round(1e4 + rnd() * 1e6);
      const kind = s % 6;
      cells.push(Array.from({ length: n }, (_, i) => {
        if (kind === 0) return base; // at rest
        if (kind === 1) return base + 4096 * i * Math.round(rnd() * 30); // a slow leak: within the floor or just past it
        if (kind === 2) return Math.round(base * (1 + 0.1 * (rnd() - 0.5))); // noisy
        if (kind === 3) return rnd() < 0.15 ? base * 8 : base + 4096 * Math.round(rnd() * 10); // spikes
        if (kind === 4) return i === 3 ? base + 2 ** 33 : base; // a jump past 2 GiB: the cell turns wide
        return base - 4096 * i; // shrinking
      }));
    }
    // Every series' values in time order, the series interleaved as a fleet reports them.
    const rows: { s: number; ts: number; v: number }[] = [];
    for (let i = 0; i < 20; i++) {
      for (let s = 0; s < cells.length; s++) if (i < cells[s]!.length) rows.push({ s, ts: T0 + i * 150_000, v: cells[s]![i]! });
    }
    const periods = new Periods({ period: HOUR, slots: 2, keep: KEEP, rule });
    const out: RollupBatch[] = [];
    const listener = { period: (b: RollupBatch) => out.push(b), late: () => {} };
    periods.add({
      length: rows.length, series: Int32Array.from(rows, (r) => r.s), ts: Float64Array.from(rows, (r) => r.ts),
      rss: Float64Array.from(rows, (r) => r.v), pid: null, pidValid: null,
    }, cells.length, T0, listener);
    periods.closeBelow(Math.floor(T0 / HOUR) + 1, T0 + HOUR, listener);
    expect(out).toHaveLength(1);
    const batch = out[0]!;
    expect(batch.length).toBe(cells.length);
    const wrong: string[] = [];
    let trimmed = 0;
    for (let j = 0; j < batch.length; j++) {
      const xs = cells[batch.series[j]!]!;
      const want = plainRollup(xs);
      if (!Object.is(batch.mean[j], want.mean) || !Object.is(batch.max[j], want.max) || batch.count[j] !== xs.length) {
        wrong.push(`series ${batch.series[j]}: ${batch.mean[j]}/${batch.max[j]} for ${want.mean}/${want.max}`);
      }
      if (want.mean !== xs.reduce((a, b) => a + b, 0) / xs.length) trimmed++;
    }
    expect(wrong).toEqual([]);
    // Outliers were dropped from some means, so the fenced branch was compared too.
    expect(trimmed).toBeGreaterThan(300);
  });
});
