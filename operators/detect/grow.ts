type Typed = Float64Array | Float32Array | Int32Array | Uint8Array;

/**
 * `arr` when it already holds `need` entries, else a copy at least twice as long whose
 * new tail is `fill`: per-series state grows with the catalog without re-allocating on
 * every new series id.
 */
export function grown<T extends Typed>(arr: T, need: number, fill = 0): T {
  if (need <= arr.length) return arr;
  const next = new (arr.constructor as new (n: number) => T)(Math.max(need, arr.length * 2, 64));
  next.set(arr as never);
  if (fill !== 0) next.fill(fill, arr.length);
  return next;
}
