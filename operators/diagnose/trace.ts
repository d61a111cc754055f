import { ProfileError, type HeapSnapshot, type Profiler, type ProfilerSession, type ProfileTarget } from '../../engine/diagnosis.js';
import type { HostActivity } from '../../engine/hostActivity.js';
import { SnapshotRing } from './ring.js';
import type { MemoryPoint } from './triggers.js';

/** A profiler as a diagnose node was configured with it. */
export interface NamedProfiler {
  name: string;
  profiler: Profiler;
}

/**
 * One attached profiling session and what it collected: snapshots in a ring, the
 * target's memory at each snapshot (for the triggers and the chart), and the host
 * marked as being profiled while it is open. `close` detaches and unmarks, and is safe
 * to call any number of times: every way a trace ends goes through it.
 */
export class Trace {
  readonly ring: SnapshotRing<HeapSnapshot>;
  readonly memory: MemoryPoint[] = [];
  snapshots = 0;
  /** The trace's first snapshot, kept after the ring drops it: localisation diffs against it first (localise.ts says why). */
  private first: HeapSnapshot | null = null;
  private closed = false;

  private constructor(
    readonly id: string,
    readonly target: ProfileTarget,
    readonly profiler: string,
    private readonly session: ProfilerSession,
    private readonly hosts: HostActivity,
    readonly startedAt: number,
    ring: number,
    /** Most memory points kept (the chart of the whole trace). */
    private readonly maxPoints: number,
  ) {
    this.ring = new SnapshotRing(ring);
    hosts.beginProfiling(target.host, id);
  }

  /**
   * Opens a session with the first profiler that accepts the target. Throws a
   * ProfileError: "unsupported" when none accepts, or the profiler's own.
   */
  static async open(
    id: string, target: ProfileTarget, profilers: readonly NamedProfiler[], hosts: HostActivity, signal: AbortSignal,
    now: number, ring: number, maxPoints: number,
  ): Promise<Trace> {
    for (const p of profilers) {
      let ok: boolean;
      try {
        ok = await p.profiler.accepts(target);
      } catch (err) {
        throw asProfileError(err);
      }
      if (!ok) continue;
      let session: ProfilerSession;
      try {
        session = await p.profiler.open(target, signal);
      } catch (err) {
        throw asProfileError(err);
      }
      return new Trace(id, target, p.name, session, hosts, now, ring, maxPoints);
    }
    throw new ProfileError('unsupported', `no profiler accepts ${target.component}/${target.process} on ${target.host} (tried ${profilers.map((p) => p.name).join(', ')})`);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Takes one snapshot into the ring; a failure is a ProfileError. */
  async snapshot(): Promise<HeapSnapshot> {
    let snap: HeapSnapshot;
    try {
      snap = await this.session.snapshot();
    } catch (err) {
      throw asProfileError(err);
    }
    this.ring.push(snap);
    this.first ??= snap;
    this.snapshots++;
    const m = snap.memory;
    if (m) {
      // The JS heap and the memory outside it too, where the profiler tells (Node.js), for the report's chart.
      this.memory.push({ at: snap.at, rss: m.rss, heap_used: m.heap_used, external: m.external });
    } else {
      let rss = 0;
      for (const s of snap.stacks) rss += s.live_bytes;
      this.memory.push({ at: snap.at, rss });
    }
    if (this.memory.length > this.maxPoints) this.memory.shift();
    return snap;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hosts.endProfiling(this.target.host, this.id);
    try {
      await this.session.close();
    } finally {
      this.ring.clear();
      this.first = null;
    }
  }

  /** The trace's first snapshot, then the ring's, oldest first (before close clears them). */
  held(): HeapSnapshot[] {
    const ring = this.ring.toArray();
    return this.first && ring[0] !== this.first ? [this.first, ...ring] : ring;
  }
}

export function asProfileError(err: unknown): ProfileError {
  if (err instanceof ProfileError) return err;
  return new ProfileError('failed', err instanceof Error ? err.message : String(err), { cause: err });
}
