/**
 * What diagnosis exchanges: heap profiles as "live bytes and count per stack", the
 * profilers that take them, and the report written per alert (docs/diagnosis.md).
 * Connectors implement `Profiler`; operators only see these types.
 */
import type { LeakPattern } from './alert.js';

/** One frame of an allocation stack. */
export interface Frame {
  function: string;
  file: string | null;
  line: number | null;
}

/** Live allocations of one stack at one snapshot; frames innermost (allocating) first. */
export interface StackSample {
  frames: Frame[];
  live_bytes: number;
  count: number;
}

/** Memory of the target outside the profiled heap, where the profiler can tell (Node.js: process.memoryUsage()). */
export interface TargetMemory {
  rss: number;
  heap_used: number | null;
  external: number | null;
  array_buffers: number | null;
}

/** One heap profile of a target. */
export interface HeapSnapshot {
  /** When it was taken: wall-clock ms for live profilers, event time for the simulator. */
  at: number;
  stacks: StackSample[];
  memory: TargetMemory | null;
}

/** The process a profiler is pointed at. */
export interface ProfileTarget {
  host: string;
  component: string;
  process: string;
  pid: number;
}

/** An open profiling session: attached until `close`, which must be safe to call twice. */
export interface ProfilerSession {
  snapshot(): Promise<HeapSnapshot>;
  close(): Promise<void>;
}

/** A way to profile a kind of process (Node.js inspector, jemalloc/tcmalloc dumps, simulator). */
export interface Profiler {
  readonly kind: string;
  /** Whether this profiler can profile the target (e.g. it is a Node.js process). */
  accepts(target: ProfileTarget): Promise<boolean>;
  open(target: ProfileTarget, signal: AbortSignal): Promise<ProfilerSession>;
}

/** Raised by a profiler when collection cannot go on; `reason` ends up in the report. */
export class ProfileError extends Error {
  override readonly name = 'ProfileError';
  constructor(
    readonly reason: 'exited' | 'permission' | 'port-taken' | 'unsupported' | 'timeout' | 'failed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A stack as ranked by localisation. */
export interface RankedStack {
  frames: Frame[];
  live_bytes: number;
  /** Growth of live bytes between the pair of snapshots localisation settled on. */
  growth_bytes: number;
  count: number;
}

/**
 * The target's memory at one snapshot. Where the profiler can tell (Node.js), the JS
 * heap and the memory outside it, so that a leak the heap profile cannot see (Buffers,
 * native addons) is at least reported as such.
 */
export interface MemoryPoint {
  at: number;
  rss: number;
  heap_used?: number | null;
  external?: number | null;
}

export type DiagnosisOutcome = 'localised' | 'inconclusive' | 'failed';

/** A diagnosis of one alert on one target: what `reports` edges carry and report sinks write. */
export interface DiagnosisReport {
  /** Stable: the alert's id and the target. */
  id: string;
  alert_id: string | null;
  target: ProfileTarget;
  profiler: string;
  pattern: LeakPattern;
  outcome: DiagnosisOutcome;
  /** What ended collection: a completion trigger (e.g. "steady: R^2 0.93 > 0.8"), the time limit, or a failure. */
  trigger: string;
  /** Failure reason when outcome is "failed". */
  reason: string | null;
  started_at: number;
  ended_at: number;
  /** Memory of the target over the collection, for the chart. */
  memory: MemoryPoint[];
  snapshots: number;
  /** Whether reference snapshots from healthy hosts were used. */
  references: number;
  /** Most suspect first. */
  stacks: RankedStack[];
}
