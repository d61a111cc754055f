import { describe, expect, it } from 'vitest';
import { ndjsonParser, readNdjson } from '../../../connectors/file/ndjson.js';
import { readTextBatches } from '../../../connectors/file/text.js';
import { SAMPLE_SCHEMA, type SampleBatch, type SampleColumns } from '../../../engine/telemetry/schema.js';
import { drain, mutate, readerOptions, seeded } from './files.js';

/**
 * The NDJSON reader reads most lines from their bytes and hands the rest to the general
 * text reader. Its output must not depend on which path a line took: here random files of
 * valid and malformed lines, cut into random chunks and batches, must give the very
 * batches (every column, dictionary and validity bit) and the very dead letters (reason,
 * field, detail, line number, text) as the general reader alone (`JSON.parse` and validation).
 */

function random(seed: number) {
  return {
    next: seeded(seed),
    int(n: number) { return Math.floor(this.next() * n); },
    pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; },
  };
}
type Random = ReturnType<typeof random>;

const HOSTS = Array.from({ length: 40 }, (_, i) => `node-${String(i).padStart(4, '0')}`).concat(['nöde-ü', 'узел', '節点-✓', 'a"b', 'tab\there', 'x'.repeat(1024), 'y'.repeat(1025), '']);
const NUMBERS = ['0', '-0', '1', '42', '123456789', '1767225600000', '9007199254740991', '9007199254740993', '12345678901234567890', '1.5', '1e3', '1E+2', '2.5e-3',
  '-1', '-7.25', '1e999', '-1e999', '0.000001', '01', '1.', '.5', '+1', '1e', 'NaN', 'Infinity', '0x10', '2147483647', '2147483648', '"12"', 'true', 'null'];
const FIELDS = ['ts', 'host', 'component', 'process', 'pid', 'rss', 'host_mem', 'region', 'cluster', 'version'];

function jsonString(r: Random, s: string): string {
  // Mostly raw (with the bytes as written), sometimes with escapes that the general reader must undo.
  return r.next() < 0.9 ? `"${s.replace(/["\\]/g, (c) => `\\${c}`).replace(/\t/g, r.next() < 0.5 ? '\t' : '\\t')}"` : JSON.stringify(s).replace(/o/g, '\\u006f');
}

function value(r: Random, field: string): string {
  const numeric = field === 'ts' || field === 'rss' || field === 'pid' || field === 'host_mem';
  const roll = r.next();
  if (roll < 0.96) {
    if (!numeric) return jsonString(r, r.next() < 0.95 ? r.pick(HOSTS.slice(0, 40)) : r.pick(HOSTS));
    if (r.next() < 0.95) return String(field === 'ts' ? 1767225600000 + r.int(1000) * 300_000 : field === 'pid' ? r.int(70_000) : r.int(2 ** 40));
    return r.pick(NUMBERS);
  }
  if (roll < 0.98) return r.pick(NUMBERS);
  return r.pick(['null', 'true', 'false', '""', '{}', '[]', '{"a":[1,{"b":null}]}', '[1,"x"]', jsonString(r, r.pick(HOSTS))]);
}

const SPACES = ['', ' ', '  ', '\t', '\r'];

function line(r: Random): string | Buffer {
  const roll = r.next();
  if (roll < 0.03) return r.pick(['', '   ', '\t', '[1,2]', '42', '"x"', 'null', '{}', '{', 'not json', '{"ts":1,}', '\ufeff{"ts":1}']);
  const fields = FIELDS.filter((f) => r.next() < (f === 'ts' || f === 'host' || f === 'component' || f === 'rss' ? 0.97 : 0.5));
  if (r.next() < 0.3) fields.sort(() => r.next() - 0.5);
  if (r.next() < 0.05) fields.push(r.pick(FIELDS));
  if (r.next() < 0.1) fields.splice(r.int(fields.length + 1), 0, r.pick(['tags', 'hostx', 'rs', 'pidx', 'x\\u0041', 'ünknown']));
  const sp = () => (r.next() < 0.85 ? '' : r.pick(SPACES));
  const body = fields.map((f) => `${sp()}"${f}"${sp()}:${sp()}${value(r, f)}${sp()}`).join(',');
  let text = `${sp()}{${body}}${sp()}`;
  if (r.next() < 0.04) {
    // A few characters changed, inserted or dropped anywhere.
    text = mutate(text, '{}[]":,.-+eE019 \\n\t\rü', r.next);
  }
  if (r.next() < 0.02) {
    // Bytes that are not UTF-8, inside a string or outside.
    const bytes = Buffer.from(text);
    const at = r.int(bytes.length + 1);
    return Buffer.concat([bytes.subarray(0, at), Buffer.from(r.pick([[0xff], [0xe2, 0x82], [0xc3], [0x80, 0x80], [0xed, 0xa0, 0x80]])), bytes.subarray(at)]);
  }
  return text;
}

