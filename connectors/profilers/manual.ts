import { hostname } from 'node:os';
import {
  ProfileError, type DiagnosisReport, type HeapSnapshot, type MemoryPoint, type ProfileTarget, type Profiler, type ProfilerSession,
} from '../../engine/diagnosis.js';
import { formatMs } from '../../engine/duration.js';
import { localise } from '../../operators/diagnose/localise.js';
import { assertAlive } from './proc.js';

export interface ManualDiagnosis {
  /** Null when no profiler accepts the target: the report says so. */
  profiler: Profiler | null;
  target: ProfileTarget;
  durationMs: number;
  intervalMs: number;
  signal: AbortSignal;
  /** Stacks reported (default 10). */
  top?: number;
  /** Called after each snapshot, e.g. to show progress. */
  onSnapshot?: (index: number, snapshot: HeapSnapshot) => void;
}

/** Snapshots kept for localisation (the first and the newest): it diffs the widest pair, then falls back a pair at a time. */
const KEEP_SNAPSHOTS = 6;
/** Memory points kept for the chart, however long the collection. */
const KEEP_MEMORY = 4096;

export function manualTarget(pid: number, process = `pid ${pid}`): ProfileTarget {
  return { host: hostname(), component: process, process, pid };
}

/**
 * Profiles one process now, without an alert: a snapshot at the start and one every
 * interval until the duration has passed, then the method's localisation with nothing
 * known about the leak (pattern unknown, no size bound, no references). The profiler
 * is closed whatever happens; a failure ends collection with its reason in the report,
 * and the snapshots taken before it are still localised.
 */
export async function diagnoseNow(opts: ManualDiagnosis): Promise<DiagnosisReport> {
  const startedAt = Date.now();
  const snapshots: HeapSnapshot[] = [];
  const memory: MemoryPoint[] = [];
  let taken = 0;
  let failure: ProfileError | null = null;
  let session: ProfilerSession | null = null;
  let stoppedEarly = false;

  try {
    if (!opts.profiler) {
      assertAlive(opts.target.pid);
      throw new ProfileError('unsupported', `no profiler accepts process ${opts.target.pid}: it is not Node.js, and was not started with jemalloc or tcmalloc heap profiling`);
    }
    session = await opts.profiler.open(opts.target, opts.signal);
    const count = Math.floor(opts.durationMs / opts.intervalMs) + 1;
    for (let i = 0; i < count; i++) {
      if (i > 0 && !(await sleep(startedAt + i * opts.intervalMs - Date.now(), opts.signal))) {
        stoppedEarly = true;
        break;
      }
      const snap = await session.snapshot();
      taken++;
      snapshots.push(snap);
      // The first is kept: localisation diffs the newest against it first (localise.ts says why).
      if (snapshots.length > KEEP_SNAPSHOTS) snapshots.splice(1, 1);
      if (snap.memory) {
        memory.push({ at: snap.at, rss: snap.memory.rss, heap_used: snap.memory.heap_used, external: snap.memory.external });
        if (memory.length > KEEP_MEMORY) memory.splice(0, memory.length - KEEP_MEMORY);
      }
      opts.onSnapshot?.(i, snap);
    }
  } catch (err) {
    // Asked to stop: the session was closed under the snapshot; that is not the target failing.
    if (opts.signal.aborted) stoppedEarly = true;
    else failure = err instanceof ProfileError ? err : new ProfileError('failed', (err as Error).message, { cause: err });
  } finally {
    try {
      await session?.close();
    } catch (err) {
      failure ??= err instanceof ProfileError ? err : new ProfileError('failed', (err as Error).message, { cause: err });
    }
  }

  const found = localise({ snapshots, pattern: 'unknown', slopePerHour: 0, references: new Set(), top: opts.top ?? 10 });
  const trigger = failure
    ? `failed: ${failure.message}`
    : stoppedEarly
      ? `stopped by signal after ${taken} snapshots`
      : `time limit: ${taken} snapshots over ${formatMs(opts.durationMs)}, one every ${formatMs(opts.intervalMs)}`;
  return {
    id: `manual-${opts.target.host}-${opts.target.pid}-${startedAt}`,
    alert_id: null,
    target: opts.target,
    profiler: opts.profiler?.kind ?? 'none',
    pattern: 'unknown',
    outcome: failure ? 'failed' : found.stacks.length > 0 ? 'localised' : 'inconclusive',
    trigger,
    reason: failure ? failure.reason : null,
    started_at: startedAt,
    ended_at: Date.now(),
    memory,
    snapshots: taken,
    references: 0,
    stacks: found.stacks,
  };
}

/** Waits `ms`; false when the signal stopped the wait. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), Math.max(0, ms));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
