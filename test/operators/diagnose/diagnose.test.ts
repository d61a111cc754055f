import { Subject, from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../engine/alert.js';
import { ProfileError, type DiagnosisReport, type HeapSnapshot, type Profiler } from '../../../engine/diagnosis.js';
import { ConfigError } from '../../../engine/errors.js';
import { EventClock, WallClock, type DiagnosisClock } from '../../../operators/diagnose/clock.js';
import { diagnose, type DiagnoseOptions } from '../../../operators/diagnose/diagnose.js';
import { resolveOptions } from '../../../engine/pipeline/options.js';
import { diagnoseSpec } from '../../../operators/diagnose/diagnose.js';
import { testContext } from '../../helpers/samples.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-01-10T00:00:00Z');

function alert(id: string, over: Partial<Alert> = {}): Alert {
  return {
    id, level: 'process', state: 'open', component: 'svc', host: `host-${id}`, process: 'svc', pid: 100, region: 'r1',
    cluster: 'c1', start: T0 - 48 * HOUR, end: T0, detected_at: T0, at: T0, severity: 3, pattern: 'steady',
    rss: 1e9, rate: 1e6, bucket_mb: null, hosts: null, reason: 'test', ...over,
  };
}

/** A profiler whose leak grows 1 MB an hour on `leak` and which can fail on a given snapshot or at open. */
function fakeProfiler(clock: DiagnosisClock, failAt = 0, openError: ProfileError | null = null) {
  const state = { opened: 0, closed: 0, snapshots: 0 };
  const profiler: Profiler = {
    kind: 'fake',
    accepts: async () => true,
    open: async () => {
      if (openError) throw openError;
      state.opened++;
      const t0 = clock.now();
      let n = 0, closed = false;
      return {
        snapshot: async (): Promise<HeapSnapshot> => {
          n++;
          state.snapshots++;
          if (n === failAt) throw new ProfileError('exited', 'process 100 exited');
          const h = (clock.now() - t0) / HOUR;
          return {
            at: clock.now(),
            stacks: [
              { frames: [{ function: 'leak', file: 'a.c', line: 1 }], live_bytes: 1e6 + 1e6 * h, count: 10 },
              { frames: [{ function: 'steady', file: 'a.c', line: 2 }], live_bytes: 5e6, count: 10 },
            ],
            memory: { rss: 1e9 + 1e6 * h, heap_used: null, external: null, array_buffers: null },
          };
        },
        close: async () => {
          if (!closed) state.closed++;
          closed = true;
        },
      };
    },
  };
  return { profiler, state };
}

const OPTIONS = { profilers: ['simulated'], clock: 'event', period: '30m', time_limit: '6h', references: { enabled: false } };
const opts = (over: Record<string, unknown> = {}) => resolveOptions<DiagnoseOptions>(diagnoseSpec, { ...OPTIONS, ...over });

async function run(alerts: Alert[], over: Record<string, unknown> = {}, failAt = 0, openError: ProfileError | null = null) {
  const { ctx, metrics } = testContext('diag');
  const clock = new EventClock();
  const fake = fakeProfiler(clock, failAt, openError);
  const op = diagnose(opts(over), ctx, { clock, profilers: [{ name: 'fake', profiler: fake.profiler }] });
  const reports = await lastValueFrom(op.apply(from(alerts)).pipe(toArray()));
  await op.close?.();
  return { reports, state: fake.state, ctx, metrics };
}

