import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileBytes } from '../../../connectors/file/input.js';
import { readNdjson } from '../../../connectors/file/ndjson.js';
import { writeFixture, type FixtureTruth } from '../../../bench/fixtures.js';
import { drain, readerOptions, rejected, rowsOf, tempDir, writeInput } from './files.js';

const path = tempDir('ndjson');

function expectedRejections(truth: FixtureTruth): string[] {
  return truth.defects.filter((d) => d.reason !== 'late').map((d) => `${d.line}:${d.reason}${d.field ? ':' + d.field : ''}`);
}

describe('NDJSON reader', () => {
  let truth: FixtureTruth;
  beforeAll(async () => {
    truth = await writeFixture({ rows: 3000, format: 'ndjson', bad: 24, out: path('fleet.ndjson'), attrs: true });
    await writeFixture({ rows: 3000, format: 'ndjson', bad: 24, out: path('fleet.ndjson'), attrs: true, gzip: true });
  });

  it('refuses every defective line with its line number, reason and field, and keeps the rest', async () => {
    const { opts, deadLetter, metrics } = readerOptions(truth.file);
    const batches = await drain(readNdjson(fileBytes(truth.file), opts));
    expect(rejected(deadLetter.rejections)).toEqual(expectedRejections(truth));
    expect(new Set(truth.defects.map((d) => d.kind)).size).toBe(10);
    expect(batches.reduce((n, b) => n + b.data.numRows, 0)).toBe(truth.accepted);
    expect(metrics.total('samples_rejected')).toBe(truth.records - truth.accepted);
    // Accepted rows keep their own line numbers: the defects' lines are missing from them.
    const records = batches.flatMap((b) => [...b.records]);
    const defectLines = new Set(expectedRejections(truth).map((s) => Number(s.split(':')[0])));
    expect(records.some((r) => defectLines.has(r))).toBe(false);
    expect(records.length + defectLines.size).toBe(truth.records);
  });

  it('reads the gzipped file to the same batches and rejections', async () => {
    const plain = readerOptions(truth.file, 1000);
    const gz = readerOptions(`${truth.file}.gz`, 1000);
    const a = await drain(readNdjson(fileBytes(truth.file), plain.opts));
    const b = await drain(readNdjson(fileBytes(`${truth.file}.gz`), gz.opts));
    expect(rowsOf(b)).toEqual(rowsOf(a));
    expect(rejected(gz.deadLetter.rejections)).toEqual(rejected(plain.deadLetter.rejections));
    expect(b[0]!.source).toBe(`${truth.file}.gz`);
  });

  it('honours the batch size', async () => {
    const { opts } = readerOptions(truth.file, 700);
    const sizes = (await drain(readNdjson(fileBytes(truth.file), opts))).map((b) => b.data.numRows);
    expect(sizes.slice(0, -1).every((n) => n === 700)).toBe(true);
    expect(sizes.at(-1)).toBe(truth.accepted - 700 * (sizes.length - 1));
  });

  it('reads values as written, CRLF line ends and blank lines included', async () => {
    const file = writeInput(path('crlf.ndjson'), [
      '{"ts":1000,"host":"h1","component":"vmm","rss":5,"pid":7,"region":"eu"}',
      '',
      '{"host":"h2","component":"net","process":"netd","ts":2000,"rss":6.5,"host_mem":64,"cluster":"c","version":"1"}',
      '   ',
      '{"ts":3000,"host":"h\\u00e9","component":"vmm","rss":7,"tags":{"a":[1,2]}}',
    ].join('\r\n') + '\r\n');
    const { opts, deadLetter } = readerOptions(file);
    const rows = rowsOf(await drain(readNdjson(fileBytes(file), opts)));
    expect(deadLetter.rejections).toEqual([]);
    expect(rows).toEqual([
      { ts: 1000, host: 'h1', component: 'vmm', process: 'vmm', pid: 7, rss: 5, region: 'eu', record: 1 },
      { ts: 2000, host: 'h2', component: 'net', process: 'netd', rss: 6.5, host_mem: 64, cluster: 'c', version: '1', record: 3 },
      { ts: 3000, host: 'hé', component: 'vmm', process: 'vmm', rss: 7, record: 5 },
    ]);
  });

  it('dead-letters lines that are not JSON objects, with their text', async () => {
    const file = writeInput(path('odd.ndjson'), '[1,2]\n42\n"x"\nnull\n{"ts":1,\n{"ts":1,"host":"h","component":"c","rss":1}\n');
    const { opts, deadLetter } = readerOptions(file);
    const rows = rowsOf(await drain(readNdjson(fileBytes(file), opts)));
    expect(rejected(deadLetter.rejections)).toEqual(['1:invalid_json', '2:invalid_json', '3:invalid_json', '4:invalid_json', '5:invalid_json']);
    expect(deadLetter.rejections[4]!.record).toBe('{"ts":1,');
    expect(rows.map((r) => r.record)).toEqual([6]);
  });

  it('refuses a line over the limit as line_too_long, keeping only its head, and goes on', async () => {
    const good = (ts: number) => `{"ts":${ts},"host":"h","component":"c","rss":1}`;
    const huge = `{"ts":2,"host":"${'x'.repeat((1 << 20) + 10)}","component":"c","rss":1}`;
    const file = writeInput(path('long.ndjson'), [good(1), huge, good(3)].join('\n'));
    const { opts, deadLetter } = readerOptions(file);
    const rows = rowsOf(await drain(readNdjson(fileBytes(file), opts)));
    expect(rows.map((r) => [r.record, r.ts])).toEqual([[1, 1], [3, 3]]);
    expect(rejected(deadLetter.rejections)).toEqual(['2:line_too_long']);
    expect((deadLetter.rejections[0]!.record as string).length).toBe(16 * 1024);
    expect(deadLetter.rejections[0]!.detail).toMatch(`${huge.length} bytes`);
  });

  it('stops without error once aborted', async () => {
    const controller = new AbortController();
    const { opts } = readerOptions(truth.file, 100, { signal: controller.signal });
    let batches = 0;
    for await (const _ of readNdjson(fileBytes(truth.file), opts)) {
      if (++batches === 3) controller.abort();
    }
    expect(batches).toBe(3);
  });
});

