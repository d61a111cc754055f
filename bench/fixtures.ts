import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { RecordBatchFileWriter, RecordBatchStreamWriter } from 'apache-arrow';
import { ARROW_SCHEMA, ArrowColumns, arrowDictionaries } from './fixtures/arrow.js';
import { ALL, defect, defectKinds, defectPositions } from './fixtures/defects.js';
import { INTERVAL_MS, makeFleet, sampleAt } from './fixtures/fleet.js';
import { Sink } from './fixtures/sink.js';
import { csvLine, FIELDS, ndjsonLine, type Rec } from './fixtures/text.js';
import type { DefectTruth, FixtureFormat, FixtureOptions, FixtureTruth } from './fixtures/types.js';

/**
 * Synthetic fleet telemetry files with known defects, for tests and benchmarks:
 * every (host, component) reports every 5 minutes, rss follows a per-series level
 * with a daily wave and noise, all drawn from a seeded generator so that the same
 * options always give the same bytes. `bad` defective records of every kind the
 * readers refuse (plus late samples, refused downstream by the watermark) are put at
 * fixed positions, and a truth file lists each one with its line (or record) number
 * and the reason it must be refused for.
 *
 *   node dist/bench/fixtures.js --rows 1000000 --format ndjson --bad 12 --out fleet.ndjson [--gzip]
 */

export type { DefectTruth, FixtureFormat, FixtureOptions, FixtureTruth } from './fixtures/types.js';
export { defectKinds } from './fixtures/defects.js';
export { INTERVAL_MS } from './fixtures/fleet.js';

