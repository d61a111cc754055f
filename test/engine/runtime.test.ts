import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { MemoryDeadLetter } from '../../engine/deadLetter.js';
import { ConfigError } from '../../engine/errors.js';
import { silentLogger } from '../../engine/log.js';
import { MemoryStore } from '../../engine/memoryStore.js';
import { Metrics } from '../../engine/metrics.js';
import { join } from 'node:path';
import { compileFile } from '../../engine/cli/session.js';
import { PACKAGE_ROOT } from '../../engine/cli/paths.js';
import { defaultRegistry } from '../../engine/nodes.js';
import { batchesReusable, graphUsesStore, runPipeline, type RunnableNode } from '../../engine/runtime.js';
import type { NodeContext, NodeSpec } from '../../engine/spec.js';

/** Test specs carry plain numbers on the `alerts` port: the runtime does not look inside items. */
type Num = never;

function specs(extra: NodeSpec[] = []) {
  const all = new Map<string, NodeSpec>();
  const counter = (n: number, delayMs: number, pulled: number[]) => ({
    type: 'count', kind: 'source', output: 'alerts', summary: '', options: {},
    create: (o: { n?: number }) => ({
      async *read() {
        for (let i = 0; i < (o.n ?? n); i++) {
          pulled.push(i);
          if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
          yield i as Num;
        }
      },
    }),
  } as NodeSpec);
  return { all, counter, add: (s: NodeSpec) => all.set(s.type, s), get: (t: string) => all.get(t), extra };
}

function collector(into: unknown[], closed: { n: number }): NodeSpec {
  return {
    type: 'collect', kind: 'sink', input: 'alerts', summary: '', options: {},
    create: () => ({ write: (x: unknown) => { into.push(x); }, close: async () => { closed.n++; } }),
  } as NodeSpec;
}

function ctxDeps() {
  const metrics = new Metrics();
  return { metrics, deadLetter: new MemoryDeadLetter(metrics), log: silentLogger, store: new MemoryStore() };
}

const node = (id: string, type: string, kind: RunnableNode['kind'], inputs: string[] = [], options: unknown = {}): RunnableNode =>
  ({ id, type, kind, inputs, output: kind === 'sink' ? null : 'alerts', options });

