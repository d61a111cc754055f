import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { createProfiler } from '../../../engine/profilers.js';
import { ProfileError, type ProfileTarget } from '../../../engine/diagnosis.js';

/**
 * Live profilers act on pids of this machine only: a target from another host's agent,
 * an alert without a pid, or the engine's own process is refused with a reason, before
 * anything is signalled.
 */

// A real Node.js process, so that only the host or pid decides.
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
afterAll(() => { child.kill('SIGKILL'); });

const target = (over: Partial<ProfileTarget>): ProfileTarget => ({ host: hostname(), component: 'svc', process: 'node', pid: child.pid!, ...over });

async function refusal(name: string, t: ProfileTarget, options: Record<string, unknown> = {}): Promise<ProfileError | null> {
  try {
    await createProfiler(name, options).accepts(t);
    return null;
  } catch (err) {
    return err as ProfileError;
  }
}

describe.each(['node', 'jemalloc', 'tcmalloc'])('%s profiler: local targets only', (name) => {
  it('refuses a process reported by another host', async () => {
    const err = await refusal(name, target({ host: 'elsewhere-17' }));
    expect(err).toBeInstanceOf(ProfileError);
    expect(err!.reason).toBe('unsupported');
    expect(err!.message).toContain('elsewhere-17');
  });

  it('refuses an alert without a pid', async () => {
    const err = await refusal(name, target({ pid: 0 }));
    expect(err?.reason).toBe('unsupported');
    expect(err!.message).toMatch(/no pid/);
  });

  it("refuses the engine's own process", async () => {
    const err = await refusal(name, target({ pid: process.pid }));
    expect(err?.reason).toBe('unsupported');
    expect(err!.message).toMatch(/engine itself/);
  });

  it('takes the host name the agent reports when told it', async () => {
    expect(await refusal(name, target({ host: 'agent-name' }), { host: 'agent-name' })).toBeNull();
  });
});

it('node accepts a local Node.js process', async () => {
  expect(await createProfiler('node').accepts(target({}))).toBe(true);
});
