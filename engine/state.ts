import type { MitigationDecision } from './mitigation.js';
import type { ReferenceStore } from './references.js';
import type { RollupBatch } from './telemetry/rollup.js';
import type { SeriesCatalog } from './telemetry/series.js';

/**
 * Durable state of a run (a DuckDB file in production, see connectors/duckdb/):
 * long-horizon rollups that SQL can query, and checkpoints of operators' in-memory
 * state so that a run can stop and resume where it left off.
 *
 * Operators reach it through NodeContext; they never import a database driver.
 */
export interface StateStore {
  /** Where the state lives, for messages ("(memory)" for the in-memory store). */
  readonly location: string;
  /** Append one closed period of rollups; series are described through the catalog. */
  appendRollups(batch: RollupBatch, catalog: SeriesCatalog): Promise<void>;
  /** Append per-component cumulative bucket counts of one period. */
  appendBuckets(rows: BucketRows): Promise<void>;
  /** Delete rollups and bucket counts older than `before` (event-time ms). */
  expire(before: number): Promise<void>;
  /** Append mitigation decisions to the audit (`resin mitigations` lists them). */
  recordDecisions(rows: readonly MitigationDecision[]): Promise<void>;
  /** Delete audited decisions decided before `before` (wall-clock ms). */
  expireDecisions(before: number): Promise<void>;
  /** Latest checkpoint saved under `key`, or null. */
  loadCheckpoint(key: string): Promise<Uint8Array | null>;
  saveCheckpoint(key: string, state: Uint8Array): Promise<void>;
  /** Reference snapshots of healthy processes for diagnosis; a store without it makes diagnosis keep them in memory. */
  readonly references?: ReferenceStore;
  /** Run a read-only SQL query (reports, tests, `resin` subcommands). */
  query(sql: string, params?: readonly (string | number)[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** Cumulative distinct-host counts of one period: row i is (component[i], bucket[i], hosts[i]). */
export interface BucketRows {
  readonly start: number;
  readonly length: number;
  /** Component names' catalog ids. */
  readonly component: Int32Array;
  /** Bucket index into the operator's bucket list. */
  readonly bucket: Int32Array;
  /** Lower bound of the bucket in MB. */
  readonly bucketMb: Float64Array;
  readonly hosts: Int32Array;
  readonly componentNames: readonly string[];
}

/**
 * Something that keeps in-memory state across runs: the engine saves `checkpoint()`
 * into the state store when a run ends (and at durable points while it runs) and
 * hands it back to `restore()` before the next run reads any input.
 */
export interface Checkpointable {
  checkpoint(): unknown;
  restore(state: unknown): void;
  /**
   * The objects that hold the state, for `state_bytes{part}` (the typed arrays they
   * reach); without it the instance itself is walked, which finds nothing in closures.
   */
  held?(): unknown;
}

export function isCheckpointable(x: unknown): x is Checkpointable {
  return typeof x === 'object' && x !== null && typeof (x as Checkpointable).checkpoint === 'function'
    && typeof (x as Checkpointable).restore === 'function';
}
