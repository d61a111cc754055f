import type { MitigationDecision } from './mitigation.js';
import { MemoryReferenceStore } from './references.js';
import type { BucketRows, StateStore } from './state.js';
import type { RollupBatch } from './telemetry/rollup.js';
import type { SeriesCatalog } from './telemetry/series.js';

/**
 * A StateStore in memory: the double for unit tests and for runs without `--state`.
 * It keeps checkpoints and the written periods (so tests can read them back) and
 * honours the same contract as the DuckDB store: writing a period again replaces it,
 * and `expire` drops whole periods, so what it holds stays bounded by retention.
 */
export class MemoryStore implements StateStore {
  readonly location = '(memory)';
  /** Rollup batches by period start; a period written again replaces the earlier one. */
  readonly rollups = new Map<number, RollupBatch>();
  readonly buckets = new Map<number, BucketRows>();
  /** The audit, oldest first; bounded by `expireDecisions`. */
  readonly decisions: MitigationDecision[] = [];
  private readonly checkpoints = new Map<string, Uint8Array>();
  readonly references = new MemoryReferenceStore();
  /** The latest `expire` bound asked for. */
  expiredBefore = -Infinity;

  get rollupRows(): number {
    let n = 0;
    for (const b of this.rollups.values()) n += b.length;
    return n;
  }

  get bucketRows(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.length;
    return n;
  }

  async appendRollups(batch: RollupBatch, _catalog: SeriesCatalog): Promise<void> {
    if (batch.length > 0) this.rollups.set(batch.start, batch);
  }

  async appendBuckets(rows: BucketRows): Promise<void> {
    if (rows.length > 0) this.buckets.set(rows.start, rows);
  }

  async expire(before: number): Promise<void> {
    this.expiredBefore = before;
    for (const start of this.rollups.keys()) if (start < before) this.rollups.delete(start);
    for (const start of this.buckets.keys()) if (start < before) this.buckets.delete(start);
  }

  async recordDecisions(rows: readonly MitigationDecision[]): Promise<void> {
    for (const row of rows) this.decisions.push({ ...row });
  }

  async expireDecisions(before: number): Promise<void> {
    let n = 0;
    while (n < this.decisions.length && this.decisions[n]!.decided_at < before) n++;
    this.decisions.splice(0, n);
  }

  async loadCheckpoint(key: string): Promise<Uint8Array | null> {
    const state = this.checkpoints.get(key);
    return state ? state.slice() : null;
  }

  async saveCheckpoint(key: string, state: Uint8Array): Promise<void> {
    // Copied: callers may reuse the buffer they serialised into.
    this.checkpoints.set(key, state.slice());
  }

  async query(): Promise<Record<string, unknown>[]> {
    throw new Error('the in-memory state store does not support SQL queries; use a DuckDB state file (--state)');
  }

  /** Nothing to release; the contents stay readable so a test can resume a run on the same store. */
  async close(): Promise<void> {}
}
