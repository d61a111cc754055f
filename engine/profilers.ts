import { simulatedProfiler } from '../connectors/simulator/profiler.js';
import type { Profiler } from './diagnosis.js';
import type { Logger } from './log.js';

/**
 * Where profilers get the time: wall-clock ms for live processes, event time when a
 * replay drives diagnosis (the simulated profiler answers as of `now()`).
 */
export interface Clock {
  now(): number;
}

/** What a profiler is built with: the run's clock, its own options from the pipeline, a logger. */
export interface ProfilerEnv {
  readonly clock: Clock;
  /** `profiler_options.<name>` of the diagnose node, unchecked: the factory checks it and throws naming the field. */
  readonly options: unknown;
  readonly log: Logger;
}

export type ProfilerFactory = (env: ProfilerEnv) => Profiler;

/** Every profiler a diagnose node can name in `profilers`. */
const PROFILERS = new Map<string, ProfilerFactory>([
  ['simulated', simulatedProfiler],
]);

/** The factory registered as `name`; throws naming the unknown profiler and the known ones. */
export function profilerFactory(name: string): ProfilerFactory {
  const factory = PROFILERS.get(name);
  if (!factory) throw new RangeError(`unknown profiler "${name}" (known: ${[...PROFILERS.keys()].join(', ')})`);
  return factory;
}
