import { mkdtempSync, rmSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../engine/errors.js';
import type { MemoryStore } from '../../../engine/memoryStore.js';
import { checkOptions, resolveOptions } from '../../../engine/pipeline/options.js';
import { mitigate, mitigateSpec } from '../../../operators/mitigate/mitigate.js';
import { testContext } from '../../helpers/samples.js';
import { actionsRun, HOUR, leakAlert, MB, outcomes, recordingExecutor, runMitigate, T0 } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'resin-mitigate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const logFile = () => join(dir, `actions-${n++}.log`);

/** Room for everything: no limit binds unless a test sets it. */
const OPEN_LIMITS = {
  rate_limit: { global: 1000, per_cluster: 1000 },
  blast_radius: { max_share: 1, min_hosts: 1000 },
  slow_start: { hosts: 1000 },
};

describe('mitigate', () => {
  it('dry-run is the default: it says what it would do and does nothing', async () => {
    const log = logFile();
    const { decisions, ctx } = await runMitigate(
      { ...OPEN_LIMITS, actions: { 'restart-process': { allow: ['api'], executor: recordingExecutor(log) } } },
      [[leakAlert('host-1'), leakAlert('host-2', { component: 'api', id: 'p-2' })]],
    );
    expect(decisions.map((d) => d.outcome)).toEqual(['dry-run', 'dry-run']);
    expect(decisions[0]!.reason).toMatch(/would run .*for api process api \(pid 1000\) on host-/);
    expect(decisions[0]).toMatchObject({ action: 'restart-process', executor: 'exec', attempt: 1 });
    // Give a wrongly started hook time to write.
    await new Promise((r) => setTimeout(r, 300));
    expect(actionsRun(log)).toEqual([]);
    expect((ctx.store as MemoryStore).decisions.map((d) => d.outcome)).toEqual(['dry-run', 'dry-run']);
  });

  it('acts for real only with dry_run: false, and records taken then succeeded with the duration', async () => {
    const log = logFile();
    const { decisions } = await runMitigate(
      { dry_run: false, actions: { 'restart-process': { allow: ['api'], executor: recordingExecutor(log) } } },
      [[leakAlert('host-1')]],
    );
    expect(decisions.map((d) => d.outcome)).toEqual(['taken', 'succeeded']);
    expect(decisions[1]!.duration_ms).toBeGreaterThan(0);
    expect(actionsRun(log)).toEqual(['host-1 restart-process']);
  });

  // 100 hosts of "api" leak at once, largest leak on host-0; the component runs on 200 hosts.
  const burst = () => [Array.from({ length: 100 }, (_, i) => leakAlert(`host-${i}`, {
    id: `p-${i}`, cluster: `c${i % 4}`, rateMb: 200 - i,
  }))];
  const limits = [
    { name: 'slow start (5 hosts a day)', opts: { ...OPEN_LIMITS, slow_start: { hosts: 5 } }, allowed: 5, reason: /^slow start/ },
    { name: 'blast radius (5% of 200 hosts)', opts: { ...OPEN_LIMITS, blast_radius: { max_share: 0.05 } }, allowed: 10, reason: /^blast radius: 10 of api's 200 hosts/ },
    { name: 'per-cluster rate (2 an hour, 4 clusters)', opts: { ...OPEN_LIMITS, rate_limit: { global: 1000, per_cluster: 2 } }, allowed: 8, reason: /^rate limit: 2 actions in cluster c\d/ },
    { name: 'global rate (7 an hour)', opts: { ...OPEN_LIMITS, rate_limit: { global: 7, per_cluster: 1000 } }, allowed: 7, reason: /^rate limit: 7 actions within 1h/ },
  ];
  for (const { name, opts, allowed, reason } of limits) {
    it(`${name} holds under a burst of 100 simultaneous leak alerts, serving the largest leaks first`, async () => {
      const log = logFile();
      const { decisions } = await runMitigate(
        { ...opts, dry_run: false, actions: { 'restart-process': { allow: ['api'], executor: recordingExecutor(log) } } },
        burst(), { componentHosts: () => 200 },
      );
      const taken = outcomes(decisions, 'taken');
      expect(taken).toHaveLength(allowed);
      expect(outcomes(decisions, 'skipped')).toHaveLength(100 - allowed);
      for (const d of outcomes(decisions, 'skipped')) expect(d.reason).toMatch(reason);
      expect(actionsRun(log)).toHaveLength(allowed);
      if (name.startsWith('per-cluster')) {
        // Two per cluster: the two largest leaks of each.
        expect(taken.map((d) => d.host).sort()).toEqual(['host-0', 'host-1', 'host-2', 'host-3', 'host-4', 'host-5', 'host-6', 'host-7']);
      } else {
        expect(taken.map((d) => d.host)).toEqual(Array.from({ length: allowed }, (_, i) => `host-${i}`));
      }
    });
  }

  it('counts a component\'s hosts from the run\'s catalog for the blast radius', async () => {
    const { decisions } = await runMitigate(
      { ...OPEN_LIMITS, blast_radius: { max_share: 0.1 }, actions: { 'restart-process': { allow: ['api'], executor: recordingExecutor(logFile()) } } },
      burst(), {},
      (ctx) => {
        const c = ctx.catalog;
        // 30 hosts run api (two processes on some), 50 run web.
        for (let h = 0; h < 30; h++) c.seriesId(c.hosts.intern(`host-${h}`), c.components.intern('api'), c.processes.intern('api'));
        for (let h = 0; h < 10; h++) c.seriesId(c.hosts.intern(`host-${h}`), c.components.intern('api'), c.processes.intern('api-2'));
        for (let h = 0; h < 50; h++) c.seriesId(c.hosts.intern(`host-${h}`), c.components.intern('web'), c.processes.intern('web'));
      },
    );
    expect(outcomes(decisions, 'dry-run').map((d) => d.host)).toEqual(['host-0', 'host-1', 'host-2']);
    expect(outcomes(decisions, 'skipped')[0]!.reason).toMatch(/^blast radius: 3 of api's 30 hosts/);
  });

  it('every limit at once still holds, in dry-run as well (it simulates the same limits)', async () => {
    const { decisions } = await runMitigate(
      {
        rate_limit: { global: 6, per_cluster: 2 }, blast_radius: { max_share: 0.05 }, slow_start: { hosts: 3 },
        actions: { 'restart-process': { allow: ['api'], executor: recordingExecutor(logFile()) } },
      },
      burst(), { componentHosts: () => 200 },
    );
    expect(outcomes(decisions, 'dry-run').map((d) => d.host)).toEqual(['host-0', 'host-1', 'host-2']);
  });

  it('a host on fire comes first: at or over its memory limit beats a bigger leak elsewhere', async () => {
    const { decisions } = await runMitigate(
      {
        ...OPEN_LIMITS, rate_limit: { global: 1, per_cluster: 10 },
        components: { api: { memory_limit_mb: 1000 } },
        actions: { 'restart-process': { allow: ['api'], executor: recordingExecutor(logFile()) } },
      },
      [[leakAlert('big', { id: 'p-big', rateMb: 100 }), leakAlert('full', { id: 'p-full', rateMb: 1, rss: 1200 * MB })]],
    );
    expect(outcomes(decisions, 'dry-run').map((d) => d.host)).toEqual(['full']);
  });

  it('never acts on a component that is not on the allow-list, at any step of its tree', async () => {
    const log = logFile();
    const { decisions } = await runMitigate(
      {
        ...OPEN_LIMITS, dry_run: false, clock: 'event', settle: '1h', verify_after: '10h',
        actions: {
          'restart-process': { allow: ['api'], executor: recordingExecutor(log) },
          script: { allow: ['api'], executor: recordingExecutor(log) },
        },
      },
      [
        [leakAlert('h1', { id: 'w1', component: 'web', process: 'web' })],
        // It comes back later: there is still nothing web may get.
        [leakAlert('h1', { id: 'w1', component: 'web', process: 'web', state: 'update', at: T0 + 14 * HOUR })],
      ],
    );
    expect(decisions.map((d) => d.outcome)).toEqual(['skipped', 'skipped']);
    expect(decisions[0]!.reason).toMatch(/web is on no allow-list/);
    expect(actionsRun(log)).toEqual([]);
  });

  it('gives kernel memory only hooks, never a process restart, even when listed', async () => {
    const log = logFile();
    const { decisions } = await runMitigate(
      {
        ...OPEN_LIMITS, dry_run: false, clock: 'event',
        actions: {
          'restart-process': { allow: ['kernel.slab'], executor: recordingExecutor(log) },
          script: { allow: ['kernel.slab'], executor: recordingExecutor(log) },
        },
      },
      [[leakAlert('h1', { id: 'k1', component: 'kernel.slab', process: 'kmalloc-64', pid: null })]],
    );
    expect(decisions.filter((d) => d.outcome === 'taken').map((d) => d.action)).toEqual(['script']);
    expect(actionsRun(log)).toEqual(['h1 script']);
  });

  it('never targets the engine itself: its components, its own pid, or a host-level action on its host', async () => {
    const log = logFile();
    const self = { host: 'engine-host', pids: new Set([4242]) };
    const { decisions } = await runMitigate(
      {
        ...OPEN_LIMITS, dry_run: false, protect: ['nats-server'],
        components: { api: { tree: ['drain'] } },
        actions: {
          'restart-process': { allow: ['resin', 'resin-agent', 'nats-server', 'node'], executor: recordingExecutor(log) },
          drain: { allow: ['api'], executor: recordingExecutor(log) },
        },
      },
      [[
        leakAlert('h1', { id: 'a1', component: 'resin', process: 'resin' }),
        leakAlert('h2', { id: 'a2', component: 'resin-agent', process: 'node' }),
        leakAlert('h3', { id: 'a3', component: 'nats-server', process: 'nats-server' }),
        leakAlert('engine-host', { id: 'a4', component: 'node', process: 'node', pid: 4242 }),
        leakAlert('engine-host', { id: 'a5', component: 'api', process: 'api' }),
      ]],
      { self },
    );
    expect(decisions.map((d) => d.outcome)).toEqual(['skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
    for (const d of decisions) expect(d.reason).toMatch(/never acts on itself|protected/);
    expect(actionsRun(log)).toEqual([]);
  });

  it('the default identity is this process on this host', async () => {
    const { decisions } = await runMitigate(
      { ...OPEN_LIMITS, actions: { 'restart-process': { allow: ['node'], executor: recordingExecutor(logFile()) } } },
      [[leakAlert(hostname(), { component: 'node', process: 'node', pid: process.pid })]],
    );
    expect(decisions[0]).toMatchObject({ outcome: 'skipped' });
    expect(decisions[0]!.reason).toMatch(/is this engine/);
  });

  it('waits while the host is being profiled, then acts', async () => {
    const log = logFile();
    const { decisions } = await runMitigate(
      { ...OPEN_LIMITS, dry_run: false, actions: { 'restart-process': { allow: ['api'], executor: recordingExecutor(log) } } },
      [[leakAlert('h1')], [leakAlert('h1', { state: 'update' })]],
      {},
      (ctx) => {
        ctx.hosts.beginProfiling('h1', 'trace-1');
        // Profiling ends once the first alert has been decided.
        const idle = ctx.flow.idle.bind(ctx.flow);
        ctx.flow.idle = async () => { await idle(); ctx.hosts.endProfiling('h1', 'trace-1'); };
      },
    );
    expect(decisions.map((d) => d.outcome)).toEqual(['skipped', 'taken', 'succeeded']);
    expect(decisions[0]!.reason).toMatch(/h1 is being profiled/);
  });

  it('stops once the alert resolves, and escalates when memory comes back after the last action', async () => {
    const log = logFile();
    const at = (h: number) => T0 + h * HOUR;
    const { decisions } = await runMitigate(
      {
        ...OPEN_LIMITS, dry_run: false, clock: 'event', settle: '2h', verify_after: '24h',
        components: { api: { tree: ['restart-process', 'script'] } },
        actions: {
          'restart-process': { allow: ['api'], executor: recordingExecutor(log) },
          script: { allow: ['api'], executor: recordingExecutor(log) },
        },
      },
      [
        [leakAlert('h1', { id: 'a', at: at(10) })],
        [leakAlert('h1', { id: 'a', state: 'update', at: at(11) })], // before the restart shows: wait
        [leakAlert('h1', { id: 'a', state: 'resolved', at: at(13), reason: 'restarted' })],
        [leakAlert('h1', { id: 'a', state: 'update', at: at(13.5) })], // a straggler of the resolved alert
        [leakAlert('h1', { id: 'b', at: at(20) })], // the leak is back within a day: escalate
        [leakAlert('h1', { id: 'b', state: 'resolved', at: at(30), reason: 'fell' })],
        [leakAlert('h1', { id: 'c', at: at(80) })], // much later: a new leak starts from the top
      ],
    );
    expect(decisions.map((d) => `${d.alert_id}:${d.outcome}:${d.action ?? '-'}:${d.attempt}`)).toEqual([
      'a:taken:restart-process:1', 'a:succeeded:restart-process:1',
      'a:skipped:restart-process:1',
      'a:stopped:restart-process:1',
      'a:skipped:restart-process:1',
      'b:escalated:restart-process:1', 'b:taken:script:2', 'b:succeeded:script:2',
      'b:stopped:script:2',
      'c:taken:restart-process:1', 'c:succeeded:restart-process:1',
    ]);
    expect(decisions[2]!.reason).toMatch(/waiting 2h for the effect of restart-process/);
    expect(actionsRun(log)).toEqual(['h1 restart-process', 'h1 script', 'h1 restart-process']);
  });

  it('says when escalation has run out of allowed actions', async () => {
    const at = (h: number) => T0 + h * HOUR;
    const { decisions } = await runMitigate(
      {
        ...OPEN_LIMITS, clock: 'event', settle: '1h', verify_after: '24h',
        actions: { 'restart-process': { allow: ['api'], executor: recordingExecutor(logFile()) } },
      },
      [[leakAlert('h1', { id: 'a', at: at(10) })], [leakAlert('h1', { id: 'a', state: 'update', at: at(12) })]],
    );
    expect(decisions.map((d) => d.outcome)).toEqual(['dry-run', 'skipped']);
    expect(decisions[1]!.reason).toMatch(/nothing left to escalate to: api already had restart-process/);
  });

  it('checkpoints its limits: a restored run remembers what the rate limit has used', async () => {
    const opts = { ...OPEN_LIMITS, rate_limit: { global: 1, per_cluster: 10 }, actions: { 'restart-process': { allow: ['api'], executor: recordingExecutor(logFile()) } } };
    const first = await runMitigate(opts, [[leakAlert('h1', { id: 'a' })]], { componentHosts: () => 200 });
    expect(first.decisions.map((d) => d.outcome)).toEqual(['dry-run']);
    const state = deserialize(serialize(first.op.checkpoint()));
    const second = await runMitigate(opts, [[leakAlert('h2', { id: 'b' })]], { componentHosts: () => 200 }, (_, op) => op.restore(state));
    expect(second.decisions.map((d) => d.outcome)).toEqual(['skipped']);
    expect(second.decisions[0]!.reason).toMatch(/^rate limit: 1 actions within 1h/);
  });

  it('a dry run\'s state does not carry into a real run: slow start begins again', async () => {
    const log = logFile();
    const opts = { ...OPEN_LIMITS, slow_start: { hosts: 1 }, actions: { 'restart-process': { allow: ['api'], executor: recordingExecutor(log) } } };
    const dry = await runMitigate(opts, [[leakAlert('h1', { id: 'a' })]]);
    const state = deserialize(serialize(dry.op.checkpoint()));
    const real = await runMitigate({ ...opts, dry_run: false }, [[leakAlert('h2', { id: 'b' })]], {}, (_, op) => op.restore(state));
    expect(real.decisions.map((d) => d.outcome)).toEqual(['taken', 'succeeded']);
    expect(actionsRun(log)).toEqual(['h2 restart-process']);
  });

  it('rejects a tree naming an action that has no executor, and a bad executor, naming the field', () => {
    expect(() => resolveOptions(mitigateSpec, { actions: { 'restart-process': { allow: ['a'], executor: { type: 'nope' } } } }, 'm'))
      .toThrow(ConfigError);
    const { ctx } = testContext('m');
    expect(() => mitigate(resolveOptions(mitigateSpec, { components: { api: { tree: ['script'] } } }), ctx))
      .toThrow(/components\.api\.tree: "script" has no entry under actions/);
    expect(() => resolveOptions(mitigateSpec, { actions: { script: { allow: [], executor: { type: 'exec' } } } }, 'm'))
      .toThrow(/node "m": options\.actions\.script\.executor\.argv: is required/);
    // Only the missing field is reported, not also the conditional schema that requires it.
    const missing = checkOptions(mitigateSpec, { actions: { script: { allow: [], executor: { type: 'exec' } } } }, 'm');
    expect(missing.issues.map((i) => `${i.field}: ${i.message}`)).toEqual(['options.actions.script.executor.argv: is required']);
    expect(() => mitigate(resolveOptions(mitigateSpec, { actions: { script: { allow: [], executor: { type: 'exec', argv: ['x'], url: 'http://h' } } } }), ctx))
      .toThrow(/actions\.script\.executor: "url" does not apply to a exec executor/);
  });
});
