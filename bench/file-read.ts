import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordBatchReader } from 'apache-arrow';
import { readArrow } from '../connectors/file/arrow.js';
import { readCsv } from '../connectors/file/csv.js';
import { fileBytes } from '../connectors/file/input.js';
import { readNdjson } from '../connectors/file/ndjson.js';
import type { ReaderOptions } from '../connectors/file/text.js';
import { MemoryDeadLetter } from '../engine/deadLetter.js';
import { Metrics } from '../engine/metrics.js';
import type { SampleBatch } from '../engine/telemetry/schema.js';
import { writeFixture } from './fixtures.js';

/**
 * File readers against their ceilings, on one core: each NDJSON/CSV/Arrow reader beside
 * the plainest loop over the same file that still touches every record. Reports
 * samples per second of wall time, median and best of the iterations, and the median
 * by CPU time of the JavaScript thread alone (Linux; elsewhere the whole process):
 * on a shared machine, time spent waiting for a core counts in wall time only, and
 * I/O and GC helper threads run beside the one core being measured.
 *
 *   node dist/bench/file-read.js [--rows 1000000] [--iterations 5]
 */

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const rows = arg('rows', 1_000_000);
const iterations = arg('iterations', 5);

interface Task {
  name: string;
  run: () => Promise<number>;
}

function options(source: string): ReaderOptions {
  return { source, batchSize: 65_536, deadLetter: new MemoryDeadLetter(new Metrics()) };
}

async function count(batches: AsyncIterable<SampleBatch>): Promise<number> {
  let n = 0;
  for await (const b of batches) n += b.data.numRows;
  return n;
}

/** JSON.parse of every line, over the same 1 MiB chunks the reader gets. */
async function parseEveryLine(path: string): Promise<number> {
  let n = 0;
  let carry = '';
  for await (const chunk of fileBytes(path)) {
    const text = carry + chunk.toString('latin1');
    let at = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', at)) {
      if ((JSON.parse(text.slice(at, nl)) as { rss: number }).rss >= 0) n++;
      at = nl + 1;
    }
    carry = text.slice(at);
  }
  return n;
}

/** Split of every line on commas and Number() of one cell, over the same chunks. */
async function splitEveryLine(path: string): Promise<number> {
  let n = -1;
  let carry = '';
  for await (const chunk of fileBytes(path)) {
    const text = carry + chunk.toString('latin1');
    let at = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', at)) {
      if (Number(text.slice(at, nl).split(',')[5]) >= 0 || n < 0) n++;
      at = nl + 1;
    }
    carry = text.slice(at);
  }
  return n;
}

/** Arrow's own streaming reader, summing one column: decoding without conversion or checks. */
async function arrowDecodeOnly(path: string): Promise<number> {
  let n = 0;
  let sum = 0;
  const reader = await RecordBatchReader.from((async function* () { yield* fileBytes(path); })());
  for await (const batch of reader) {
    const rss = batch.getChild('rss')!.data[0]!.values as Float64Array;
    for (let i = 0; i < rss.length; i++) sum += rss[i]!;
    n += batch.numRows;
  }
  return sum > 0 ? n : 0;
}

const THREAD_STAT = `/proc/self/task/${process.pid}/stat`;

/** CPU seconds of the main thread (utime + stime at 100 Hz), or of the process where /proc is missing. */
function cpuSeconds(): number {
  if (!existsSync(THREAD_STAT)) {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1e6;
  }
  const fields = readFileSync(THREAD_STAT, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function measure(task: Task): Promise<{ wall: number; best: number; cpu: number }> {
  const walls: number[] = [];
  const cpus: number[] = [];
  await task.run(); // warm-up
  for (let k = 0; k < iterations; k++) {
    const c0 = cpuSeconds();
    const t0 = performance.now();
    const n = await task.run();
    const wall = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds() - c0;
    if (n !== rows) throw new Error(`${task.name}: ${n} samples, expected ${rows}`);
    walls.push(n / wall);
    cpus.push(n / Math.max(cpu, 0.01));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { wall: median(walls), best: Math.max(...walls), cpu: median(cpus) };
}

const dir = mkdtempSync(join(tmpdir(), 'resin-file-read-'));
try {
  const ndjson = join(dir, 'fleet.ndjson');
  const csv = join(dir, 'fleet.csv');
  const stream = join(dir, 'fleet.arrows');
  const file = join(dir, 'fleet.arrow');
  const common = { rows, hosts: 2000, truthFile: false };
  await writeFixture({ ...common, format: 'ndjson', out: ndjson });
  await writeFixture({ ...common, format: 'csv', out: csv });
  await writeFixture({ ...common, format: 'arrow', out: stream });
  await writeFixture({ ...common, format: 'arrow', out: file });
  const tasks: Task[] = [
    { name: 'ndjson: JSON.parse per line (ceiling)', run: () => parseEveryLine(ndjson) },
    { name: 'ndjson: reader', run: () => count(readNdjson(fileBytes(ndjson), options(ndjson))) },
    { name: 'csv: split per line (ceiling)', run: () => splitEveryLine(csv) },
    { name: 'csv: reader', run: () => count(readCsv(fileBytes(csv), options(csv))) },
    { name: 'arrow stream: decode only (ceiling)', run: () => arrowDecodeOnly(stream) },
    { name: 'arrow stream: reader', run: () => count(readArrow(stream, options(stream))) },
    { name: 'arrow file: reader', run: () => count(readArrow(file, options(file))) },
  ];
  const fmt = (x: number) => `${(x / 1e6).toFixed(2)}M/s`;
  console.log(`${rows} samples per file, ${iterations} iterations; samples/s`);
  console.log(`${'task'.padEnd(40)} ${'wall median'.padStart(12)} ${'wall best'.padStart(10)} ${'thread cpu'.padStart(11)}`);
  for (const task of tasks) {
    const r = await measure(task);
    console.log(`${task.name.padEnd(40)} ${fmt(r.wall).padStart(12)} ${fmt(r.best).padStart(10)} ${fmt(r.cpu).padStart(11)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
