import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDbStore } from '../../../connectors/duckdb/store.js';

const dir = mkdtempSync(join(tmpdir(), 'resin-store-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('state store memory limit', () => {
  it('is handed to DuckDB, which otherwise takes 80% of the machine', async () => {
    const limited = await DuckDbStore.open(join(dir, 'a.duckdb'), { memoryLimit: '64MB' });
    const unlimited = await DuckDbStore.open(join(dir, 'b.duckdb'));
    try {
      const setting = async (s: DuckDbStore) => String((await s.query("SELECT current_setting('memory_limit') AS v"))[0]!.v);
      expect(await setting(limited)).toMatch(/^6[01]\.\d+ MiB$/); // DuckDB reports 64 MB as 61.0 MiB
      expect(await setting(unlimited)).not.toBe(await setting(limited));
    } finally {
      await limited.close();
      await unlimited.close();
    }
  });

  it('refuses a limit DuckDB would not read, before opening anything', async () => {
    await expect(DuckDbStore.open(join(dir, 'c.duckdb'), { memoryLimit: 'lots' })).rejects.toThrow(/must be a size such as 512MB/);
  });
});
