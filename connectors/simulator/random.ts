/**
 * Randomness of the simulator. Two kinds, both seeded, neither Math.random:
 *
 * - Counter-based draws (`draw`): a pure hash of (seed, stream, a, b). Every scheduled
 *   event (the k-th restart of series s, the host offset of rollout r, ...) is a
 *   function of its coordinates alone, so the ground truth can be enumerated without
 *   generating a single sample and still agree exactly with the generated stream.
 * - A sequential xorshift32 for per-sample noise and sample faults, consumed in row
 *   order, which is fixed: the stream is the same whatever the batch size.
 */

/** Stream tags: one per kind of decision, so that draws of different kinds never collide. */
export const Stream = {
  HostFactor: 1,
  PairFactor: 2,
  Coverage: 3,
  HostPlace: 4,
  HostMem: 5,
  ProcessFactor: 6,
  Pid: 7,
  Restart: 8,
  Spike: 9,
  SpikeShape: 10,
  Shift: 11,
  ShiftShape: 12,
  ShiftSens: 13,
  Gap: 14,
  GapShape: 15,
  Outage: 16,
  OutageShape: 17,
  BufferSens: 18,
  Rollout: 19,
  RolloutHost: 20,
  LeakPick: 21,
  LeakShape: 22,
  LeakSegment: 23,
  Gc: 24,
  Background: 25,
  SampleRng: 26,
} as const;

function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of (seed, stream, a, b, c). */
export function hash(seed: number, stream: number, a: number, b = 0, c = 0): number {
  let h = mix32((seed | 0) ^ 0x9e3779b9);
  h = mix32(h ^ Math.imul(stream, 0x85ebca6b));
  h = mix32(h ^ (a | 0));
  h = mix32(h ^ Math.imul(b | 0, 0xc2b2ae35));
  return mix32(h ^ Math.imul(c | 0, 0x27d4eb2f));
}

/** Uniform in [0, 1) at coordinates (stream, a, b, c). */
export function draw(seed: number, stream: number, a: number, b = 0, c = 0): number {
  return hash(seed, stream, a, b, c) / 4294967296;
}

/** Exponential with the given mean, from a uniform. */
export function exponential(u: number, mean: number): number {
  return -Math.log(1 - u) * mean;
}

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  const q0 = Math.min(Math.max(p, 1e-12), 1 - 1e-12);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628274631];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  if (q0 < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(q0));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (q0 > 1 - 0.02425) {
    const q = Math.sqrt(-2 * Math.log(1 - q0));
    return -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  const q = q0 - 0.5;
  const r = q * q;
  return (((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** Lognormal factor exp(sigma * z) with median 1. */
export function lognormal(u: number, sigma: number): number {
  return Math.exp(sigma * normalQuantile(u));
}

/** Log-uniform in [lo, hi). */
export function logUniform(u: number, lo: number, hi: number): number {
  return lo * Math.pow(hi / lo, u);
}

/**
 * Standard normal quantiles at the midpoints of 4096 equal-probability cells: the hot
 * loop turns 12 random bits into a normal variate with one table read instead of a
 * logarithm and a square root per sample.
 */
export const NORMAL_TABLE_BITS = 12;
export const NORMAL_TABLE: Float64Array = (() => {
  const n = 1 << NORMAL_TABLE_BITS;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = normalQuantile((i + 0.5) / n);
  return t;
})();

/** A non-zero xorshift32 state derived from a seed. */
export function sampleRngState(seed: number): number {
  return hash(seed, Stream.SampleRng, 0) || 0x6d2b79f5;
}

/** Deterministic uniform numbers in [0, 1) from one seed (mulberry32), for benchmarks and tests. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
