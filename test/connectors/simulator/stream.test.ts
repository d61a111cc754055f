import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { FleetSimulator } from '../../../connectors/simulator/simulator.js';
import { resolveOptions } from '../../../connectors/simulator/options.js';
import { collect } from './collect.js';

const SMALL = { hosts: 40, components: 6, days: 3, seed: 7 };

/** Byte equality of two typed arrays (element-wise matchers are too slow for 100k rows). */
function same(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('simulator stream', () => {
  it('is deterministic: the same options give identical batches, another seed does not', () => {
    const a = [...new FleetSimulator(SMALL).batches()];
    const b = [...new FleetSimulator(SMALL).batches()];
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) {
      for (const name of ['ts', 'rss', 'pid', 'host_mem', 'host', 'component', 'process', 'region', 'cluster', 'version'] as const) {
        expect(same(a[i]!.data.getChild(name)!.data[0]!.values, b[i]!.data.getChild(name)!.data[0]!.values)).toBe(true);
      }
      expect(a[i]!.watermark).toBe(b[i]!.watermark);
    }
    const c = collect(new FleetSimulator({ ...SMALL, seed: 8 }));
    const d = collect(new FleetSimulator(SMALL));
    expect(same(c.rss.subarray(0, 1000), d.rss.subarray(0, 1000))).toBe(false);
  });

  it('emits the same rows whatever the batch size, in batches of exactly that size', () => {
    const sim = new FleetSimulator(SMALL);
    const big = collect(sim, 65536);
    const odd = collect(sim, 777);
    expect(odd.n).toBe(big.n);
    expect(same(odd.ts.subarray(0, odd.n), big.ts.subarray(0, big.n))).toBe(true);
    expect(same(odd.rss.subarray(0, odd.n), big.rss.subarray(0, big.n))).toBe(true);
    expect(same(odd.pid.subarray(0, odd.n), big.pid.subarray(0, big.n))).toBe(true);
    expect(same(odd.series.subarray(0, odd.n), big.series.subarray(0, big.n))).toBe(true);
    expect(odd.batchSizes.slice(0, -1).every((m) => m === 777)).toBe(true);
    expect(odd.batchSizes.at(-1)!).toBeGreaterThan(0);
    expect(odd.batchSizes.at(-1)!).toBeLessThanOrEqual(777);

    const viaOption = new FleetSimulator({ ...SMALL, batch_size: 5000 });
    const sizes = [...viaOption.batches()].map((b) => b.data.numRows);
    expect(sizes.slice(0, -1).every((m) => m === 5000)).toBe(true);
  });

  it('reuses one dictionary per string column across batches', () => {
    const batches = [...new FleetSimulator({ ...SMALL, batch_size: 4096 }).batches()];
    expect(batches.length).toBeGreaterThan(3);
    for (const name of ['host', 'component', 'process', 'region', 'cluster', 'version'] as const) {
      const first = batches[0]!.data.getChild(name)!.data[0]!.dictionary!.data[0];
      for (const b of batches) expect(b.data.getChild(name)!.data[0]!.dictionary!.data[0]).toBe(first);
    }
  });

  it('keeps event-time order except held-back rows, which trail by at most 10 minutes', () => {
    const sim = new FleetSimulator({ ...SMALL, late_rate: 0.01, duplicate_rate: 0.01 });
    const c = collect(sim, 3000);
    let maxTs = -Infinity, behind = 0, worst = 0;
    for (let i = 0; i < c.n; i++) {
      const t = c.ts[i]!;
      if (t < maxTs) {
        behind++;
        worst = Math.max(worst, maxTs - t);
      }
      maxTs = Math.max(maxTs, t);
    }
    expect(behind).toBeGreaterThan(0);
    expect(behind).toBeLessThanOrEqual(c.stream.late + c.stream.duplicates);
    expect(worst).toBeLessThanOrEqual(600_000);
    // No row ever arrives below a watermark already announced.
    let offset = 0;
    for (let b = 1; b < c.batchSizes.length; b++) {
      offset += c.batchSizes[b - 1]!;
      const wm = c.watermarks[b - 1]!;
      let min = Infinity;
      for (let i = offset; i < offset + c.batchSizes[b]!; i++) min = Math.min(min, c.ts[i]!);
      expect(min).toBeGreaterThanOrEqual(wm);
    }
    for (let b = 1; b < c.watermarks.length; b++) expect(c.watermarks[b]!).toBeGreaterThanOrEqual(c.watermarks[b - 1]!);
  });

  it('loses, duplicates and delays samples at the configured rates; duplicates are exact and later', () => {
    const rates = { missing_rate: 0.02, duplicate_rate: 0.015, late_rate: 0.01 };
    const sim = new FleetSimulator({ ...SMALL, hosts: 60, ...rates });
    const truth = sim.truth();
    const c = collect(sim);
    const expected = truth.params.expected_samples;
    // Samples lost to whole-host agent gaps, from the truth.
    const perHost = new Map<string, number>();
    for (let s = 0; s < sim.plan.seriesCount; s++) {
      const h = sim.plan.hostNames[sim.plan.seriesHost[s]!]!;
      perHost.set(h, (perHost.get(h) ?? 0) + 1);
    }
    let gapSamples = 0;
    for (const g of truth.behaviours) if (g.kind === 'gap') gapSamples += ((g.end - g.start) / truth.params.interval_ms) * perHost.get(g.host)!;

    const seen = new Map<string, number>();
    let dups = 0;
    for (let i = 0; i < c.n; i++) {
      const key = `${c.series[i]}|${c.ts[i]}`;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, i);
        continue;
      }
      dups++;
      expect(c.rss[i]).toBe(c.rss[first]!);
      expect(c.pid[i]).toBe(c.pid[first]!);
      expect(c.version[i]).toBe(c.version[first]!);
    }
    const unique = seen.size;
    expect(unique + dups).toBe(c.n);
    expect(dups).toBe(c.stream.duplicates);
    const dropped = expected - unique - gapSamples;
    // Sampling error of ~50k Bernoulli draws: a few percent either way.
    const nonGap = expected - gapSamples;
    expect(dropped / nonGap).toBeGreaterThan(rates.missing_rate * 0.85);
    expect(dropped / nonGap).toBeLessThan(rates.missing_rate * 1.15);
    expect(dups / nonGap).toBeGreaterThan(rates.duplicate_rate * 0.85);
    expect(dups / nonGap).toBeLessThan(rates.duplicate_rate * 1.15);
    expect(c.stream.late / nonGap).toBeGreaterThan(rates.late_rate * 0.85);
    expect(c.stream.late / nonGap).toBeLessThan(rates.late_rate * 1.15);
    expect(c.stream.missing).toBe(expected - unique);
  });

  // A forced gc() still leaves what V8 has not yet returned; on a loaded machine that can
  // reach the bound once, so a failure is retried (a real leak fails every time).
  it('generates with bounded memory: state does not grow with the span', { retry: 2 }, () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // About 10,000 processes; most batches are dropped at once, as a sink would.
    const sim = new FleetSimulator({ hosts: 2000, days: 60, batch_size: 65536 });
    expect(sim.plan.seriesCount).toBeGreaterThan(9000);
    const stream = sim.stream();
    const it = sim.batches(stream);
    const heap = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    for (let i = 0; i < 10; i++) it.next();
    const early = heap();
    let rows = 0;
    for (let i = 0; i < 40; i++) rows += it.next().value!.data.numRows;
    const late = heap();
    expect(rows).toBe(40 * 65536);
    // 2.6M rows went through (~140 MB of columns); what stays is a few batches' worth at most.
    expect(late - early).toBeLessThan(16 * 1024 * 1024);
  });

  it('rejects bad options when built', () => {
    expect(() => new FleetSimulator({ hosts: 0 })).toThrow(/hosts/);
    expect(() => new FleetSimulator({ interval: '5 minutes' as never })).toThrow(/interval/);
    expect(() => new FleetSimulator({ start: 'yesterday' })).toThrow(/start/);
    expect(() => new FleetSimulator({ leak_fraction: 2 })).toThrow(/leak_fraction/);
    expect(() => new FleetSimulator({ colour: 'red' } as never)).toThrow(/colour/);
    expect(resolveOptions({ interval: '10m', days: 1 }).ticks).toBe(144);
  });
});