describe('runPipeline', () => {
  it('runs source -> operator -> two sinks, computing the shared operator once per item', async () => {
    const s = specs();
    const pulled: number[] = [];
    let applied = 0;
    s.add(s.counter(5, 0, pulled));
    s.add({
      type: 'double', kind: 'operator', input: 'alerts', output: 'alerts', summary: '', options: {},
      create: () => ({ apply: (in$) => in$.pipe(map((x) => { applied++; return ((x as unknown as number) * 2) as Num; })) }),
    } as NodeSpec);
    const a: unknown[] = [], b: unknown[] = [];
    const closedA = { n: 0 }, closedB = { n: 0 };
    s.add(collector(a, closedA));
    s.add({ ...collector(b, closedB), type: 'collect2' } as NodeSpec);
    const deps = ctxDeps();
    await runPipeline({
      ...deps, specs: s,
      nodes: [node('src', 'count', 'source'), node('x2', 'double', 'operator', ['src']), node('a', 'collect', 'sink', ['x2']), node('b', 'collect2', 'sink', ['x2'])],
    });
    expect(a).toEqual([0, 2, 4, 6, 8]);
    expect(b).toEqual([0, 2, 4, 6, 8]);
    expect(applied).toBe(5);
    expect([closedA.n, closedB.n]).toEqual([1, 1]);
    expect(deps.metrics.total('items_out', { node: 'src' })).toBe(5);
  });

  it('pulls the next item only after tracked async work of the previous one has finished', async () => {
    const s = specs();
    const pulled: number[] = [];
    const finished: number[] = [];
    let maxAhead = 0;
    s.add(s.counter(6, 0, pulled));
    s.add({
      type: 'slow', kind: 'sink', input: 'alerts', summary: '', options: {},
      create: (_o: unknown, ctx: NodeContext) => ({
        write: (x: unknown) => {
          maxAhead = Math.max(maxAhead, pulled.length - finished.length);
          ctx.flow.track(new Promise<void>((r) => setTimeout(() => { finished.push(x as number); r(); }, 10)));
        },
        close: async () => {},
      }),
    } as NodeSpec);
    await runPipeline({ ...ctxDeps(), specs: s, nodes: [node('src', 'count', 'source'), node('out', 'slow', 'sink', ['src'])] });
    expect(finished).toEqual([0, 1, 2, 3, 4, 5]);
    expect(maxAhead).toBe(1);
  });

  it('reports a failing operator by node id and still closes', async () => {
    const s = specs();
    s.add(s.counter(3, 0, []));
    s.add({
      type: 'boom', kind: 'operator', input: 'alerts', output: 'alerts', summary: '', options: {},
      create: () => ({ apply: (in$) => in$.pipe(map((x) => { if ((x as unknown as number) === 1) throw new Error('bad item'); return x; })) }),
    } as NodeSpec);
    const closed = { n: 0 };
    s.add(collector([], closed));
    await expect(runPipeline({
      ...ctxDeps(), specs: s,
      nodes: [node('src', 'count', 'source'), node('explode', 'boom', 'operator', ['src']), node('out', 'collect', 'sink', ['explode'])],
    })).rejects.toThrow(/node "explode" failed: bad item/);
  });

  it('collects every node whose options are refused at build time into one ConfigError', async () => {
    const s = specs();
    const refuse = (type: string): NodeSpec => ({
      type, kind: 'operator', input: 'alerts', output: 'alerts', summary: '', options: {},
      create: () => { throw new RangeError(`"window" of ${type} must be > 0`); },
    } as NodeSpec);
    s.add(s.counter(1, 0, []));
    s.add(refuse('r1'));
    s.add(refuse('r2'));
    s.add(collector([], { n: 0 }));
    const err = await runPipeline({
      ...ctxDeps(), specs: s,
      nodes: [node('src', 'count', 'source'), node('one', 'r1', 'operator', ['src']), node('two', 'r2', 'operator', ['one']), node('out', 'collect', 'sink', ['two'])],
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => i.node)).toEqual(['one', 'two']);
  });

  it('restores checkpointed operator state on the next run with the same store', async () => {
    const s = specs();
    s.add(s.counter(4, 0, []));
    s.add({
      type: 'sum', kind: 'operator', input: 'alerts', output: 'alerts', summary: '', options: {},
      create: () => {
        let total = 0;
        return {
          apply: (in$) => in$.pipe(map((x) => { total += x as unknown as number; return total as Num; })),
          checkpoint: () => ({ total }),
          restore: (st: unknown) => { total = (st as { total: number }).total; },
        };
      },
    } as NodeSpec);
    const out: unknown[] = [];
    s.add(collector(out, { n: 0 }));
    const deps = ctxDeps();
    const nodes = [node('src', 'count', 'source'), node('acc', 'sum', 'operator', ['src']), node('out', 'collect', 'sink', ['acc'])];
    await runPipeline({ ...deps, specs: s, nodes });
    await runPipeline({ ...deps, specs: s, nodes });
    expect(out).toEqual([0, 1, 3, 6, 6, 7, 9, 12]);
  });

  it('stops an endless source when aborted, flushing sinks', async () => {
    const s = specs();
    s.add(s.counter(Number.MAX_SAFE_INTEGER, 1, []));
    const out: unknown[] = [];
    const closed = { n: 0 };
    s.add(collector(out, closed));
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 50);
    await runPipeline({ ...ctxDeps(), specs: s, signal: stop.signal, nodes: [node('src', 'count', 'source'), node('out', 'collect', 'sink', ['src'])] });
    expect(out.length).toBeGreaterThan(0);
    expect(closed.n).toBe(1);
  });

  it('fails a node that reaches for the store in a run without one, naming the node', async () => {
    const s = specs();
    s.add(s.counter(1, 0, []));
    s.add({
      type: 'saver', kind: 'sink', input: 'alerts', summary: '', options: {},
      create: (_o: unknown, ctx: NodeContext) => ({
        write: () => { ctx.flow.track(ctx.store.saveCheckpoint('x', new Uint8Array(1))); },
        close: async () => {},
      }),
    } as NodeSpec);
    const { store: _none, ...deps } = ctxDeps();
    await expect(runPipeline({ ...deps, specs: s, nodes: [node('src', 'count', 'source'), node('keep', 'saver', 'sink', ['src'])] }))
      .rejects.toThrow(/node "keep" used the state store, but its type "saver" does not declare usesStore/);
  });
});

describe('graphUsesStore', () => {
  const uses = async (name: string) => graphUsesStore((await compileFile(join(PACKAGE_ROOT, 'pipelines', name))).nodes, defaultRegistry());

  it('is false for the pass-through pipeline, which a replay then runs without a store', async () => {
    expect(await uses('passthrough.yaml')).toBe(false);
  });

  it('is true for the default pipeline, whose rollups go to the store', async () => {
    expect(await uses('resin.yaml')).toBe(true);
  });
});

describe('batchesReusable', () => {
  const graphOf = async (name: string) => (await compileFile(join(PACKAGE_ROOT, 'pipelines', name))).nodes;

  it.each(['passthrough.yaml', 'resin.yaml'])('lets the source of %s reuse batch memory: every node its samples reach releases them', async (name) => {
    const nodes = await graphOf(name);
    expect(batchesReusable(nodes.find((n) => n.kind === 'source')!, nodes, defaultRegistry())).toBe(true);
  });

  it('does not when one node the samples reach, even past an operator, may keep them', async () => {
    const registry = defaultRegistry();
    const keeper = { type: 'keeper', kind: 'sink', input: 'samples', summary: '', options: {}, create: () => ({ write: () => {}, close: async () => {} }) } as NodeSpec;
    const specs = { get: (t: string) => (t === 'keeper' ? keeper : registry.get(t)) };
    const nodes: RunnableNode[] = [
      { id: 'src', type: 'file', kind: 'source', inputs: [], output: 'samples', options: {} },
      { id: 'ordered', type: 'watermark', kind: 'operator', inputs: ['src'], output: 'samples', options: {} },
      { id: 'count', type: 'discard', kind: 'sink', inputs: ['ordered'], output: null, options: {} },
      { id: 'keep', type: 'keeper', kind: 'sink', inputs: ['ordered'], output: null, options: {} },
    ];
    expect(batchesReusable(nodes[0]!, nodes, specs)).toBe(false);
    expect(batchesReusable(nodes[0]!, nodes.slice(0, 3), specs)).toBe(true);
  });
});
