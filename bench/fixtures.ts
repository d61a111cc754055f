import { createWriteStream, writeFileSync, type WriteStream } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createGzip, type Gzip } from 'node:zlib';
import {
  Dictionary, Field, Float64, Int32, makeData, makeVector, RecordBatch, RecordBatchFileWriter, RecordBatchStreamWriter,
  Schema, Struct, Utf8, type Data,
} from 'apache-arrow';
import type { RejectReason } from '../engine/deadLetter.js';
import { utf8Data } from '../engine/telemetry/arrowData.js';
import { MAX_STRING_LENGTH } from '../engine/telemetry/schema.js';
import { SAMPLE_FIELDS } from '../engine/telemetry/validate.js';
import { mulberry32 } from '../connectors/simulator/random.js';

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

export type FixtureFormat = 'ndjson' | 'csv' | 'arrow';

export interface FixtureOptions {
  /** Valid samples to write (defective records come on top). */
  rows: number;
  format: FixtureFormat;
  /** Output path; `.gz` is appended when `gzip` is set and the path lacks it. */
  out: string;
  /** Defective records, cycling through the kinds that apply to the format (default 0). */
  bad?: number;
  gzip?: boolean;
  seed?: number;
  hosts?: number;
  /** Components per host, from a fixed list of 8 (default 4). */
  components?: number;
  /** Event time of the first interval, ms (default 2026-01-01T00:00:00Z). */
  start?: number;
  /** Also write region, cluster and version (default false). */
  attrs?: boolean;
  /** Arrow only: `stream` or `file` layout (default: file for .arrow/.feather, stream otherwise). */
  arrowLayout?: 'stream' | 'file';
  /** Arrow only: rows per record batch (default 65,536). */
  arrowBatchRows?: number;
  /** Also write `<out>.truth.json` (default true). */
  truthFile?: boolean;
}

export interface DefectTruth {
  /** 1-based line (text; the CSV header is line 1) or record (Arrow) number. */
  readonly line: number;
  readonly kind: string;
  readonly reason: RejectReason;
  readonly field?: string;
}

export interface FixtureTruth {
  readonly file: string;
  readonly format: FixtureFormat;
  readonly seed: number;
  /** Records written, valid and defective. */
  readonly records: number;
  /** Records a reader must accept: valid samples plus the late ones (the reader cannot know they are late). */
  readonly accepted: number;
  readonly valid: number;
  readonly hosts: number;
  readonly components: number;
  readonly start: number;
  readonly end: number;
  readonly defects: readonly DefectTruth[];
}

export const INTERVAL_MS = 5 * 60_000;
const LATE_BY_MS = 2 * 3_600_000;
const DAY_MS = 86_400_000;

const COMPONENTS: readonly { name: string; process: string; mb: number }[] = [
  { name: 'hostagent', process: 'hostagent', mb: 220 },
  { name: 'vmm', process: 'vmmem', mb: 1200 },
  { name: 'netagent', process: 'netagent', mb: 90 },
  { name: 'storage', process: 'blobcache', mb: 2600 },
  { name: 'monitor', process: 'monagent', mb: 160 },
  { name: 'fabric', process: 'fabrichost', mb: 640 },
  { name: 'updater', process: 'updater', mb: 60 },
  { name: 'logger', process: 'logshipper', mb: 310 },
];
const REGIONS = ['eastus', 'westeurope', 'southeastasia'];

interface Kind {
  readonly kind: string;
  readonly reason: RejectReason;
  readonly field?: string;
  readonly formats: readonly FixtureFormat[];
}

