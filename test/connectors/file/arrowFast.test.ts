import { writeFileSync } from 'node:fs';
import { Table, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { readArrow } from '../../../connectors/file/arrow.js';
import { conformBatch } from '../../../connectors/file/arrowBatch.js';
import { verifiedFields, type Columns } from '../../../connectors/file/arrowFast.js';
import { makeSampleBatch, utf8Data } from '../../../engine/telemetry/arrowData.js';
import { floatColumn, pidColumn, type SampleColumns } from '../../../engine/telemetry/schema.js';
import type { RecordBatch } from 'apache-arrow';
import { drain, readerOptions, rejected, rowsOf, tempDir } from './files.js';

const path = tempDir('arrow-fast');

const LONG = 'x'.repeat(1025);

/**
 * A canonical batch that the one-pass check takes whole: numbers and dictionaries
 * without nulls. The host and component dictionaries also hold entries that are not
 * valid values, which no row points at.
 */
function plain(n: number): RecordBatch<SampleColumns> {
  const ints = (f: (i: number) => number) => Int32Array.from({ length: n }, (_, i) => f(i));
  return makeSampleBatch({
    length: n,
    ts: Float64Array.from({ length: n }, (_, i) => 1_700_000_000_000 + 1000 * i),
    rss: Float64Array.from({ length: n }, (_, i) => 1e6 + i),
    pid: ints((i) => 100 + i),
    host_mem: new Float64Array(n).fill(64e9),
    strings: {
      host: { indices: ints((i) => i % 3), dictionary: utf8Data(['h0', 'h1', 'h2', LONG]) },
      component: { indices: ints((i) => i % 2), dictionary: utf8Data(['vmm', 'net', '']) },
      process: { indices: ints((i) => i % 2), dictionary: utf8Data(['vmmem', 'netd']) },
      region: null, cluster: null, version: null,
    },
  });
}

function columnsOf(batch: RecordBatch): Columns {
  const out: Columns = {};
  batch.schema.fields.forEach((f, k) => { (out as Record<string, unknown>)[f.name] = batch.data.children[k]; });
  return out;
}

const indicesOf = (batch: RecordBatch<SampleColumns>, name: 'host' | 'component' | 'process') => batch.getChild(name)!.data[0]!.values as Int32Array;

describe('one-pass check of plain batches', () => {
  it('verifies every column it takes when all rows pass, and leaves the rest to the column checks', () => {
    const batch = plain(50);
    expect([...verifiedFields(columnsOf(batch), 50)!].sort()).toEqual(['component', 'host', 'host_mem', 'pid', 'process', 'rss', 'ts']);
    const { deadLetter } = readerOptions('x');
    const out = conformBatch(batch, 1, 'x', deadLetter);
    expect(deadLetter.rejections).toEqual([]);
    expect(out.zeroCopy).toBe(true);
    expect([...out.records]).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('does not apply to columns with nulls', () => {
    const batch = plain(10);
    const columns = columnsOf(batch);
    // The canonical region column is all null: it never takes part, and the pass still applies.
    expect(verifiedFields(columns, 10)).not.toBeNull();
    const withNulls = makeSampleBatch({ ...{ length: 10, ts: floatColumn(batch, 'ts'), rss: floatColumn(batch, 'rss') }, pid: pidColumn(batch), pidValid: new Uint8Array([0xfe, 0xff]), strings: { host: { indices: indicesOf(batch, 'host'), dictionary: utf8Data(['h0', 'h1', 'h2']) }, component: { indices: indicesOf(batch, 'component'), dictionary: utf8Data(['vmm', 'net']) }, process: null, region: null, cluster: null, version: null } });
    const verified = verifiedFields(columnsOf(withNulls), 10)!;
    expect(verified.has('pid')).toBe(false);
    expect(verified.has('ts')).toBe(true);
  });

  // Each bad value sits in a column the pass takes; the batch must still be judged row by row.
  it.each([
    ['ts', (b: RecordBatch<SampleColumns>) => { floatColumn(b, 'ts')[6] = NaN; }, '7:not_finite:ts'],
    ['ts fraction', (b: RecordBatch<SampleColumns>) => { floatColumn(b, 'ts')[6] = 1.5; }, '7:wrong_type:ts'],
    ['rss', (b: RecordBatch<SampleColumns>) => { floatColumn(b, 'rss')[6] = -1; }, '7:negative_value:rss'],
    ['rss infinite', (b: RecordBatch<SampleColumns>) => { floatColumn(b, 'rss')[6] = Infinity; }, '7:not_finite:rss'],
    ['host_mem', (b: RecordBatch<SampleColumns>) => { floatColumn(b, 'host_mem')[6] = -Infinity; }, '7:not_finite:host_mem'],
    ['pid', (b: RecordBatch<SampleColumns>) => { pidColumn(b)[6] = -5; }, '7:negative_value:pid'],
    ['host', (b: RecordBatch<SampleColumns>) => { indicesOf(b, 'host')[6] = 4; }, '7:invalid_arrow:host'],
    ['host entry', (b: RecordBatch<SampleColumns>) => { indicesOf(b, 'host')[6] = 3; }, '7:string_too_long:host'],
    ['component entry', (b: RecordBatch<SampleColumns>) => { indicesOf(b, 'component')[6] = 2; }, '7:missing_field:component'],
    ['component', (b: RecordBatch<SampleColumns>) => { indicesOf(b, 'component')[6] = -1; }, '7:invalid_arrow:component'],
    ['process', (b: RecordBatch<SampleColumns>) => { indicesOf(b, 'process')[6] = 2; }, '7:invalid_arrow:process'],
  ])('refuses a bad %s value by reason with its record number', async (name, spoil, expected) => {
    const batch = plain(20);
    spoil(batch);
    expect(verifiedFields(columnsOf(batch), 20)).toBeNull();
    const file = path(`bad-${name.replace(' ', '-')}.arrows`);
    writeFileSync(file, tableToIPC(new Table([plain(5), batch]), 'stream'));
    const { opts, deadLetter, metrics } = readerOptions(file);
    const batches = await drain(readArrow(file, opts));
    // Record 7 of the second batch is record 12 of the file.
    const [line, ...rest] = expected.split(':');
    expect(rejected(deadLetter.rejections)).toEqual([[Number(line) + 5, ...rest].join(':')]);
    expect(metrics.total('samples_rejected', { reason: rest[0]! })).toBe(1);
    expect(batches.map((b) => b.data.numRows)).toEqual([5, 19]);
    expect(rowsOf(batches).map((r) => r.record)).toEqual([1, 2, 3, 4, 5, ...Array.from({ length: 20 }, (_, i) => i + 6).filter((r) => r !== 12)]);
  });
});
