import type { Clock } from '../../engine/profilers.js';

/**
 * The time diagnosis runs on, shared with the profilers it builds.
 *
 * - `EventClock`: the alerts' event time. A replay has no wall-clock relation to the
 *   fleet it replays, so each alert moves the clock to its `at`, and work that fell due
 *   in between (snapshots every period, time limits) is done then, in time order, with
 *   the clock set to each due time, so a profiler that can answer as of a past instant
 *   (the simulator's) gives the snapshot of that instant.
 * - `WallClock`: Date.now(); due work is run from timers, for live processes.
 *
 * Both expose `set` so the scheduler is the same code: on the wall clock it is a no-op.
 */
export interface DiagnosisClock extends Clock {
  readonly kind: 'event' | 'wall';
  /** Moves event time forward to `t` (never back). */
  set(t: number): void;
}

export class EventClock implements DiagnosisClock {
  readonly kind = 'event';
  private t = -Infinity;

  now(): number {
    return this.t;
  }

  set(t: number): void {
    if (t > this.t) this.t = t;
  }
}

export class WallClock implements DiagnosisClock {
  readonly kind = 'wall';

  constructor(private readonly read: () => number = Date.now) {}

  now(): number {
    return this.read();
  }

  set(): void {}
}
