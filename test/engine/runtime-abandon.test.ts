import { endWith } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { MemoryDeadLetter } from '../../engine/deadLetter.js';
import { silentLogger } from '../../engine/log.js';
import { MemoryStore } from '../../engine/memoryStore.js';
import { Metrics } from '../../engine/metrics.js';
import { runPipeline, type RunnableNode } from '../../engine/runtime.js';
import { RunStatus } from '../../engine/runStatus.js';
import type { NodeSpec } from '../../engine/spec.js';

/**
 * A run abandoned (a partition handed to another instance) stops as a crash would:
 * the operators never see the end of the stream, so nothing is flushed early, and no
 * final checkpoint moves the resume point; the source and the sink are still closed.
 * A run merely stopped drains, flushes and checkpoints.
 */
function graph(log: string[], stop: AbortController) {
  const specs = new Map<string, NodeSpec>();
  specs.set('src', {
    type: 'src', kind: 'source', output: 'alerts', summary: '', options: {},
    create: () => ({
      async *read() {
        for (let i = 0; ; i++) {
          log.push(`read ${i}`);
          yield i as never;
        }
      },
      checkpoint: () => { log.push('checkpoint'); return null; },
      restore: () => {},
      close: async () => { log.push('source closed'); },
    }),
  } as NodeSpec);
  specs.set('hold', {
    type: 'hold', kind: 'operator', input: 'alerts', output: 'alerts', summary: '', options: {},
    // Like a rollup: what it holds goes out when its input completes.
    create: () => ({ apply: (in$) => in$.pipe(endWith('flush' as never)) }),
  } as NodeSpec);
  specs.set('sink', {
    type: 'sink', kind: 'sink', input: 'alerts', summary: '', options: {},
    create: () => ({ write: (x: unknown) => {
      log.push(`wrote ${String(x)}`);
      if (x === 1) stop.abort();
    }, close: async () => { log.push('sink closed'); } }),
  } as NodeSpec);
  const nodes: RunnableNode[] = [
    { id: 'src', type: 'src', kind: 'source', inputs: [], output: 'alerts', options: {} },
    { id: 'hold', type: 'hold', kind: 'operator', inputs: ['src'], output: 'alerts', options: {} },
    { id: 'sink', type: 'sink', kind: 'sink', inputs: ['hold'], output: null, options: {} },
  ];
  const metrics = new Metrics();
  return {
    nodes, specs: { get: (t: string) => specs.get(t) }, metrics, deadLetter: new MemoryDeadLetter(metrics),
    log: silentLogger, store: new MemoryStore(), checkpointEvery: 0, signal: stop.signal,
  };
}

describe('runtime: abandoning a run', () => {
  it('stops without the final checkpoint, and closes the source and the sink', async () => {
    const log: string[] = [];
    const stop = new AbortController();
    const status = new RunStatus();
    await runPipeline({ ...graph(log, stop), abandon: stop.signal, status });
    expect(log).toEqual(['read 0', 'wrote 0', 'read 1', 'wrote 1', 'source closed', 'sink closed']);
    expect(status.phase).toBe('stopped');
  });

  it('drains and checkpoints when only stopped', async () => {
    const log: string[] = [];
    const stop = new AbortController();
    await runPipeline(graph(log, stop));
    expect(log).toEqual(['read 0', 'wrote 0', 'read 1', 'wrote 1', 'wrote flush', 'sink closed', 'checkpoint', 'source closed']);
  });
});
