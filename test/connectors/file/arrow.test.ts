import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import {
  Dictionary, Float64, Int32, Int64, Int8, LargeUtf8, MetadataVersion, Table, TimestampMillisecond, TimestampSecond, Uint64, Utf8,
  tableToIPC, vectorFromArray,
} from 'apache-arrow';
import { FileBlock, Footer } from 'apache-arrow/ipc/metadata/file';
import { beforeAll, describe, expect, it } from 'vitest';
import { readArrow } from '../../../connectors/file/arrow.js';
import { conformBatch } from '../../../connectors/file/arrowBatch.js';
import { checkMessage, checkMessageHead, HEADER_DICTIONARY, HEADER_RECORD_BATCH } from '../../../connectors/file/arrowGuard.js';
import { writeFixture, type FixtureTruth } from '../../../bench/fixtures.js';
import { SourceError } from '../../../engine/errors.js';
import { makeSampleBatch } from '../../../engine/telemetry/arrowData.js';
import { SampleBatchBuilder } from '../../../engine/telemetry/builder.js';
import { dictColumn, floatColumn, validity } from '../../../engine/telemetry/schema.js';
import { SampleRow } from '../../../engine/telemetry/validate.js';
import { drain, readerOptions, rejected, rowsOf, tempDir } from './files.js';

const path = tempDir('arrow');

function writeIpc(name: string, table: Table, layout: 'stream' | 'file'): string {
  const bytes = tableToIPC(table, layout);
  const file = path(name);
  writeFileSync(file, name.endsWith('.gz') ? gzipSync(bytes) : bytes);
  return file;
}

/** A canonical batch of valid rows, as the builder makes them. */
function canonical(n: number, offset = 0) {
  const b = new SampleBatchBuilder('gen', n);
  const row = new SampleRow();
  for (let i = 0; i < n; i++) {
    Object.assign(row, { ts: 1_000 * (offset + i), host: `h${(offset + i) % 3}`, component: 'vmm', process: null, pid: i % 2 ? i : -1, rss: 100 + i, host_mem: -1, region: i % 3 ? 'eu' : null, cluster: null, version: null });
    b.append(row, i + 1);
  }
  return b.build().data;
}

const dict8 = () => new Dictionary(new Utf8(), new Int8());

describe('Arrow reader on fixtures', () => {
  const truths: Record<string, FixtureTruth> = {};
  beforeAll(async () => {
    for (const name of ['fleet.arrows', 'fleet.arrow']) {
      truths[name] = await writeFixture({ rows: 1500, format: 'arrow', bad: 20, out: path(name), arrowBatchRows: 400, attrs: true });
      await writeFixture({ rows: 1500, format: 'arrow', bad: 20, out: path(name), arrowBatchRows: 400, attrs: true, gzip: true });
    }
  });

  it.each(['fleet.arrows', 'fleet.arrow', 'fleet.arrows.gz', 'fleet.arrow.gz'])('reads %s, refusing each defective record by number', async (name) => {
    const truth = truths[name.replace('.gz', '')]!;
    const { opts, deadLetter } = readerOptions(path(name), 300);
    const batches = await drain(readArrow(path(name), opts));
    const expected = truth.defects.filter((d) => d.reason !== 'late').map((d) => `${d.line}:${d.reason}${d.field ? ':' + d.field : ''}`);
    expect(rejected(deadLetter.rejections)).toEqual(expected);
    expect(batches.reduce((n, b) => n + b.data.numRows, 0)).toBe(truth.accepted);
    expect(batches.every((b) => b.data.numRows <= 300)).toBe(true);
    const records = batches.flatMap((b) => [...b.records]);
    expect(records.length + expected.length).toBe(truth.records);
    expect(records).toEqual([...records].sort((a, b) => a - b));
  });

  it('reads a stream and a file of the same data to the same rows', async () => {
    const a = rowsOf(await drain(readArrow(path('fleet.arrows'), readerOptions('x').opts)));
    const b = rowsOf(await drain(readArrow(path('fleet.arrow.gz'), readerOptions('x').opts)));
    expect(b).toEqual(a);
    expect(a[0]).toMatchObject({ ts: truths['fleet.arrows']!.start, host: 'node-00000', component: 'hostagent', process: 'hostagent', region: 'eastus' });
  });
});

