import { describe, expect, it } from 'vitest';
import { concatSampleBatches } from '../../../connectors/nats/concat.js';
import { rowObject } from '../../../engine/telemetry/schema.js';
import { batchOf } from '../../helpers/samples.js';

describe('concatSampleBatches', () => {
  it('joins batches with their own dictionaries and null patterns, row for row', () => {
    const a = batchOf([
      { ts: 1, host: 'h1', component: 'api', rss: 10, pid: 7 },
      { ts: 2, host: 'h2', component: 'db', rss: 20 },
    ]);
    const b = batchOf([
      { ts: 3, host: 'h2', component: 'web', rss: 30 },
      { ts: 4, host: 'h3', component: 'api', process: 'api-worker', rss: 40 },
      { ts: 5, host: 'h1', component: 'db', rss: 50 },
    ], { firstLine: 9 });
    const c = batchOf(Array.from({ length: 9 }, (_, i) => ({ ts: 10 + i, host: `x${i % 2}`, component: 'api', rss: i, pid: i % 3 === 0 ? i : undefined })));
    const out = concatSampleBatches([a, b, c], 'nats:x');
    const expected = [a, b, c].flatMap((p) => Array.from({ length: p.data.numRows }, (_, i) => rowObject(p.data, i)));
    expect(Array.from({ length: out.data.numRows }, (_, i) => rowObject(out.data, i))).toEqual(expected);
    expect([...out.records]).toEqual([1, 2, 9, 10, 11, ...Array.from({ length: 9 }, (_, i) => i + 1)]);
    expect(out.source).toBe('nats:x');
    // One dictionary for the result, each string once.
    expect(out.data.getChild('host')!.data[0]!.dictionary!.length).toBe(5);
  });

  it('keeps a dictionary every part shares, and copies validity a byte at a time where parts are whole bytes', () => {
    const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({
      ts: from + i, host: `h${(from + i) % 3}`, component: 'api', rss: from + i, pid: (from + i) % 5 === 0 ? undefined : from + i,
    }));
    const one = batchOf([...rows(0, 16), ...rows(16, 16), ...rows(32, 5)]);
    // Three views of one batch: same dictionary objects, the first two of 16 rows (whole bytes), the last of 5.
    const parts = [0, 16, 32].map((at) => ({ ...one, data: one.data.slice(at, at + (at === 32 ? 5 : 16)), records: one.records.subarray(at) }));
    const out = concatSampleBatches(parts, 'nats:x');
    expect(out.data.getChild('host')!.data[0]!.dictionary!.data[0]).toBe(one.data.getChild('host')!.data[0]!.dictionary!.data[0]);
    expect(Array.from({ length: out.data.numRows }, (_, i) => rowObject(out.data, i)))
      .toEqual(Array.from({ length: one.data.numRows }, (_, i) => rowObject(one.data, i)));
  });
});
