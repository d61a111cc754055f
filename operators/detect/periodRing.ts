/**
 * The last `slots` period means of every series (a week of hours by default): what the
 * report rule compares day by day, what peers are compared with, and what the growth
 * pattern is classified on. Float32 holds 100k series x 168 hours in 67 MB; a period's
 * mean needs no more than its 7 significant digits. Period p of series id lives in
 * slot id * slots + p mod slots; missing (and masked) periods read NaN.
 */
export class PeriodRing {
  values = new Float32Array(0);
  /** Period index of each series' newest slot, -1 before its first. */
  newest = new Float64Array(0);

  constructor(readonly slots: number) {
    if (!(slots >= 2 && Number.isInteger(slots))) throw new RangeError(`a period ring needs at least 2 slots, got ${slots}`);
  }

  ensure(need: number): void {
    const cap = this.newest.length;
    if (need <= cap) return;
    const next = Math.max(need, cap * 2, 16);
    const values = new Float32Array(next * this.slots).fill(NaN);
    values.set(this.values);
    this.values = values;
    const newest = new Float64Array(next).fill(-1);
    newest.set(this.newest);
    this.newest = newest;
  }

  /** Records the mean of period index `p` for series `id`; periods skipped since read NaN. */
  write(id: number, p: number, value: number): void {
    const w = this.slots, base = id * w, last = this.newest[id]!;
    if (p <= last) return;
    if (last < 0 || p - last >= w) {
      this.values.fill(NaN, base, base + w);
    } else {
      for (let q = last + 1; q < p; q++) this.values[base + (q % w)] = NaN;
    }
    this.values[base + (p % w)] = value;
    this.newest[id] = p;
  }

  /** Forgets series `id`'s values at period indices [from, to]: they were not its level (a transient spike). */
  mask(id: number, from: number, to: number): void {
    const w = this.slots, last = this.newest[id]!;
    for (let q = Math.max(from, last - w + 1, 0); q <= Math.min(to, last); q++) this.values[id * w + (q % w)] = NaN;
  }

  /** Value of series `id` at period index `p`, NaN when missing or no longer held. */
  value(id: number, p: number): number {
    const last = this.newest[id]!;
    if (p > last || p <= last - this.slots || p < 0) return NaN;
    return this.values[id * this.slots + (p % this.slots)]!;
  }

  /** Mean of series `id` over period indices [from, to] (clipped to what is held), NaN if none. */
  mean(id: number, from: number, to: number): number {
    const w = this.slots, last = this.newest[id]!, base = id * w;
    const lo = Math.max(from, last - w + 1, 0), hi = Math.min(to, last);
    const values = this.values;
    let sum = 0, n = 0;
    // The slot steps by one and wraps once at most: no division per value.
    for (let q = lo, k = base + (lo % w), end = base + w; q <= hi; q++) {
      const v = values[k]!;
      if (v === v) { sum += v; n++; }
      if (++k === end) k = base;
    }
    return n > 0 ? sum / n : NaN;
  }

  /**
   * Mean of series `id` over period indices [from, to] after dropping the `trim` share
   * of values at each end; NaN if none. `scratch` must hold `slots` values.
   */
  trimmedMean(id: number, from: number, to: number, trim: number, scratch: Float64Array): number {
    const w = this.slots, last = this.newest[id]!, base = id * w;
    const lo = Math.max(from, last - w + 1, 0), hi = Math.min(to, last);
    const values = this.values;
    let n = 0;
    for (let q = lo, k = base + (lo % w), end = base + w; q <= hi; q++) {
      const v = values[k]!;
      if (v === v) scratch[n++] = v;
      if (++k === end) k = base;
    }
    return trimmed(scratch, n, trim);
  }

  /**
   * Trimmed mean of value(t) - value(t - lag) for t in [from, to], pairs with a missing
   * side left out; NaN if none. With `lag` a whole number of daily cycles each pair
   * compares the same hour on two days: the daily swing cancels pair by pair, a missing
   * or masked hour costs one pair instead of biasing a day's level, and a spike on
   * either day falls in a trimmed tail. `scratch` must hold to - from + 1 values.
   */
  pairedChange(id: number, from: number, to: number, lag: number, trim: number, scratch: Float64Array): number {
    let n = 0;
    for (let t = from; t <= to; t++) {
      const d = this.value(id, t) - this.value(id, t - lag);
      if (d === d) scratch[n++] = d;
    }
    return trimmed(scratch, n, trim);
  }

  /** Copies periods [from, newest] of series `id`, oldest first, into `out`; returns the count. */
  read(id: number, from: number, out: Float64Array): number {
    const w = this.slots, last = this.newest[id]!, base = id * w;
    if (last < 0) return 0;
    let k = 0;
    for (let q = Math.max(from, last - w + 1, 0); q <= last; q++) out[k++] = this.values[base + (q % w)]!;
    return k;
  }

  checkpoint(count: number): { slots: number; values: Float32Array; newest: Float64Array } {
    return { slots: this.slots, values: this.values.slice(0, count * this.slots), newest: this.newest.slice(0, count) };
  }

  restore(state: ReturnType<PeriodRing['checkpoint']>): void {
    if (state.slots !== this.slots) return;
    this.ensure(state.newest.length);
    this.values.set(state.values);
    this.newest.set(state.newest);
  }
}

/** Mean of the first n values of `a` without the `trim` share at each end (sorts them in place). */
function trimmed(a: Float64Array, n: number, trim: number): number {
  if (n === 0) return NaN;
  // A day of hours: insertion sort in place costs less than a subarray view and the built-in sort (same order; no NaN here).
  if (n > 48) {
    a.subarray(0, n).sort();
  } else {
    for (let i = 1; i < n; i++) {
      const v = a[i]!;
      let j = i - 1;
      while (j >= 0 && a[j]! > v) {
        a[j + 1] = a[j]!;
        j--;
      }
      a[j + 1] = v;
    }
  }
  const cut = Math.floor(n * trim);
  let sum = 0;
  for (let k = cut; k < n - cut; k++) sum += a[k]!;
  return sum / (n - 2 * cut);
}
