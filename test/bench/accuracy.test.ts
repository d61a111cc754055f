import { describe, expect, it } from 'vitest';
import { FleetSimulator } from '../../connectors/simulator/simulator.js';
import { dictColumn, floatColumn } from '../../engine/telemetry/schema.js';
import type { Baseline } from '../../bench/accuracy/baselines.js';
import { baselineFlags, hourlyMeans } from '../../bench/accuracy/hourly.js';
import {
  distinctAlerts, falsePositiveCauses, percentile, scoreComponents, scoreProcesses,
  type AlertLike, type BehaviourLike, type LeakTruth,
} from '../../bench/accuracy/score.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

const leak = (host: string, pattern: string, startH: number, component = 'api', proc = component): LeakTruth =>
  ({ host, component, process: proc, pattern, start: T0 + startH * H });

const proc = (id: string, host: string, detectedH: number, o: Partial<AlertLike> = {}): AlertLike => ({
  id, level: 'process', component: 'api', host, process: 'api', start: T0 + (detectedH - 10) * H, detected_at: T0 + detectedH * H,
  pattern: 'steady', ...o,
});

const comp = (id: string, component: string, detectedH: number): AlertLike =>
  ({ id, level: 'component', component, host: null, process: null, start: T0 + (detectedH - 5) * H, detected_at: T0 + detectedH * H });

describe('percentile', () => {
  it('interpolates between ranks and is null on nothing', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([7], 0.9)).toBe(7);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentile([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9)).toBeCloseTo(90);
  });
});

describe('distinctAlerts', () => {
  it('counts open, update and resolved of one id once, at its earliest detection, with its latest pattern', () => {
    const raised = distinctAlerts([
      proc('a', 'h1', 30, { pattern: 'unknown' }),
      proc('b', 'h2', 40),
      proc('a', 'h1', 30, { pattern: 'stair' }),
      proc('a', 'h1', 30, { pattern: 'stair' }),
    ]);
    expect(raised.map((a) => a.id)).toEqual(['a', 'b']);
    expect(raised[0]!.pattern).toBe('stair');
    expect(raised[0]!.detected_at).toBe(T0 + 30 * H);
  });

  it('keeps the earliest detected_at when emissions arrive out of order', () => {
    const [a] = distinctAlerts([proc('a', 'h1', 50), proc('a', 'h1', 35)]);
    expect(a!.detected_at).toBe(T0 + 35 * H);
  });
});

