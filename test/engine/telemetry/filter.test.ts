import { describe, expect, it } from 'vitest';
import { filterBatch } from '../../../engine/telemetry/filter.js';
import { rowObject } from '../../../engine/telemetry/schema.js';
import { batchOf } from '../../helpers/samples.js';

describe('filterBatch', () => {
  it('keeps the rows marked, every column, nulls and record numbers included', () => {
    const rows = Array.from({ length: 21 }, (_, i) => ({
      ts: 1000 * i, host: `h${i % 4}`, component: `c${i % 3}`, rss: 10 + i, ...(i % 5 === 0 ? {} : { pid: 100 + i }),
    }));
    const batch = batchOf(rows, { firstLine: 7 });
    // Runs at both ends, single rows, and a long run across byte boundaries of the bitmaps.
    const keep = Uint8Array.from(rows, (_, i) => (i === 1 || i === 2 || i === 5 || (i >= 8 && i <= 19) ? 0 : 1));
    const kept = keep.reduce((n, k) => n + k, 0);
    const out = filterBatch(batch, keep, kept);
    const want = rows.map((_, i) => i).filter((i) => keep[i]);
    expect(out.data.numRows).toBe(kept);
    expect([...out.records]).toEqual(want.map((i) => 7 + i));
    expect(want.map((_, j) => rowObject(out.data, j))).toEqual(want.map((i) => rowObject(batch.data, i)));
    expect(out.data.getChild('pid')!.nullCount).toBe(want.filter((i) => i % 5 === 0).length);
  });
});
