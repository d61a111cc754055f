import type { OutlierRule } from '../../../operators/rollup/robustMean.js';

/** The rule written out plainly: sort everything, medians by index. */
export function plainFence(xs: number[], rule: OutlierRule): [number, number] {
  if (xs.length < rule.minSamples) return [-Infinity, Infinity];
  const mid = (s: number[]) => (s.length & 1 ? s[s.length >> 1]! : (s[(s.length >> 1) - 1]! + s[s.length >> 1]!) / 2);
  const sorted = [...xs].sort((a, b) => a - b);
  const median = mid(sorted);
  const floor = rule.threshold * rule.minSpread * Math.abs(median);
  // Within the floor of the median nothing can be an outlier, and the fence is the floor.
  if (median - sorted[0]! <= floor && sorted[sorted.length - 1]! - median <= floor) return [median - floor, median + floor];
  const mad = mid(sorted.map((v) => Math.abs(v - median)).sort((a, b) => a - b));
  const spread = Math.max(rule.threshold * 1.4826 * mad, floor);
  return [median - spread, median + spread];
}

export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}
