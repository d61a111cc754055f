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
import type { MitigationDecision } from '../../engine/mitigation.js';
import type { PipelineDefinition } from '../../engine/pipeline/definition.js';
import { engineStreamReady, liveParts, runAgent, stopLive } from '../helpers/liveAgent.js';
import { collectJson, describeNats, useNatsServer } from '../helpers/nats.js';
import { alive, rssOf, until } from '../helpers/processes.js';

/**
 * Detection to mitigation on this machine. `resin supervise` (the real command, as its
 * own process) runs a service that leaks 10 MB/s in its first life and holds steady
 * once restarted (it reads RESIN_SUPERVISED_RESTARTS). The host agent samples it, the
 * engine runs pipelines/nats-scaled.yaml with a `mitigate` node acting for real, and the
 * supervisor restarts the service when the engine asks over NATS. The test watches the
 * alert open, the restart (new pid, memory back to its baseline), the alert resolve,
 * and then nothing more.
 */

const MB = 1024 * 1024;
const COMPONENT = 'test-mleak';
const marker = `resin-mitigate-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'resin-mitigate-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SERVICE = 'const kept = []; const leaking = process.env.RESIN_SUPERVISED_RESTARTS === "0"; '
  + 'setInterval(() => { if (leaking) kept.push(Buffer.alloc(1 << 20, 1)); }, 100);';

/** The shipped scaled pipeline, pointed at this test's server, with mitigation acting for real. */
function withMitigation(url: string) {
  return (def: PipelineDefinition) => {
    for (const node of Object.values(def.nodes ?? {})) {
      if (node?.type === 'nats' || node?.type === 'alert-nats') node.options = { ...node.options, servers: url };
    }
    def.nodes!.mitigate = {
      type: 'mitigate',
      inputs: ['fleet', 'processes'],
      options: {
        dry_run: false,
        settle: '5s',
        verify_after: '20s',
        nats: { servers: url },
        actions: { 'restart-process': { allow: [COMPONENT], executor: { type: 'supervisor', timeout: '20s' } } },
      },
    };
    def.nodes!.actions = { type: 'action-nats', inputs: ['mitigate'], options: { servers: url } };
  };
}

describeNats('mitigation end to end: detect a leak, restart it through the supervisor, stop', () => {
  const server = useNatsServer();

  it('restarts the leaking service once, sees its memory back at baseline and its alert resolve, then does nothing more', async () => {
    const live = liveParts();
    let supervisor: ChildProcess | null = null;
    const host = hostname();
    const state = join(dir, 'state.duckdb');
    try {
      const nc = live.nc = await connect({ servers: server().url });
      const alerts = collectJson<Alert>(nc, 'resin.alerts.*');
      const decisions = collectJson<MitigationDecision>(nc, 'resin.actions.*');
      await nc.flush();

      let supervisorLog = '';
      supervisor = spawn(process.execPath, [
        '--import', join(PACKAGE_ROOT, 'test/helpers/ts-register.mjs'), join(PACKAGE_ROOT, 'engine/cli/bin.ts'),
        'supervise', '--component', COMPONENT, '--host', host, '--servers', server().url, '--grace', '2s', '--',
        process.execPath, '-e', SERVICE, marker,
      ], { stdio: ['ignore', 'ignore', 'pipe'] });
      supervisor.stderr!.on('data', (c) => { supervisorLog += String(c); });
      await until('the supervisor to listen', 60_000, () => supervisorLog.includes('listening for restarts'));
      const firstPid = Number(/supervising .*?pid=(\d+)/.exec(supervisorLog)![1]);
      const baseline = rssOf(firstPid);

      live.engine = runSession({
        pipeline: join(PACKAGE_ROOT, 'pipelines', 'nats-scaled.yaml'), edit: withMitigation(server().url),
        state, deadLetter: join(dir, 'rejected.ndjson'), log: silentLogger, signal: live.engineStop.signal,
      });
      live.engine.catch(() => {});
      await engineStreamReady(nc);

      // The service's own command line starts with the node binary; the supervisor's has its flags first.
      const rules = new ComponentRules({ rules: [{ component: COMPONENT, cmdline: `^\\S*node -e .* ${marker}$` }] });
      live.agentRun = runAgent(server().url, rules, live.agentStop.signal, { cgroups: false });

      const mine = (d: { component: string }) => d.component === COMPONENT;
      await until('the leak to be detected and the service restarted', 50_000,
        () => decisions.some((d) => mine(d) && (d.outcome === 'succeeded' || d.outcome === 'failed')));
      const open = alerts.find((a) => mine(a) && a.state === 'open')!;
      expect(open).toMatchObject({ level: 'process', host, pid: firstPid });
      const done = decisions.find((d) => mine(d) && d.outcome !== 'taken' && d.outcome !== 'skipped')!;
      expect(done).toMatchObject({ outcome: 'succeeded', action: 'restart-process', executor: 'supervisor', alert_id: open.id, pid: firstPid });
      const newPid = done.new_pid!;
      expect(newPid).toBeGreaterThan(0);
      expect(newPid).not.toBe(firstPid);
      expect(alive(firstPid)).toBe(false);
      expect(alive(newPid)).toBe(true);
      expect(done.duration_ms!).toBeGreaterThan(0);
      expect(done.duration_ms!).toBeLessThan(2500);

      // Memory back to where the first life started, and it stays there.
      const leaked = open.rss;
      expect(leaked).toBeGreaterThan(baseline + 50 * MB);
      await new Promise((r) => setTimeout(r, 2000));
      expect(rssOf(newPid)).toBeLessThan(baseline + 30 * MB);

      await until('the alert to resolve', 40_000, () => alerts.some((a) => a.id === open.id && a.state === 'resolved'));
      // Several more detection periods: no further action may follow.
      await new Promise((r) => setTimeout(r, 8000));
      const acted = decisions.filter((d) => mine(d) && (d.outcome === 'taken' || d.outcome === 'escalated'));
      expect(acted).toHaveLength(1);
      expect(decisions.filter(mine).map((d) => d.outcome).filter((o) => o !== 'skipped'))
        .toEqual(['taken', 'succeeded', 'stopped']);
      expect(alive(newPid)).toBe(true);
      expect(rssOf(newPid)).toBeLessThan(baseline + 30 * MB);
    } finally {
      await stopLive(live);
      if (supervisor && supervisor.exitCode === null) {
        const exited = new Promise((r) => supervisor!.once('exit', r));
        supervisor.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      }
    }

    // The audit in the state file tells the same story.
    const store = await DuckDbStore.open(state);
    try {
      const rows = await store.query(`SELECT outcome FROM mitigations WHERE component = '${COMPONENT}' AND outcome <> 'skipped' ORDER BY decided_at, id`);
      expect(rows.map((r) => r.outcome)).toEqual(['taken', 'succeeded', 'stopped']);
    } finally {
      await store.close();
    }
  }, 200_000);
});
