import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { readArrow } from '../connectors/file/arrow.js';
import { readCsv } from '../connectors/file/csv.js';
import { fileBytes } from '../connectors/file/input.js';
import { readNdjson } from '../connectors/file/ndjson.js';
import { JsonPayloadReader } from '../connectors/nats/jsonPayload.js';
import { SampleBatchBuilder } from '../engine/telemetry/builder.js';
import type { ReaderOptions } from '../connectors/file/text.js';
import { MemoryDeadLetter } from '../engine/deadLetter.js';
import { Metrics } from '../engine/metrics.js';
import type { SampleBatch } from '../engine/telemetry/schema.js';
import { writeFixture } from './fixtures.js';
import { runSuite, type RowTask } from './lib.js';

/**
 * The file readers beside the plainest loop over the same bytes that still touches
 * every record: JSON.parse per NDJSON line and a split per CSV line, each over the same
 * 1 MiB chunks the reader gets, and for Arrow a typed-array sum of one column of the
 * whole file decoded in memory. The NATS source's JSON reader takes the same NDJSON as
 * messages of 10,000 lines, held in memory.
 * Part of `npm run bench`; alone, with a larger file:
 *
 *   node dist/bench/readers.js [--rows 1000000] [--iterations 5]
 */

/** JSON.parse of every line; the count of records whose rss parses. */
export async function parseEveryLine(path: string): Promise<number> {
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

/** A split of every line on commas and Number() of one cell; the header line is not counted. */
export async function splitEveryLine(path: string): Promise<number> {
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

/**
 * The whole file in memory, decoded by Arrow (zero-copy) and the rss column summed: what
 * any Arrow reader at least has to do, without reading in constant memory or checking.
 */
export function arrowSumRss(path: string): number {
  let n = 0;
  let sum = 0;
  for (const batch of tableFromIPC(readFileSync(path)).batches) {
    const rss = batch.getChild('rss')!.data[0]!.values as Float64Array;
    for (let i = 0; i < rss.length; i++) sum += rss[i]!;
    n += batch.numRows;
  }
  return sum > 0 ? n : 0;
}

async function count(batches: AsyncIterable<SampleBatch>): Promise<number> {
  let n = 0;
  for await (const b of batches) n += b.data.numRows;
  return n;
}

/** The NDJSON file cut into messages of `perMessage` lines, as an agent publishes them. */
function ndjsonMessages(path: string, perMessage: number): Uint8Array[] {
  const lines = readFileSync(path, 'latin1').split('\n').filter((l) => l.length > 0);
  const messages: Uint8Array[] = [];
  for (let i = 0; i < lines.length; i += perMessage) messages.push(Buffer.from(lines.slice(i, i + perMessage).join('\n'), 'latin1'));
  return messages;
}

/** Every message through the NATS source's JSON reader into 64k-row batches; the rows appended. */
function readMessages(messages: readonly Uint8Array[]): number {
  const reader = new JsonPayloadReader(new MemoryDeadLetter(new Metrics()));
  const builder = new SampleBatchBuilder('bench', 65_536);
  const full = () => void builder.build();
  let n = 0;
  for (let seq = 0; seq < messages.length; seq++) n += reader.read(messages[seq]!, { subject: 'bench', seq: seq + 1 }, builder, full);
  return n;
}

function options(source: string): ReaderOptions {
  return { source, batchSize: 65_536, deadLetter: new MemoryDeadLetter(new Metrics()) };
}

/** Writes one fixture per format into `dir` and returns reader tasks beside their ceilings. */
export async function readerTasks(dir: string, rows: number): Promise<RowTask[]> {
  const ndjson = join(dir, 'readers.ndjson');
  const csv = join(dir, 'readers.csv');
  const arrow = join(dir, 'readers.arrows');
  const arrowFile = join(dir, 'readers.arrow');
  const common = { rows, hosts: 2000, truthFile: false };
  await writeFixture({ ...common, format: 'ndjson', out: ndjson });
  await writeFixture({ ...common, format: 'csv', out: csv });
  await writeFixture({ ...common, format: 'arrow', out: arrow });
  await writeFixture({ ...common, format: 'arrow', out: arrowFile });
  const messages = ndjsonMessages(ndjson, 10_000);
  const exactly = (what: string) => (n: number) => {
    if (n !== rows) throw new Error(`${what}: ${n} samples, expected ${rows}`);
    return n;
  };
  return [
    { name: 'ndjson: JSON.parse per line (ceiling)', rows, fn: async () => exactly('ndjson ceiling')(await parseEveryLine(ndjson)) },
    { name: 'ndjson: file reader', rows, fn: async () => exactly('ndjson reader')(await count(readNdjson(fileBytes(ndjson), options(ndjson)))), ceiling: 'ndjson: JSON.parse per line (ceiling)' },
    { name: 'nats json: message reader, 10k lines a message', rows, fn: () => exactly('nats json reader')(readMessages(messages)), ceiling: 'ndjson: JSON.parse per line (ceiling)' },
    { name: 'csv: split per line (ceiling)', rows, fn: async () => exactly('csv ceiling')(await splitEveryLine(csv)) },
    { name: 'csv: file reader', rows, fn: async () => exactly('csv reader')(await count(readCsv(fileBytes(csv), options(csv)))), ceiling: 'csv: split per line (ceiling)' },
    { name: 'arrow: typed-array sum of rss (ceiling)', rows, fn: () => exactly('arrow ceiling')(arrowSumRss(arrow)) },
    { name: 'arrow: file reader', rows, fn: async () => exactly('arrow reader')(await count(readArrow(arrow, options(arrow)))), ceiling: 'arrow: typed-array sum of rss (ceiling)' },
    {
      name: 'arrow: file reader, file layout', rows, ceiling: 'arrow: typed-array sum of rss (ceiling)',
      fn: async () => exactly('arrow file-layout reader')(await count(readArrow(arrowFile, options(arrowFile)))),
    },
  ];
}

if (process.argv[1]?.endsWith('readers.js')) await runSuite('readers', 'File readers', readerTasks);
