import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEXT_ROWS } from '../../../connectors/duckdb/chunks.js';
import { DuckDbStore } from '../../../connectors/duckdb/store.js';
import type { BucketRows } from '../../../engine/state.js';
import { makeSampleBatch, utf8Data } from '../../../engine/telemetry/arrowData.js';
import type { RollupBatch } from '../../../engine/telemetry/rollup.js';
import { SeriesCatalog } from '../../../engine/telemetry/series.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

/** Registers (host, component, process, version) tuples in a catalog the way a source batch would. */
function register(catalog: SeriesCatalog, rows: { host: string; component: string; process?: string; version?: string }[]): Int32Array {
  const dict = (values: string[]) => {
    const names = [...new Set(values)];
    return { indices: Int32Array.from(values, (v) => names.indexOf(v)), dictionary: utf8Data(names) };
  };
  const n = rows.length;
  const hasVersion = rows.some((r) => r.version !== undefined);
  const data = makeSampleBatch({
    length: n, ts: new Float64Array(n), rss: new Float64Array(n),
    strings: {
      host: dict(rows.map((r) => r.host)),
      component: dict(rows.map((r) => r.component)),
      process: dict(rows.map((r) => r.process ?? r.component)),
      region: null, cluster: null,
      version: hasVersion ? dict(rows.map((r) => r.version ?? '')) : null,
    },
  });
  return catalog.rowsToSeries(data);
}

function rollups(start: number, series: Int32Array, mean: (i: number) => number, pid: (i: number) => number = () => -1): RollupBatch {
  const n = series.length;
  return {
    start, period: HOUR, length: n, series,
    mean: Float64Array.from({ length: n }, (_, i) => mean(i)),
    max: Float64Array.from({ length: n }, (_, i) => mean(i) * 2),
    count: new Int32Array(n).fill(12),
    pid: Int32Array.from({ length: n }, (_, i) => pid(i)),
    restarted: Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0)),
    watermark: start + HOUR,
  };
}

function buckets(start: number, names: string[], hosts: number[][]): BucketRows {
  const mb = [50, 100, 200];
  const rows = names.length * mb.length;
  return {
    start, length: rows,
    component: Int32Array.from({ length: rows }, (_, i) => Math.floor(i / mb.length)),
    bucket: Int32Array.from({ length: rows }, (_, i) => i % mb.length),
    bucketMb: Float64Array.from({ length: rows }, (_, i) => mb[i % mb.length]!),
    hosts: Int32Array.from({ length: rows }, (_, i) => hosts[Math.floor(i / mb.length)]![i % mb.length]!),
    componentNames: names,
  };
}