/** Writes a fixture file and returns (and by default also writes, as `<out>.truth.json`) what a reader must find in it. */
export async function writeFixture(opts: FixtureOptions): Promise<FixtureTruth> {
  const { rows, format } = opts;
  const bad = opts.bad ?? 0;
  const seed = opts.seed ?? 42;
  if (!(Number.isInteger(rows) && rows >= 0)) throw new RangeError(`"rows" must be a non-negative integer, got ${rows}`);
  if (!(Number.isInteger(bad) && bad >= 0)) throw new RangeError(`"bad" must be a non-negative integer, got ${bad}`);
  if (!ALL.includes(format)) throw new RangeError(`"format" must be ndjson, csv or arrow, got ${format}`);
  const out = opts.gzip && !opts.out.endsWith('.gz') ? `${opts.out}.gz` : opts.out;
  const plain = out.replace(/\.gz$/, '');
  const fleet = makeFleet(opts, seed);
  const kinds = defectKinds(format);
  const positions = defectPositions(rows, bad);
  const defects: DefectTruth[] = [];
  const columns = FIELDS.filter((f) => fleet.attrs || (f !== 'region' && f !== 'cluster' && f !== 'version'));

  const sink = new Sink(out, opts.gzip ?? out.endsWith('.gz'));
  let line = 0;
  let newest = -Infinity;
  let pending: string[] = [];
  let arrow: { cols: ArrowColumns; writer: RecordBatchStreamWriter | RecordBatchFileWriter; drained: Promise<void> } | null = null;
  const flushText = async () => {
    if (pending.length > 0) await sink.write(pending.join('\n') + '\n');
    pending = [];
  };
  const flushArrow = async () => {
    if (arrow && arrow.cols.n > 0) {
      arrow.writer.write(arrow.cols.take());
      // Lets the drain loop below hand the batch's bytes to the file before the next batch is made.
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  if (format === 'csv') {
    pending.push(columns.join(','));
    line = 1;
  } else if (format === 'arrow') {
    const layout = opts.arrowLayout ?? (/\.(arrow|feather)$/.test(plain) ? 'file' : 'stream');
    const writer = layout === 'file' ? new RecordBatchFileWriter() : new RecordBatchStreamWriter();
    writer.reset(undefined, ARROW_SCHEMA);
    const drained = (async () => {
      for await (const bytes of writer) await sink.write(bytes);
    })();
    arrow = { cols: new ArrowColumns(opts.arrowBatchRows ?? 65_536, arrowDictionaries(fleet)), writer, drained };
  }

  const emit = async (r: Rec, defectKind: string | null) => {
    line++;
    if (format === 'arrow') {
      arrow!.cols.add(r);
      if (arrow!.cols.full) await flushArrow();
    } else if (defectKind === 'invalid_json') {
      const text = ndjsonLine(r);
      pending.push(text.slice(0, text.length - 12));
    } else if (defectKind === 'invalid_csv') {
      pending.push(csvLine(r, columns.slice(0, -1)));
    } else {
      pending.push(format === 'ndjson' ? ndjsonLine(r) : csvLine(r, columns));
    }
    if (pending.length >= 4096) await flushText();
  };

  let k = 0;
  for (let i = 0; i < rows; i++) {
    while (k < bad && positions[k] === i) {
      const kind = kinds[k % kinds.length]!;
      const base = sampleAt(fleet, Math.max(0, i - 1));
      await emit(defect(kind.kind, base, newest), kind.kind);
      defects.push({ line, kind: kind.kind, reason: kind.reason, ...(kind.field ? { field: kind.field } : {}) });
      k++;
    }
    const r = sampleAt(fleet, i);
    newest = Math.max(newest, r.ts as number);
    await emit(r, null);
  }
  for (; k < bad; k++) {
    // Only when rows is 0: defects need no neighbours.
    const kind = kinds[k % kinds.length]!;
    await emit(defect(kind.kind, sampleAt(fleet, 0), fleet.start), kind.kind);
    defects.push({ line, kind: kind.kind, reason: kind.reason, ...(kind.field ? { field: kind.field } : {}) });
  }

  if (arrow) {
    await flushArrow();
    arrow.writer.finish();
    await arrow.drained;
  } else {
    await flushText();
  }
  await sink.end();

  const late = defects.filter((d) => d.reason === 'late').length;
  const records = rows + bad;
  const perInterval = fleet.hosts * fleet.components;
  const truth: FixtureTruth = {
    file: out, format, seed, records, accepted: rows + late, valid: rows,
    hosts: fleet.hosts, components: fleet.components, start: fleet.start,
    end: fleet.start + Math.max(0, Math.ceil(rows / perInterval) - 1) * INTERVAL_MS,
    defects,
  };
  if (opts.truthFile ?? true) writeFileSync(`${out}.truth.json`, JSON.stringify(truth, null, 2) + '\n');
  return truth;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: {
      rows: { type: 'string' }, format: { type: 'string' }, bad: { type: 'string', default: '0' }, out: { type: 'string' },
      gzip: { type: 'boolean', default: false }, seed: { type: 'string', default: '42' }, hosts: { type: 'string' },
      components: { type: 'string' }, attrs: { type: 'boolean', default: false }, layout: { type: 'string' },
    },
  });
  if (!values.rows || !values.format || !values.out) {
    throw new Error('usage: fixtures --rows N --format ndjson|csv|arrow --out FILE [--bad K] [--gzip] [--seed S] [--hosts H] [--components C] [--attrs] [--layout stream|file]');
  }
  const int = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got "${v}"`);
    return n;
  };
  const truth = await writeFixture({
    rows: int('rows', values.rows)!, format: values.format as FixtureFormat, out: values.out, bad: int('bad', values.bad),
    gzip: values.gzip, seed: int('seed', values.seed), hosts: int('hosts', values.hosts), components: int('components', values.components),
    attrs: values.attrs, arrowLayout: values.layout as 'stream' | 'file' | undefined,
  });
  process.stdout.write(JSON.stringify({ ...truth, truth: `${truth.file}.truth.json` }) + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`fixtures: ${err.message}\n`);
    process.exitCode = 1;
  });
}
