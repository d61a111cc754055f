import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../connectors/simulator/random.js';
import { RecentSamples, Seen } from '../../../operators/time/recentSamples.js';

const MIN = 60_000, DAY = 86_400_000;
const LATENESS = 10 * MIN;

interface Stream { series: Int32Array; ts: Float64Array; values: Float64Array; count: number }

/** What the watermark makes of each sample: late, or what `see` answered (with the prior value of a conflict). */
type Verdict = 'late' | Seen | [Seen, number];

function judge(recent: RecentSamples, s: number, t: number, v: number, newest: number): Verdict {
  const mark = newest - LATENESS;
  if (t < mark) return 'late';
  const seen = recent.see(s, t, v, mark);
  return seen === Seen.conflict ? [seen, recent.prior] : seen;
}

/** Every sample through `see`, one at a time. */
function oneByOne(stream: Stream, batches: number[]): { verdicts: Verdict[]; recent: RecentSamples } {
  const recent = new RecentSamples(LATENESS);
  recent.ensure(stream.count);
  const verdicts: Verdict[] = [];
  const ends = new Set(batches);
  let newest = -Infinity;
  for (let i = 0; i < stream.ts.length; i++) {
    const t = stream.ts[i]!;
    if (t > newest) newest = t;
    verdicts.push(judge(recent, stream.series[i]!, t, stream.values[i]!, newest));
    if (ends.has(i + 1)) recent.expire(newest - LATENESS);
  }
  return { verdicts, recent };
}

/** The same samples in batches, as the watermark takes them: `admit` for runs of new ones, `see` for the rest. */
function inRuns(stream: Stream, batches: number[]): { verdicts: Verdict[]; recent: RecentSamples; admitted: number } {
  const recent = new RecentSamples(LATENESS);
  recent.ensure(stream.count);
  const verdicts: Verdict[] = [];
  let newest = -Infinity, admitted = 0;
  for (let b = 0; b < batches.length; b++) {
    const from = b === 0 ? 0 : batches[b - 1]!, to = batches[b]!;
    const series = stream.series.subarray(from, to), ts = stream.ts.subarray(from, to), values = stream.values.subarray(from, to);
    for (let i = 0; i < to - from; i++) {
      const j = recent.admit(series, ts, values, i, to - from, newest, LATENESS);
      admitted += j - i;
      for (; i < j; i++) verdicts.push(Seen.new);
      newest = recent.newest;
      if (i === to - from) break;
      const t = ts[i]!;
      if (t > newest) newest = t;
      verdicts.push(judge(recent, series[i]!, t, values[i]!, newest));
    }
    recent.expire(newest - LATENESS);
  }
  return { verdicts, recent, admitted };
}

/**
 * A fleet's samples at `step`, in time order, with `faults` of them repeated, repeated
 * with another value, out of order or late (of series `count` only late). Times are whole ms with up to a second of
 * jitter, or whole minutes with `grid` (so that ring samples fall on the watermark
 * exactly); `oddTimes` and `oddValues` add times and values the Int32 and Float32 rings
 * cannot hold, `gap` a jump of that many days part way.
 */
function fleet(seed: number, opts: FleetOptions): Stream {
  const rnd = mulberry32(seed);
  const series: number[] = [], ts: number[] = [], values: number[] = [];
  const push = (s: number, t: number, v: number) => { series.push(s); ts.push(t); values.push(v); };
  const offset = (span: number) => (opts.grid ? MIN * Math.floor(rnd() * span / MIN) : Math.floor(rnd() * span));
  let base = Date.UTC(2026, 0, 1);
  for (let k = 0; k < opts.ticks; k++) {
    if (opts.gap !== undefined && k === opts.ticks >> 1) base += opts.gap * DAY;
    for (let s = 0; s < opts.count; s++) {
      const t = base + k * opts.step + (opts.grid ? 0 : Math.floor(rnd() * 1000));
      let v = 4096 * (1 + Math.floor(rnd() * 50_000));
      if (opts.oddValues && rnd() < 0.01) v += 1 + rnd();
      push(s, opts.oddTimes && rnd() < 0.01 ? t + 0.25 : t, v);
      if (rnd() < opts.faults) {
        // A recent sample: most are still within the lateness.
        const j = ts.length - 1 - Math.floor(rnd() * Math.min(ts.length, 3 * opts.count));
        const kind = rnd();
        if (kind < 0.35) push(series[j]!, ts[j]!, values[j]!);
        else if (kind < 0.5) push(series[j]!, ts[j]!, values[j]! + 4096);
        else if (kind < 0.65) push(s, t - offset(2 * LATENESS), v + 4096);
        // Series `count` has nothing else: late, it is still newer than its newest.
        else if (kind < 0.8) push(opts.count, t - offset(2 * LATENESS), v);
        else push(s, t + offset(opts.step), v);
      }
    }
  }
  return { series: Int32Array.from(series), ts: Float64Array.from(ts), values: Float64Array.from(values), count: opts.count + 1 };
}

interface FleetOptions { count: number; ticks: number; step: number; faults: number; grid?: boolean; oddTimes?: boolean; oddValues?: boolean; gap?: number }

function cuts(seed: number, n: number): number[] {
  const rnd = mulberry32(seed);
  const out: number[] = [];
  for (let at = 0; at < n;) out.push(at = Math.min(n, at + 1 + Math.floor(rnd() * 700)));
  return out;
}

describe('RecentSamples.admit', () => {
  const cases: [string, FleetOptions][] = [
    ['a fleet at 5 minutes with repeats, conflicts, late and out-of-order samples', { count: 40, ticks: 200, step: 5 * MIN, faults: 0.05 }],
    ['samples on a grid of minutes, rings full up to the watermark', { count: 16, ticks: 300, step: 150_000, faults: 0.05, grid: true }],
    ['a fleet sampled faster than its lateness (rings grow and spill)', { count: 12, ticks: 400, step: 20_000, faults: 0.05 }],
    ['values Float32 does not hold (Float64 values)', { count: 30, ticks: 150, step: 5 * MIN, faults: 0.1, oddValues: true }],
    ['fractional times (Float64 times)', { count: 30, ticks: 150, step: 5 * MIN, faults: 0.1, oddTimes: true }],
    ['a 30-day gap (the origin moves)', { count: 30, ticks: 100, step: 5 * MIN, faults: 0.05, gap: 30 }],
    ['a clean fleet, every sample new', { count: 50, ticks: 100, step: 5 * MIN, faults: 0 }],
  ];
  for (const [name, opts] of cases) {
    it(`answers as \`see\` one sample at a time does: ${name}`, () => {
      for (const seed of [1, 2, 3]) {
        const stream = fleet(seed, opts);
        const batches = cuts(seed, stream.ts.length);
        const a = oneByOne(stream, batches), b = inRuns(stream, batches);
        expect(b.verdicts).toEqual(a.verdicts);
        expect(b.recent.checkpoint(stream.count)).toEqual(a.recent.checkpoint(stream.count));
        // The loop takes the common case itself (the comparison would hold trivially otherwise).
        if (!opts.oddTimes) expect(b.admitted).toBeGreaterThan(stream.ts.length / 2);
      }
    });
  }
});
