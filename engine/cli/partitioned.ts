import { PartitionLeases } from '../../connectors/nats/leases.js';
import { partitionFile, type PartitionPlan } from '../../connectors/nats/partitions.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { RunStatus } from '../runStatus.js';
import { runSession } from './session.js';
import { sleep } from '../sleep.js';

export interface PartitionedRunOptions {
  readonly pipeline: string;
  readonly plan: PartitionPlan;
  /** This instance's name in the lease bucket: unique among the instances sharing the partitions. */
  readonly instance: string;
  readonly metrics: Metrics;
  /** The instance's status (readiness, drain): running while it holds its partitions. */
  readonly status: RunStatus;
  /** State and dead-letter paths; each partition gets its own file beside them (partitionFile). */
  readonly state: string;
  readonly stateMemory: string;
  readonly deadLetter: string;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly checkpointEvery: number;
}

export interface PartitionedRunResult {
  readonly elapsedMs: number;
  readonly samplesRead: number;
  readonly seriesSeen: number;
}

interface PartitionRun {
  readonly stop: AbortController;
  readonly status: RunStatus;
  readonly done: Promise<void>;
}

/** Longest pause between attempts to run a partition that keeps failing. */
const MAX_RETRY_MS = 30_000;
/** Pause between attempts to open a state file that the partition's previous holder still has open. */
const LOCKED_RETRY_MS = 500;

/**
 * `resin run` on a partitioned pipeline: this instance holds partitions through
 * leases (connectors/nats/leases.ts) and runs the pipeline once per partition held,
 * each run with its own durable consumer and its own state file, as a single-partition
 * `resin run` would. A run that fails is started again while the lease is held (the
 * usual cause: the previous holder still has the partition's state file open, and
 * DuckDB's lock on it keeps two holders from ever writing it at once). A partition
 * handed over or lost (or the instance stopping) is abandoned rather than drained: no
 * end-of-stream flush, no final checkpoint, what it held given back to the server. The
 * next holder resumes from the last checkpoint as after a crash, which is the one path
 * whose results equal an uninterrupted run's (a drain would emit the open rollup
 * periods early, and level 2 would keep those partial periods).
 */
export async function runPartitioned(o: PartitionedRunOptions): Promise<PartitionedRunResult> {
  const started = performance.now();
  const runs = new Map<number, PartitionRun>();
  const series = new Map<number, number>();
  // A pipeline that cannot run on one partition cannot run on any: the instance stops.
  const stopAll = new AbortController();
  let fatal: unknown = null;
  const onSignal = () => stopAll.abort();
  o.signal.addEventListener('abort', onSignal, { once: true });
  if (o.signal.aborted) stopAll.abort();

  o.status.step = 'opening the lease bucket';
  const leases = await PartitionLeases.open(o.plan, o.instance, o.log, o.metrics);
  o.status.storeOpen = true;
  o.status.watchSource(`partitions of ${o.instance}`, () => leases.connected
    && [...runs.values()].every((r) => r.status.readiness().ready));
  o.status.phase = 'running';
  o.status.step = 'holding partitions';
  o.log.info('sharing partitions', {
    instance: o.instance, partitions: o.plan.count, lease_ms: o.plan.leaseMs, bucket: o.plan.bucket,
  });

  const launch = (p: number): PartitionRun => {
    const stop = new AbortController();
    const status = new RunStatus();
    const log = o.log.child({ partition: p });
    const graph = o.plan.graphFor(p);
    const done = (async () => {
      let retryMs = 1000;
      while (!stop.signal.aborted) {
        try {
          const r = await runSession({
            pipeline: o.pipeline, graph, metrics: o.metrics, status, log, signal: stop.signal, abandon: stop.signal,
            state: partitionFile(o.state, p, o.plan.count), stateMemory: o.stateMemory,
            deadLetter: partitionFile(o.deadLetter, p, o.plan.count), checkpointEvery: o.checkpointEvery,
          });
          series.set(p, r.seriesSeen);
          if (stop.signal.aborted) break;
          log.warn('partition pipeline ended on its own: starting it again');
        } catch (err) {
          if (err instanceof ConfigError) {
            fatal ??= err;
            stopAll.abort();
            return;
          }
          // The previous holder still closing the state file is expected during a handover: no backoff.
          const locked = /Could not set lock/.test((err as Error).message);
          const wait = locked ? LOCKED_RETRY_MS : retryMs;
          (locked ? log.info : log.error)('partition pipeline failed: starting it again while the lease is held', {
            error: (err as Error).message, retry_ms: wait,
          });
          await sleep(wait, stop.signal);
          if (!locked) retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
        }
      }
    })();
    return { stop, status, done };
  };

  const abortRuns = () => {
    if (o.status.phase === 'running') o.status.phase = 'draining';
    o.status.step = `stopping partitions ${leases.partitions.join(', ')} and releasing their leases`;
  };
  stopAll.signal.addEventListener('abort', abortRuns, { once: true });
  try {
    await leases.run({
      start(p) {
        runs.set(p, launch(p));
      },
      async stop(p) {
        const run = runs.get(p);
        if (!run) return;
        run.stop.abort();
        await run.done;
        runs.delete(p);
      },
    }, stopAll.signal);
  } finally {
    o.signal.removeEventListener('abort', onSignal);
    // Leases end only once every run stopped; a failure in the loop itself must not leave runs behind.
    for (const run of runs.values()) run.stop.abort();
    await Promise.all([...runs.values()].map((r) => r.done));
    o.status.storeOpen = false;
  }
  if (fatal) throw fatal;
  const samplesRead = o.metrics.total('rows_out', { node: o.plan.node });
  return { elapsedMs: performance.now() - started, samplesRead, seriesSeen: [...series.values()].reduce((a, b) => a + b, 0) };
}