function file(r: Random, lines: number): Buffer {
  const parts: Buffer[] = [];
  if (r.next() < 0.3) parts.push(Buffer.from([0xef, 0xbb, 0xbf]));
  for (let i = 0; i < lines; i++) {
    const l = line(r);
    parts.push(typeof l === 'string' ? Buffer.from(l) : l);
    if (i < lines - 1 || r.next() < 0.5) parts.push(Buffer.from(r.next() < 0.8 ? '\n' : '\r\n'));
  }
  return Buffer.concat(parts);
}

async function* chunked(bytes: Buffer, sizes: () => number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length;) {
    const n = sizes();
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

/** Every column of a batch as plain data: values, validity per row, dictionaries. */
function columnsOf(batch: SampleBatch): Record<string, unknown> {
  const out: Record<string, unknown> = { records: Array.from(batch.records), source: batch.source, rows: batch.data.numRows };
  for (const field of SAMPLE_SCHEMA.fields) {
    const data = batch.data.getChild(field.name as keyof SampleColumns)!.data[0]!;
    out[field.name] = {
      values: Array.from(data.values as ArrayLike<number>),
      valid: Array.from({ length: data.length }, (_, i) => data.getValid(i)),
      nullCount: data.nullCount,
      dictionary: data.dictionary ? Array.from(data.dictionary as Iterable<string | null>) : null,
    };
  }
  return out;
}

async function run(read: (chunks: AsyncIterable<Buffer>, opts: ReturnType<typeof readerOptions>['opts']) => AsyncIterable<SampleBatch>,
  bytes: Buffer, chunkSeed: number, batchSize: number, maxLineBytes: number) {
  const r = random(chunkSeed);
  const sizes = () => r.pick([1, 2, 7, 64, 333, 4096, 1 << 20]);
  const { opts, deadLetter, metrics } = readerOptions('diff.ndjson', batchSize, { maxLineBytes });
  const batches = await drain(read(chunked(bytes, sizes), opts));
  return { batches: batches.map(columnsOf), rejections: deadLetter.rejections, rejected: metrics.total('samples_rejected') };
}

describe('NDJSON reader, byte path against the general reader', () => {
  it.each([1, 2, 3, 4, 5, 6])('gives the same batches and dead letters on a random file (seed %i)', async (seed) => {
    const r = random(seed * 7919);
    const bytes = file(r, 3000);
    const batchSize = r.pick([1, 3, 17, 250, 65_536]);
    const maxLineBytes = r.pick([200, 1 << 20]);
    const fast = await run(readNdjson, bytes, seed, batchSize, maxLineBytes);
    const general = await run((c, o) => readTextBatches(c, o, ndjsonParser), bytes, seed, batchSize, maxLineBytes);
    expect(fast).toEqual(general);
    // Neither side is trivial: both valid rows and refusals of many kinds are present.
    const rows = fast.batches.reduce((n, b) => n + (b.rows as number), 0);
    expect(rows).toBeGreaterThan(1000);
    expect(new Set(fast.rejections.map((x) => x.reason)).size).toBeGreaterThanOrEqual(5);
  });

  it('gives the same results when the string table fills up within a batch', async () => {
    // 3,000 distinct hosts would never fill the table's 65,536 entries: 6 MB of distinct values fill its 4 MB.
    const r = random(99);
    const lines = Array.from({ length: 3000 }, (_, i) =>
      `{"ts":${i},"host":"${'h'.repeat(1000)}-${i}","component":"c${i % 7}","rss":${r.int(1000)},"region":"${'r'.repeat(1000)}${i}"}`);
    const bytes = Buffer.from(lines.join('\n'));
    const fast = await run(readNdjson, bytes, 1, 1000, 1 << 20);
    const general = await run((c, o) => readTextBatches(c, o, ndjsonParser), bytes, 1, 1000, 1 << 20);
    expect(fast).toEqual(general);
    expect(fast.rejections).toEqual([]);
  });
});