describe('diagnose', () => {
  it('completes on the steady trigger, ranks the growing stack first and closes the session', async () => {
    const { reports, state, ctx } = await run([alert('a'), alert('a', { state: 'update', at: T0 + 12 * HOUR })]);
    expect(reports).toHaveLength(1);
    const r = reports[0]!;
    expect(r.outcome).toBe('localised');
    expect(r.trigger).toMatch(/^steady: R\^2/);
    expect(r.snapshots).toBe(3);
    expect(r.stacks[0]!.frames[0]!.function).toBe('leak');
    expect(r.ended_at - r.started_at).toBe(HOUR);
    expect(state).toEqual({ opened: 1, closed: 1, snapshots: 3 });
    expect(ctx.hosts.profiledHosts()).toEqual([]);
  });

  it('ends a failed collection with its reason, and closes the session', async () => {
    const { reports, state, ctx } = await run([alert('a'), alert('a', { state: 'update', at: T0 + 12 * HOUR })], {}, 2);
    expect(reports.map((r) => [r.outcome, r.reason])).toEqual([['failed', 'exited']]);
    expect(reports[0]!.trigger).toBe('failed: process 100 exited');
    expect(state.opened).toBe(1);
    expect(state.closed).toBe(1);
    expect(ctx.hosts.profiledHosts()).toEqual([]);
  });

  it('reports a profiler that cannot attach', async () => {
    const { reports, state } = await run([alert('a')], {}, 0, new ProfileError('permission', 'ptrace denied'));
    expect(reports.map((r) => [r.outcome, r.reason, r.trigger])).toEqual([['failed', 'permission', 'failed: ptrace denied']]);
    expect(state.opened).toBe(0);
  });

  it('profiles the top suspects of a component at once, within the per-cluster budget', async () => {
    const alerts = [1, 2, 3, 4, 5].map((i) => alert(`s${i}`, { severity: i, pattern: 'spike', rate: 0 }));
    const later = alert('x', { state: 'update', at: T0 + 30 * HOUR, component: 'other' });
    const started = (reports: DiagnosisReport[]) => Object.fromEntries(reports.filter((r) => r.alert_id !== 'x').map((r) => [r.alert_id, (r.started_at - T0) / HOUR]));

    // Two at a time, the most severe first: a spike without growth never triggers, so each runs to the 6-hour limit.
    const top = await run([...alerts, later], { top: 2 });
    expect(started(top.reports)).toEqual({ s5: 0, s4: 0, s3: 6, s2: 6, s1: 12 });
    expect(top.reports.filter((r) => r.alert_id !== 'x').every((r) => r.trigger === 'time limit (6h) reached')).toBe(true);

    // Five at once, but three starts per cluster and hour: the last two wait for the hour to pass.
    const capped = await run([...alerts, later], { top: 5, per_cluster_hour: 3 });
    expect(started(capped.reports)).toEqual({ s5: 0, s4: 0, s3: 0, s2: 1, s1: 1 });
    expect(capped.metrics.total('diagnose_budget_denied')).toBeGreaterThan(0);
    expect(capped.state.opened).toBe(6);
    expect(capped.state.closed).toBe(6);
  });

  it('finishes open traces when the input ends and when the node is closed', async () => {
    const ended = await run([alert('a', { pattern: 'spike', rate: 0 })]);
    expect(ended.reports.map((r) => r.trigger)).toEqual(['input ended']);
    expect(ended.state.closed).toBe(ended.state.opened);

    // Wall clock, input still open: close() is the shutdown.
    const { ctx } = testContext('diag');
    const clock = new WallClock();
    const fake = fakeProfiler(clock);
    const op = diagnose(opts({ clock: 'wall', period: '1s', time_limit: '1h' }), ctx, { clock, profilers: [{ name: 'fake', profiler: fake.profiler }] });
    const input = new Subject<Alert>();
    const out: DiagnosisReport[] = [];
    const done = new Promise<void>((resolve, reject) => op.apply(input).subscribe({ next: (r) => out.push(r), error: reject, complete: resolve }));
    input.next(alert('w', { pattern: 'spike', rate: 0 }));
    await ctx.flow.idle();
    expect(fake.state.opened).toBe(1);
    expect(ctx.hosts.isProfiling('host-w')).toBe(true);
    await op.close!();
    expect(fake.state.closed).toBe(1);
    expect(out.map((r) => r.trigger)).toEqual(['shutdown']);
    expect(ctx.hosts.profiledHosts()).toEqual([]);
    input.complete();
    await done;
  });

  // Real 50 ms timers: a loaded machine can fire them late enough to change the snapshot count, so a failure is retried.
  it('runs on the wall clock: timers take the snapshots and the output completes once the trace has', { retry: 2 }, async () => {
    const { ctx } = testContext('diag');
    const clock = new WallClock();
    const fake = fakeProfiler(clock);
    // 50 ms periods: the fake's leak grows linearly with wall time, so the steady trigger fires from the third snapshot on.
    const op = diagnose(opts({ clock: 'wall', period: '50ms', time_limit: '10s', trigger_window: '1s' }), ctx, { clock, profilers: [{ name: 'fake', profiler: fake.profiler }] });
    const input = new Subject<Alert>();
    const out = lastValueFrom(op.apply(input).pipe(toArray()));
    const t0 = Date.now();
    input.next(alert('w'));
    input.complete();
    const reports = await out;
    expect(reports.map((r) => r.outcome)).toEqual(['localised']);
    // Three snapshots, or a few more when a loaded machine fires the timers late and two land in one grid slot.
    expect(reports[0]!.snapshots).toBeGreaterThanOrEqual(3);
    expect(reports[0]!.snapshots).toBeLessThanOrEqual(8);
    expect(reports[0]!.trigger).toMatch(/^steady: R\^2/);
    expect(reports[0]!.ended_at - reports[0]!.started_at).toBeGreaterThanOrEqual(100);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(fake.state.closed).toBe(1);
    await op.close!();
  });

  it('fails at start on an unknown profiler, naming the node and the field', () => {
    const { ctx } = testContext('diag');
    const err = (() => {
      try {
        diagnose(opts({ profilers: ['simulated', 'nope'] }), ctx);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/node "diag": options\.profilers\[1\]: unknown profiler "nope"; known: .*simulated/);
  });
});
