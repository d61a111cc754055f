import { readdirSync, readFileSync } from 'node:fs';
import { connect, type NatsConnection } from 'nats';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeJson, readReply, supervisorSubject } from '../../../connectors/executors/commands.js';
import { supervisorExecutor } from '../../../connectors/executors/remote.js';
import { Supervisor } from '../../../connectors/executors/supervisor.js';
import { serveSupervisor } from '../../../connectors/executors/supervisorControl.js';
import { silentLogger } from '../../../engine/log.js';
import { Metrics } from '../../../engine/metrics.js';
import { describeNats, useNatsServer } from '../../helpers/nats.js';
import { alive } from '../../helpers/processes.js';

/** A service that forks a worker; both ignore SIGTERM unless `polite`. The worker's pid goes to stdout. */
function service(polite: boolean): string[] {
  const trap = polite ? '' : 'process.on("SIGTERM", () => {});';
  const worker = `${trap} setInterval(() => {}, 1000)`;
  return ['-e', `${trap} const w = require("child_process").spawn(process.execPath, ["-e", ${JSON.stringify(worker)}], { stdio: "ignore" }); `
    + 'console.log(w.pid); setInterval(() => {}, 1000)'];
}

const supervisors: Supervisor[] = [];
afterEach(async () => {
  for (const s of supervisors.splice(0)) await s.stop();
});

describe('process supervisor', () => {
  it('restarts a polite child within the grace period: new pid, old group gone, restart counted and timed', async () => {
    const s = new Supervisor({ command: process.execPath, args: service(true), graceMs: 5000, stdio: 'ignore' });
    supervisors.push(s);
    const first = await s.start();
    await new Promise((r) => setTimeout(r, 300));
    const r = await s.restart();
    expect(r.oldPid).toBe(first);
    expect(r.newPid).not.toBe(first);
    expect(r.killed).toBe(false);
    expect(r.durationMs).toBeGreaterThan(0);
    expect(r.durationMs).toBeLessThan(5000);
    expect(alive(first)).toBe(false);
    expect(alive(r.newPid)).toBe(true);
    expect(s.restarts).toBe(1);
  });

  it('SIGKILLs what is left of the group after the grace period, grandchildren included', async () => {
    const s = new Supervisor({ command: process.execPath, args: service(false), graceMs: 400, stdio: 'ignore' });
    supervisors.push(s);
    const first = await s.start();
    // The worker starts a moment after the service.
    for (let i = 0; i < 100 && listGroup(first).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    const before = listGroup(first);
    expect(before.length).toBe(2);
    const r = await s.restart();
    expect(r.killed).toBe(true);
    expect(r.durationMs).toBeGreaterThanOrEqual(400);
    await new Promise((res) => setTimeout(res, 100));
    for (const pid of before) expect(alive(pid)).toBe(false);
  });

  it('passes the restart count to the child and tells when the child exits by itself', async () => {
    const s = new Supervisor({ command: process.execPath, args: ['-e', 'process.exit(Number(process.env.RESIN_SUPERVISED_RESTARTS) + 40)'], graceMs: 100, stdio: 'ignore' });
    const exits: (number | null)[] = [];
    const exited = new Promise<void>((r) => { s.onExit = (code) => { exits.push(code); r(); }; });
    await s.start();
    await exited;
    expect(exits).toEqual([40]);
  });
});

/** Pids whose process group is `pgid` (field 5 of /proc/<pid>/stat). */
function listGroup(pgid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(e));
    } catch { /* gone */ }
  }
  return out;
}

describeNats('supervisor control channel over NATS', () => {
  const server = useNatsServer();

  it('restarts on request from the engine\'s executor, refuses a stale pid and bad requests', async () => {
    const nc: NatsConnection = await connect({ servers: server().url });
    const s = new Supervisor({ command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], graceMs: 2000, stdio: 'ignore' });
    supervisors.push(s);
    const metrics = new Metrics();
    try {
      const pid = await s.start();
      serveSupervisor(nc, supervisorSubject('h1', 'api'), s, silentLogger, metrics);
      await nc.flush();
      const executor = supervisorExecutor({ connection: async () => nc, timeoutMs: 5000 });
      const target = { alert_id: 'p-1', action: 'restart-process' as const, component: 'api', host: 'h1', process: 'node', pid, cluster: null, region: null };

      const r = await executor.run(target, new AbortController().signal);
      expect(r.ok).toBe(true);
      expect(r.newPid).toBe(s.pid);
      expect(r.newPid).not.toBe(pid);
      expect(r.detail).toMatch(new RegExp(`^restarted pid ${pid} as ${s.pid} in \\d+ ms$`));

      // The same alert again: its pid is gone, so nothing is restarted.
      const stale = await executor.run(target, new AbortController().signal);
      expect(stale).toMatchObject({ ok: false, detail: `pid ${pid} is not the supervised child (now ${s.pid})` });
      expect(s.restarts).toBe(1);

      const bad = readReply((await nc.request(supervisorSubject('h1', 'api'), encodeJson({ op: 'reboot' }), { timeout: 2000 })).data);
      expect(bad).toMatchObject({ ok: false, detail: expect.stringMatching(/^bad request/) });
      expect(metrics.total('supervisor_requests', { result: 'bad_request' })).toBe(1);

      const nobody = await executor.run({ ...target, host: 'h2' }, new AbortController().signal);
      expect(nobody).toMatchObject({ ok: false, detail: 'nobody answers on resin.cmd.h2.api' });
    } finally {
      await nc.close();
    }
  });
});
