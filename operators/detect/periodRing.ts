import { capacityFor, resized } from '../../engine/typedArrays.js';

/** Code of a missing (or masked) period. */
const MISSING = -32768;
/** Largest code: values lie within base +- HALF steps. */
const HALF = 32767;

/**
 * The last `slots` period means of every series (a week of hours by default): what the
 * report rule compares day by day, what peers are compared with, and what the growth
 * pattern is classified on. Period p of series id lives in slot id * slots + p mod
 * slots; missing (and masked) periods read NaN.
 *
 * A value is held as a 16-bit code on a grid of its series, base + code x step, the
 * step a power of two. Rounding moves a value by at most 2^-16 (1.5e-5) of it, forty
 * times less than a leak of 1.5% a day grows in an hour, as long as the series' week
 * spans less than about a factor of two; a wider span (a restart from 4 GB to 100 MB)
 * coarsens the grid until the old values leave the ring. Half the bytes of Float32:
 * 100k series x 168 hours in 34 MB. A value off the grid centres it again, widened as
 * little as needed; a grid that is only moved, or made finer, codes the values held
 * again exactly.
 */
export class PeriodRing {
  codes = new Int16Array(0);
  /** Per series: the value of code 0 (NaN before its first value) and the step between codes. */
  base = new Float64Array(0);
  step = new Float32Array(0);
  /** Period index of each series' newest slot, -1 before its first. */
  newest = new Float64Array(0);

  constructor(readonly slots: number) {
    if (!(slots >= 2 && Number.isInteger(slots))) throw new RangeError(`a period ring needs at least 2 slots, got ${slots}`);
  }

  ensure(need: number): void {
    const cap = this.newest.length;
    if (need <= cap) return;
    const next = capacityFor(need, cap);
    this.codes = resized(this.codes, next * this.slots, MISSING);
    this.base = resized(this.base, next, NaN);
    this.step = resized(this.step, next, 1);
    this.newest = resized(this.newest, next, -1);
  }

  /** Records the mean of period index `p` for series `id`; periods skipped since read NaN. */
  write(id: number, p: number, value: number): void {
    const w = this.slots, base = id * w, last = this.newest[id]!;
    if (p <= last) return;
    // The same remainder either way; on a 32-bit integer it is a machine division, not a library call.
    const k = base + (p === (p | 0) ? (p | 0) % w : p % w);
    if (last < 0 || p - last >= w) {
      this.codes.fill(MISSING, base, base + w);
      this.base[id] = NaN;
    } else {
      // Usually p follows last and no period was skipped.
      for (let q = last + 1; q < p; q++) this.codes[base + (q % w)] = MISSING;
      this.codes[k] = MISSING;
    }
    this.newest[id] = p;
    this.put(id, k, value);
  }

  /** Codes `value` into slot k of series `id`, moving the series' grid when it does not fit. */
  private put(id: number, k: number, value: number): void {
    let b = this.base[id]!;
    if (b !== b) {
      b = this.base[id] = value;
      this.step[id] = stepFor(value);
    }
    const step = this.step[id]!;
    let c = Math.round((value - b) / step);
    // Off the grid, or on one much coarser than the value needs (old values far away have left): fit it again.
    // A value of at least step x 2^15 needs a step of at least step / 2 (log2 is exact at powers of two and
    // never below one above them), so nearly every value skips stepFor's Math.log2 and power (~150 ns).
    if (!(c >= -HALF && c <= HALF) || (!(value >= step * 32768) && step > 2 * stepFor(value))) {
      this.refit(id, value);
      c = Math.round((value - this.base[id]!) / this.step[id]!);
    }
    this.codes[k] = c;
  }

