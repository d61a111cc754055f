import type { Observable } from 'rxjs';
import type { Alert } from './alert.js';
import type { DeadLetter } from './deadLetter.js';
import type { Flow } from './flow.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { SampleBatch } from './telemetry/schema.js';
import type { RollupBatch } from './telemetry/rollup.js';
import type { SeriesCatalog } from './telemetry/series.js';
import type { StateStore } from './state.js';
import type { BucketBatch } from './telemetry/buckets.js';
import type { DiagnosisReport } from './diagnosis.js';
import type { HostActivity } from './hostActivity.js';
import type { MitigationDecision } from './mitigation.js';

/** What travels on an edge of the graph; an edge joins an output and an input of one type. */
export interface PortValues {
  samples: SampleBatch;
  rollups: RollupBatch;
  buckets: BucketBatch;
  alerts: Alert;
  reports: DiagnosisReport;
  actions: MitigationDecision;
}
export type PortType = keyof PortValues;
export const PORT_TYPES: readonly PortType[] = ['samples', 'rollups', 'buckets', 'alerts', 'reports', 'actions'];

/** JSON Schema (draft 2020-12 subset understood by ajv) of a node's `options`. */
export type OptionsSchema = Record<string, unknown>;

/** Services a node gets from the engine; nodes never reach for globals. */
export interface NodeContext {
  /** The node's id in the pipeline definition. */
  readonly id: string;
  readonly metrics: Metrics;
  readonly deadLetter: DeadLetter;
  readonly flow: Flow;
  readonly log: Logger;
  /** Interned hosts, components, processes and series shared by every node of a run. */
  readonly catalog: SeriesCatalog;
  /** Durable rollups and checkpoints; an operator with state implements Checkpointable. */
  readonly store: StateStore;
  /** Aborted when the run is asked to stop (SIGINT/SIGTERM): sources end, sinks flush. */
  readonly signal: AbortSignal;
  /** Hosts being profiled now: diagnosis marks them, mitigation leaves them alone. */
  readonly hosts: HostActivity;
  /**
   * For a source: true when every node its batches reach releases its input
   * (NodeSpec.releasesInput), so that the memory of a batch may be reused for a later
   * one once the flow has settled the batch after it.
   */
  readonly reuseBatches?: boolean;
}

interface SpecBase<O> {
  /** The name a pipeline definition uses in `type:`. */
  readonly type: string;
  /** One line for `resin --help` and docs. */
  readonly summary: string;
  /** JSON Schema of `options`; defaults in it are applied before `create`. */
  readonly options: OptionsSchema;
  /** Called once per run with validated options (defaults applied). */
  readonly _options?: O;
  /**
   * True when the node uses the state store beyond checkpoints (rollups, bucket counts,
   * the mitigation audit, reference snapshots). A run without a state file of its own
   * opens a store only for a graph with such a node: opening and removing a temporary
   * DuckDB file costs a short replay more than reading it.
   */
  readonly usesStore?: boolean;
  /**
   * For a node whose input is samples: true when it keeps nothing of an input batch (no
   * reference to it, no view of its columns' memory) once its handling of the batch is
   * over, work registered with the flow included, and what it emits on another port
   * holds no view of it either. When every node a source's batches reach declares
   * this, the source may reuse their memory (NodeContext.reuseBatches), which spares
   * the garbage collector a fresh buffer per batch. Absent means the node may keep them.
   */
  readonly releasesInput?: boolean;
}

export interface SourceSpec<O = any, T extends PortType = PortType> extends SpecBase<O> {
  readonly kind: 'source';
  readonly output: T;
  create(options: O, ctx: NodeContext): SourceInstance<PortValues[T]>;
}

export interface OperatorSpec<O = any, I extends PortType = PortType, T extends PortType = PortType> extends SpecBase<O> {
  readonly kind: 'operator';
  /** Accepted input type; several inputs of that type are merged. */
  readonly input: I;
  readonly output: T;
  /** Most inputs accepted (default 1). */
  readonly maxInputs?: number;
  create(options: O, ctx: NodeContext): OperatorInstance<PortValues[I], PortValues[T]>;
}

export interface SinkSpec<O = any, I extends PortType = PortType> extends SpecBase<O> {
  readonly kind: 'sink';
  readonly input: I;
  /** Most inputs accepted (default unbounded). */
  readonly maxInputs?: number;
  create(options: O, ctx: NodeContext): SinkInstance<PortValues[I]>;
}

export type NodeSpec = SourceSpec | OperatorSpec | SinkSpec;

/** A source is pulled: the engine asks for the next item only once the graph is done with the last. */
export interface SourceInstance<T> {
  read(): AsyncIterable<T>;
  close?(): Promise<void>;
  /**
   * Asked after each item, once the graph is idle: true makes the engine checkpoint
   * now rather than when `checkpointEvery` elapses (e.g. a source that acknowledges
   * its input only once its effect is durable, and must not hold it unacknowledged).
   */
  checkpointDue?(): boolean;
  /**
   * Called after every checkpoint: everything this source emitted before its own
   * `checkpoint()` was taken is now durable, so it may acknowledge that input.
   */
  committed?(): Promise<void>;
  /**
   * Whether the source can deliver input now (e.g. connected to its server), for the
   * sidecar's readiness probe. A source without it is ready once it has been started.
   */
  ready?(): boolean;
}

/** An operator is an RxJS operator over its (merged) input; `close` releases what it holds. */
export interface OperatorInstance<I, O> {
  apply(input: Observable<I>): Observable<O>;
  close?(): Promise<void>;
}

/** A sink consumes its input; `close` flushes and resolves once everything is durable. */
export interface SinkInstance<I> {
  write(item: I): void;
  close(): Promise<void>;
}
