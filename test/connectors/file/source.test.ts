import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fileSource, fileSourceSpec, formatOf, type FileSourceOptions } from '../../../connectors/file/source.js';
import { writeFixture } from '../../../bench/fixtures.js';
import { checkOptions, resolveOptions } from '../../../engine/pipeline/options.js';
import type { SampleBatch } from '../../../engine/telemetry/schema.js';
import { testContext } from '../../helpers/samples.js';
import { rowsOf, tempDir, writeInput } from './files.js';

const path = tempDir('source');

async function readAll(options: Partial<FileSourceOptions> & { path: string }, ctx = testContext('in')) {
  const source = fileSource(resolveOptions(fileSourceSpec, options), ctx.ctx);
  const batches: SampleBatch[] = [];
  for await (const b of source.read()) batches.push(b);
  return { batches, ...ctx };
}

describe('file source spec', () => {
  it('applies defaults and refuses unknown or malformed options', () => {
    expect(resolveOptions(fileSourceSpec, { path: 'a.ndjson' })).toEqual({ path: 'a.ndjson', format: 'auto', batch_size: 65_536 });
    const fields = (o: unknown) => checkOptions(fileSourceSpec, o, 'in').issues.map((i) => i.field);
    expect(fields({})).toEqual(['options.path']);
    expect(fields({ path: 'a', format: 'parquet' })).toEqual(['options.format']);
    expect(fields({ path: 'a', batch_size: 0 })).toEqual(['options.batch_size']);
    expect(fields({ path: 'a', batch_size: 2 ** 21 })).toEqual(['options.batch_size']);
    expect(fields({ path: 'a', bach_size: 5 })).toEqual(['options.bach_size']);
  });

  it.each([
    ['x.ndjson', 'ndjson'], ['x.jsonl.gz', 'ndjson'], ['X.CSV', 'csv'], ['x.csv.gz', 'csv'], ['x.arrow', 'arrow'],
    ['x.arrows.gz', 'arrow'], ['dir.v1/x.feather', 'arrow'], ['x.json', undefined], ['x.gz', undefined], ['x', undefined],
  ])('tells the format of %s', (file, format) => {
    expect(formatOf(file)).toBe(format);
  });

  it('fails when built, not when read, if the format cannot be told', () => {
    const { ctx } = testContext();
    expect(() => fileSource({ path: 'data.txt', format: 'auto', batch_size: 10 }, ctx)).toThrow(/cannot tell the format of "data.txt"/);
    expect(() => fileSource({ path: 'data.txt', format: 'ndjson', batch_size: 10 }, ctx)).not.toThrow();
    expect(() => fileSource({ path: 'a.csv', format: 'auto', batch_size: 0 }, ctx)).toThrow(/"batch_size"/);
  });
});

describe('file source', () => {
  it.each(['ndjson', 'csv', 'arrow'] as const)('reads %s in batches of the asked size and counts samples_read', async (format) => {
    const ext = format === 'arrow' ? 'arrows' : format;
    const truth = await writeFixture({ rows: 1000, format, bad: 12, out: path(`f.${ext}.gz`) });
    const { batches, metrics, deadLetter } = await readAll({ path: truth.file, batch_size: 300 });
    const rows = batches.reduce((n, b) => n + b.data.numRows, 0);
    expect(rows).toBe(truth.accepted);
    expect(batches.slice(0, -1).every((b) => b.data.numRows === 300)).toBe(true);
    expect(metrics.total('samples_read')).toBe(rows);
    expect(deadLetter.rejections.length).toBe(truth.records - truth.accepted);
    expect(batches[0]!.source).toBe(truth.file);
  });

  it('reads by the given format whatever the extension', async () => {
    const file = writeInput(path('data.txt'), 'ts,host,component,rss\n5,h,c,1\n');
    const { batches } = await readAll({ path: file, format: 'csv' });
    expect(rowsOf(batches)).toEqual([{ ts: 5, host: 'h', component: 'c', process: 'c', rss: 1, record: 2 }]);
  });

  it('ends quietly when the run is stopped', async () => {
    const truth = await writeFixture({ rows: 5000, format: 'ndjson', out: path('stop.ndjson'), truthFile: false });
    const controller = new AbortController();
    const t = testContext();
    const ctx = { ...t.ctx, signal: controller.signal };
    const source = fileSource({ path: truth.file, format: 'auto', batch_size: 100 }, ctx);
    let n = 0;
    for await (const _ of source.read()) if (++n === 2) controller.abort();
    expect(n).toBe(2);
    expect(t.metrics.total('samples_read')).toBe(200);
  });

  it('reports bytes that are not gzip as a SourceError naming the file', async () => {
    const file = path('fake.ndjson.gz');
    writeFileSync(file, '{"ts":1,"host":"h","component":"c","rss":1}\n');
    const { ctx } = testContext();
    const source = fileSource({ path: file, format: 'auto', batch_size: 10 }, ctx);
    await expect(async () => { for await (const _ of source.read()); }).rejects.toMatchObject({ name: 'SourceError', message: expect.stringMatching(/fake\.ndjson\.gz" is not valid gzip data/) });
  });

  it('reports a missing file as a SourceError when read', async () => {
    const { ctx } = testContext();
    const source = fileSource({ path: path('missing.ndjson'), format: 'auto', batch_size: 10 }, ctx);
    await expect(async () => { for await (const _ of source.read()); }).rejects.toMatchObject({ name: 'SourceError', message: expect.stringMatching(/missing\.ndjson" does not exist/) });
  });
});