  /**
   * The finest grid (no finer than the old one or the values' magnitude needs) that holds
   * series `id`'s values and `value`, centred on them, aligned with the old grid so that
   * moving it or making it finer keeps the values held exact; the values are coded again
   * on it. A grid made coarser rounds the values held once more: each is then within one
   * step of what was written, not half a step.
   */
  private refit(id: number, value: number): void {
    const w = this.slots, base = id * w, codes = this.codes, b = this.base[id]!, st = this.step[id]!;
    let lo = value, hi = value;
    for (let k = base; k < base + w; k++) {
      const c = codes[k]!;
      if (c === MISSING) continue;
      const x = b + c * st;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    // The old step if it still holds the span (moving the grid is then exact), else coarser as needed.
    let next = Math.min(st, stepFor(Math.max(Math.abs(lo), Math.abs(hi))));
    while (hi - lo > (2 * HALF - 1) * next) next *= 2;
    const nb = b + Math.round(((lo + hi) / 2 - b) / next) * next;
    for (let k = base; k < base + w; k++) {
      const c = codes[k]!;
      if (c !== MISSING) codes[k] = Math.round((b + c * st - nb) / next);
    }
    this.base[id] = nb;
    this.step[id] = next;
  }

  /** Forgets series `id`'s values at period indices [from, to]: they were not its level (a transient spike). */
  mask(id: number, from: number, to: number): void {
    const w = this.slots, last = this.newest[id]!;
    for (let q = Math.max(from, last - w + 1, 0); q <= Math.min(to, last); q++) this.codes[id * w + (q % w)] = MISSING;
  }

  /** Value of series `id` at period index `p`, NaN when missing or no longer held. */
  value(id: number, p: number): number {
    const last = this.newest[id]!;
    if (p > last || p <= last - this.slots || p < 0) return NaN;
    const c = this.codes[id * this.slots + (p % this.slots)]!;
    return c === MISSING ? NaN : this.base[id]! + c * this.step[id]!;
  }

  /** Mean of series `id` over period indices [from, to] (clipped to what is held), NaN if none. */
  mean(id: number, from: number, to: number): number {
    const w = this.slots, last = this.newest[id]!, base = id * w;
    const lo = Math.max(from, last - w + 1, 0), hi = Math.min(to, last);
    const codes = this.codes;
    let sum = 0, n = 0;
    // The slot steps by one and wraps once at most: no division per value.
    for (let q = lo, k = base + (lo % w), end = base + w; q <= hi; q++) {
      const c = codes[k]!;
      if (c !== MISSING) { sum += c; n++; }
      if (++k === end) k = base;
    }
    return n > 0 ? this.base[id]! + (sum / n) * this.step[id]! : NaN;
  }

  /**
   * Mean of series `id` over period indices [from, to] after dropping the `trim` share
   * of values at each end; NaN if none. `scratch` must hold `slots` values.
   */
  trimmedMean(id: number, from: number, to: number, trim: number, scratch: Float64Array): number {
    const w = this.slots, last = this.newest[id]!, base = id * w;
    const lo = Math.max(from, last - w + 1, 0), hi = Math.min(to, last), b = this.base[id]!, st = this.step[id]!;
    const codes = this.codes;
    let n = 0;
    for (let q = lo, k = base + (lo % w), end = base + w; q <= hi; q++) {
      const c = codes[k]!;
      if (c !== MISSING) scratch[n++] = b + c * st;
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
    const w = this.slots, last = this.newest[id]!, base = id * w, oldest = Math.max(last - w + 1, 0);
    // Only where both t and t - lag are held can a pair exist: the walk starts and ends there,
    // with a slot cursor for each side instead of a bounds check and a division per value.
    const lo = Math.max(from, oldest, oldest + lag), hi = Math.min(to, last, last + lag);
    const codes = this.codes, b = this.base[id]!, st = this.step[id]!, end = base + w;
    let n = 0;
    for (let t = lo, k = base + (lo % w), j = base + ((lo - lag) % w); t <= hi; t++) {
      const c = codes[k]!, e = codes[j]!;
      if (c !== MISSING && e !== MISSING) scratch[n++] = (b + c * st) - (b + e * st);
      if (++k === end) k = base;
      if (++j === end) j = base;
    }
    return trimmed(scratch, n, trim);
  }

  /** The first period index at or after `from` that series `id` still holds. */
  firstHeld(id: number, from: number): number {
    return Math.max(from, this.newest[id]! - this.slots + 1, 0);
  }

  /**
   * Copies periods [firstHeld(from), min(to, newest)] of series `id`, oldest first, into
   * `out` (NaN where missing); returns the count.
   */
  read(id: number, from: number, out: Float64Array, to = Infinity): number {
    const w = this.slots, last = this.newest[id]!, base = id * w, end = base + w;
    if (last < 0) return 0;
    const b = this.base[id]!, st = this.step[id]!, codes = this.codes;
    const lo = this.firstHeld(id, from), hi = Math.min(to, last);
    let n = 0;
    // A slot cursor instead of a division per value.
    for (let q = lo, k = base + (lo % w); q <= hi; q++) {
      const c = codes[k]!;
      out[n++] = c === MISSING ? NaN : b + c * st;
      if (++k === end) k = base;
    }
    return n;
  }

  checkpoint(count: number): { slots: number; codes: Int16Array; base: Float64Array; step: Float32Array; newest: Float64Array } {
    return {
      slots: this.slots, codes: this.codes.slice(0, count * this.slots), base: this.base.slice(0, count),
      step: this.step.slice(0, count), newest: this.newest.slice(0, count),
    };
  }

  /** Takes back a checkpoint of the same slots; one of the earlier form (Float32 values) is coded on the way. */
  restore(state: ReturnType<PeriodRing['checkpoint']> | { slots: number; values: Float32Array; newest: Float64Array }): void {
    if (state.slots !== this.slots) return;
    this.ensure(state.newest.length);
    this.newest.set(state.newest);
    if ('codes' in state) {
      this.codes.set(state.codes);
      this.base.set(state.base);
      this.step.set(state.step);
      return;
    }
    const w = this.slots;
    for (let id = 0; id < state.newest.length; id++) {
      const last = state.newest[id]!;
      for (let q = Math.max(last - w + 1, 0); q <= last; q++) {
        const v = state.values[id * w + (q % w)]!;
        if (v === v) this.put(id, id * w + (q % w), v);
      }
    }
  }
}

/** The step a value of magnitude x needs: a power of two, 2^-17 to 2^-16 of it; 32767 steps reach x/4 to x/2 either side. */
function stepFor(x: number): number {
  return x > 0 ? 2 ** (Math.floor(Math.log2(x)) - 16) : 2 ** -16;
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
