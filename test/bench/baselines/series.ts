import { mulberry32 } from '../../../connectors/simulator/random.js';
const HOUR = 3_600_000;

/** Deterministic uniform in [0, 1), so that baseline tests never flake. */
export const rng = mulberry32;

/**
 * Hourly points: baseline x (1 + noise), plus growth of `perDay` x baseline per day
 * from hour `leakAt` on.
 */
export function hourly(hours: number, opts: { baseline?: number; noise?: number; perDay?: number; leakAt?: number; seed?: number; diurnal?: number } = {}) {
  const base = opts.baseline ?? 500 * 1024 * 1024;
  const next = rng(opts.seed ?? 1);
  const ts = new Float64Array(hours);
  const rss = new Float64Array(hours);
  for (let h = 0; h < hours; h++) {
    const gauss = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
    const leak = opts.leakAt !== undefined && h >= opts.leakAt ? ((h - opts.leakAt) / 24) * (opts.perDay ?? 0) : 0;
    const cycle = (opts.diurnal ?? 0) * Math.sin((2 * Math.PI * h) / 24);
    ts[h] = h * HOUR;
    rss[h] = base * (1 + leak + cycle + (opts.noise ?? 0.01) * gauss);
  }
  return { ts, rss };
}