const ALL: readonly FixtureFormat[] = ['ndjson', 'csv', 'arrow'];
const TEXT: readonly FixtureFormat[] = ['ndjson', 'csv'];
const KINDS: readonly Kind[] = [
  { kind: 'invalid_json', reason: 'invalid_json', formats: ['ndjson'] },
  { kind: 'invalid_csv', reason: 'invalid_csv', formats: ['csv'] },
  { kind: 'missing_ts', reason: 'missing_field', field: 'ts', formats: ALL },
  { kind: 'missing_host', reason: 'missing_field', field: 'host', formats: ALL },
  { kind: 'missing_component', reason: 'missing_field', field: 'component', formats: ALL },
  { kind: 'missing_rss', reason: 'missing_field', field: 'rss', formats: ALL },
  { kind: 'wrong_type', reason: 'wrong_type', field: 'rss', formats: TEXT },
  { kind: 'fractional_ts', reason: 'wrong_type', field: 'ts', formats: ['arrow'] },
  { kind: 'negative', reason: 'negative_value', field: 'rss', formats: ALL },
  { kind: 'not_finite', reason: 'not_finite', field: 'rss', formats: ALL },
  { kind: 'string_too_long', reason: 'string_too_long', field: 'host', formats: ALL },
  { kind: 'late', reason: 'late', formats: ALL },
];

/** The defect kinds written for a format, in the order they cycle. */
export function defectKinds(format: FixtureFormat): readonly Kind[] {
  return KINDS.filter((k) => k.formats.includes(format));
}

/** One record as written; undefined fields are left out, other values written as they are. */
interface Rec {
  ts: unknown;
  host: unknown;
  component: unknown;
  process: unknown;
  pid: unknown;
  rss: unknown;
  host_mem: unknown;
  region: unknown;
  cluster: unknown;
  version: unknown;
}

/** Written in the order the readers check them. */
const FIELDS = SAMPLE_FIELDS;

function jsonValue(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : v > 0 ? '1e999' : v < 0 ? '-1e999' : 'null';
  return JSON.stringify(v);
}

function ndjsonLine(r: Rec): string {
  let s = '{';
  for (const f of FIELDS) {
    const v = r[f];
    if (v === undefined) continue;
    s += `${s.length > 1 ? ',' : ''}"${f}":${jsonValue(v)}`;
  }
  return s + '}';
}

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : v > 0 ? '1e999' : '-1e999';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLine(r: Rec, columns: readonly string[]): string {
  return columns.map((c) => csvCell(r[c as keyof Rec])).join(',');
}

/** Output with back-pressure, through gzip when asked. */
class Sink {
  private readonly file: WriteStream;
  private readonly gzip: Gzip | null;
  private readonly done: Promise<void>;

  constructor(path: string, gzip: boolean) {
    this.file = createWriteStream(path);
    this.gzip = gzip ? createGzip() : null;
    if (this.gzip) this.gzip.pipe(this.file);
    this.done = new Promise((resolve, reject) => {
      this.file.on('finish', resolve);
      this.file.on('error', reject);
      this.gzip?.on('error', reject);
    });
  }

  async write(chunk: string | Uint8Array): Promise<void> {
    const target = this.gzip ?? this.file;
    if (!target.write(chunk)) await new Promise<void>((resolve) => target.once('drain', resolve));
  }

  async end(): Promise<void> {
    (this.gzip ?? this.file).end();
    await this.done;
  }
}

interface Fleet {
  hosts: number;
  components: number;
  start: number;
  attrs: boolean;
  level: Float64Array;
  pid: Int32Array;
  hostMem: Float64Array;
  next: () => number;
}

