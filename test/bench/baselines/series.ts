const HOUR = 3_600_000;

/** Deterministic uniform in [0, 1) (mulberry32), so that baseline tests never flake. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
