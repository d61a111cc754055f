import { sort12 } from './sort12.js';

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
  let ordered = true;
  for (let i = from, e = from + n; i < e; i++) if (values[i] !== values[i]) ordered = false;
  // NaN breaks every ordering; insertion sort leaves it where it is, as it always has.
  if (ordered && n === 12) sort12(values, from);
  else sortRange(values, from, n);
  const median = middle(values, from, n);
  const floor = rule.threshold * rule.minSpread * Math.abs(median);
  // The spread is never below the floor: when every value is within it (a process at
  // rest, the common case), nothing can be an outlier and the MAD need not be computed.
  let spread = floor;
  if (median - values[from]! > floor || values[from + n - 1]! - median > floor) {
    const mad = ordered ? middleDeviation(values, from, n, median) : sortedDeviation(values, from, n, median, scratch);
    spread = Math.max(rule.threshold * 1.4826 * mad, floor);
  }
  out[0] = median - spread;
  out[1] = median + spread;
}

/** Integers below this add up exactly in a double, in any order. */
const EXACT = 2 ** 53;

/**
 * Whether the fence of values[from, from + n) keeps every one of them and their sum
 * with `extra` is the same in any order, so that the mean needs neither the sort nor
 * the fence: true when the values are positive integers (RSS is in bytes), the sum
 * stays below 2^53, and their whole range is within the floor the smallest of them
 * gives. The median is at least the smallest value, so its floor is at least that
 * wide, and the fence around it holds every value. One pass, no ordering; a process at
 * rest (the common case) takes it.
 */
export function keepsAll(values: Float64Array, from: number, n: number, rule: OutlierRule, extra: number): boolean {
  let lo = Infinity, hi = -Infinity, whole = true;
  for (let i = from, e = from + n; i < e; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (Math.floor(v) !== v) whole = false;
  }
  return whole && keepsRange(lo, hi, n, rule, extra);
}

/**
 * keepsAll for n whole values whose smallest is `lo` and largest `hi`, for a caller
 * that has their range without a copy of them (the rollup's offset-coded cells).
 */
export function keepsRange(lo: number, hi: number, n: number, rule: OutlierRule, extra: number): boolean {
  return n >= rule.minSamples && Math.floor(extra) === extra
    && lo > 0 && extra + n * hi < EXACT && hi - lo < rule.threshold * rule.minSpread * lo;
}

function sortedDeviation(values: Float64Array, from: number, n: number, median: number, scratch: Float64Array): number {
  for (let i = 0; i < n; i++) scratch[i] = Math.abs(values[from + i]! - median);
  sortRange(scratch, 0, n);
  return middle(scratch, 0, n);
}

/**
 * Median of |x - median| over sorted values without sorting the deviations: they fall
 * from the left end to the median and rise from it to the right end, so merging the
 * two runs from the median outwards meets them in ascending order, and the middle one
 * (or two) are the median's.
 */
function middleDeviation(sorted: Float64Array, from: number, n: number, median: number): number {
  let r = from;
  const end = from + n;
  while (r < end && sorted[r]! < median) r++;
  let l = r - 1;
  const h = n >> 1;
  let prev = 0, cur = 0;
  for (let k = 0; k <= h; k++) {
    prev = cur;
    const dl = l >= from ? Math.abs(sorted[l]! - median) : Infinity;
    const dr = r < end ? Math.abs(sorted[r]! - median) : Infinity;
    if (dl <= dr) {
      cur = dl;
      l--;
    } else {
      cur = dr;
      r++;
    }
  }
  return n & 1 ? cur : (prev + cur) / 2;
}

function middle(sorted: Float64Array, from: number, n: number): number {
  const h = from + (n >> 1);
  return n & 1 ? sorted[h]! : (sorted[h - 1]! + sorted[h]!) / 2;
}

/**
 * Sorts a[from, from + n) in place. The ranges are a period's values (12 at 5-minute
 * sampling): insertion sort on them costs less than creating a subarray view to sort.
 */
function sortRange(a: Float64Array, from: number, n: number): void {
  if (n > 32) {
    a.subarray(from, from + n).sort();
    return;
  }
  for (let i = from + 1, end = from + n; i < end; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= from && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}
