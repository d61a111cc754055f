import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DuckDbStore } from '../../../connectors/duckdb/store.js';
import type { ReferenceSet } from '../../../engine/references.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-10T08:00:00Z');

function set(cluster: string, takenAt: number, version = '1.2'): ReferenceSet {
  return {
    fingerprint: { component: 'svc', cluster, os_version: null, service_version: version, day: new Date(takenAt).toISOString().slice(0, 10) },
    host: `h-${cluster}`, process: 'svc', taken_at: takenAt,
    snapshots: [0, 1].map((i) => ({
      at: takenAt + i * 1_800_000,
      stacks: [{ frames: [{ function: 'Pool.grow', file: 'pool.cc', line: 7 }, { function: 'main', file: null, line: null }], live_bytes: 1000 * (i + 1), count: 3 + i }],
      memory: { rss: 5e6 + i, heap_used: null, external: null, array_buffers: null },
    })),
  };
}

describe('reference store (DuckDB)', () => {
  let dir = '';
  afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('finds references by exact and similar fingerprint, keeps them across reopen, and expires them by age', async () => {
    dir = mkdtempSync(join(tmpdir(), 'resin-refs-'));
    const path = join(dir, 'state.duckdb');
    let store = await DuckDbStore.open(path);
    await store.references.save(set('c1', T0));
    await store.references.save(set('c2', T0 - 3 * DAY));
    await store.references.save(set('c1', T0, '2.0'));
    await store.close();

    store = await DuckDbStore.open(path);
    const refs = store.references;
    const fp = set('c1', T0).fingerprint;
    const exact = await refs.find(fp, T0 - 7 * DAY, 'exact');
    expect(exact).toEqual([set('c1', T0)]);
    const similar = await refs.find({ ...fp, cluster: 'c9' }, T0 - 7 * DAY, 'similar');
    expect(similar.map((r) => r.host).sort()).toEqual(['h-c1', 'h-c2']);
    expect(await refs.find({ ...fp, cluster: 'c9' }, T0 - 7 * DAY, 'exact')).toEqual([]);
    // Too old for the caller's age limit.
    expect((await refs.find({ ...fp, cluster: 'c2', day: set('c2', T0 - 3 * DAY).fingerprint.day }, T0 - DAY, 'exact'))).toEqual([]);

    expect(await refs.expire(T0 - DAY)).toBe(1);
    expect((await refs.find(fp, 0, 'similar')).map((r) => r.host)).toEqual(['h-c1']);
    const left = await store.query('SELECT (SELECT count(*) FROM reference_sets) AS sets, (SELECT count(*) FROM reference_snapshots) AS snaps, (SELECT count(*) FROM reference_stacks) AS stacks');
    expect(left).toEqual([{ sets: 2, snaps: 4, stacks: 4 }]);
    await store.close();
  });
});
