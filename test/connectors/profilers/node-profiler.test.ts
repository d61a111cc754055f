import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { listeningPorts } from '../../../connectors/profilers/proc.js';
import { PACKAGE_ROOT } from '../../../engine/cli/paths.js';
import { accepts, FIXTURES, freePort, runDiagnose, startTarget, type Target } from './harness.js';

/**
 * `resin diagnose` against real Node.js processes: a service leaking from one named
 * function, profiled live through its inspector, which must be closed afterwards; and
 * each way collection can fail, ending cleanly with its reason in the report.
 */

const dir = mkdtempSync(join(tmpdir(), 'resin-node-profiler-'));
chmodSync(dir, 0o777);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let targets: Target[] = [];
afterEach(async () => {
  await Promise.all(targets.map((t) => t.stop()));
  targets = [];
});

/** The service with its inspector port set (as --inspect-port does), so tests never compete for 9229. */
async function service(port: number): Promise<Target> {
  const t = await startTarget(process.execPath, [`--inspect-port=127.0.0.1:${port}`, join(FIXTURES, 'leaky-service.cjs')]);
  targets.push(t);
  return t;
}

describe('resin diagnose on a Node.js process', { timeout: 90_000 }, () => {
  it('ranks the leaking function first and closes the inspector afterwards', async () => {
    const port = await freePort();
    const target = await service(port);
    const run = await runDiagnose(['--pid', String(target.pid), '--duration', '4s', '--interval', '2s', '--out', join(dir, 'leak')]);

    expect(run.code, run.stderr).toBe(0);
    const { report } = run;
    expect(report.profiler).toBe('node');
    expect(report.outcome).toBe('localised');
    expect(report.snapshots).toBe(3);
    expect(report.stacks[0]!.frames[0]).toMatchObject({ function: 'rememberSession', file: join(FIXTURES, 'leaky-service.cjs') });
    expect(report.stacks[0]!.growth_bytes).toBeGreaterThan(0);
    // Every other function of the service allocates too, and frees what it allocates.
    for (const s of report.stacks.slice(1)) expect(s.growth_bytes).toBeLessThanOrEqual(report.stacks[0]!.growth_bytes);
    expect(report.memory).toHaveLength(3);
    expect(report.memory[2]!.heap_used).toBeGreaterThan(0);
    expect(run.announcement.top).toContain('rememberSession');

    // The inspector is closed: nothing listens on its port, and the target still runs.
    expect(listeningPorts(target.pid).map((l) => l.port)).not.toContain(port);
    expect(await accepts(port)).toBe(false);
    expect(target.proc.exitCode).toBeNull();
  });

  it('ends with "exited" when the process exits during collection, keeping what it localised before', async () => {
    const port = await freePort();
    const target = await service(port);
    let told = false;
    const run = await runDiagnose(['--pid', String(target.pid), '--duration', '30s', '--interval', '1s', '--out', join(dir, 'exited')], {}, (err) => {
      if (!told && err.includes('snapshot 3:')) {
        told = true;
        target.proc.kill('SIGUSR2');
      }
    });

    expect(run.code).toBe(1);
    expect(run.report.outcome).toBe('failed');
    expect(run.report.reason).toBe('exited');
    expect(run.report.trigger).toMatch(/^failed: .*exited/);
    expect(run.report.snapshots).toBeGreaterThanOrEqual(3);
    expect(await target.exited).toBe(0);
    expect(run.report.stacks[0]!.frames[0]!.function).toBe('rememberSession');
    expect(run.report.ended_at - run.report.started_at).toBeLessThan(20_000);
  });

  it('leaves no inspector open when resin is killed mid-collection: the target closes it when the lease runs out', async () => {
    const port = await freePort();
    const target = await service(port);
    let killed = false;
    const args = ['--pid', String(target.pid), '--duration', '60s', '--interval', '1s', '--inspector-lease', '3s', '--out', join(dir, 'killed')];
    const run = runDiagnose(args, {}, (err, resin) => {
      if (!killed && err.includes('snapshot 2:')) {
        killed = true;
        resin.kill('SIGKILL');
      }
    });
    await expect(run).rejects.toThrow(/no announcement/);
    expect(killed).toBe(true);
    expect(await accepts(port)).toBe(true);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await accepts(port))) await new Promise((r) => setTimeout(r, 200));
    expect(await accepts(port)).toBe(false);
    expect(target.proc.exitCode).toBeNull();
  });

  it('ends with "exited" for a process that is already gone', async () => {
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    const run = await runDiagnose(['--pid', String(gone), '--profiler', 'node', '--duration', '2s', '--interval', '1s', '--out', join(dir, 'gone')]);
    expect(run.code).toBe(1);
    expect(run.report.reason).toBe('exited');
    expect(run.report.snapshots).toBe(0);
  });

  it('ends with "port-taken" when another process holds the inspector port, and leaves the target alone', async () => {
    const port = await freePort();
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const target = await service(port);
      const run = await runDiagnose(['--pid', String(target.pid), '--duration', '2s', '--interval', '1s', '--out', join(dir, 'taken')]);
      expect(run.code).toBe(1);
      expect(run.report.outcome).toBe('failed');
      expect(run.report.reason).toBe('port-taken');
      expect(run.report.trigger).toContain(String(port));
      expect(target.proc.exitCode).toBeNull();
      expect(listeningPorts(target.pid)).toEqual([]);
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });

  // The profiler runs as an unprivileged user against a process of another user.
  const root = process.getuid?.() === 0;
  const nobodyCanRun = root && spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(join(PACKAGE_ROOT, 'engine', 'cli', 'bin.ts'))})`], { uid: 65534, gid: 65534 }).status === 0;
  it.runIf(!root || nobodyCanRun)('ends with "permission" when the process belongs to another user', async () => {
    let pid: number;
    let opts = {};
    if (root) {
      pid = (await service(await freePort())).pid;
      opts = { uid: 65534, gid: 65534, cwd: dir };
    } else {
      pid = 1;
    }
    const run = await runDiagnose(['--pid', String(pid), '--profiler', 'node', '--duration', '2s', '--interval', '1s', '--out', join(dir, 'denied')], opts);
    expect(run.code).toBe(1);
    expect(run.report.outcome).toBe('failed');
    expect(run.report.reason).toBe('permission');
  });
});
