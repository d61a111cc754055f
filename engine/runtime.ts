import { deserialize, serialize } from 'node:v8';
import { Observable, Subject, catchError, connectable, merge, share, tap, type Connectable } from 'rxjs';
import type { Alert } from './alert.js';
import type { DeadLetter } from './deadLetter.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { Flow } from './flow.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { FrameClock, timed } from './nodeTiming.js';
import type { RunStatus } from './runStatus.js';
import { HostActivity } from './hostActivity.js';
import type { NodeContext, NodeSpec, OperatorInstance, PortType, SinkInstance, SourceInstance } from './spec.js';
import { heldBytes } from './heldBytes.js';
import { isCheckpointable, type StateStore } from './state.js';
import { floatColumn, type SampleBatch } from './telemetry/schema.js';
import { SeriesCatalog } from './telemetry/series.js';

/** The parts of a compiled graph the runtime needs (see engine/pipeline/compile.ts). */
export interface RunnableNode {
  readonly id: string;
  readonly type: string;
  readonly kind: 'source' | 'operator' | 'sink';
  readonly inputs: readonly string[];
  readonly output: PortType | null;
  readonly options: unknown;
}

export interface RunInputs {
  /** Nodes in topological order. */
  readonly nodes: readonly RunnableNode[];
  readonly specs: { get(type: string): NodeSpec | undefined };
  readonly metrics: Metrics;
  readonly deadLetter: DeadLetter;
  readonly log: Logger;
  /**
   * Where state lives; absent for a run that keeps none (no state file, and no node
   * whose type `usesStore`): nothing is restored, checkpoints only tell sources that
   * their input is done with, and a node that reaches for the store anyway fails.
   */
  readonly store?: StateStore;
  readonly signal?: AbortSignal;
  /**
   * Aborted together with `signal` to stop as a crash would, but in-process: no
   * end-of-stream flush and no final checkpoint, so the next run from the same state
   * (here or on another instance) resumes from the last checkpoint exactly as if this
   * one had never gone past it. Sources give back what they hold; sinks are closed.
   */
  readonly abandon?: AbortSignal;
  /** Wall-clock time between checkpoints while running (default 60 s); 0 disables. */
  readonly checkpointEvery?: number;
  /**
   * False when the state store is thrown away after the run (a replay without
   * `--state`): the end of the input is then not checkpointed, work nobody would read.
   */
  readonly finalCheckpoint?: boolean;
  /** Called with every alert an operator emits, e.g. to print a report at the end. */
  readonly onAlert?: (alert: Alert) => void;
  /** Kept up to date with the run's phase, sources, event time and pending work (readiness probes, metrics). */
  readonly status?: RunStatus;
  /** Hosts being profiled, shared by the run's nodes (default: a new board per run). */
  readonly hosts?: HostActivity;
}

export interface RunResult {
  readonly elapsedMs: number;
  readonly catalog: SeriesCatalog;
}

