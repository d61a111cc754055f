import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../connectors/simulator/random.js';
import { IdTable } from '../../../engine/telemetry/idTable.js';

describe('IdTable', () => {
  it('answers like a Map through many resizes, including keys that collide', () => {
    const table = new IdTable();
    const reference = new Map<string, number>();
    const rnd = mulberry32(9);
    for (let i = 0; i < 20_000; i++) {
      // Small and huge int32s, and many keys sharing one half.
      const a = i % 7 === 0 ? 3 : Math.floor(rnd() * 2 ** 31);
      const b = i % 5 === 0 ? 0 : Math.floor(rnd() * (i % 2 ? 100 : 2 ** 31));
      if (reference.has(`${a},${b}`)) continue;
      expect(table.get(a, b)).toBe(-1);
      table.add(a, b, reference.size);
      reference.set(`${a},${b}`, reference.size);
    }
    expect(table.size).toBe(reference.size);
    for (const [key, id] of reference) {
      const [a, b] = key.split(',').map(Number) as [number, number];
      expect(table.get(a, b)).toBe(id);
    }
    expect(table.get(1, 2 ** 31 - 1)).toBe(-1);
  });
});
