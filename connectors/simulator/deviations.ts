import type { Shapes } from './shapes.js';

const deviationCache = new WeakMap<Shapes, Float32Array>();

/**
 * Each machine's deviation from 1, stored twice in a row: a series reads at its own
 * offset plus the current point without wrapping (no unpredictable branch per sample).
 */
export function deviations(shapes: Shapes): Float32Array {
  let dev = deviationCache.get(shapes);
  if (dev) return dev;
  const L = shapes.length;
  dev = new Float32Array(shapes.count * 2 * L);
  for (let m = 0; m < shapes.count; m++) {
    for (let i = 0; i < 2 * L; i++) dev[m * 2 * L + i] = shapes.values[m * L + (i % L)]! - 1;
  }
  deviationCache.set(shapes, dev);
  return dev;
}
