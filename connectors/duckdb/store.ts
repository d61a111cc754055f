import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  BIGINT, BOOLEAN, DOUBLE, INTEGER, DuckDBInstance, StatementType, blobValue,
  type DuckDBAppender, type DuckDBConnection, type DuckDBValue,
} from '@duckdb/node-api';
import type { BucketRows, StateStore } from '../../engine/state.js';
import type { RollupBatch } from '../../engine/telemetry/rollup.js';
import type { SeriesCatalog } from '../../engine/telemetry/series.js';
import type { MitigationDecision } from '../../engine/mitigation.js';
import { ChunkAppender } from './chunks.js';
import { appendDecisions, DECISIONS_SCHEMA } from './decisions.js';
import { SeriesIds, type NameIds } from './dimensions.js';
import { DuckDbReferenceStore } from './references.js';

/**
 * Tables of a state file. Rows reference integer ids, never strings: VARCHAR columns
 * append ~3.6x slower and take more room, and a name is stored once in its table.
 * There are no primary keys on the bulk tables: an index slows the appender about 4x
 * (docs/detection.md), and idempotence comes from deleting a period before writing it.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS hosts (id INTEGER NOT NULL, name VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS components (id INTEGER NOT NULL, name VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS processes (id INTEGER NOT NULL, name VARCHAR NOT NULL);
-- region, cluster and version values share one table
CREATE TABLE IF NOT EXISTS attrs (id INTEGER NOT NULL, name VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS series (
  id INTEGER NOT NULL, host INTEGER NOT NULL, component INTEGER NOT NULL, process INTEGER NOT NULL,
  region INTEGER, cluster INTEGER, version INTEGER);
CREATE TABLE IF NOT EXISTS rollups (
  start BIGINT NOT NULL, series INTEGER NOT NULL, mean DOUBLE NOT NULL, max DOUBLE NOT NULL,
  n INTEGER NOT NULL, pid INTEGER, restarted BOOLEAN NOT NULL);
CREATE TABLE IF NOT EXISTS buckets (start BIGINT NOT NULL, component INTEGER NOT NULL, bucket_mb DOUBLE NOT NULL, hosts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (key VARCHAR PRIMARY KEY, state BLOB NOT NULL, saved_at TIMESTAMP NOT NULL);
CREATE OR REPLACE VIEW series_v AS
  SELECT s.id, h.name AS host, c.name AS component, p.name AS process,
         r.name AS region, cl.name AS cluster, v.name AS version
  FROM series s JOIN hosts h ON h.id = s.host JOIN components c ON c.id = s.component
  JOIN processes p ON p.id = s.process LEFT JOIN attrs r ON r.id = s.region
  LEFT JOIN attrs cl ON cl.id = s.cluster LEFT JOIN attrs v ON v.id = s.version;
CREATE OR REPLACE VIEW rollups_v AS
  SELECT epoch_ms(r.start) AS period, s.host, s.component, s.process, s.region, s.cluster, s.version,
         r.mean, r.max, r.n, r.pid, r.restarted
  FROM rollups r JOIN series_v s ON s.id = r.series;
CREATE OR REPLACE VIEW buckets_v AS
  SELECT epoch_ms(b.start) AS period, c.name AS component, b.bucket_mb, b.hosts
  FROM buckets b JOIN components c ON c.id = b.component;
`;

/** One write of a transaction group, with the promise its caller holds. */
interface Write {
  readonly what: string;
  readonly work: () => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

const READ_ONLY = new Set<number>([StatementType.SELECT, StatementType.EXPLAIN]);

/** BigInt where a Number would lose digits; every other value as the JS converter gives it. */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v);
    return out;
  }
  return value;
}

export interface DuckDbStoreOptions {
  /**
   * Most memory DuckDB may hold, in its own syntax ("512MB", "2GB"). Its buffer pool
   * otherwise keeps the table blocks it has touched, up to 80% of the machine's RAM, so
   * a long-running engine's memory would grow with its state file.
   */
  readonly memoryLimit?: string;
  /**
   * False for a file that is deleted after the run (a replay without --state): DuckDB
   * then skips folding its write-ahead log into the file on close, work nobody reads.
   */
  readonly checkpointOnClose?: boolean;
}

/** What DuckDB accepts as a memory limit: a number and a unit. */
export const MEMORY_LIMIT_PATTERN = /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i;