describe('DuckDbStore', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'resin-store-'));
    path = join(dir, 'nested', 'state.duckdb');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends rollups with names resolved through the dimension tables', async () => {
    const store = await DuckDbStore.open(path);
    const catalog = new SeriesCatalog();
    const ids = register(catalog, [
      { host: 'h1', component: 'svc', process: 'svc.exe' },
      { host: 'h2', component: 'svc', process: 'svc.exe' },
      { host: 'h1', component: 'db' },
    ]);
    await store.appendRollups(rollups(T0, ids, (i) => (i + 1) * 1e6, (i) => (i === 1 ? -1 : 100 + i)), catalog);
    const rows = await store.query(
      'SELECT period, host, component, process, mean, max, n, pid, restarted FROM rollups_v ORDER BY mean');
    expect(rows).toEqual([
      { period: new Date(T0), host: 'h1', component: 'svc', process: 'svc.exe', mean: 1e6, max: 2e6, n: 12, pid: 100, restarted: true },
      { period: new Date(T0), host: 'h2', component: 'svc', process: 'svc.exe', mean: 2e6, max: 4e6, n: 12, pid: null, restarted: false },
      { period: new Date(T0), host: 'h1', component: 'db', process: 'db', mean: 3e6, max: 6e6, n: 12, pid: 102, restarted: false },
    ]);
    const [dims] = await store.query('SELECT (SELECT count(*) FROM hosts) AS hosts, (SELECT count(*) FROM components) AS components, (SELECT count(*) FROM series) AS series');
    expect(dims).toEqual({ hosts: 2, components: 2, series: 3 });
    await store.close();
  });

  it('writes a period again by replacing it, in the same run and after reopening', async () => {
    let store = await DuckDbStore.open(path);
    const catalog = new SeriesCatalog();
    const ids = register(catalog, [{ host: 'a', component: 'c' }, { host: 'b', component: 'c' }]);
    await store.appendRollups(rollups(T0, ids, () => 1), catalog);
    await store.appendRollups(rollups(T0 + HOUR, ids, () => 2), catalog);
    await store.appendRollups(rollups(T0, ids, () => 3), catalog);
    expect(await store.query('SELECT start, count(*) AS n, min(mean) AS mean FROM rollups GROUP BY start ORDER BY start'))
      .toEqual([{ start: T0, n: 2, mean: 3 }, { start: T0 + HOUR, n: 2, mean: 2 }]);
    await store.close();

    // A later run interns names in another order: its catalog ids differ, the file's do not.
    store = await DuckDbStore.open(path);
    const other = new SeriesCatalog();
    register(other, [{ host: 'z', component: 'other' }]);
    const again = register(other, [{ host: 'b', component: 'c' }, { host: 'a', component: 'c' }]);
    await store.appendRollups(rollups(T0 + HOUR, again, (i) => 10 + i), other);
    expect(await store.query(
      'SELECT host, mean FROM rollups_v WHERE period = epoch_ms($1::BIGINT) ORDER BY host', [T0 + HOUR]))
      .toEqual([{ host: 'a', mean: 11 }, { host: 'b', mean: 10 }]);
    // Every series the catalog knows is described once, including one without rollups yet.
    expect(await store.query('SELECT host, component, count(*) AS n FROM series_v GROUP BY ALL ORDER BY host'))
      .toEqual([{ host: 'a', component: 'c', n: 1 }, { host: 'b', component: 'c', n: 1 }, { host: 'z', component: 'other', n: 1 }]);
    expect(await store.query('SELECT count(*) AS n FROM rollups')).toEqual([{ n: 4 }]);
    await store.close();
  });

  it('keeps one series row per series and follows attribute changes', async () => {
    const store = await DuckDbStore.open(path);
    const catalog = new SeriesCatalog();
    const v1 = register(catalog, [{ host: 'h', component: 'c', version: '1.0' }]);
    await store.appendRollups(rollups(T0, v1, () => 1), catalog);
    const v2 = register(catalog, [{ host: 'h', component: 'c', version: '1.1' }]);
    expect(v2[0]).toBe(v1[0]);
    await store.appendRollups(rollups(T0 + HOUR, v2, () => 1), catalog);
    // A batch without the version column does not erase what is known.
    const none = register(catalog, [{ host: 'h', component: 'c' }]);
    await store.appendRollups(rollups(T0 + 2 * HOUR, none, () => 1), catalog);
    expect(await store.query('SELECT host, version FROM series_v')).toEqual([{ host: 'h', version: '1.1' }]);
    await store.close();
  });

  it('appends many rows across chunk boundaries, nulls included', async () => {
    const store = await DuckDbStore.open(path);
    const catalog = new SeriesCatalog();
    const n = 10_000;
    const ids = register(catalog, Array.from({ length: n }, (_, i) => ({ host: `h${i}`, component: `c${i % 7}` })));
    await store.appendRollups(rollups(T0, ids, (i) => i, (i) => (i % 5 === 0 ? -1 : i)), catalog);
    const [agg] = await store.query(
      'SELECT count(*) AS n, sum(mean) AS total, count(pid) AS pids, sum(pid) AS pid_sum, sum(restarted::INT) AS restarted FROM rollups');
    const expectedPidSum = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : i)).reduce((a, b) => a + b, 0);
    expect(agg).toEqual({ n, total: (n * (n - 1)) / 2, pids: n - n / 5, pid_sum: expectedPidSum, restarted: Math.ceil(n / 3) });
    await store.close();
  });

  it('writes the same values whether a period goes in as SQL text (few rows) or through chunks (many)', async () => {
    const store = await DuckDbStore.open(path);
    const catalog = new SeriesCatalog();
    const many = TEXT_ROWS + 1;
    const ids = register(catalog, Array.from({ length: many }, (_, i) => ({ host: `h${i}`, component: 'c' })));
    const awkward = [0.1, 0.30000000000000004, 5e-324, 1.7976931348623157e308, -0, NaN, Infinity, -Infinity, 2 ** 53 + 2, 1 / 3, 123456789.123];
    const mean = (i: number) => awkward[i % awkward.length]!;
    const pid = (i: number) => (i % 4 === 0 ? -1 : i);
    const few = ids.subarray(0, TEXT_ROWS);
    await store.appendRollups(rollups(T0, few, mean, pid), catalog);
    await store.appendRollups(rollups(T0 + HOUR, ids, mean, pid), catalog);
    const read = async (start: number) => (await store.query(
      `SELECT series, mean, max, n, pid, restarted FROM rollups WHERE start = ${start} AND series < ${TEXT_ROWS} ORDER BY series`))
      .map((r) => ({ ...r, bits: [r.mean, r.max].map((x) => Buffer.from(Float64Array.of(x as number).buffer).toString('hex')).join() }));
    const text = await read(T0), chunked = await read(T0 + HOUR);
    expect(text).toHaveLength(TEXT_ROWS);
    expect(text).toEqual(chunked);
    expect(text.slice(0, awkward.length).map((r) => r.bits)).toEqual(
      awkward.map((x) => [x, x * 2].map((y) => Buffer.from(Float64Array.of(y).buffer).toString('hex')).join()));
    expect(text[0]).toMatchObject({ pid: null });
    await store.close();
  });

  it('stores bucket counts per period and component, replacing a period written again', async () => {
    const store = await DuckDbStore.open(path);
    await store.appendBuckets(buckets(T0, ['svc', 'db'], [[5, 3, 1], [2, 0, 0]]));
    await store.appendBuckets(buckets(T0, ['svc', 'db'], [[6, 3, 1], [2, 1, 0]]));
    expect(await store.query('SELECT component, bucket_mb, hosts FROM buckets_v ORDER BY component, bucket_mb')).toEqual([
      { component: 'db', bucket_mb: 50, hosts: 2 }, { component: 'db', bucket_mb: 100, hosts: 1 }, { component: 'db', bucket_mb: 200, hosts: 0 },
      { component: 'svc', bucket_mb: 50, hosts: 6 }, { component: 'svc', bucket_mb: 100, hosts: 3 }, { component: 'svc', bucket_mb: 200, hosts: 1 },
    ]);
    await store.close();
  });

  it('expires rollups and bucket counts older than a bound', async () => {
    const store = await DuckDbStore.open(path);
    const catalog = new SeriesCatalog();
    const ids = register(catalog, [{ host: 'h', component: 'c' }]);
    for (let h = 0; h < 5; h++) {
      await store.appendRollups(rollups(T0 + h * HOUR, ids, () => h), catalog);
      await store.appendBuckets(buckets(T0 + h * HOUR, ['c'], [[1, 1, 0]]));
    }
    await store.expire(T0 + 3 * HOUR);
    expect(await store.query('SELECT start FROM rollups ORDER BY start')).toEqual([{ start: T0 + 3 * HOUR }, { start: T0 + 4 * HOUR }]);
    expect(await store.query('SELECT DISTINCT start FROM buckets ORDER BY start')).toEqual([{ start: T0 + 3 * HOUR }, { start: T0 + 4 * HOUR }]);
    await store.close();
  });

  it('saves, replaces and reloads checkpoints across reopening', async () => {
    let store = await DuckDbStore.open(path);
    expect(await store.loadCheckpoint('node/a')).toBeNull();
    await store.saveCheckpoint('node/a', new Uint8Array([1, 2, 3]));
    await store.saveCheckpoint('node/a', new Uint8Array([4, 5]));
    await store.saveCheckpoint('node/b', new Uint8Array(100_000).fill(7));
    await store.close();
    store = await DuckDbStore.open(path);
    expect(await store.loadCheckpoint('node/a')).toEqual(new Uint8Array([4, 5]));
    expect((await store.loadCheckpoint('node/b'))!.length).toBe(100_000);
    expect(await store.query('SELECT count(*) AS n FROM checkpoints')).toEqual([{ n: 2 }]);
    await store.close();
  });

  it('keeps the file bounded when a large checkpoint is saved again and again', async () => {
    // A replaced blob must give its blocks back: a long run saves its checkpoint every
    // minute, and a file that grew by each save's size would fill the disk and DuckDB's memory.
    const part = 8 << 20;
    const sizes: number[] = [];
    for (let save = 0; save < 6; save++) {
      const store = await DuckDbStore.open(path);
      await store.saveCheckpoint('node/big', new Uint8Array(part).fill(save + 1));
      await store.close();
      sizes.push(statSync(path).size);
    }
    const store = await DuckDbStore.open(path);
    expect((await store.loadCheckpoint('node/big'))![part - 1]).toBe(6);
    await store.close();
    // One copy being written and one being replaced, plus the file's own overhead.
    expect(sizes.at(-1)!).toBeLessThan(3 * part + sizes[0]! - part);
  });

  it('runs only read-only queries and converts BIGINT to numbers where exact', async () => {
    const store = await DuckDbStore.open(path);
    await expect(store.query('DELETE FROM rollups')).rejects.toThrow(/read-only.*DELETE/);
    await expect(store.query('DROP TABLE rollups')).rejects.toThrow(/read-only/);
    expect(await store.query('SELECT 5::BIGINT AS small, 9007199254740993::BIGINT AS big, $1 AS s', ['x']))
      .toEqual([{ small: 5, big: 9007199254740993n, s: 'x' }]);
    await store.close();
  });

  it('refuses use after close and serialises concurrent writes', async () => {
    const store = await DuckDbStore.open(path);
    const catalog = new SeriesCatalog();
    const ids = register(catalog, [{ host: 'h', component: 'c' }]);
    await Promise.all(Array.from({ length: 20 }, (_, h) => store.appendRollups(rollups(T0 + h * HOUR, ids, () => h), catalog)));
    expect(await store.query('SELECT count(*) AS n, count(DISTINCT start) AS periods FROM rollups')).toEqual([{ n: 20, periods: 20 }]);
    await store.close();
    await expect(store.loadCheckpoint('x')).rejects.toThrow(/closed/);
  });

  it('commits the writes asked for in one turn together, and rolls them back together', async () => {
    const store = await DuckDbStore.open(path);
    const catalog = new SeriesCatalog();
    const ids = register(catalog, [{ host: 'h', component: 'c' }, { host: 'h2', component: 'c' }]);
    await store.appendRollups(rollups(T0, ids, () => 1), catalog);
    // One input batch's periods and bucket counts, the last one broken (a column shorter than the batch).
    const broken = { ...rollups(T0 + 3 * HOUR, ids, () => 4), mean: new Float64Array(1) };
    const group = [
      store.appendRollups(rollups(T0 + HOUR, ids, () => 2), catalog),
      store.appendBuckets(buckets(T0 + HOUR, ['c'], [[2, 1, 0]])),
      store.appendRollups(rollups(T0 + 2 * HOUR, ids, () => 3), catalog),
      store.appendRollups(broken, catalog),
    ];
    const results = await Promise.allSettled(group);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(String((results[3] as PromiseRejectedResult).reason)).toMatch(/writing the rollups of period .*T03:00.*failed/);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/rolled back with the rollups of period .*T03:00/);
    await expect(store.appendRollups(rollups(T0 + 4 * HOUR, ids, () => 5), catalog)).rejects.toThrow(/refuses writes/);
    await store.close();
    const reopened = await DuckDbStore.open(path);
    expect(await reopened.query('SELECT start, count(*) AS n FROM rollups GROUP BY start')).toEqual([{ start: T0, n: 2 }]);
    expect(await reopened.query('SELECT count(*) AS n FROM buckets')).toEqual([{ n: 0 }]);
    await reopened.close();
  });

  it('replaces a period written twice within one transaction', async () => {
    const store = await DuckDbStore.open(path);
    const catalog = new SeriesCatalog();
    const ids = register(catalog, [{ host: 'h', component: 'c' }, { host: 'h2', component: 'c' }]);
    await Promise.all([
      store.appendRollups(rollups(T0, ids, () => 1), catalog),
      store.appendRollups(rollups(T0 + HOUR, ids, () => 2), catalog),
      store.appendRollups(rollups(T0, ids, () => 3), catalog),
    ]);
    expect(await store.query('SELECT start, mean FROM rollups ORDER BY start, series'))
      .toEqual([{ start: T0, mean: 3 }, { start: T0, mean: 3 }, { start: T0 + HOUR, mean: 2 }, { start: T0 + HOUR, mean: 2 }]);
    await store.close();
  });

  it('loses nothing when told not to checkpoint on close (its log is replayed on open)', async () => {
    const store = await DuckDbStore.open(path, { checkpointOnClose: false });
    const catalog = new SeriesCatalog();
    const ids = register(catalog, [{ host: 'h', component: 'c' }]);
    await store.appendRollups(rollups(T0, ids, () => 7), catalog);
    await store.saveCheckpoint('k', new Uint8Array([1, 2, 3]));
    await store.close();
    const reopened = await DuckDbStore.open(path);
    expect(await reopened.query('SELECT mean FROM rollups')).toEqual([{ mean: 7 }]);
    expect(await reopened.loadCheckpoint('k')).toEqual(new Uint8Array([1, 2, 3]));
    await reopened.close();
  });
});
