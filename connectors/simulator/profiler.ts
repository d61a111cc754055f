import { ProfileError, type HeapSnapshot, type Profiler, type ProfilerSession, type ProfileTarget } from '../../engine/diagnosis.js';
import type { ProfilerEnv } from '../../engine/profilers.js';
import { buildFleet } from './fleet.js';
import { resolveOptions, type SimulatorOptions } from './options.js';
import { StackModel } from './stacks.js';

/**
 * The `simulated` profiler: heap profiles of the simulator's processes, answered from
 * the allocation-stack model (stacks.ts) as of the clock's time. Its options are the
 * simulator's own (`hosts`, `days`, `seed`, ...): the fleet they build must be the one
 * the pipeline's simulator source streams, or no target is found.
 *
 * Like a live profiler it fails when the process it follows is gone: a snapshot after
 * the target restarted (another pid at that time) raises ProfileError("exited").
 */
export function simulatedProfiler(env: ProfilerEnv): Profiler {
  const model = new StackModel(buildFleet(resolveOptions((env.options ?? {}) as Partial<SimulatorOptions>)));
  const clock = env.clock;
  return {
    kind: 'simulated',
    async accepts(target) {
      return model.seriesOf(target.host, target.component, target.process) >= 0;
    },
    async open(target, signal) {
      const s = model.seriesOf(target.host, target.component, target.process);
      if (s < 0) throw new ProfileError('unsupported', `no simulated process ${describe(target)}`);
      const session = new SimulatedSession(model, s, target, clock, signal);
      session.check(clock.now());
      return session;
    },
  };
}

class SimulatedSession implements ProfilerSession {
  private closed = false;

  constructor(
    private readonly model: StackModel,
    private readonly series: number,
    private readonly target: ProfileTarget,
    private readonly clock: ProfilerEnv['clock'],
    private readonly signal: AbortSignal,
  ) {}

  /** Throws when the target is not running at `at`: before the fleet starts, or restarted under another pid. */
  check(at: number): void {
    if (at < this.model.startMs) throw new ProfileError('exited', `${describe(this.target)} is not running at ${new Date(at).toISOString()}`);
    const pid = this.model.pidAt(this.series, at);
    if (this.target.pid > 0 && pid !== this.target.pid) {
      throw new ProfileError('exited', `${describe(this.target)} exited (pid ${pid} at ${new Date(at).toISOString()})`);
    }
  }

  async snapshot(): Promise<HeapSnapshot> {
    if (this.closed) throw new ProfileError('failed', `session on ${describe(this.target)} is closed`);
    if (this.signal.aborted) throw new ProfileError('failed', `profiling ${describe(this.target)} was cancelled`);
    const at = this.clock.now();
    this.check(at);
    const heap = this.model.heapAt(this.series, at);
    return { at, stacks: heap.stacks, memory: { rss: heap.rss, heap_used: null, external: null, array_buffers: null } };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function describe(t: ProfileTarget): string {
  return `${t.component}/${t.process} on ${t.host} (pid ${t.pid})`;
}