/**
 * The state of a run in a DuckDB file: rollups and bucket counts that SQL can query
 * (views `rollups_v`, `buckets_v`, `series_v` show them with names), plus operator
 * checkpoints.
 *
 * Writes are serialised on one connection. A period is written as new names and
 * series, a delete of the period, then its rows, so a period written twice, as after
 * a resume, is replaced rather than duplicated; the writes asked for in one turn of
 * the event loop (those of one input batch) share one transaction. Bulk rows go through
 * DataChunks filled straight from the batches' typed arrays (connectors/duckdb/chunks.ts).
 */
export class DuckDbStore implements StateStore {
  private tail: Promise<unknown> = Promise.resolve();
  private failure: unknown = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private startScratch = new BigInt64Array(0);
  /** Writes waiting for their transaction to start, or null when none is open. */
  private group: Write[] | null = null;
  /** Bulk appenders holding rows of the open transaction that are not yet flushed. */
  private readonly appended = new Set<ChunkAppender>();
  private bucketComponents = new Int32Array(0);
  /** Reference snapshots for diagnosis, in the same file and on the same queue. */
  references!: DuckDbReferenceStore;

  private constructor(
    readonly location: string,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly dims: SeriesIds,
    private readonly nameAppenders: Map<NameIds, DuckDBAppender>,
    private readonly seriesOut: ChunkAppender,
    private readonly rollupsOut: ChunkAppender,
    private readonly bucketsOut: ChunkAppender,
    /** Newest period already in the file: later periods need no delete before insert. */
    private rollupsThrough: number,
    private bucketsThrough: number,
  ) {}

