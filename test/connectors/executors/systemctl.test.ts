import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initName, systemctlExecutor, unitName } from '../../../connectors/executors/systemctl.js';
import type { ActionTarget } from '../../../engine/mitigation.js';

const dir = mkdtempSync(join(tmpdir(), 'resin-systemctl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const target: ActionTarget = { alert_id: 'a', action: 'restart-unit', component: 'api', host: 'h1', process: 'api', pid: 1, cluster: null, region: null };
const signal = new AbortController().signal;

describe('systemctl executor', () => {
  it('says clearly that systemd is not PID 1, naming what is, and runs nothing', async () => {
    const comm = join(dir, 'comm');
    writeFileSync(comm, 'tini\n');
    const r = await systemctlExecutor({ unit: '{component}.service', timeoutMs: 1000, host: 'h1', pid1Comm: comm }).run(target, signal);
    expect(r).toMatchObject({ ok: false, durationMs: 0 });
    expect(r.detail).toBe('systemd is not PID 1 on h1 (PID 1 is tini): cannot restart units here');
  });

  it('reads this machine\'s PID 1 (not systemd here: the result says so)', async () => {
    const init = initName();
    const r = await systemctlExecutor({ unit: '{component}.service', timeoutMs: 1000, host: 'h1' }).run(target, signal);
    if (init === 'systemd') expect(r.detail).not.toMatch(/not PID 1/);
    else expect(r.detail).toContain(`systemd is not PID 1 on h1 (PID 1 is ${init})`);
  });

  it('acts on its own host only, and keeps unit names from turning into flags or paths', async () => {
    const comm = join(dir, 'systemd');
    writeFileSync(comm, 'systemd\n');
    const r = await systemctlExecutor({ unit: '{component}.service', timeoutMs: 1000, host: 'elsewhere', pid1Comm: comm }).run(target, signal);
    expect(r.detail).toBe('systemctl acts on this host (elsewhere) only; h1 needs the agent executor');
    expect(unitName('{component}.service', { ...target, component: '--force; rm -rf /' })).toBe('_force__rm_-rf__.service');
    expect(unitName('app@{process}', target)).toBe('app@api');
  });
});
