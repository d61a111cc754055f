import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FleetSimulator } from '../../../connectors/simulator/simulator.js';
import type { FleetTruth, TruthBehaviour, TruthLeak } from '../../../connectors/simulator/truth.js';
import { collect, rowsBySeries, type Collected } from './collect.js';

const OPTS = { hosts: 100, components: 6, days: 12, seed: 11, leak_fraction: 0.08 };
const DAY = 86_400_000;
const PAGE = 4096;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};

interface Fleet {
  sim: FleetSimulator;
  truth: FleetTruth;
  rows: Collected;
  bySeries: Int32Array[];
  /** rss of series s at tick k, NaN where no sample. */
  at(s: number, tick: number): number;
  seriesOf(host: string, process: string): number;
}

function fleet(opts: object): Fleet {
  const sim = new FleetSimulator(opts);
  const truth = sim.truth();
  const rows = collect(sim);
  const S = sim.plan.seriesCount, T = sim.options.ticks;
  const grid = new Float64Array(S * T).fill(NaN);
  for (let i = 0; i < rows.n; i++) grid[rows.series[i]! * T + (rows.ts[i]! - sim.options.startMs) / sim.options.intervalMs] = rows.rss[i]!;
  const index = new Map<string, number>();
  for (let s = 0; s < S; s++) index.set(`${sim.plan.hostNames[sim.plan.seriesHost[s]!]}|${sim.plan.processNames[sim.plan.seriesProcess[s]!]}`, s);
  return {
    sim, truth, rows, bySeries: rowsBySeries(rows, S),
    at: (s, k) => (k >= 0 && k < T ? grid[s * T + k]! : NaN),
    seriesOf: (h, p) => index.get(`${h}|${p}`)!,
  };
}