describe('NDJSON reader memory', () => {
  it('holds no more than a couple of batches and reads at most a chunk ahead, on a 200k-line file', async () => {
    const truth = await writeFixture({ rows: 200_000, format: 'ndjson', out: path('big.ndjson'), truthFile: false });
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const alive: WeakRef<object>[] = [];
    let maxAlive = 0;
    let pulled = 0;
    let maxAhead = 0;
    const counted = async function* () {
      for await (const chunk of fileBytes(truth.file)) {
        pulled += chunk.length;
        yield chunk;
      }
    };
    const { opts } = readerOptions(truth.file, 1000);
    gc();
    const used = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
    const baseHeap = used();
    let maxHeap = 0;
    let n = 0;
    let consumedBytes = 0;
    const lineBytes = 140; // upper bound of this fixture's line length
    for await (const batch of readNdjson(counted(), opts)) {
      alive.push(new WeakRef(batch));
      consumedBytes = batch.records[batch.records.length - 1]! * lineBytes;
      maxAhead = Math.max(maxAhead, pulled - consumedBytes);
      if (++n % 25 === 0) {
        // WeakRef targets stay alive until the current macrotask ends: count in the next one.
        await new Promise((resolve) => setImmediate(resolve));
        gc();
        maxAlive = Math.max(maxAlive, alive.filter((r) => r.deref() !== undefined).length);
        maxHeap = Math.max(maxHeap, used() - baseHeap);
      }
    }
    expect(n).toBe(200);
    // The batch in hand, perhaps the one before it (still referenced by the loop's frame).
    expect(maxAlive).toBeLessThanOrEqual(2);
    // One 1 MiB read ahead of what was consumed, at most.
    expect(maxAhead).toBeLessThanOrEqual(1 << 20);
    // Heap and array buffers grow by ~7 MB of fixed cost (read buffers, one decoded chunk);
    // holding the 200 batches would add ~11 MB more, holding the 26 MB file more still.
    expect(maxHeap).toBeLessThan(12 << 20);
  });
});
