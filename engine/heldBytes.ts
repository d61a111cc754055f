/**
 * Bytes of the typed arrays reachable from `root` through properties, arrays, Maps and
 * Sets, each ArrayBuffer counted once at its full capacity (arrays that grow, by a
 * sixteenth in engine/typedArrays.ts, hold more than they use, and that is memory held
 * too); objects in `shared`
 * (the engine's catalog, store, metrics...) are not entered.
 *
 * Operators keep their per-series state in typed arrays, so this is what their state
 * costs in memory, where a checkpoint's size is what it costs serialised (which may be
 * packed tighter). Strings, numbers and object headers are not counted.
 */
export function heldBytes(root: unknown, shared: ReadonlySet<object> = new Set()): number {
  const seen = new Set<object>();
  const buffers = new Set<ArrayBufferLike>();
  const stack: unknown[] = [root];
  let total = 0;
  while (stack.length) {
    const x = stack.pop();
    if (x === null || typeof x !== 'object' || seen.has(x) || shared.has(x)) continue;
    seen.add(x);
    if (ArrayBuffer.isView(x) || x instanceof ArrayBuffer) {
      const buffer = ArrayBuffer.isView(x) ? x.buffer : x;
      if (!buffers.has(buffer)) {
        buffers.add(buffer);
        total += buffer.byteLength;
      }
    } else if (x instanceof Map) {
      for (const [k, v] of x) stack.push(k, v);
    } else if (x instanceof Set || Array.isArray(x)) {
      for (const v of x) stack.push(v);
    } else {
      for (const v of Object.values(x)) stack.push(v);
    }
  }
  return total;
}
