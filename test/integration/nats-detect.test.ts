import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { afterAll, expect, it } from 'vitest';
import { ComponentRules } from '../../connectors/agent/rules.js';
import { DuckDbStore } from '../../connectors/duckdb/store.js';
import type { Alert } from '../../engine/alert.js';
import { PACKAGE_ROOT } from '../../engine/cli/paths.js';
import { runSession } from '../../engine/cli/session.js';
import { silentLogger } from '../../engine/log.js';
import type { PipelineDefinition } from '../../engine/pipeline/definition.js';
import { engineStreamReady, liveParts, runAgent, stopLive } from '../helpers/liveAgent.js';
import { collectJson, describeNats, useNatsServer } from '../helpers/nats.js';
import { until } from '../helpers/until.js';

/**
 * The whole chain on this machine: real processes, the host agent sampling /proc and
 * publishing Arrow to JetStream, the engine running pipelines/nats-scaled.yaml (the
 * shipped pipeline with one-second periods) and publishing alerts back to NATS, read
 * here by a plain subscriber. One child leaks 1 MB every 100 ms; three do not: one
 * idle with a fixed allocation, one churning garbage over a fixed live set, one whose
 * cache fills and empties (a sawtooth, the shape a naive growth test mistakes for a leak).
 */

const MB = 1024 * 1024;
const LEAK_MB_PER_S = 10;
const marker = `resin-detect-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'resin-nats-detect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Buffers are filled (not zero pages) so that every leaked megabyte is resident.
const SCRIPTS = {
  leak: `const kept = []; setInterval(() => kept.push(Buffer.alloc(${MB}, 1)), ${1000 / LEAK_MB_PER_S});`,
  steady: 'const kept = Buffer.alloc(64 * 1024 * 1024, 1); setInterval(() => kept[0]++, 100);',
  churn: 'const live = Array.from({ length: 64 }, () => Buffer.alloc(1 << 20, 1)); '
    + 'setInterval(() => { let junk = []; for (let i = 0; i < 2e4; i++) junk.push({ i, live: live.length }); junk = null; }, 50);',
  sawtooth: 'let cache = []; setInterval(() => { cache.push(Buffer.alloc(1 << 20, 1)); if (cache.length >= 30) cache = []; }, 100);',
} as const;
type Role = keyof typeof SCRIPTS;
const ROLES = Object.keys(SCRIPTS) as Role[];

function startChild(role: Role): ChildProcess {
  return spawn(process.execPath, ['-e', SCRIPTS[role], `${marker}-${role}`], { stdio: 'ignore' });
}

/** The shipped scaled pipeline, pointed at this test's server. */
function toServer(url: string) {
  return (def: PipelineDefinition) => {
    for (const node of Object.values(def.nodes ?? {})) {
      if (node?.type === 'nats' || node?.type === 'alert-nats') node.options = { ...node.options, servers: url };
    }
  };
}


describeNats('NATS end to end: host agent, scaled detection pipeline, alerts', () => {
  const server = useNatsServer();

  it('alerts the leaking process on resin.alerts.* and none of the stable ones', async () => {
    const children = new Map<Role, ChildProcess>(ROLES.map((r) => [r, startChild(r)]));
    const live = liveParts();
    try {
      const nc = live.nc = await connect({ servers: server().url });
      const alerts = collectJson<Alert>(nc, 'resin.alerts.*');
      await nc.flush();

      live.engine = runSession({
        pipeline: join(PACKAGE_ROOT, 'pipelines', 'nats-scaled.yaml'), edit: toServer(server().url),
        state: join(dir, 'state.duckdb'), deadLetter: join(dir, 'rejected.ndjson'), log: silentLogger,
        signal: live.engineStop.signal,
      });
      live.engine.catch(() => {});
      await engineStreamReady(nc);

      const host = hostname();
      const rules = new ComponentRules({ rules: ROLES.map((role) => ({ component: `test-${role}`, cmdline: `${marker}-${role}$` })) });
      const leakStarted = Date.now();
      live.agentRun = runAgent(server().url, rules, live.agentStop.signal);

      const leakPid = children.get('leak')!.pid!;
      await until('an alert for the leaking child', 45_000, () => alerts.some((a) => a.component === 'test-leak' && a.state === 'open'));
      // Time for the stable children to be (wrongly) reported too: several more periods.
      await new Promise((r) => setTimeout(r, 4000));

      const open = alerts.find((a) => a.component === 'test-leak' && a.state === 'open')!;
      expect(open).toMatchObject({ level: 'process', host, process: 'node', pid: leakPid });
      // The leak's own rate (bytes per hour), within the margins of a loaded machine.
      const perSecond = open.rate / 3600 / MB;
      expect(perSecond).toBeGreaterThan(LEAK_MB_PER_S * 0.5);
      expect(perSecond).toBeLessThan(LEAK_MB_PER_S * 1.5);
      expect(open.start).toBeGreaterThanOrEqual(leakStarted - 2000);
      expect(open.rss).toBeGreaterThan(8 * LEAK_MB_PER_S * MB);

      const stable = alerts.filter((a) => a.component.startsWith('test-') && a.component !== 'test-leak');
      expect(stable).toEqual([]);
    } finally {
      await stopLive(live);
      for (const c of children.values()) c.kill('SIGKILL');
    }

    // The stable children were rolled up all along: their silence is a verdict, not missing data.
    const store = await DuckDbStore.open(join(dir, 'state.duckdb'));
    try {
      const periods = await store.query(
        "SELECT component, count(*)::INTEGER AS periods FROM rollups_v WHERE component LIKE 'test-%' GROUP BY component ORDER BY component",
      );
      expect(periods.map((r) => r.component)).toEqual(['test-churn', 'test-leak', 'test-sawtooth', 'test-steady']);
      for (const r of periods) expect(r.periods as number).toBeGreaterThanOrEqual(15);
    } finally {
      await store.close();
    }
  });
});
