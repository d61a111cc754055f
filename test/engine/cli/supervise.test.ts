import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../../engine/cli/paths.js';
import { alive } from '../../helpers/processes.js';

/**
 * `resin supervise` as its own process (started through the TypeScript loader: seconds
 * on a loaded machine); NATS is not running, so the control channel never joins.
 */
function supervise(args: string[]) {
  const proc = spawn(process.execPath, [
    '--import', join(PACKAGE_ROOT, 'test/helpers/ts-register.mjs'), join(PACKAGE_ROOT, 'engine/cli/bin.ts'),
    'supervise', '--servers', 'nats://127.0.0.1:1', ...args,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  proc.stderr!.on('data', (c) => { err += String(c); });
  proc.stdout!.on('data', (c) => { out += String(c); });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, exited, log: () => err, out: () => out };
}

describe('resin supervise (command line)', () => {
  it('exits with the child\'s code when the child exits by itself', async () => {
    const s = supervise(['--component', 'one-shot', '--', process.execPath, '-e', 'setTimeout(() => process.exit(7), 300)']);
    expect(await s.exited).toBe(7);
    expect(s.log()).toMatch(/child exited by itself .*code=7/);
  }, 120_000);

  it('on SIGTERM stops the whole child group and exits 0; the child keeps its own stdout', async () => {
    const s = supervise(['--grace', '500ms', '--', process.execPath, '-e',
      'process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000)']);
    const deadline = Date.now() + 90_000;
    while (!/supervising .*pid=\d+/.test(s.log()) || !s.out().includes('up')) {
      if (Date.now() > deadline) throw new Error(`supervisor did not start: ${s.log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const pid = Number(/supervising .*?pid=(\d+)/.exec(s.log())![1]);
    expect(alive(pid)).toBe(true);
    s.proc.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(alive(pid)).toBe(false);
  }, 120_000);

  it('needs a command', async () => {
    const s = supervise(['--component', 'x']);
    expect(await s.exited).toBe(2);
    expect(s.log()).toMatch(/supervise needs a command/);
  }, 120_000);
});
