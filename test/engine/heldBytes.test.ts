import { describe, expect, it } from 'vitest';
import { heldBytes } from '../../engine/heldBytes.js';

describe('heldBytes', () => {
  it('sums the typed arrays an object reaches, each buffer once, at capacity', () => {
    const ring = new Float32Array(100);
    const state = {
      ring,
      view: ring.subarray(10, 20), // the same buffer: not counted again
      spilled: new Map<number, Float64Array>([[1, new Float64Array(4)]]),
      sets: new Set([new Uint8Array(7)]),
      list: [new Int32Array(3), { deep: new Uint16Array(5) }],
      n: 42, s: 'not counted',
    };
    expect(heldBytes(state)).toBe(400 + 32 + 7 + 12 + 10);
  });

  it('does not enter shared objects, and survives cycles', () => {
    const catalog = { ids: new Int32Array(1000) };
    const a: Record<string, unknown> = { own: new Float64Array(2), ctx: { catalog } };
    a.self = a;
    expect(heldBytes(a, new Set<object>([a.ctx as object]))).toBe(16);
    expect(heldBytes(a)).toBe(16 + 4000);
  });
});
