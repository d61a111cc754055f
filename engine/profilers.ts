import { NativeProfiler, type NativeProfilerOptions } from '../connectors/profilers/native/native-profiler.js';
import { NodeProfiler, type NodeProfilerOptions } from '../connectors/profilers/node/node-profiler.js';
import type { ProfileTarget, Profiler } from './diagnosis.js';

/** Builds a profiler from its options (each profiler's own; `{}` gives its defaults). */
export type ProfilerFactory<O = any> = (options: O) => Profiler;

/**
 * Every profiler by name: the one place that assembles them, as nodes.ts does for node
 * types. Diagnosis looks a profiler up here by the name a pipeline or `resin diagnose`
 * gives, or tries them in `AUTO_ORDER` on a target.
 */
export const PROFILERS: Readonly<Record<string, ProfilerFactory>> = {
  node: (o: NodeProfilerOptions) => new NodeProfiler(o),
  jemalloc: (o: NativeProfilerOptions) => new NativeProfiler('jemalloc', o),
  tcmalloc: (o: NativeProfilerOptions) => new NativeProfiler('tcmalloc', o),
};

/** Live profilers tried on a real process when none is named: Node.js first, it needs no preparation. */
export const AUTO_ORDER: readonly string[] = ['node', 'jemalloc', 'tcmalloc'];

export function createProfiler(name: string, options: Record<string, unknown> = {}): Profiler {
  const factory = PROFILERS[name];
  if (!factory) throw new RangeError(`unknown profiler "${name}"; known: ${Object.keys(PROFILERS).join(', ')}`);
  return factory(options);
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