describe('scoreProcesses', () => {
  const leaks = [leak('h1', 'steady', 100), leak('h2', 'steady', 100), leak('h3', 'stair', 200), leak('h4', 'spike', 50)];

  it('computes precision, recall, F1 and latency percentiles from the first alert after each start', () => {
    const alerts = distinctAlerts([
      proc('a1', 'h1', 110), proc('a1', 'h1', 110), proc('a1b', 'h1', 105), // two ids on h1: the earlier one counts
      proc('a2', 'h2', 130),
      proc('a4', 'h4', 52, { pattern: 'spike' }),
      proc('x', 'h9', 70), proc('x2', 'h9', 90), // one healthy unit, two false pages
      proc('y', 'h8', 75),
    ]);
    const s = scoreProcesses(leaks, alerts, 1000);
    expect(s.leaks).toBe(4);
    expect(s.detected).toBe(3);
    expect(s.false_units).toBe(2);
    expect(s.false_alerts).toBe(3);
    expect(s.precision).toBeCloseTo(3 / 5);
    expect(s.recall).toBeCloseTo(3 / 4);
    expect(s.f1).toBeCloseTo((2 * 0.6 * 0.75) / 1.35);
    // Latencies 5, 30, 2 h.
    expect(s.latency_p50_h).toBeCloseTo(5);
    expect(s.latency_p90_h).toBeCloseTo(5 + 0.8 * 25);
    expect(s.missed.map((l) => l.host)).toEqual(['h3']);
    expect(s.by_pattern.steady).toMatchObject({ leaks: 2, detected: 2, recall: 1, pattern_agrees: 2 });
    expect(s.by_pattern.stair).toMatchObject({ leaks: 1, detected: 0, recall: 0, latency_p50_h: null });
    expect(s.by_pattern.spike).toMatchObject({ leaks: 1, detected: 1, latency_p50_h: 2, pattern_agrees: 1 });
    expect(s.healthy_units).toBe(996);
    expect(s.false_alarm_rate).toBeCloseTo(2 / 996);
  });

  it('counts an alert raised before the leak started as a false positive, not as its detection', () => {
    const early = scoreProcesses([leak('h1', 'steady', 100)], distinctAlerts([proc('e', 'h1', 99)]), 10);
    expect(early.detected).toBe(0);
    expect(early.false_units).toBe(1);
    expect(early.false_units_early).toBe(1);
    expect(early.precision).toBe(0);
    expect(early.recall).toBe(0);
    expect(early.f1).toBe(0);
    // The healthy rate leaves the early unit out: it is not healthy.
    expect(early.false_alarm_rate).toBe(0);
    expect(early.false_alarms[0]!.leak_start).toBe(T0 + 100 * H);

    // A later alert on the same unit still detects the leak; the early one stays false.
    const both = scoreProcesses([leak('h1', 'steady', 100)], distinctAlerts([proc('e', 'h1', 99), proc('l', 'h1', 124)]));
    expect(both.detected).toBe(1);
    expect(both.false_units).toBe(1);
    expect(both.precision).toBe(0.5);
    expect(both.latency_p50_h).toBe(24);
  });

  it('detects at exactly the leak start, and leaves precision undefined when nothing was raised', () => {
    expect(scoreProcesses([leak('h1', 'steady', 100)], distinctAlerts([proc('a', 'h1', 100)])).latency_p50_h).toBe(0);
    const none = scoreProcesses([leak('h1', 'steady', 100)], []);
    expect(none.precision).toBeNull();
    expect(none.recall).toBe(0);
    expect(none.f1).toBeNull();
  });

  it('ignores component-level alerts and separates processes of one host and component', () => {
    const leaks2 = [leak('h1', 'steady', 10, 'pool', 'worker-1')];
    const s = scoreProcesses(leaks2, distinctAlerts([
      proc('w2', 'h1', 20, { component: 'pool', process: 'worker-2' }),
      comp('c', 'pool', 20),
    ]));
    expect(s.detected).toBe(0);
    expect(s.false_units).toBe(1);
  });
});

describe('scoreComponents', () => {
  it('is true when the component had a leak that started before detection', () => {
    const leaks = [leak('h1', 'steady', 100, 'api'), leak('h2', 'steady', 300, 'api'), leak('h3', 'stair', 50, 'db')];
    const s = scoreComponents(leaks, distinctAlerts([
      comp('c1', 'api', 90), // before any api leak: false
      comp('c2', 'api', 120), comp('c2', 'api', 120),
      comp('c3', 'cache', 10), // no leak at all
      comp('c4', 'db', 58),
      proc('p', 'h1', 120),
    ]));
    expect(s).toMatchObject({ leaking: 2, detected: 2, alerts: 4, true_alerts: 2, false_alerts: 2, false_components: ['api', 'cache'] });
    expect(s.precision).toBe(0.5);
    expect(s.recall).toBe(1);
    // Latencies from each component's first leak: api 20 h, db 8 h.
    expect(s.latency_p50_h).toBe(14);
  });
});

