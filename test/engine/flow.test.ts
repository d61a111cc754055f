import { describe, expect, it } from 'vitest';
import { Flow } from '../../engine/flow.js';

/** A promise and the functions that settle it. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void, reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/** Whether `p` settles within a few turns of the event loop. */
async function settles(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => { done = true; }, () => { done = true; });
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
}

describe('Flow', () => {
  it('lets the next batch overlap writes tracked behind, and waits for them before the one after', async () => {
    const flow = new Flow();
    const write = deferred();
    flow.trackBehind(write.promise);
    // After batch 1: its write may still run.
    expect(await settles(flow.settle())).toBe(true);
    // After batch 2: batch 1's write must be done first.
    const second = flow.settle();
    expect(await settles(second)).toBe(false);
    write.resolve();
    expect(await settles(second)).toBe(true);
    expect(flow.busy).toBe(0);
  });

  it('waits for tracked work at once, and idle() waits for everything', async () => {
    const flow = new Flow();
    const now = deferred(), behind = deferred();
    flow.track(now.promise);
    flow.trackBehind(behind.promise);
    const between = flow.settle();
    expect(await settles(between)).toBe(false);
    now.resolve();
    expect(await settles(between)).toBe(true);
    const idle = flow.idle();
    expect(await settles(idle)).toBe(false);
    behind.resolve();
    expect(await settles(idle)).toBe(true);
  });

  it('reports a write behind that failed at the settle that waits for it, once', async () => {
    const flow = new Flow();
    const write = deferred();
    flow.trackBehind(write.promise);
    await flow.settle();
    const second = flow.settle();
    write.reject(new Error('disk full'));
    await expect(second).rejects.toThrow('disk full');
    await expect(flow.settle()).resolves.toBeUndefined();
  });
});
