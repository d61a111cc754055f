import { beforeAll, describe, expect, it } from 'vitest';
import { readCsv, splitCsvLine } from '../../../connectors/file/csv.js';
import { fileBytes } from '../../../connectors/file/input.js';
import { SourceError } from '../../../engine/errors.js';
import { writeFixture, type FixtureTruth } from '../../../bench/fixtures.js';
import { drain, readerOptions, rejected, rowsOf, tempDir, writeInput } from './files.js';

const path = tempDir('csv');

function split(line: string): string[] | number {
  const cells: string[] = [];
  const n = splitCsvLine(line, 0, line.length, cells);
  return n < 0 ? n : cells.slice(0, n);
}

describe('splitCsvLine', () => {
  it.each([
    ['a,b,c', ['a', 'b', 'c']],
    ['a,,c,', ['a', '', 'c', '']],
    ['', ['']],
    ['"a,b",c', ['a,b', 'c']],
    ['"say ""hi""",x', ['say "hi"', 'x']],
    ['"",""""', ['', '"']],
    [' a , b ', [' a ', ' b ']],
  ])('splits %j', (line, cells) => {
    expect(split(line)).toEqual(cells);
  });

  it.each(['a"b,c', '"a"b,c', '"open,c', 'a,"b" ,c', '"a""'])('refuses the broken quoting of %j', (line) => {
    expect(split(line)).toBe(-1);
  });

  it('splits a line inside a larger text', () => {
    const text = 'xx\n1,"2,3"\nyy';
    const cells: string[] = [];
    expect(splitCsvLine(text, 3, 10, cells)).toBe(2);
    expect(cells.slice(0, 2)).toEqual(['1', '2,3']);
  });
});

describe('CSV reader', () => {
  let truth: FixtureTruth;
  beforeAll(async () => {
    truth = await writeFixture({ rows: 2000, format: 'csv', bad: 22, out: path('fleet.csv'), attrs: true });
    await writeFixture({ rows: 2000, format: 'csv', bad: 22, out: path('fleet.csv'), attrs: true, gzip: true });
  });

  it('refuses every defective line with its line number, reason and field', async () => {
    const { opts, deadLetter } = readerOptions(truth.file, 512);
    const batches = await drain(readCsv(fileBytes(truth.file), opts));
    const expected = truth.defects.filter((d) => d.reason !== 'late').map((d) => `${d.line}:${d.reason}${d.field ? ':' + d.field : ''}`);
    expect(rejected(deadLetter.rejections)).toEqual(expected);
    expect(expected.some((e) => e.endsWith(':invalid_csv'))).toBe(true);
    expect(batches.reduce((n, b) => n + b.data.numRows, 0)).toBe(truth.accepted);
    expect(batches.slice(0, -1).every((b) => b.data.numRows === 512)).toBe(true);
  });

  it('reads the gzipped file to the same rows', async () => {
    const a = await drain(readCsv(fileBytes(truth.file), readerOptions(truth.file).opts));
    const b = await drain(readCsv(fileBytes(`${truth.file}.gz`), readerOptions(truth.file).opts));
    expect(rowsOf(b)).toEqual(rowsOf(a));
  });

  it('takes columns in any order, ignores unknown ones, and unquotes values', async () => {
    const file = writeInput(path('order.csv'), [
      'rss,note,component,"host",ts,region,pid',
      '5,"a, b",vmm,h1,1000,,7',
      '6.5,"say ""x""","net,work","h ""2""",2000,eu,',
      '7,,vmm,h3,3000,us,8',
    ].join('\r\n'));
    const { opts, deadLetter } = readerOptions(file);
    const rows = rowsOf(await drain(readCsv(fileBytes(file), opts)));
    expect(deadLetter.rejections).toEqual([]);
    expect(rows).toEqual([
      { ts: 1000, host: 'h1', component: 'vmm', process: 'vmm', pid: 7, rss: 5, record: 2 },
      { ts: 2000, host: 'h "2"', component: 'net,work', process: 'net,work', rss: 6.5, region: 'eu', record: 3 },
      { ts: 3000, host: 'h3', component: 'vmm', process: 'vmm', pid: 8, rss: 7, region: 'us', record: 4 },
    ]);
  });

  it('refuses records with the wrong number of fields or broken quoting as invalid_csv', async () => {
    const file = writeInput(path('broken.csv'), 'ts,host,component,rss\n1,h,c,5\n2,h,c\n3,h,c,5,6\n4,h"x,c,5\n5,"h,c,5\n\n6,h,c,5\n');
    const { opts, deadLetter } = readerOptions(file);
    const rows = rowsOf(await drain(readCsv(fileBytes(file), opts)));
    expect(rows.map((r) => r.record)).toEqual([2, 8]);
    expect(rejected(deadLetter.rejections)).toEqual(['3:invalid_csv', '4:invalid_csv', '5:invalid_csv', '6:invalid_csv']);
    expect(deadLetter.rejections[0]!.detail).toBe('expected 4 fields as in the header, got 3');
    expect(deadLetter.rejections[0]!.record).toBe('2,h,c');
  });

  it('reads an empty cell as absent: refused when required, null when optional', async () => {
    const file = writeInput(path('empty.csv'), 'ts,host,component,rss,pid,host_mem\n1,h,c,,3,\n2,,c,5,,\n3,h,c,5,,\n4,h,c,NaN,,\n5,h,c,5,x,\n');
    const { opts, deadLetter } = readerOptions(file);
    const rows = rowsOf(await drain(readCsv(fileBytes(file), opts)));
    expect(rows).toEqual([{ ts: 3, host: 'h', component: 'c', process: 'c', rss: 5, record: 4 }]);
    expect(rejected(deadLetter.rejections)).toEqual(['2:missing_field:rss', '3:missing_field:host', '5:not_finite:rss', '6:wrong_type:pid']);
  });

  it('fails with a SourceError naming the missing required columns', async () => {
    const file = writeInput(path('nohost.csv'), 'ts,component,pid\n1,c,3\n');
    const { opts } = readerOptions(file);
    const err = await drain(readCsv(fileBytes(file), opts)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toBe(`"${file}": line 1: the header lacks the required columns "host", "rss"`);
  });

  it('fails with a SourceError on a header that names a field twice', async () => {
    const file = writeInput(path('twice.csv'), 'ts,host,component,rss,host\n');
    const err = await drain(readCsv(fileBytes(file), readerOptions(file).opts)).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/names "host" twice/);
  });

  it('reads a header-only file as no batches', async () => {
    const file = writeInput(path('header.csv'), '\ufeffts,host,component,rss\n');
    expect(await drain(readCsv(fileBytes(file), readerOptions(file).opts))).toEqual([]);
  });
});