function makeFleet(opts: FixtureOptions, seed: number): Fleet {
  const hosts = opts.hosts ?? 100;
  const components = opts.components ?? 4;
  if (!(Number.isInteger(hosts) && hosts >= 1)) throw new RangeError(`"hosts" must be a positive integer, got ${hosts}`);
  if (!(Number.isInteger(components) && components >= 1 && components <= COMPONENTS.length)) {
    throw new RangeError(`"components" must be an integer from 1 to ${COMPONENTS.length}, got ${components}`);
  }
  const next = mulberry32(seed);
  const level = new Float64Array(hosts * components);
  const pid = new Int32Array(hosts * components);
  const hostMem = new Float64Array(hosts);
  for (let h = 0; h < hosts; h++) {
    hostMem[h] = [64, 128, 256][Math.floor(next() * 3)]! * 2 ** 30;
    for (let c = 0; c < components; c++) {
      level[h * components + c] = COMPONENTS[c]!.mb * 2 ** 20 * (0.8 + 0.4 * next());
      pid[h * components + c] = 1000 + Math.floor(next() * 60000);
    }
  }
  return { hosts, components, start: opts.start ?? Date.UTC(2026, 0, 1), attrs: opts.attrs ?? false, level, pid, hostMem, next };
}

const hostName = (h: number) => `node-${String(h).padStart(5, '0')}`;

/** The i-th valid sample: interval-major, then host, then component. */
function sampleAt(f: Fleet, i: number): Rec {
  const perInterval = f.hosts * f.components;
  const interval = Math.floor(i / perInterval);
  const series = i % perInterval;
  const h = Math.floor(series / f.components);
  const c = series % f.components;
  const ts = f.start + interval * INTERVAL_MS;
  const wave = 1 + 0.05 * Math.sin((2 * Math.PI * (ts % DAY_MS)) / DAY_MS + h);
  const noise = 1 + 0.02 * (f.next() - 0.5);
  const rss = Math.round((f.level[series]! * wave * noise) / 4096) * 4096;
  const region = REGIONS[h % REGIONS.length]!;
  return {
    ts, host: hostName(h), component: COMPONENTS[c]!.name, process: COMPONENTS[c]!.process, pid: f.pid[series]!,
    rss, host_mem: f.hostMem[h]!,
    region: f.attrs ? region : undefined,
    cluster: f.attrs ? `${region}-c${(h >> 2) % 4}` : undefined,
    version: f.attrs ? `${1 + (c % 3)}.${h % 5}.0` : undefined,
  };
}

const LONG_HOST = 'x'.repeat(MAX_STRING_LENGTH + 100);

/** A defective record of `kind`, made from the valid sample `r`; `newest` is the latest ts written so far. */
function defect(kind: string, r: Rec, newest: number): Rec {
  const d = { ...r };
  switch (kind) {
    case 'missing_ts': d.ts = undefined; break;
    case 'missing_host': d.host = undefined; break;
    case 'missing_component': d.component = undefined; break;
    case 'missing_rss': d.rss = undefined; break;
    case 'wrong_type': d.rss = `${Math.round((r.rss as number) / 2 ** 20)}MB`; break;
    case 'fractional_ts': d.ts = (r.ts as number) + 0.5; break;
    case 'negative': d.rss = -(r.rss as number); break;
    case 'not_finite': d.rss = Infinity; break;
    case 'string_too_long': d.host = LONG_HOST; break;
    case 'late': d.ts = newest - LATE_BY_MS; break;
    default: break;
  }
  return d;
}

/** Indices (in valid rows) before which defect k goes: spread evenly, never at the very start. */
function defectPositions(rows: number, bad: number): Int32Array {
  const at = new Int32Array(bad);
  for (let k = 0; k < bad; k++) at[k] = Math.max(1, Math.floor(((k + 1) * rows) / (bad + 1)));
  return at;
}

// ---------------------------------------------------------------- arrow output

const ARROW_SCHEMA = new Schema([
  new Field('ts', new Float64(), true),
  new Field('host', new Dictionary(new Utf8(), new Int32()), true),
  new Field('component', new Dictionary(new Utf8(), new Int32()), true),
  new Field('process', new Dictionary(new Utf8(), new Int32()), true),
  new Field('pid', new Int32(), true),
  new Field('rss', new Float64(), true),
  new Field('host_mem', new Float64(), true),
  new Field('region', new Dictionary(new Utf8(), new Int32()), true),
  new Field('cluster', new Dictionary(new Utf8(), new Int32()), true),
  new Field('version', new Dictionary(new Utf8(), new Int32()), true),
]);

