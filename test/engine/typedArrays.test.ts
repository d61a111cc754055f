import { describe, expect, it } from 'vitest';
import { deserialize, serialize } from 'node:v8';
import { capacityFor, grown, narrowFloats, packTimes, resized, unpackTimes, widenFloats } from '../../engine/typedArrays.js';

describe('saved forms of typed arrays', () => {
  it('narrows floats to Float32 where that is exact, the rest kept apart', () => {
    const pages = new Float64Array([4096 * 230_000, NaN, 0, 2 ** 35]);
    const narrow = narrowFloats(pages);
    expect(narrow).toMatchObject({ at: new Int32Array(0) });
    expect(Array.from(widenFloats(deserialize(serialize(narrow))))).toEqual(Array.from(pages));
    // One value in 16 may need Float64 (a process past 64 GiB): it is kept apart.
    const most = Float64Array.from({ length: 32 }, (_, i) => 4096 * (1000 + i));
    most[7] = 2 ** 36 + 4096;
    const saved = narrowFloats(most);
    expect(saved).toMatchObject({ at: new Int32Array([7]), wide: new Float64Array([2 ** 36 + 4096]) });
    expect(Array.from(widenFloats(saved))).toEqual(Array.from(most));
    const bytes = new Float64Array([4096 * 230_000, 943_718_401]);
    expect(narrowFloats(bytes)).toBe(bytes);
    expect(widenFloats(bytes)).toBe(bytes);
  });

  it('packs event times as whole seconds or milliseconds after the earliest, exactly, or not at all', () => {
    const T = Date.UTC(2026, 0, 28);
    const hours = new Float64Array([T, NaN, T + 3_600_000 * 24 * 400, T + 5000]);
    const packed = packTimes(hours);
    expect(packed).toMatchObject({ base: T, step: 1000 });
    expect(Array.from(unpackTimes(deserialize(serialize(packed))))).toEqual(Array.from(hours));
    const ms = new Float64Array([T + 1, T + 86_400_000 * 20]);
    expect(packTimes(ms)).toMatchObject({ step: 1 });
    expect(Array.from(unpackTimes(packTimes(ms)))).toEqual(Array.from(ms));
    // Milliseconds over more than 24 days, fractions and infinities stay as they are.
    for (const a of [new Float64Array([T + 1, T + 86_400_000 * 30]), new Float64Array([T + 0.5, T + 1]), new Float64Array([-Infinity, T])]) {
      expect(packTimes(a)).toBe(a);
    }
    expect(Array.from(unpackTimes(packTimes(new Float64Array([NaN, NaN]))))).toEqual([NaN, NaN]);
  });

  it('grows arrays by a sixteenth, not by doubling, and copies each entry a bounded number of times', () => {
    expect(capacityFor(10, 20)).toBe(20);
    expect(capacityFor(20_033, 0)).toBe(20_033);
    expect(capacityFor(20_034, 20_033)).toBe(20_033 + 1253);
    expect(capacityFor(3, 0)).toBe(16);
    // A least step for arrays of large entries (a model's ~10 KB): small ones grow by it, large ones by a sixteenth.
    expect(capacityFor(1, 0, 0, 16)).toBe(16);
    expect(capacityFor(17, 16, 0, 16)).toBe(32);
    expect(capacityFor(1001, 1000, 0, 16)).toBe(1063);
    // One id at a time up to 100,000: the slack stays under a sixteenth, the copying under 17 per entry.
    let a = new Int32Array(0), copied = 0;
    for (let n = 1; n <= 100_000; n++) {
      const b = grown(a, n, -1);
      if (b !== a) copied += a.length;
      a = b;
      a[n - 1] = n;
    }
    expect(a.length).toBeLessThan(100_000 * 1.0625 + 1);
    expect(copied / 100_000).toBeLessThan(17);
    expect(a[99_999]).toBe(100_000);
    expect(a[a.length - 1]).toBe(-1);
    expect(Array.from(resized(new Float64Array([1, 2, 3]), 5, NaN))).toEqual([1, 2, 3, NaN, NaN]);
    expect(Array.from(resized(new Float64Array([1, 2, 3]), 2))).toEqual([1, 2]);
  });
});