class NodeFailure extends Error {
  override readonly name = 'NodeFailure';
  constructor(readonly node: string, cause: unknown) {
    super(`node "${node}" failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Whether any node's type uses the state store beyond checkpoints (NodeSpec.usesStore). */
export function graphUsesStore(nodes: readonly RunnableNode[], specs: RunInputs['specs']): boolean {
  return nodes.some((n) => specs.get(n.type)?.usesStore === true);
}

/**
 * Whether every node that `source`'s batches reach releases its input
 * (NodeSpec.releasesInput): through the operators that emit samples, since only those
 * may pass its batches (or views of them) on; other outputs hold none by that declaration.
 */
export function batchesReusable(source: RunnableNode, nodes: readonly RunnableNode[], specs: RunInputs['specs']): boolean {
  if (source.output !== 'samples') return false;
  const reached = new Set([source.id]);
  for (const node of nodes) {
    if (!node.inputs.some((id) => reached.has(id))) continue;
    if (specs.get(node.type)?.releasesInput !== true) return false;
    if (node.output === 'samples') reached.add(node.id);
  }
  return true;
}

/** The store a node sees in a run without one: every use fails, naming the node. */
function missingStore(node: RunnableNode): StateStore {
  const fail = async (): Promise<never> => {
    throw new Error(`node "${node.id}" used the state store, but its type "${node.type}" does not declare usesStore, so the run opened none`);
  };
  return {
    location: '(none)', appendRollups: fail, appendBuckets: fail, expire: fail, recordDecisions: fail,
    expireDecisions: fail, loadCheckpoint: fail, saveCheckpoint: fail, query: fail, close: async () => {},
  };
}

const CATALOG_KEY = 'catalog';
const stateKey = (n: RunnableNode) => `node/${n.id}/${n.type}`;

/**
 * Wires a compiled graph into RxJS and runs it to completion (sources exhausted, or
 * `signal` aborted). Sources are pulled: each emits one item, then waits until the
 * graph, including tracked async work, is done with it. Operator outputs are shared,
 * so fan-out computes once. State is restored from the store before any input and
 * checkpointed after the last, and periodically between batches while running (or
 * after any item whose source asks for it); sources hear of each checkpoint through
 * `committed()`, so they can acknowledge input only once its effect is durable.
 *
 * Each operator and sink is timed per item (`node_seconds{node,type}`, its own work
 * only); checkpoint sizes are kept as `checkpoint_bytes{part}`.
 */
export async function runPipeline(run: RunInputs): Promise<RunResult> {
  const started = performance.now();
  const flow = new Flow();
  const catalog = new SeriesCatalog();
  const signal = run.signal ?? new AbortController().signal;
  const status = run.status;
  try {
    const result = await runGraph(run, flow, catalog, signal);
    if (status) status.phase = 'stopped';
    return { elapsedMs: performance.now() - started, catalog: result };
  } catch (err) {
    if (run.abandon?.aborted) {
      if (status) status.phase = 'stopped';
      return { elapsedMs: performance.now() - started, catalog };
    }
    if (status) status.phase = 'failed';
    throw err;
  }
}

/** Ends a source's stream with an error, so that no operator flushes what it holds. */
class RunAbandoned extends Error {
  override readonly name = 'RunAbandoned';
}

async function runGraph(run: RunInputs, flow: Flow, catalog: SeriesCatalog, signal: AbortSignal): Promise<SeriesCatalog> {
  const status = run.status;
  status?.countPendingWith(() => flow.busy);
  const hosts = run.hosts ?? new HostActivity();
  const instances = new Map<string, SourceInstance<unknown> | OperatorInstance<unknown, unknown> | SinkInstance<unknown>>();

  const issues: ConfigIssue[] = [];
  // What every node can reach through its context: not any one node's state.
  const shared = new Set<object>();
  for (const node of run.nodes) {
    const spec = run.specs.get(node.type);
    if (!spec) {
      issues.push({ node: node.id, field: 'type', message: `unknown type "${node.type}"` });
      continue;
    }
    const ctx: NodeContext = {
      id: node.id, metrics: run.metrics, deadLetter: run.deadLetter, flow, catalog,
      log: run.log.child({ node: node.id }), store: run.store ?? missingStore(node), signal, hosts,
      ...(node.kind === 'source' ? { reuseBatches: batchesReusable(node, run.nodes, run.specs) } : {}),
    };
    shared.add(ctx);
    for (const v of Object.values(ctx)) if (typeof v === 'object' && v !== null) shared.add(v);
    try {
      instances.set(node.id, spec.create(node.options as never, ctx) as never);
    } catch (err) {
      issues.push({ node: node.id, field: 'options', message: err instanceof Error ? err.message : String(err) });
    }
  }
  if (issues.length > 0) {
    await closeAll(instances);
    throw new ConfigError(issues);
  }

  if (status) {
    status.phase = 'restoring';
    status.step = 'restoring state';
  }
  await restore(run, catalog, instances);
  let lastCheckpoint = performance.now();
  const every = run.checkpointEvery ?? 60_000;
  const sourceInstances = run.nodes.filter((n) => n.kind === 'source').map((n) => instances.get(n.id) as SourceInstance<unknown>);
  const betweenBatches = async (source: SourceInstance<unknown>) => {
    await flow.settle();
    if ((every > 0 && performance.now() - lastCheckpoint >= every) || source.checkpointDue?.() === true
      || status?.takeCheckpointRequest() === true) {
      // A checkpoint covers every write of the input before it.
      await flow.idle();
      await checkpoint(run, catalog, instances, shared);
      await committed(sourceInstances);
      lastCheckpoint = performance.now();
    }
  };
  const clock = new FrameClock();

  const outputs = new Map<string, Observable<unknown>>();
  const sources: Connectable<unknown>[] = [];
  const done: Promise<void>[] = [];
  for (const node of run.nodes) {
    const instance = instances.get(node.id)!;
    const input = () => {
      const streams = node.inputs.map((id) => outputs.get(id)!);
      return streams.length === 1 ? streams[0]! : merge(...streams);
    };
    const seconds = () => run.metrics.histogram('node_seconds', { node: node.id, type: node.type });
    if (node.kind === 'source') {
      const source = instance as SourceInstance<unknown>;
      status?.watchSource(node.id, source.ready ? () => source.ready!() : undefined);
      const src = connectable(pull(node, source, run.metrics, signal, betweenBatches, status, run.abandon), {
        connector: () => new Subject<unknown>(),
        resetOnDisconnect: false,
      });
      sources.push(src);
      outputs.set(node.id, src);
    } else if (node.kind === 'operator') {
      let out = (instance as OperatorInstance<unknown, unknown>).apply(timed(input(), clock, seconds())).pipe(
        catchError((err) => { throw err instanceof NodeFailure ? err : new NodeFailure(node.id, err); }),
      );
      if (node.output === 'alerts') out = out.pipe(tap((a) => countAlert(run, a as Alert)));
      else if (status) out = out.pipe(tap((item) => noteWatermark(status, node.id, item)));
      outputs.set(node.id, out.pipe(share()));
    } else {
      const sink = instance as SinkInstance<unknown>;
      done.push(new Promise<void>((resolve, reject) => {
        timed(input(), clock, seconds()).subscribe({
          // A throw inside a subscriber's next() would escape RxJS as an uncaught error.
          next: (item) => {
            try {
              sink.write(item);
            } catch (err) {
              reject(new NodeFailure(node.id, err));
            }
          },
          error: (err) => reject(err instanceof NodeFailure ? err : new NodeFailure(node.id, err)),
          complete: () => resolve(),
        });
      }));
    }
  }

  const step = (what: string) => { if (status) status.step = what; };
  const draining = () => {
    if (status?.phase === 'running') status.phase = 'draining';
    step('draining in-flight batches');
  };
  if (status) {
    status.phase = 'running';
    status.step = 'reading';
    if (signal.aborted) draining();
    else signal.addEventListener('abort', draining, { once: true });
  }
  const subscriptions = sources.map((s) => s.connect());
  try {
    await Promise.all(done);
    step('waiting for asynchronous work');
    await flow.idle();
    step('closing sinks');
    for (const node of run.nodes) {
      if (node.kind === 'sink') await (instances.get(node.id) as SinkInstance<unknown>).close();
    }
    if (run.finalCheckpoint !== false) {
      step('checkpointing');
      await checkpoint(run, catalog, instances, shared);
      await committed(sourceInstances);
    }
  } finally {
    signal.removeEventListener('abort', draining);
    step('closing nodes');
    for (const s of subscriptions) s.unsubscribe();
    // Sinks closed on the normal path above; an abandoned run still releases their connections.
    await closeAll(instances, run.nodes.filter((n) => n.kind !== 'sink' || run.abandon?.aborted === true).map((n) => n.id));
    step('stopped');
  }
  return catalog;
}

/** Items on samples, rollups and buckets edges say how far their stream is complete. */
function noteWatermark(status: RunStatus, id: string, item: unknown): void {
  const w = (item as { watermark?: unknown } | null)?.watermark;
  if (typeof w === 'number' && w > -Infinity) status.watermarks.set(id, w);
}

/** Newest event time of a batch of samples: one pass over its ts column. */
function newestTs(batch: SampleBatch): number {
  const ts = floatColumn(batch.data, 'ts');
  let max = -Infinity;
  for (let i = 0; i < ts.length; i++) if (ts[i]! > max) max = ts[i]!;
  return max;
}

function countAlert(run: RunInputs, alert: Alert): void {
  run.metrics.inc('alerts', { level: alert.level, state: alert.state });
  run.onAlert?.(alert);
}

/** A source as an Observable that asks for its next item only after the graph is idle. */
function pull(
  node: RunnableNode, source: SourceInstance<unknown>, metrics: Metrics, signal: AbortSignal,
  betweenBatches: (source: SourceInstance<unknown>) => Promise<void>, status: RunStatus | undefined,
  abandon: AbortSignal | undefined,
): Observable<unknown> {
  const rows = metrics.counter('rows_out', { node: node.id });
  const items = metrics.counter('items_out', { node: node.id });
  const samples = node.output === 'samples';
  return new Observable((sub) => {
    let stopped = false;
    (async () => {
      status?.sourceReading(node.id, true);
      const iterator = source.read()[Symbol.asyncIterator]();
      try {
        while (!stopped && !signal.aborted) {
          const next = await iterator.next();
          if (next.done) break;
          items.value++;
          const data = (next.value as { data?: { numRows?: number } }).data;
          if (data?.numRows !== undefined) rows.value += data.numRows;
          if (status) {
            if (samples && data?.numRows) status.observeEventTime(newestTs(next.value as SampleBatch));
            noteWatermark(status, node.id, next.value);
          }
          sub.next(next.value);
          await betweenBatches(source);
        }
        await iterator.return?.();
        status?.sourceReading(node.id, false);
        if (abandon?.aborted) throw new RunAbandoned('abandoned');
        sub.complete();
      } catch (err) {
        await iterator.return?.().catch(() => {});
        status?.sourceReading(node.id, false);
        sub.error(err instanceof NodeFailure ? err : new NodeFailure(node.id, err));
      }
    })();
    return () => { stopped = true; };
  });
}

async function restore(run: RunInputs, catalog: SeriesCatalog, instances: Map<string, unknown>): Promise<void> {
  const store = run.store;
  if (!store) return;
  const saved = await store.loadCheckpoint(CATALOG_KEY);
  if (saved) catalog.restore(deserialize(saved));
  for (const node of run.nodes) {
    const instance = instances.get(node.id);
    if (!isCheckpointable(instance)) continue;
    const state = await store.loadCheckpoint(stateKey(node));
    if (state) instance.restore(deserialize(state));
  }
}

async function checkpoint(run: RunInputs, catalog: SeriesCatalog, instances: Map<string, unknown>, shared: ReadonlySet<object>): Promise<void> {
  const store = run.store;
  // Without a store no state outlives the run: nothing to serialise.
  if (!store) return;
  const started = performance.now();
  const catalogState = serialize(catalog.checkpoint());
  run.metrics.gauge('checkpoint_bytes', { part: CATALOG_KEY }).value = catalogState.byteLength;
  const states: [string, Uint8Array][] = [[CATALOG_KEY, catalogState]];
  for (const node of run.nodes) {
    const instance = instances.get(node.id);
    if (!isCheckpointable(instance)) continue;
    const state = serialize(instance.checkpoint());
    run.metrics.gauge('checkpoint_bytes', { part: node.id }).value = state.byteLength;
    run.metrics.gauge('state_bytes', { part: node.id }).value = heldBytes(instance.held ? instance.held() : instance, shared);
    states.push([stateKey(node), state]);
  }
  // Asked for in one synchronous turn, the saves share one transaction (and one commit) in the store.
  await Promise.all(states.map(([key, state]) => store.saveCheckpoint(key, state)));
  run.metrics.inc('checkpoints');
  run.metrics.histogram('checkpoint_seconds').observe((performance.now() - started) / 1000);
}

/** Tells sources that their input up to the checkpoint just taken is durable. */
async function committed(sources: readonly SourceInstance<unknown>[]): Promise<void> {
  for (const source of sources) await source.committed?.();
}

async function closeAll(instances: Map<string, unknown>, ids?: string[]): Promise<void> {
  for (const id of ids ?? instances.keys()) {
    const inst = instances.get(id) as { close?: () => Promise<void> } | undefined;
    await inst?.close?.().catch(() => {});
  }
}
