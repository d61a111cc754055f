export type GrowableArray = Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array;

/**
 * `arr` when it already holds `need` entries, else a copy at least twice as long (and
 * at least 64) whose new tail is `fill`: state kept per series or per id grows with
 * the catalog without re-allocating on every new id.
 */
export function grown<T extends GrowableArray>(arr: T, need: number, fill = 0): T {
  if (need <= arr.length) return arr;
  const next = new (arr.constructor as new (n: number) => T)(Math.max(need, arr.length * 2, 64));
  next.set(arr as never);
  if (fill !== 0) next.fill(fill, arr.length);
  return next;
}
