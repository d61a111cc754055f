/**
 * "Drop extreme outliers, average the rest" (RESIN, Telemetry) with bounded state: the
 * modified z-score of Iglewicz and Hoaglin over the values of one series and period.
 * A value is an extreme outlier when
 *
 *   |x - median| > threshold * max(1.4826 * MAD, minSpread * |median|)
 *
 * 1.4826 * MAD estimates a standard deviation that outliers cannot inflate, and 3.5 is
 * the published cut. The floor `minSpread * |median|` matters for memory: a process at
 * rest reports the same RSS sample after sample, MAD is then 0, and without a floor any
 * reading 1 byte away would count as an outlier.
 */
export interface OutlierRule {
  /** Cut on the modified z-score (3.5). */
  readonly threshold: number;
  /** Smallest spread, as a share of the median (0.01). */
  readonly minSpread: number;
  /** Fewer values than this are all kept: a median of two says nothing about outliers. */
  readonly minSamples: number;
}

/**
 * Writes the fence [lo, hi] of values[from, from + n) into `out[0]`, `out[1]`; values
 * outside it are outliers. Sorts that range of `values` in place; `scratch` holds n.
 */
export function fence(values: Float64Array, from: number, n: number, rule: OutlierRule, scratch: Float64Array, out: Float64Array): void {
  if (n < rule.minSamples) {
    out[0] = -Infinity;
    out[1] = Infinity;
    return;
  }
  const sorted = values.subarray(from, from + n).sort();
  const median = middle(sorted, n);
  for (let i = 0; i < n; i++) scratch[i] = Math.abs(sorted[i]! - median);
  const mad = middle(scratch.subarray(0, n).sort(), n);
  const spread = rule.threshold * Math.max(1.4826 * mad, rule.minSpread * Math.abs(median));
  out[0] = median - spread;
  out[1] = median + spread;
}

function middle(sorted: Float64Array, n: number): number {
  const h = n >> 1;
  return n & 1 ? sorted[h]! : (sorted[h - 1]! + sorted[h]!) / 2;
}
