import { NativeProfiler, type NativeProfilerOptions } from '../connectors/profilers/native/native-profiler.js';
import { NodeProfiler, type NodeProfilerOptions } from '../connectors/profilers/node/node-profiler.js';
import { simulatedProfiler } from '../connectors/simulator/profiler.js';
import type { ProfileTarget, Profiler } from './diagnosis.js';
import { silentLogger, type Logger } from './log.js';

/**
 * Where profilers get the time: wall-clock ms for live processes, event time when a
 * replay drives diagnosis (the simulated profiler answers as of `now()`).
 */
export interface Clock {
  now(): number;
}

export const WALL_CLOCK: Clock = { now: () => Date.now() };

/** What a profiler is built with: the run's clock, its own options, a logger. */
export interface ProfilerEnv {
  readonly clock: Clock;
  /** The profiler's own options (`profiler_options.<name>` of a diagnose node), unchecked: the factory checks them. */
  readonly options: unknown;
  readonly log: Logger;
}

export type ProfilerFactory = (env: ProfilerEnv) => Profiler;

/**
 * Every profiler by name: the one place that assembles them, as nodes.ts does for node
 * types. A diagnose node or `resin diagnose` names one, or tries `AUTO_ORDER` on a target.
 */
export const PROFILERS: ReadonlyMap<string, ProfilerFactory> = new Map<string, ProfilerFactory>([
  ['node', (env) => new NodeProfiler((env.options ?? {}) as NodeProfilerOptions)],
  ['jemalloc', (env) => new NativeProfiler('jemalloc', (env.options ?? {}) as NativeProfilerOptions)],
  ['tcmalloc', (env) => new NativeProfiler('tcmalloc', (env.options ?? {}) as NativeProfilerOptions)],
  ['simulated', simulatedProfiler],
]);

/** Live profilers tried on a real process when none is named: Node.js first, it needs no preparation. */
export const AUTO_ORDER: readonly string[] = ['node', 'jemalloc', 'tcmalloc'];

/** The factory registered as `name`; throws naming the unknown profiler and the known ones. */
export function profilerFactory(name: string): ProfilerFactory {
  const factory = PROFILERS.get(name);
  if (!factory) throw new RangeError(`unknown profiler "${name}"; known: ${[...PROFILERS.keys()].join(', ')}`);
  return factory;
}

/** A live profiler on the wall clock, e.g. for `resin diagnose`. */
export function createProfiler(name: string, options: Record<string, unknown> = {}, log: Logger = silentLogger): Profiler {
  return profilerFactory(name)({ clock: WALL_CLOCK, options, log });
}

/**
 * The first profiler of `names` that accepts the target, or null. `options` are per
 * profiler name, e.g. `{ jemalloc: { profiles: '/var/prof/*.heap' } }`.
 */
export async function detectProfiler(
  target: ProfileTarget,
  options: Readonly<Record<string, Record<string, unknown>>> = {},
  names: readonly string[] = AUTO_ORDER,
): Promise<Profiler | null> {
  for (const name of names) {
    const profiler = createProfiler(name, options[name] ?? {});
    if (await profiler.accepts(target)) return profiler;
  }
  return null;
}