describe('falsePositiveCauses', () => {
  const b = (kind: string, host: string, startH: number, endH: number, component: string | null = 'api'): BehaviourLike =>
    ({ kind, host, component, process: component, start: T0 + startH * H, end: T0 + endH * H });

  it('labels each false alarm with the behaviours of its unit or host between its start and its detection', () => {
    const alarms = scoreProcesses([leak('h5', 'steady', 500)], distinctAlerts([
      proc('a', 'h1', 100, { start: T0 + 80 * H }),
      proc('b', 'h2', 100, { start: T0 + 80 * H }),
      proc('c', 'h5', 100, { start: T0 + 90 * H }),
    ])).false_alarms;
    const causes = falsePositiveCauses(alarms, [
      b('restart', 'h1', 78, 78), b('warmup', 'h1', 78, 90), // restart 2 h before the alert's start: within the look-back
      b('spike', 'h1', 101, 102), // after detection
      b('rollout', 'h1', 20, 21, 'db'), // another component
      b('gap', 'h2', 95, 96, null), // whole-host
      b('workload_shift', 'h2', 40, 45), // long before
    ], 6 * H);
    expect(causes.alarms).toBe(3);
    expect(causes.by_kind).toEqual({ gap: 1, leak_later: 1, restart: 1, warmup: 1 });
    expect(causes.by_combination).toEqual({ gap: 1, leak_later: 1, 'restart+warmup': 1 });
  });

  it('says none when nothing overlaps', () => {
    const alarms = scoreProcesses([], distinctAlerts([proc('a', 'h1', 100)])).false_alarms;
    expect(falsePositiveCauses(alarms, [b('spike', 'h1', 10, 11)]).by_kind).toEqual({ none: 1 });
  });
});

describe('hourlyMeans', () => {
  it('averages each series hour exactly as the Arrow batches would, and flags an hour after its point', () => {
    const opts = { hosts: 4, components: 3, days: 1, seed: 7 };
    const m = hourlyMeans(new FleetSimulator(opts), 1000);
    const sim = new FleetSimulator(opts);
    expect(m.series).toBe(sim.plan.seriesCount);
    expect(m.hours).toBe(24);
    const sums = new Map<string, [number, number]>();
    for (const batch of sim.batches()) {
      const ts = floatColumn(batch.data, 'ts'), rss = floatColumn(batch.data, 'rss');
      const host = dictColumn(batch.data, 'host'), component = dictColumn(batch.data, 'component'), process = dictColumn(batch.data, 'process');
      for (let i = 0; i < batch.data.numRows; i++) {
        const k = `${host.values[host.indices[i]!]}|${component.values[component.indices[i]!]}|${process.values[process.indices[i]!]}|${Math.floor((ts[i]! - m.startMs) / H)}`;
        const e = sums.get(k) ?? [0, 0];
        e[0] += rss[i]!;
        e[1]++;
        sums.set(k, e);
      }
    }
    let seen = 0;
    for (let s = 0; s < m.series; s++) {
      const u = m.units[s]!;
      for (let h = 0; h < m.hours; h++) {
        const e = sums.get(`${u.host}|${u.component}|${u.process}|${h}`);
        const v = m.mean[s * m.hours + h]!;
        if (e === undefined) expect(v).toBeNaN();
        else { expect(v).toBeCloseTo(e[0] / e[1], 0); seen++; }
      }
    }
    expect(seen).toBe(sums.size);

    // A rule flagging each series' third point (and, asked again, the point asked for) is
    // raised an hour after it; only a series whose leak began after that flag is asked again.
    m.mean[1] = NaN; // series 0 loses hour 1: its third point is hour 3
    const asked: number[] = [];
    const third: Baseline = {
      name: 'third',
      first: (ts) => (ts.length > 2 ? ts[2]! : null),
      firstFrom: (ts, _rss, k) => { asked.push(k); return ts[k]!; },
    };
    const leakStart = new Float64Array(m.series).fill(NaN);
    leakStart[0] = m.startMs + 9.5 * H; // in hour 9, which is point 8 of series 0
    leakStart[1] = m.startMs + 2 * H; // before its flag at 3 h: the flag is not early
    const flags = baselineFlags(m, third, leakStart);
    expect(flags.first[0]).toBe(m.startMs + 4 * H);
    expect(flags.first[1]).toBe(m.startMs + 3 * H);
    expect(asked).toEqual([8]);
    expect(flags.afterLeak[0]).toBe(m.startMs + 10 * H);
    expect(flags.afterLeak[1]).toBeNaN();
  });
});