describe('Arrow reader, canonical input', () => {
  it.each(['stream', 'file'] as const)('passes valid canonical batches (%s) through without copying', async (layout) => {
    // One dictionary for both batches: the file layout allows no replacement.
    const whole = canonical(100);
    const table = new Table([whole.slice(0, 50), whole.slice(50)]);
    const file = writeIpc(`canon.${layout}`, table, layout);
    const batches = await drain(readArrow(file, readerOptions(file).opts));
    expect(batches.map((b) => b.data.numRows)).toEqual([50, 50]);
    for (const b of batches) {
      // Every column is a view into the one buffer of the IPC message body, as read.
      const body = floatColumn(b.data, 'ts').buffer;
      expect(floatColumn(b.data, 'rss').buffer).toBe(body);
      expect(dictColumn(b.data, 'host').indices.buffer).toBe(body);
    }
    expect(rowsOf(batches)).toEqual(rowsOf([{ data: whole, records: Float64Array.from({ length: 100 }, (_, i) => i + 1) } as never]));
  });

  it('reads small and large batches of a stream alike from a file and from gzip', async () => {
    // Small batches are served from read-ahead blocks, bodies past half a block are read whole.
    const sizes = [7, 3000, 1, 20_000, 50, 9000];
    const batches = sizes.map((n, k) => canonical(n, sizes.slice(0, k).reduce((a, b) => a + b, 0)));
    const table = new Table(batches);
    for (const name of ['mixed.arrows', 'mixed.arrows.gz']) {
      const file = writeIpc(name, table, 'stream');
      const out = await drain(readArrow(file, readerOptions(file, 1 << 20).opts));
      expect(out.map((b) => b.data.numRows)).toEqual(sizes);
      expect(out.flatMap((b) => [...floatColumn(b.data, 'rss')])).toEqual(batches.flatMap((b) => [...floatColumn(b, 'rss')]));
      expect(out.flatMap((b) => [...b.records])).toEqual(Array.from({ length: table.numRows }, (_, i) => i + 1));
    }
  });

  it('keeps the input buffers when conforming a valid canonical batch', () => {
    const batch = canonical(40);
    const { deadLetter } = readerOptions('x');
    const out = conformBatch(batch, 1, 'x', deadLetter);
    expect(out.zeroCopy).toBe(true);
    expect(out.columns!.ts).toBe(floatColumn(batch, 'ts'));
    expect(out.columns!.strings.host!.indices).toBe(dictColumn(batch, 'host').indices);
    expect(out.columns!.pidValid!.buffer).toBe(validity(batch, 'pid')!.buffer);
  });

  it('reads validity at any offset of a sliced input batch', () => {
    const whole = canonical(20);
    const part = whole.slice(3, 15);
    const { deadLetter } = readerOptions('x');
    const out = conformBatch(part, 4, 'x', deadLetter);
    expect(deadLetter.rejections).toEqual([]);
    const batch = { data: makeSampleBatch(out.columns!), records: out.records } as never;
    expect(rowsOf([batch])).toEqual(rowsOf([{ data: whole, records: Float64Array.from({ length: 20 }, (_, i) => i + 1) } as never]).slice(3, 15));
  });

  it('re-chunks a large batch into slices of the batch size, keeping nulls in place', async () => {
    const file = writeIpc('big.arrows', new Table([canonical(10)]), 'stream');
    const batches = await drain(readArrow(file, readerOptions(file, 3).opts));
    expect(batches.map((b) => b.data.numRows)).toEqual([3, 3, 3, 1]);
    expect(rowsOf(batches)).toEqual(rowsOf([{ data: canonical(10), records: Float64Array.from({ length: 10 }, (_, i) => i + 1) } as never]));
    expect(floatColumn(batches[1]!.data, 'ts').buffer).toBe(floatColumn(batches[0]!.data, 'ts').buffer);
  });

  it('copies nothing but refused rows away when some rows are invalid', async () => {
    const good = canonical(20);
    const ts = floatColumn(good, 'ts');
    ts[3] = -1;
    ts[7] = NaN;
    ts[8] = 1.5;
    const { opts, deadLetter } = readerOptions('bad.arrows');
    const file = writeIpc('bad.arrows', new Table([canonical(5, 100), good]), 'stream');
    const batches = await drain(readArrow(file, opts));
    expect(rejected(deadLetter.rejections)).toEqual(['9:negative_value:ts', '13:not_finite:ts', '14:wrong_type:ts']);
    expect(deadLetter.rejections[0]!.record).toMatchObject({ ts: -1, host: 'h0', component: 'vmm' });
    expect(batches.map((b) => b.data.numRows)).toEqual([5, 17]);
    expect([...batches[1]!.records]).toEqual([6, 7, 8, 10, 11, 12, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(batches[1]!.data.getChild('pid')!.get(0)).toBeNull();
    expect(batches[1]!.data.getChild('pid')!.get(1)).toBe(1);
  });
});

describe('Arrow reader, reused memory', () => {
  /** Every batch's rows, taken before the next batch is asked for, as the engine's nodes must. */
  async function rowsAsRead(file: string, reuseMemory: boolean, batchSize = 1 << 20) {
    const { opts, deadLetter } = readerOptions(file, batchSize, { reuseMemory });
    const rows: Record<string, unknown>[] = [];
    const bodies = new Set<ArrayBufferLike>();
    const records = new Set<ArrayBufferLike>();
    for await (const b of readArrow(file, opts)) {
      rows.push(...rowsOf([b]));
      bodies.add(floatColumn(b.data, 'ts').buffer);
      records.add(b.records.buffer);
    }
    return { rows, bodies, records, rejected: rejected(deadLetter.rejections) };
  }

  it.each(['ring.arrows', 'ring.arrows.gz', 'ring.arrow'])('reads %s into three buffers in turn, to the same rows', async (name) => {
    // One dictionary for every batch (the file layout allows no replacement); bodies that
    // shrink, so that after the first three each fits a buffer already there.
    const whole = canonical(40_000);
    const batches = Array.from({ length: 8 }, (_, k) => whole.slice(5000 * k, 5000 * k + 5000 - 100 * k));
    const file = writeIpc(name, new Table(batches), name.includes('.arrows') ? 'stream' : 'file');
    const fresh = await rowsAsRead(file, false);
    const reused = await rowsAsRead(file, true);
    expect(fresh.bodies.size).toBe(8);
    expect(reused.bodies.size).toBe(3);
    expect(reused.records.size).toBe(3);
    expect(reused.rows).toEqual(fresh.rows);
    expect(reused.rows).toHaveLength(batches.reduce((n, b) => n + b.numRows, 0));
  });

  it.each(['fleet.arrows', 'fleet.arrow.gz'])('refuses the same records of %s, by the same numbers', async (name) => {
    const file = path(`reuse-${name}`);
    await writeFixture({ rows: 3000, format: 'arrow', bad: 30, out: file.replace(/\.gz$/, ''), arrowBatchRows: 700, attrs: true, gzip: name.endsWith('.gz') });
    const fresh = await rowsAsRead(file, false, 300);
    const reused = await rowsAsRead(file, true, 300);
    expect(reused.rejected.length).toBeGreaterThan(0);
    expect(reused.rejected).toEqual(fresh.rejected);
    expect(reused.rows).toEqual(fresh.rows);
  });
});

describe('Arrow reader, other schemas', () => {
  it('converts integer, timestamp and plain-string columns', async () => {
    const table = new Table({
      ts: vectorFromArray([1000, 2000, 3000], new TimestampMillisecond()),
      host: vectorFromArray(['a', 'b', 'a'], new Utf8()),
      component: vectorFromArray(['vmm', 'vmm', 'net'], dict8()),
      process: vectorFromArray(['vmmem', null, ''], new LargeUtf8()),
      rss: vectorFromArray([5n, 6n, 7n], new Uint64()),
      pid: vectorFromArray([1n, null, 3n], new Int64()),
      host_mem: vectorFromArray([64, null, 128], new Int32()),
      note: vectorFromArray(['x', 'y', 'z'], new Utf8()),
    });
    const file = writeIpc('convert.arrows', table, 'stream');
    const { opts, deadLetter } = readerOptions(file);
    const rows = rowsOf(await drain(readArrow(file, opts)));
    expect(deadLetter.rejections).toEqual([]);
    expect(rows).toEqual([
      { ts: 1000, host: 'a', component: 'vmm', process: 'vmmem', pid: 1, rss: 5, host_mem: 64, record: 1 },
      { ts: 2000, host: 'b', component: 'vmm', process: 'vmm', rss: 6, record: 2 },
      { ts: 3000, host: 'a', component: 'net', process: 'net', pid: 3, rss: 7, host_mem: 128, record: 3 },
    ]);
  });

  it.each([
    ['seconds', vectorFromArray([1000, 2000], new TimestampSecond()), [1000, 2000]],
    ['Int64', vectorFromArray([1000n, 2000n], new Int64()), [1000, 2000]],
    ['Int32', vectorFromArray([1000, 2000], new Int32()), [1000, 2000]],
    ['Float64', vectorFromArray([1000, 2000], new Float64()), [1000, 2000]],
  ])('reads ts given as %s', async (_, ts, expected) => {
    const table = new Table({ ts, host: vectorFromArray(['a', 'b'], new Utf8()), component: vectorFromArray(['c', 'c'], new Utf8()), rss: vectorFromArray([1, 2], new Float64()) });
    const file = writeIpc(`ts-${_}.arrows`, table, 'stream');
    const rows = rowsOf(await drain(readArrow(file, readerOptions(file).opts)));
    expect(rows.map((r) => r.ts)).toEqual(expected);
  });

  it('refuses nulls and empty strings in required columns, and over-long strings', async () => {
    const long = 'x'.repeat(1025);
    const table = new Table({
      ts: vectorFromArray([1, null, 3, 4, 5], new Float64()),
      host: vectorFromArray(['a', 'b', null, '', 'e'], new Utf8()),
      component: vectorFromArray(['c', 'c', 'c', 'c', long], dict8()),
      rss: vectorFromArray([1, 2, 3, 4, 5], new Float64()),
      region: vectorFromArray([long, 'eu', 'eu', 'eu', 'eu'], new Utf8()),
    });
    const file = writeIpc('nulls.arrows', table, 'stream');
    const { opts, deadLetter } = readerOptions(file);
    const rows = rowsOf(await drain(readArrow(file, opts)));
    expect(rows).toEqual([]);
    expect(rejected(deadLetter.rejections)).toEqual([
      '1:string_too_long:region', '2:missing_field:ts', '3:missing_field:host', '4:missing_field:host', '5:string_too_long:component',
    ]);
  });

  it('refuses every batch of a schema without a required column once, counting each row', async () => {
    const part = (n: number) => new Table({ ts: vectorFromArray(Array.from({ length: n }, (_, i) => i), new Float64()), host: vectorFromArray(Array(n).fill('h'), new Utf8()), rss: vectorFromArray(Array(n).fill(1), new Float64()) }).batches[0]!;
    const file = writeIpc('nocomp.arrows', new Table([part(4), part(6)]), 'stream');
    const { opts, deadLetter, metrics } = readerOptions(file);
    expect(await drain(readArrow(file, opts))).toEqual([]);
    expect(deadLetter.rejections.map((r) => [r.line, r.reason, r.field, r.count])).toEqual([[1, 'invalid_arrow', 'component', 4], [5, 'invalid_arrow', 'component', 6]]);
    expect(deadLetter.rejections[1]!.detail).toBe('the schema has no "component" column; records 5..10 refused');
    expect(metrics.total('samples_rejected', { reason: 'invalid_arrow' })).toBe(10);
  });

  it('refuses a column whose type cannot hold its field', async () => {
    const table = new Table({ ts: vectorFromArray([1], new Float64()), host: vectorFromArray([7], new Int32()), component: vectorFromArray(['c'], new Utf8()), rss: vectorFromArray([1], new Float64()) });
    const file = writeIpc('hostint.arrows', table, 'stream');
    const { opts, deadLetter } = readerOptions(file);
    await drain(readArrow(file, opts));
    expect(deadLetter.rejections[0]).toMatchObject({ reason: 'invalid_arrow', field: 'host', count: 1 });
    expect(deadLetter.rejections[0]!.detail).toMatch(/column "host" has type Int32/);
  });
});

describe('Arrow reader, unreadable input', () => {
  it('delivers the batches before a truncation, then fails with a SourceError', async () => {
    const bytes = tableToIPC(new Table([canonical(30), canonical(30, 30), canonical(30, 60)]), 'stream');
    const file = path('cut.arrows');
    writeFileSync(file, bytes.subarray(0, bytes.length - 200));
    const seen: number[] = [];
    let error: unknown;
    try {
      for await (const b of readArrow(file, readerOptions(file).opts)) seen.push(b.data.numRows);
    } catch (err) {
      error = err;
    }
    expect(seen).toEqual([30, 30]);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as Error).message).toMatch(/cut\.arrows": Arrow IPC data cannot be decoded after record 60/);
  });

  it.each([
    ['text.arrows', Buffer.from('{"ts":1,"host":"h"}\n'.repeat(10))],
    ['tiny.arrows', Buffer.from('abc')],
    ['cutfile.arrow', Buffer.from(tableToIPC(new Table([canonical(10)]), 'file')).subarray(0, 300)],
  ])('fails on %s with a SourceError that names the file', async (name, bytes) => {
    const file = path(name);
    writeFileSync(file, bytes);
    const err = await drain(readArrow(file, readerOptions(file).opts)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toContain(file);
  });

  it('reads an empty file as no batches', async () => {
    const file = path('empty.arrows');
    writeFileSync(file, '');
    expect(await drain(readArrow(file, readerOptions(file).opts))).toEqual([]);
  });

  it('fails with a SourceError when the file does not exist', async () => {
    const err = await drain(readArrow(path('nope.arrows'), readerOptions('x').opts)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toMatch(/does not exist/);
  });
});

/** Offsets of every message's metadata in an IPC stream: [start, length]. */
function messages(bytes: Buffer, from = 0): [number, number][] {
  const out: [number, number][] = [];
  for (let at = from; at + 8 <= bytes.length;) {
    const length = bytes.readInt32LE(at + 4);
    if (length === 0) break;
    out.push([at + 8, length]);
    at += 8 + length + checkMessage(bytes.subarray(at + 8, at + 8 + length));
  }
  return out;
}

/** Sets the field-node count of a record batch's metadata (found by its value, the column count, before a node of `rows` rows). */
function breakNodeCount(bytes: Buffer, [start, length]: [number, number], columns: number, rows: number): void {
  for (let at = start; at + 12 <= start + length; at += 4) {
    if (bytes.readInt32LE(at) === columns && Number(bytes.readBigInt64LE(at + 4)) === rows) {
      bytes.writeInt32LE(0x7fffffff, at);
      return;
    }
  }
  throw new Error('node vector not found');
}

/**
 * An Arrow IPC file whose messages start with the schema, as writers other than
 * apache-arrow's lay it out: the stream's bytes between the magic and a footer.
 */
function fileWithSchemaMessage(table: Table): Buffer {
  const stream = Buffer.from(tableToIPC(table, 'stream'));
  const magic = Buffer.from('ARROW1\0\0');
  const dictionaries: FileBlock[] = [];
  const batches: FileBlock[] = [];
  for (const [start, length] of messages(stream)) {
    const { kind, body } = checkMessageHead(stream.subarray(start, start + length));
    const block = new FileBlock(8 + length, body, magic.length + start - 8);
    if (kind === HEADER_DICTIONARY) dictionaries.push(block);
    if (kind === HEADER_RECORD_BATCH) batches.push(block);
  }
  const footer = Buffer.from(Footer.encode(new Footer(table.schema, MetadataVersion.V5, batches, dictionaries)));
  const size = Buffer.alloc(4);
  size.writeInt32LE(footer.length, 0);
  return Buffer.concat([magic, stream, footer, size, Buffer.from('ARROW1')]);
}

describe('Arrow file reader, layouts', () => {
  it('reads a file whose messages start with the schema as one that relies on its footer', async () => {
    const whole = canonical(30);
    const table = new Table([whole.slice(0, 10), whole.slice(10)]);
    const withSchema = path('with-schema.arrow');
    writeFileSync(withSchema, fileWithSchemaMessage(table));
    const footerOnly = writeIpc('footer-only.arrow', table, 'file');
    const a = await drain(readArrow(withSchema, readerOptions(withSchema).opts));
    const b = await drain(readArrow(footerOnly, readerOptions(footerOnly).opts));
    expect(a.map((x) => x.data.numRows)).toEqual([10, 20]);
    expect(rowsOf(a)).toEqual(rowsOf(b));
    expect(rowsOf(a)).toEqual(rowsOf([{ data: whole, records: Float64Array.from({ length: 30 }, (_, i) => i + 1) } as never]));
  });
});

describe('Arrow reader, damaged metadata', () => {
  it('stops with a SourceError at a message whose lengths cannot be, after the batches before it', async () => {
    const whole = canonical(40);
    const bytes = Buffer.from(tableToIPC(new Table([0, 10, 20, 30].map((s) => whole.slice(s, s + 10))), 'stream'));
    const batches = messages(bytes);
    breakNodeCount(bytes, batches.at(-1)!, 10, 10);
    const file = path('damaged.arrows');
    writeFileSync(file, bytes);
    const seen: number[] = [];
    const error = await (async () => {
      for await (const b of readArrow(file, readerOptions(file).opts)) seen.push(b.data.numRows);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([10, 10, 10]);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as Error).message).toMatch(/damaged\.arrows": corrupt Arrow IPC metadata at byte \d+: vector at \d+ has length|outside the/);
  });

  it('refuses a file whose footer or blocks are damaged before reading any batch', async () => {
    const whole = canonical(20);
    const bytes = Buffer.from(tableToIPC(new Table([whole.slice(0, 10), whole.slice(10)]), 'file'));
    const blocks = messages(bytes, 8).filter(([, length]) => length > 0);
    breakNodeCount(bytes, blocks.at(-1)!, 10, 10);
    const file = path('damaged.arrow');
    writeFileSync(file, bytes);
    const err = await drain(readArrow(file, readerOptions(file).opts)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toMatch(/damaged\.arrow": corrupt Arrow IPC metadata/);
  });

  it('answers every overwritten word of a message with a verdict, never a hang', () => {
    const bytes = Buffer.from(tableToIPC(new Table([canonical(10)]), 'stream'));
    for (const [start, length] of messages(bytes)) {
      for (let at = start; at < start + length; at += 4) {
        const damaged = Buffer.from(bytes.subarray(start, start + length));
        damaged.writeInt32LE(0x7fffffff, at - start);
        try {
          expect(checkMessage(damaged)).toBeGreaterThanOrEqual(0);
        } catch (err) {
          expect((err as Error).message).toMatch(/outside|length|rows|bytes|vtable|body|kind/);
        }
      }
    }
  });
});

describe('Arrow file reader, damaged block kinds', () => {
  it('ends every read of a file with one damaged byte in a batch header, with rows or a SourceError', async () => {
    const whole = canonical(20);
    const original = Buffer.from(tableToIPC(new Table([whole]), 'file'));
    const [start] = messages(original, 8).at(-1)!;
    const outcomes = new Set<string>();
    for (let at = start; at < start + 64; at++) {
      const bytes = Buffer.from(original);
      bytes[at] = 199;
      const file = path(`kind-${at}.arrow`);
      writeFileSync(file, bytes);
      const result = await drain(readArrow(file, readerOptions(file).opts)).then(
        (batches) => `rows ${batches.reduce((n, b) => n + b.data.numRows, 0)}`,
        (err: unknown) => (err instanceof SourceError ? 'SourceError' : `other: ${(err as Error).message}`),
      );
      outcomes.add(result.startsWith('rows') ? 'rows' : result);
    }
    expect([...outcomes].filter((o) => o !== 'rows' && o !== 'SourceError')).toEqual([]);
    expect(outcomes.has('SourceError')).toBe(true);
  });
});