describe('simulator ground truth', () => {
  let A: Fleet;
  let B: Fleet;
  let tick: (ms: number) => number;
  beforeAll(() => {
    A = fleet(OPTS);
    // Same seed, no leaks: every other draw is identical, so A - B is the leak alone.
    B = fleet({ ...OPTS, leak_fraction: 0 });
    tick = (ms) => (ms - A.sim.options.startMs) / A.sim.options.intervalMs;
  });

  it('injects leak_fraction of the (host, component) pairs, at least one', () => {
    expect(A.truth.leaks.length).toBe(Math.round(OPTS.leak_fraction * A.truth.params.pairs));
    expect(B.truth.leaks.length).toBe(0);
    expect(new FleetSimulator({ hosts: 3, components: 2, days: 2 }).truth().leaks.length).toBe(1);
    const patterns = new Set(A.truth.leaks.map((l) => l.pattern));
    expect(patterns).toEqual(new Set(['steady', 'stair', 'spike']));
    for (const l of A.truth.leaks) {
      expect(l.rate_per_day).toBeGreaterThanOrEqual(0.015);
      expect(l.rate_per_day).toBeLessThanOrEqual(0.3);
      expect(l.start).toBeGreaterThanOrEqual(A.truth.params.leak_window[0]);
      expect(l.start).toBeLessThanOrEqual(A.truth.params.leak_window[1]);
    }
    expect(A.truth.leaks.some((l) => l.restarts.length > 0)).toBe(true);
    expect(A.truth.leaks.some((l) => l.restarts.length === 0)).toBe(true);
  });

  it('grows each leak at its rate from its start, frees it at every restart, and resumes', () => {
    for (const leak of A.truth.leaks) {
      const s = A.seriesOf(leak.host, leak.process);
      const start = tick(leak.start);
      const diff = (k: number) => A.at(s, k) - B.at(s, k);
      // Nothing before the start.
      let early = 0;
      for (let k = 0; k < start; k++) if (Math.abs(diff(k)) > PAGE) early++;
      expect(early).toBe(0);
      // Each stretch between restarts restarts from zero and grows at the rate on average.
      const cuts = [start, ...leak.restarts.map(tick), A.sim.options.ticks];
      const perTick = leak.bytes_per_day / (DAY / A.sim.options.intervalMs);
      for (let i = 0; i + 1 < cuts.length; i++) {
        const from = cuts[i]!, to = cuts[i + 1]!;
        // One point of growth at most: a spike leak's point can be a jump of up to four days' worth.
        const firstPoint = leak.pattern === 'spike' ? 1.5 * 4 * leak.bytes_per_day : 1.5 * 13 * perTick;
        if (!Number.isNaN(diff(from))) expect(diff(from)).toBeLessThanOrEqual(firstPoint + 2 * PAGE);
        let last = to - 1;
        while (last > from && Number.isNaN(diff(last))) last--;
        const days = (last - from + 1) / (DAY / A.sim.options.intervalMs);
        const grown = diff(last);
        if (leak.pattern === 'steady') {
          // Growth follows the daily load (+-50 %), so a partial day is off by up to a sixth of a day's leak.
          expect(Math.abs(grown - leak.bytes_per_day * days)).toBeLessThanOrEqual(0.2 * leak.bytes_per_day + 2 * PAGE);
        } else if (days >= 5) {
          expect(grown / (leak.bytes_per_day * days)).toBeGreaterThan(0.35);
          expect(grown / (leak.bytes_per_day * days)).toBeLessThan(2);
        }
        // Never released while the process lives.
        let prev = -Infinity, drops = 0;
        for (let k = from; k < to; k++) {
          const d = diff(k);
          if (Number.isNaN(d)) continue;
          if (d < prev - 2 * PAGE) drops++;
          prev = d;
        }
        expect(drops).toBe(0);
      }
    }
  });

  it('shapes stair leaks as flat segments between growing ones and spike leaks as jumps within a few points', () => {
    const perDay = DAY / A.sim.options.intervalMs;
    let stairs = 0, spikes = 0;
    for (const leak of A.truth.leaks) {
      if (leak.pattern === 'steady') continue;
      const s = A.seriesOf(leak.host, leak.process);
      const start = tick(leak.start);
      const end = leak.restarts.length ? tick(leak.restarts[0]!) : A.sim.options.ticks;
      const step: number[] = [];
      for (let k = start; k < end; k++) {
        const d = (A.at(s, k) - B.at(s, k)) - (A.at(s, k - 1) - B.at(s, k - 1));
        if (!Number.isNaN(d)) step.push(d);
      }
      if (step.length < perDay) continue;
      const flat = step.filter((d) => Math.abs(d) <= 2 * PAGE).length / step.length;
      const perTick = leak.bytes_per_day / perDay;
      if (leak.pattern === 'stair') {
        stairs++;
        expect(flat).toBeGreaterThan(0.3);
        expect(flat).toBeLessThan(0.98);
      } else {
        spikes++;
        expect(flat).toBeGreaterThan(0.9);
        // A jump: at least a day's worth of leak (half of it at night) within three points.
        let jump = 0;
        for (let j = 2; j < step.length; j++) jump = Math.max(jump, step[j]! + step[j - 1]! + step[j - 2]!);
        expect(jump).toBeGreaterThan(0.4 * perTick * perDay);
      }
    }
    expect(stairs + spikes).toBeGreaterThan(0);
  });

  it('makes leaks visible in the raw series: the fitted slope matches the rate', () => {
    const perDay = DAY / A.sim.options.intervalMs;
    const ratios: number[] = [];
    for (const leak of A.truth.leaks) {
      if (leak.pattern !== 'steady' || leak.rate_per_day < 0.05) continue;
      const s = A.seriesOf(leak.host, leak.process);
      // The longest stretch without a restart, after the warm-up that followed one.
      const cuts = [tick(leak.start), ...leak.restarts.map(tick), A.sim.options.ticks];
      let best = [0, 0];
      for (let i = 0; i + 1 < cuts.length; i++) if (cuts[i + 1]! - cuts[i]! > best[1]! - best[0]!) best = [cuts[i]!, cuts[i + 1]!];
      const from = best[0]! + perDay / 2, to = best[1]!;
      if (to - from < 2 * perDay) continue;
      let n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
      for (let k = from; k < to; k++) {
        const y = A.at(s, k);
        if (Number.isNaN(y)) continue;
        const x = (k - from) / perDay;
        n++; sx += x; sy += y; sxx += x * x; sxy += x * y;
      }
      const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
      ratios.push(slope / leak.bytes_per_day);
    }
    expect(ratios.length).toBeGreaterThan(3);
    // Other behaviour on top (spikes, buffers, shifts) moves single fits, not the typical one.
    expect(median(ratios)).toBeGreaterThan(0.85);
    expect(median(ratios)).toBeLessThan(1.2);
  });

  it('changes the pid exactly at the restarts the truth lists', () => {
    const restarts = new Map<number, number[]>();
    for (const b of A.truth.behaviours) {
      if (b.kind !== 'restart') continue;
      const s = A.seriesOf(b.host, b.process!);
      restarts.set(s, [...(restarts.get(s) ?? []), b.start]);
    }
    let changes = 0, wrong = 0;
    for (let s = 0; s < A.sim.plan.seriesCount; s++) {
      const idx = [...A.bySeries[s]!].sort((i, j) => A.rows.ts[i]! - A.rows.ts[j]!);
      const times = restarts.get(s) ?? [];
      let r = 0;
      for (let j = 1; j < idx.length; j++) {
        const prev = A.rows.ts[idx[j - 1]!]!, cur = A.rows.ts[idx[j]!]!;
        while (r < times.length && times[r]! <= prev) r++;
        const restarted = r < times.length && times[r]! <= cur;
        if ((A.rows.pid[idx[j]!] !== A.rows.pid[idx[j - 1]!]) !== restarted) wrong++;
        if (restarted) changes++;
      }
    }
    expect(wrong).toBe(0);
    expect(changes).toBeGreaterThan(50);
  });

  it('labels every non-leak behaviour, and each shows in the samples as described', () => {
    const byKind = new Map<string, TruthBehaviour[]>();
    for (const b of A.truth.behaviours) byKind.set(b.kind, [...(byKind.get(b.kind) ?? []), b]);
    for (const kind of ['restart', 'warmup', 'rollout', 'workload_shift', 'spike', 'buffer', 'gap']) {
      expect(byKind.get(kind)?.length ?? 0, kind).toBeGreaterThan(0);
    }
    const S = (b: TruthBehaviour) => A.seriesOf(b.host, b.process!);
    const around = (s: number, k: number, before: number, after: number) => {
      const xs: number[] = [];
      for (let j = k - before; j < k + after; j++) if (!Number.isNaN(B.at(s, j))) xs.push(B.at(s, j));
      return median(xs);
    };

    // Rollouts change the version attribute of the samples at the host's update.
    let versionWrong = 0, versionChecked = 0;
    for (const r of byKind.get('rollout')!) {
      const s = S(r);
      for (const i of A.bySeries[s]!) {
        const v = A.sim.plan.versions[A.rows.version[i]!]!;
        if (A.rows.ts[i]! < r.start && v === r.to_version) versionWrong++;
        if (A.rows.ts[i]! === r.start && v !== r.to_version) versionWrong++;
        versionChecked++;
      }
    }
    expect(versionChecked).toBeGreaterThan(0);
    expect(versionWrong).toBe(0);

    // Warm-up: a deep-warming cache restarts well below where it was.
    const cache = byKind.get('warmup')!.filter((w) => w.depth! >= 0.5);
    expect(cache.length).toBeGreaterThan(0);
    const warmRatios = cache.map((w) => B.at(S(w), tick(w.start)) / around(S(w), tick(w.start), 12, 0)).filter(Number.isFinite);
    expect(median(warmRatios)).toBeLessThan(0.4);

    // Spikes rise by about their height and are released.
    const spikes = byKind.get('spike')!.filter((b) => b.height! > 0.3 && b.end - b.start >= 4 * A.sim.options.intervalMs);
    const rise = spikes.map((b) => {
      const s = S(b), k = tick(b.start);
      return B.at(s, k + 2) / around(s, k, 6, 0) - 1 - b.height!;
    }).filter(Number.isFinite);
    expect(Math.abs(median(rise))).toBeLessThan(0.06);
    const released = spikes.map((b) => {
      const s = S(b);
      return around(s, tick(b.end) + 3, 0, 6) / around(s, tick(b.start), 6, 0);
    }).filter(Number.isFinite);
    expect(Math.abs(median(released) - 1)).toBeLessThan(0.05);

    // Buffers grow during the outage by about their peak, then drain.
    const buffers = byKind.get('buffer')!.filter((b) => b.peak! > 0.3);
    expect(buffers.length).toBeGreaterThan(0);
    const peakErr = buffers.map((b) => {
      const s = S(b);
      return B.at(s, tick(b.outage_end!) - 1) / around(s, tick(b.start), 6, 0) - 1 - b.peak!;
    }).filter(Number.isFinite);
    expect(Math.abs(median(peakErr))).toBeLessThan(0.08);

    // Workload shifts move the level by their factor and stay.
    const shifts = byKind.get('workload_shift')!.filter((b) => Math.abs(b.factor! - 1) > 0.1);
    const shiftErr = shifts.map((b) => {
      const s = S(b);
      return around(s, tick(b.end), 0, 72) / around(s, tick(b.start), 72, 0) - b.factor!;
    }).filter(Number.isFinite);
    expect(shiftErr.length).toBeGreaterThan(0);
    expect(Math.abs(median(shiftErr))).toBeLessThan(0.08);

    // Agent gaps: nothing from the host while the agent is down.
    const gapsOf = new Map<string, TruthBehaviour[]>();
    for (const g of byKind.get('gap')!) gapsOf.set(g.host, [...(gapsOf.get(g.host) ?? []), g]);
    let inGap = 0;
    for (let i = 0; i < A.rows.n; i++) {
      const gaps = gapsOf.get(A.sim.plan.hostNames[A.sim.plan.seriesHost[A.rows.series[i]!]!]!);
      if (gaps?.some((g) => A.rows.ts[i]! >= g.start && A.rows.ts[i]! < g.end)) inGap++;
    }
    expect(inGap).toBe(0);
  });

  it('writes the same truth to a file as it returns in process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-truth-'));
    try {
      const path = join(dir, 'truth.json');
      A.sim.writeTruth(path);
      const read = JSON.parse(readFileSync(path, 'utf8')) as FleetTruth;
      expect(read).toEqual(JSON.parse(JSON.stringify(A.truth)));
      const leak: TruthLeak = read.leaks[0]!;
      expect(Object.keys(leak).sort()).toEqual(
        ['baseline_bytes', 'bytes_per_day', 'component', 'culprit', 'culprit_stack', 'host', 'pattern', 'process', 'rate_per_day', 'restarts', 'start', 'version', 'with_rollout'],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
