import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execExecutor } from '../../../connectors/executors/exec.js';
import { runArgv } from '../../../connectors/executors/runArgv.js';
import type { ActionTarget } from '../../../engine/mitigation.js';

const dir = mkdtempSync(join(tmpdir(), 'resin-exec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const signal = new AbortController().signal;

describe('exec hook', () => {
  it('runs no shell: metacharacters in the target name stay text, and nothing they spell happens', async () => {
    const pwned = join(dir, 'pwned');
    const out = join(dir, 'seen.json');
    const nasty = `api; touch ${pwned} && echo $(touch ${pwned}) \`touch ${pwned}\` | tee ${pwned} > ${pwned}`;
    const target: ActionTarget = {
      alert_id: 'p-1', action: 'script', component: nasty, host: `h1$(touch ${pwned})`, process: `'"; touch ${pwned}`,
      pid: 7, cluster: null, region: null,
    };
    // The hook records what it was given: its argv and the RESIN_* environment.
    const script = 'const e = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("RESIN_"))); '
      + 'require("fs").writeFileSync(process.argv[1], JSON.stringify({ argv: process.argv.slice(2), env: e }))';
    const hook = execExecutor({ argv: [process.execPath, '-e', script, out, `--name=${nasty}`], timeoutMs: 10_000 });
    const result = await hook.run(target, signal);
    expect(result.ok).toBe(true);
    const seen = JSON.parse(readFileSync(out, 'utf8')) as { argv: string[]; env: Record<string, string> };
    expect(seen.argv).toEqual([`--name=${nasty}`]);
    expect(seen.env).toMatchObject({
      RESIN_COMPONENT: nasty, RESIN_HOST: target.host, RESIN_PROCESS: target.process, RESIN_PID: '7',
      RESIN_ACTION: 'script', RESIN_ALERT_ID: 'p-1', RESIN_CLUSTER: '',
    });
    expect(existsSync(pwned)).toBe(false);
  });

  it('a name that is a shell command line is not run as one, even handed to a program that would read it', async () => {
    const pwned = join(dir, 'pwned-2');
    const r = await runArgv(['/bin/echo', `x; touch ${pwned}`], { timeoutMs: 5000 });
    expect(r).toMatchObject({ ok: true, code: 0, output: `x; touch ${pwned}` });
    expect(existsSync(pwned)).toBe(false);
  });

  it('kills the hook and whatever it started when the timeout passes', async () => {
    const marker = join(dir, 'late');
    // The hook forks a grandchild that would write the marker after 1.5 s.
    const script = `require("child_process").spawn(process.execPath, ["-e", "setTimeout(() => require('fs').writeFileSync('${marker}', 'x'), 1500)"], { stdio: "ignore" }); setInterval(() => {}, 1000)`;
    const hook = execExecutor({ argv: [process.execPath, '-e', script], timeoutMs: 300 });
    const result = await hook.run({ alert_id: 'a', action: 'script', component: 'c', host: 'h', process: null, pid: null, cluster: null, region: null }, signal);
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/timed out after 300 ms, killed/);
    await new Promise((r) => setTimeout(r, 1800));
    expect(existsSync(marker)).toBe(false);
  });

  it('reports a program that cannot start and a failing exit code', async () => {
    const t: ActionTarget = { alert_id: 'a', action: 'script', component: 'c', host: 'h', process: null, pid: null, cluster: null, region: null };
    const missing = await execExecutor({ argv: [join(dir, 'no-such-program')], timeoutMs: 1000 }).run(t, signal);
    expect(missing).toMatchObject({ ok: false });
    expect(missing.detail).toMatch(/could not start: .*ENOENT/);
    const failing = join(dir, 'fail.js');
    writeFileSync(failing, 'console.error("disk full"); process.exit(3)');
    const failed = await execExecutor({ argv: [process.execPath, failing], timeoutMs: 5000 }).run(t, signal);
    expect(failed).toMatchObject({ ok: false, detail: 'exit 3: disk full' });
  });
});
