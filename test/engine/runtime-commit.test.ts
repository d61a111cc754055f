import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { MemoryDeadLetter } from '../../engine/deadLetter.js';
import { silentLogger } from '../../engine/log.js';
import { MemoryStore } from '../../engine/memoryStore.js';
import { Metrics } from '../../engine/metrics.js';
import { runPipeline, type RunnableNode } from '../../engine/runtime.js';
import type { NodeContext, NodeSpec } from '../../engine/spec.js';

/**
 * The commit hook a source uses to acknowledge input only once its effect is durable:
 * the order of events must be item processed (incl. tracked async work) -> checkpoint
 * -> committed, before the source is asked for the next item.
 */
function graph(log: string[], opts: { due: boolean; items: number }) {
  const specs = new Map<string, NodeSpec>();
  specs.set('src', {
    type: 'src', kind: 'source', output: 'alerts', summary: '', options: {},
    create: () => ({
      async *read() {
        for (let i = 0; i < opts.items; i++) {
          log.push(`read ${i}`);
          yield i as never;
        }
      },
      ...(opts.due ? { checkpointDue: () => true } : {}),
      checkpoint: () => { log.push('source checkpoint'); return null; },
      restore: () => {},
      committed: async () => { log.push('committed'); },
    }),
  } as NodeSpec);
  specs.set('slow', {
    type: 'slow', kind: 'operator', input: 'alerts', output: 'alerts', summary: '', options: {},
    create: (_o: unknown, ctx: NodeContext) => ({
      apply: (in$) => in$.pipe(map((x) => {
        ctx.flow.track(new Promise((r) => setTimeout(r, 5)).then(() => log.push(`durable ${String(x)}`)));
        return x;
      })),
      checkpoint: () => { log.push('operator checkpoint'); return null; },
      restore: () => {},
    }),
  } as NodeSpec);
  specs.set('sink', {
    type: 'sink', kind: 'sink', input: 'alerts', summary: '', options: {},
    create: () => ({ write: () => {}, close: async () => {} }),
  } as NodeSpec);
  const nodes: RunnableNode[] = [
    { id: 'src', type: 'src', kind: 'source', inputs: [], output: 'alerts', options: {} },
    { id: 'slow', type: 'slow', kind: 'operator', inputs: ['src'], output: 'alerts', options: {} },
    { id: 'sink', type: 'sink', kind: 'sink', inputs: ['slow'], output: null, options: {} },
  ];
  const metrics = new Metrics();
  return {
    nodes, specs: { get: (t: string) => specs.get(t) }, metrics, deadLetter: new MemoryDeadLetter(metrics),
    log: silentLogger, store: new MemoryStore(), checkpointEvery: 0,
  };
}

describe('runtime commit hook', () => {
  it('checkpoints after every item of a source that asks, then tells it, before reading on', async () => {
    const log: string[] = [];
    await runPipeline(graph(log, { due: true, items: 2 }));
    const step = ['source checkpoint', 'operator checkpoint', 'committed'];
    expect(log).toEqual([
      'read 0', 'durable 0', ...step,
      'read 1', 'durable 1', ...step,
      ...step, // the final checkpoint
    ]);
  });

  it('commits only at the final checkpoint when the source does not ask', async () => {
    const log: string[] = [];
    await runPipeline(graph(log, { due: false, items: 2 }));
    expect(log).toEqual(['read 0', 'durable 0', 'read 1', 'durable 1', 'source checkpoint', 'operator checkpoint', 'committed']);
  });

  it('takes no final checkpoint, and commits nothing, for a state store thrown away after the run', async () => {
    const log: string[] = [];
    const run = graph(log, { due: false, items: 2 });
    await runPipeline({ ...run, finalCheckpoint: false });
    expect(log).toEqual(['read 0', 'durable 0', 'read 1', 'durable 1']);
    expect(await run.store.loadCheckpoint('catalog')).toBeNull();
  });

  it('without a store restores and serialises nothing, and still tells a source that asks after each item', async () => {
    const log: string[] = [];
    const { store: _unused, ...run } = graph(log, { due: true, items: 2 });
    await runPipeline(run);
    expect(log).toEqual(['read 0', 'durable 0', 'committed', 'read 1', 'durable 1', 'committed', 'committed']);
    expect(run.metrics.total('checkpoints')).toBe(0);
  });

  it('waits for writes tracked behind before a checkpoint and before the end', async () => {
    const log: string[] = [];
    const run = graph(log, { due: true, items: 2 });
    const behind = run.specs.get('slow')!;
    const specs = new Map<string, NodeSpec>([['src', run.specs.get('src')!], ['sink', run.specs.get('sink')!]]);
    specs.set('slow', {
      ...behind,
      create: (_o: unknown, ctx: NodeContext) => ({
        apply: (in$: import('rxjs').Observable<unknown>) => in$.pipe(map((x) => {
          ctx.flow.trackBehind(new Promise((r) => setTimeout(r, 20)).then(() => log.push(`written ${String(x)}`)));
          return x;
        })),
        checkpoint: () => { log.push('operator checkpoint'); return null; },
        restore: () => {},
      }),
    } as NodeSpec);
    await runPipeline({ ...run, specs: { get: (t: string) => specs.get(t) } });
    const step = ['source checkpoint', 'operator checkpoint', 'committed'];
    expect(log).toEqual(['read 0', 'written 0', ...step, 'read 1', 'written 1', ...step, ...step]);
  });
});