/** Column buffers for up to `capacity` records; dictionaries are fixed for the whole file (the file layout requires it). */
class ArrowColumns {
  n = 0;
  private readonly numbers: Record<'ts' | 'rss' | 'host_mem', Float64Array>;
  private readonly pid: Int32Array;
  private readonly strings: Record<string, Int32Array>;
  private readonly valid: Record<string, Uint8Array>;
  private readonly ids: Record<string, Map<string, number>>;

  constructor(private readonly capacity: number, private readonly dictionaries: Record<string, { data: Data<Utf8>; values: string[] }>) {
    this.numbers = { ts: new Float64Array(capacity), rss: new Float64Array(capacity), host_mem: new Float64Array(capacity) };
    this.pid = new Int32Array(capacity);
    this.strings = {};
    this.valid = {};
    this.ids = {};
    for (const f of FIELDS) this.valid[f] = new Uint8Array((capacity + 7) >> 3);
    for (const [name, d] of Object.entries(dictionaries)) {
      this.strings[name] = new Int32Array(capacity);
      this.ids[name] = new Map(d.values.map((s, i) => [s, i]));
    }
  }

  add(r: Rec): void {
    const i = this.n++;
    for (const f of FIELDS) {
      const v = r[f];
      if (v === undefined || v === null) continue;
      this.valid[f]![i >> 3]! |= 1 << (i & 7);
      if (f === 'pid') this.pid[i] = v as number;
      else if (f === 'ts' || f === 'rss' || f === 'host_mem') this.numbers[f][i] = v as number;
      else this.strings[f]![i] = this.ids[f]!.get(v as string)!;
    }
  }

  take(): RecordBatch {
    const n = this.n;
    const children = ARROW_SCHEMA.fields.map((field) => {
      const f = field.name;
      const valid = this.valid[f]!.slice(0, (n + 7) >> 3);
      let set = 0;
      for (let i = 0; i < n; i++) if (valid[i >> 3]! & (1 << (i & 7))) set++;
      const common = { length: n, nullCount: n - set, nullBitmap: valid };
      if (f === 'pid') return makeData({ type: new Int32(), data: this.pid.slice(0, n), ...common });
      if (f === 'ts' || f === 'rss' || f === 'host_mem') return makeData({ type: new Float64(), data: this.numbers[f].slice(0, n), ...common });
      return makeData({
        type: field.type as Dictionary<Utf8, Int32>, data: this.strings[f]!.slice(0, n),
        dictionary: makeVector(this.dictionaries[f]!.data), ...common,
      });
    });
    for (const f of FIELDS) this.valid[f]!.fill(0);
    this.n = 0;
    return new RecordBatch(ARROW_SCHEMA, makeData({ type: new Struct(ARROW_SCHEMA.fields), length: n, children, nullCount: 0 }));
  }

  get full(): boolean {
    return this.n >= this.capacity;
  }
}

function arrowDictionaries(f: Fleet): Record<string, { data: Data<Utf8>; values: string[] }> {
  const hosts = Array.from({ length: f.hosts }, (_, h) => hostName(h));
  hosts.push(LONG_HOST);
  const comps = COMPONENTS.slice(0, f.components);
  const regions = REGIONS;
  const clusters = REGIONS.flatMap((r) => [0, 1, 2, 3].map((k) => `${r}-c${k}`));
  const versions = [1, 2, 3].flatMap((a) => [0, 1, 2, 3, 4].map((b) => `${a}.${b}.0`));
  const make = (values: string[]) => ({ data: utf8Data(values), values });
  return {
    host: make(hosts), component: make(comps.map((c) => c.name)), process: make(comps.map((c) => c.process)),
    region: make(regions), cluster: make(clusters), version: make(versions),
  };
}

// ---------------------------------------------------------------- writer

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
