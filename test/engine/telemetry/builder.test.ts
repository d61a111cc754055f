import { describe, expect, it } from 'vitest';
import { SampleBatchBuilder } from '../../../engine/telemetry/builder.js';
import { dictColumn, floatColumn, pidColumn, rowObject, validity } from '../../../engine/telemetry/schema.js';
import { SampleRow } from '../../../engine/telemetry/validate.js';

function row(values: Partial<SampleRow>): SampleRow {
  return Object.assign(new SampleRow(), { ts: 1000, host: 'h1', component: 'vmm', rss: 10 }, values);
}

describe('SampleBatchBuilder', () => {
  it('builds a canonical batch with per-batch dictionaries, records and source', () => {
    const b = new SampleBatchBuilder('fleet.ndjson', 8);
    b.append(row({ host: 'h1', pid: 7, host_mem: 64, region: 'eu' }), 3);
    b.append(row({ host: 'h2', ts: 2000, rss: 20 }), 5);
    b.append(row({ host: 'h1', process: 'vmmem', ts: 3000, rss: 30, version: '1.0' }), 9);
    const batch = b.build();
    expect(batch.source).toBe('fleet.ndjson');
    expect(batch.watermark).toBe(-Infinity);
    expect([...batch.records]).toEqual([3, 5, 9]);
    expect([...floatColumn(batch.data, 'ts')]).toEqual([1000, 2000, 3000]);
    const host = dictColumn(batch.data, 'host');
    expect([...host.indices]).toEqual([0, 1, 0]);
    expect(host.values).toEqual(['h1', 'h2']);
    expect(rowObject(batch.data, 0)).toEqual({ ts: 1000, host: 'h1', component: 'vmm', process: 'vmm', pid: 7, rss: 10, host_mem: 64, region: 'eu' });
    expect(rowObject(batch.data, 1)).toEqual({ ts: 2000, host: 'h2', component: 'vmm', process: 'vmm', rss: 20 });
    expect(rowObject(batch.data, 2)).toEqual({ ts: 3000, host: 'h1', component: 'vmm', process: 'vmmem', rss: 30, version: '1.0' });
    expect(batch.data.getChild('pid')!.nullCount).toBe(2);
    expect(batch.data.getChild('cluster')!.nullCount).toBe(3);
  });

  it('needs no validity bitmap when every row has a value', () => {
    const b = new SampleBatchBuilder('s', 4);
    b.append(row({ pid: 1 }), 1);
    b.append(row({ pid: 2 }), 2);
    const batch = b.build();
    expect(validity(batch.data, 'pid')).toBeNull();
    expect([...pidColumn(batch.data)]).toEqual([1, 2]);
  });

  it('says when it is full, refuses more and starts over after build', () => {
    const b = new SampleBatchBuilder('s', 2);
    b.append(row({}), 1);
    expect(b.full).toBe(false);
    b.append(row({}), 2);
    expect(b.full).toBe(true);
    expect(() => b.append(row({}), 3)).toThrow(/full/);
    expect(b.build().data.numRows).toBe(2);
    expect(b.length).toBe(0);
    expect(b.build().data.numRows).toBe(0);
  });

  it('never writes into a batch it already emitted', () => {
    const b = new SampleBatchBuilder('s', 2);
    b.append(row({ host: 'a', ts: 1, pid: 1 }), 1);
    b.append(row({ host: 'b', ts: 2 }), 2);
    const first = b.build();
    const before = JSON.stringify([0, 1].map((i) => rowObject(first.data, i)));
    b.append(row({ host: 'c', ts: 3, pid: 3 }), 3);
    b.append(row({ host: 'd', ts: 4, pid: 4 }), 4);
    const second = b.build();
    expect(JSON.stringify([0, 1].map((i) => rowObject(first.data, i)))).toBe(before);
    expect([...first.records]).toEqual([1, 2]);
    expect(floatColumn(second.data, 'ts').buffer).not.toBe(floatColumn(first.data, 'ts').buffer);
    expect(dictColumn(second.data, 'host').values).toEqual(['c', 'd']);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new SampleBatchBuilder('s', 0)).toThrow(/capacity/);
    expect(() => new SampleBatchBuilder('s', 1.5)).toThrow(/capacity/);
  });
});