  /** Opens (or creates) a state file, creating missing tables and reading the dimensions back. */
  static async open(path: string, options: DuckDbStoreOptions = {}): Promise<DuckDbStore> {
    if (options.memoryLimit !== undefined && !MEMORY_LIMIT_PATTERN.test(options.memoryLimit)) {
      throw new RangeError(`state store memory limit must be a size such as 512MB or 2GB, got "${options.memoryLimit}"`);
    }
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, options.memoryLimit === undefined ? undefined : { memory_limit: options.memoryLimit });
    } catch (err) {
      throw new Error(`cannot open state file ${path}: ${(err as Error).message}`, { cause: err });
    }
    const conn = await instance.connect();
    try {
      if (options.checkpointOnClose === false) await conn.run('PRAGMA disable_checkpoint_on_shutdown');
      await conn.run(SCHEMA + DECISIONS_SCHEMA);
      const dims = new SeriesIds();
      for (const names of [dims.hosts, dims.components, dims.processes, dims.attrs]) {
        const rows = (await conn.runAndReadAll(`SELECT id, name FROM ${names.table}`)).getRows();
        for (const [id, name] of rows) names.load(id as number, name as string);
      }
      const series = (await conn.runAndReadAll('SELECT id, host, component, process, region, cluster, version FROM series')).getColumns();
      const [id, host, component, proc, region, cluster, version] = series as (number | null)[][];
      for (let i = 0; i < (id?.length ?? 0); i++) {
        dims.load(id![i]!, host![i]!, component![i]!, proc![i]!, region![i] ?? -1, cluster![i] ?? -1, version![i] ?? -1);
      }
      const through = async (table: string) => {
        const v = (await conn.runAndReadAll(`SELECT max(start) FROM ${table}`)).getRows()[0]![0];
        return v === null ? -Infinity : Number(v);
      };
      const nameAppenders = new Map<NameIds, DuckDBAppender>();
      for (const names of [dims.hosts, dims.components, dims.processes, dims.attrs]) {
        nameAppenders.set(names, await conn.createAppender(names.table));
      }
      const store = new DuckDbStore(
        path, instance, conn, dims, nameAppenders,
        new ChunkAppender(await conn.createAppender('series'), 'series', [INTEGER, INTEGER, INTEGER, INTEGER, INTEGER, INTEGER, INTEGER]),
        new ChunkAppender(await conn.createAppender('rollups'), 'rollups', [BIGINT, INTEGER, DOUBLE, DOUBLE, INTEGER, INTEGER, BOOLEAN]),
        new ChunkAppender(await conn.createAppender('buckets'), 'buckets', [BIGINT, INTEGER, DOUBLE, INTEGER]),
        await through('rollups'), await through('buckets'),
      );
      store.references = await DuckDbReferenceStore.open(conn, (work) => store.serial(work));
      return store;
    } catch (err) {
      conn.closeSync();
      instance.closeSync();
      throw new Error(`cannot prepare state file ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Runs `work` after everything queued before it: one connection, one statement at a time. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(() => {
      if (this.closed) throw new Error(`state store ${this.location} is closed`);
      return work();
    });
    this.tail = run.catch(() => {});
    return run;
  }

  /**
   * Queues `work` into the open transaction group: every write asked for before the
   * group starts (all the periods one input batch closes, from every operator, arrive
   * in the same synchronous turn) commits in one transaction, since a commit costs far
   * more than appending one period. A failure rolls the group back, rejects each of its
   * writes, and leaves the store refusing writes, since the in-memory dimension ids may
   * then name rows the file does not have.
   */
  private write(what: string, work: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.group === null) {
        const group: Write[] = [];
        this.group = group;
        void this.serial(() => this.commit(group)).catch(() => {});
      }
      this.group.push({ what, work, resolve, reject });
    });
  }

  private async commit(group: Write[]): Promise<void> {
    // Writes asked for from here on go to the next group.
    if (this.group === group) this.group = null;
    if (this.failure !== null) {
      const refused = new Error(`state store ${this.location} refuses writes after an earlier failure`, { cause: this.failure });
      for (const w of group) w.reject(refused);
      return;
    }
    let current: Write | null = null;
    try {
      await this.conn.run('BEGIN TRANSACTION');
      for (const w of group) {
        current = w;
        await w.work();
      }
      current = null;
      await this.conn.run([...this.flushAppended(), 'COMMIT'].join(';\n')); // text rows ride with the COMMIT
    } catch (err) {
      this.failure = err;
      // Rows an appender still buffers would otherwise reach the file on close.
      for (const appender of this.nameAppenders.values()) appender.clear();
      for (const out of [this.seriesOut, this.rollupsOut, this.bucketsOut]) out.clear();
      this.appended.clear();
      await this.conn.run('ROLLBACK').catch(() => {});
      const failed = new Error(`state store ${this.location}: writing ${current?.what ?? `${group.length} changes`} failed: ${(err as Error).message}`, { cause: err });
      for (const w of group) {
        w.reject(w === current || current === null ? failed
          : new Error(`state store ${this.location}: ${w.what} rolled back with ${current.what}`, { cause: failed }));
      }
      return;
    }
    for (const w of group) w.resolve();
  }

  /**
   * Flushes the rows appended through chunks (once per transaction, not per period: a
   * flush has a fixed cost on this thread); returns the rows appended as text, as
   * INSERT statements for the caller to run next.
   */
  private flushAppended(): string[] {
    const text: string[] = [];
    for (const out of this.appended) {
      out.flush();
      text.push(...out.takeText());
    }
    this.appended.clear();
    return text;
  }

  /** A statement inside the transaction, after the rows appended before it (which it may delete); answers the rows it changed. */
  private async statement(sql: string, params?: DuckDBValue[]): Promise<number> {
    const text = this.flushAppended();
    if (text.length) await this.conn.run(text.join(';\n'));
    return Number((await this.conn.run(sql, params)).rowsChanged);
  }

  private writeDimensions(): void {
    for (const [names, appender] of this.nameAppenders) {
      const { firstId, names: pending } = names.takePending();
      for (let i = 0; i < pending.length; i++) {
        appender.appendInteger(firstId + i);
        appender.appendVarchar(pending[i]!);
        appender.endRow();
      }
      if (pending.length) appender.flushSync();
    }
  }

  private async writeSeries(): Promise<void> {
    const rows = this.dims.takePending();
    if (rows.length === 0) return;
    if (rows.replaced.length) await this.statement(`DELETE FROM series WHERE id IN (${rows.replaced.join(',')})`);
    this.seriesOut.append([
      { values: rows.id }, { values: rows.host }, { values: rows.component }, { values: rows.process },
      { values: rows.region, nullWhen: -1 }, { values: rows.cluster, nullWhen: -1 }, { values: rows.version, nullWhen: -1 },
    ], rows.length);
    this.appended.add(this.seriesOut);
  }

  private startColumn(start: number, length: number): BigInt64Array {
    if (this.startScratch.length < length) this.startScratch = new BigInt64Array(Math.max(length, 2048));
    const col = this.startScratch.subarray(0, length);
    col.fill(BigInt(Math.floor(start)));
    return col;
  }

  async appendRollups(batch: RollupBatch, catalog: SeriesCatalog): Promise<void> {
    if (batch.length === 0) return;
    return this.write(`the rollups of period ${new Date(batch.start).toISOString()}`, async () => {
      // Translated inside the queue: the dimension state must change in write order.
      const series = this.dims.translate(catalog, batch.series, batch.length);
      this.writeDimensions();
      await this.writeSeries();
      if (batch.start <= this.rollupsThrough) await this.statement('DELETE FROM rollups WHERE start = $1', [Math.floor(batch.start)]);
      this.rollupsOut.append([
        { values: this.startColumn(batch.start, batch.length) }, { values: series }, { values: batch.mean },
        { values: batch.max }, { values: batch.count }, { values: batch.pid, nullWhen: -1 }, { values: batch.restarted },
      ], batch.length);
      this.appended.add(this.rollupsOut);
      this.rollupsThrough = Math.max(this.rollupsThrough, batch.start);
    });
  }

  async appendBuckets(rows: BucketRows): Promise<void> {
    if (rows.length === 0) return;
    return this.write(`the bucket counts of period ${new Date(rows.start).toISOString()}`, async () => {
      const ids = this.dims.components.translate(rows.componentNames);
      const component = this.bucketComponents = this.bucketComponents.length < rows.length ? new Int32Array(rows.length) : this.bucketComponents;
      for (let i = 0; i < rows.length; i++) component[i] = ids[rows.component[i]!]!;
      this.writeDimensions();
      if (rows.start <= this.bucketsThrough) await this.statement('DELETE FROM buckets WHERE start = $1', [Math.floor(rows.start)]);
      this.bucketsOut.append([
        { values: this.startColumn(rows.start, rows.length) }, { values: component }, { values: rows.bucketMb }, { values: rows.hosts },
      ], rows.length);
      this.appended.add(this.bucketsOut);
      this.bucketsThrough = Math.max(this.bucketsThrough, rows.start);
    });
  }

  async expire(before: number): Promise<void> {
    if (!Number.isFinite(before)) return;
    const bound = Math.floor(before);
    return this.write(`the expiry of periods before ${new Date(bound).toISOString()}`, async () => {
      await this.statement('DELETE FROM rollups WHERE start < $1', [bound]);
      await this.statement('DELETE FROM buckets WHERE start < $1', [bound]);
    });
  }

  async recordDecisions(rows: readonly MitigationDecision[]): Promise<void> {
    if (rows.length === 0) return;
    return this.write(`${rows.length} mitigation decisions`, () => appendDecisions(this.conn, rows));
  }

  async expireDecisions(before: number): Promise<void> {
    if (!Number.isFinite(before)) return;
    return this.write('the expiry of old mitigation decisions', async () => {
      await this.conn.run('DELETE FROM mitigations WHERE decided_at < $1', [Math.floor(before)]);
    });
  }

  async loadCheckpoint(key: string): Promise<Uint8Array | null> {
    return this.serial(async () => {
      const rows = (await this.conn.runAndReadAll('SELECT state FROM checkpoints WHERE key = $1', [key])).getRowsJS();
      if (rows.length === 0) return null;
      // Copied out of the result so the caller's bytes do not alias DuckDB's buffers.
      return new Uint8Array(rows[0]![0] as Uint8Array);
    });
  }

  async saveCheckpoint(key: string, state: Uint8Array): Promise<void> {
    return this.write(`checkpoint "${key}"`, async () => {
      // In place: after DELETE + INSERT, DuckDB never reused the old blob's blocks (docs/detection.md).
      const updated = await this.statement('UPDATE checkpoints SET state = $2, saved_at = now() WHERE key = $1', [key, blobValue(state)]);
      if (updated === 0) await this.statement('INSERT INTO checkpoints VALUES ($1, $2, now())', [key, blobValue(state)]);
    });
  }

  /** A read-only statement (SELECT or EXPLAIN); BIGINT results come back as numbers when they fit. */
  async query(sql: string, params: readonly (string | number)[] = []): Promise<Record<string, unknown>[]> {
    return this.serial(async () => {
      const stmt = await this.conn.prepare(sql);
      try {
        if (!READ_ONLY.has(stmt.statementType)) {
          throw new Error(`query() runs read-only statements (SELECT, EXPLAIN); got ${StatementType[stmt.statementType]}`);
        }
        if (params.length) stmt.bind(params as DuckDBValue[]);
        const rows = (await stmt.runAndReadAll()).getRowObjectsJS();
        return rows.map((row) => plain(row) as Record<string, unknown>);
      } finally {
        stmt.destroySync();
      }
    });
  }

  /** Waits for queued writes, then closes the file (DuckDB checkpoints its WAL into it). */
  close(): Promise<void> {
    this.closing ??= this.serial(async () => {
      this.closed = true;
      try {
        for (const appender of this.nameAppenders.values()) appender.closeSync();
        this.seriesOut.close();
        this.rollupsOut.close();
        this.bucketsOut.close();
      } finally {
        this.conn.closeSync();
        this.instance.closeSync();
      }
    });
    return this.closing;
  }
}
