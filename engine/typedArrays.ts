export type GrowableArray = Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array;

/**
 * The capacity for `need` entries of an array that holds `current`: `current` when
 * that is enough, else at least a sixteenth more, at least `leastStep` more, and at
 * least `least`. State kept per series or per id grows with the catalog; a sixteenth
 * keeps the slack under 6.25% of what is used (doubling left up to half of an array
 * unused, and memory held is memory used), while each entry is still copied 17 times at
 * most over all growths, amortised O(1) like doubling (copies are memcpy of typed
 * arrays, and a fleet's series mostly arrive in a few large steps).
 */
export function capacityFor(need: number, current: number, least = 16, leastStep = 1): number {
  if (need <= current) return current;
  return Math.max(need, current + Math.max(leastStep, Math.ceil(current / 16)), least);
}

/** A copy of `arr` of exactly `length` entries (cut or extended), its new tail `fill`. */
export function resized<T extends GrowableArray>(arr: T, length: number, fill = 0): T {
  const next = new (arr.constructor as new (n: number) => T)(length);
  next.set((length < arr.length ? arr.subarray(0, length) : arr) as never);
  if (fill !== 0 && length > arr.length) next.fill(fill, arr.length);
  return next;
}

/** `arr` when it already holds `need` entries, else a copy grown by `capacityFor` (at least 64) whose new tail is `fill`. */
export function grown<T extends GrowableArray>(arr: T, need: number, fill = 0): T {
  if (need <= arr.length) return arr;
  return resized(arr, capacityFor(need, arr.length, 64), fill);
}

/**
 * Floats saved as Float32 where that is exact, with the few that are not (at most one
 * in 16) listed apart: half the size for values such as RSS in pages below 64 GiB, with
 * nothing rounded. `a` itself when more do not fit.
 */
export interface NarrowFloats { narrow: Float32Array; at: Int32Array; wide: Float64Array }

export function narrowFloats(a: Float64Array): Float64Array | NarrowFloats {
  const at: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (Math.fround(x) !== x && x === x) {
      at.push(i);
      if (at.length * 16 > a.length) return a;
    }
  }
  const wide = new Float64Array(at.length);
  for (let k = 0; k < at.length; k++) wide[k] = a[at[k]!]!;
  return { narrow: new Float32Array(a), at: Int32Array.from(at), wide };
}

/** The floats `narrowFloats` saved (a Float32Array or Float64Array of an earlier form as they are). */
export function widenFloats(p: Float64Array | Float32Array | NarrowFloats): Float64Array | Float32Array {
  if (ArrayBuffer.isView(p)) return p;
  const out = new Float64Array(p.narrow);
  for (let k = 0; k < p.at.length; k++) out[p.at[k]!] = p.wide[k]!;
  return out;
}

/** Times saved as whole steps after `base` (NaN as NAN_STEP): see `packTimes`. */
export interface PackedTimes { base: number; step: number; at: Int32Array }
const NAN_STEP = -(2 ** 31);

/**
 * Event times (ms) saved as Int32 counts of whole seconds, or else of milliseconds,
 * after the earliest: half the bytes, exact; `a` itself when neither fits.
 */
export function packTimes(a: Float64Array): Float64Array | PackedTimes {
  let base = Infinity;
  for (let i = 0; i < a.length; i++) if (a[i]! < base) base = a[i]!;
  if (base === Infinity) base = 0;
  if (!Number.isFinite(base)) return a;
  const at = new Int32Array(a.length);
  search: for (const step of [1000, 1]) {
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      if (x !== x) {
        at[i] = NAN_STEP;
        continue;
      }
      const k = Math.round((x - base) / step);
      if (!(k < 2 ** 31) || base + k * step !== x) continue search;
      at[i] = k;
    }
    return { base, step, at };
  }
  return a;
}

/** The times `packTimes` saved. */
export function unpackTimes(p: Float64Array | PackedTimes): Float64Array {
  if (p instanceof Float64Array) return p;
  const out = new Float64Array(p.at.length);
  for (let i = 0; i < out.length; i++) out[i] = p.at[i] === NAN_STEP ? NaN : p.base + p.at[i]! * p.step;
  return out;
}
