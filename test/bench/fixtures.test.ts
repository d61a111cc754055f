import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { defectKinds, INTERVAL_MS, writeFixture } from '../../bench/fixtures.js';
import { tempDir } from '../connectors/file/files.js';

const path = tempDir('fixtures');

describe('writeFixture', () => {
  it('writes the same bytes for the same seed, other bytes for another', async () => {
    const a = await writeFixture({ rows: 500, format: 'ndjson', bad: 12, out: path('a.ndjson') });
    const b = await writeFixture({ rows: 500, format: 'ndjson', bad: 12, out: path('b.ndjson') });
    const c = await writeFixture({ rows: 500, format: 'ndjson', bad: 12, out: path('c.ndjson'), seed: 7 });
    expect(readFileSync(a.file)).toEqual(readFileSync(b.file));
    expect(readFileSync(a.file)).not.toEqual(readFileSync(c.file));
    expect(JSON.parse(readFileSync(`${a.file}.truth.json`, 'utf8'))).toEqual(a);
  });

  it('gzips to the same content', async () => {
    const plain = await writeFixture({ rows: 300, format: 'csv', bad: 5, out: path('g.csv') });
    const gz = await writeFixture({ rows: 300, format: 'csv', bad: 5, out: path('g.csv'), gzip: true });
    expect(gz.file).toBe(`${plain.file}.gz`);
    expect(gunzipSync(readFileSync(gz.file))).toEqual(readFileSync(plain.file));
  });

  it('lays out a fleet: every host and component every 5 minutes, in time order', async () => {
    const t = await writeFixture({ rows: 3 * 4 * 10, format: 'ndjson', hosts: 3, components: 4, out: path('fleet.ndjson') });
    const rows = readFileSync(t.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(120);
    const series = new Set(rows.map((r) => `${r.host}/${r.component}`));
    expect(series.size).toBe(12);
    expect(new Set(rows.map((r) => r.ts)).size).toBe(10);
    expect(rows.every((r, i) => i === 0 || r.ts >= rows[i - 1].ts)).toBe(true);
    expect(t.end - t.start).toBe(9 * INTERVAL_MS);
    expect(rows.every((r) => r.rss > 40 * 2 ** 20 && r.rss < 4 * 2 ** 30 && r.rss % 4096 === 0)).toBe(true);
  });

  it('puts each defect where the truth says, of every kind', async () => {
    const kinds = defectKinds('ndjson');
    const t = await writeFixture({ rows: 2000, format: 'ndjson', bad: kinds.length, out: path('d.ndjson') });
    expect(t.defects.map((d) => d.kind)).toEqual(kinds.map((k) => k.kind));
    const lines = readFileSync(t.file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(t.records);
    let newest = -Infinity;
    const byLine = new Map(t.defects.map((d) => [d.line, d]));
    lines.forEach((line, i) => {
      const d = byLine.get(i + 1);
      if (d?.kind === 'invalid_json') {
        expect(() => JSON.parse(line)).toThrow();
        return;
      }
      const o = JSON.parse(line);
      if (d === undefined) newest = Math.max(newest, o.ts);
      else if (d.kind === 'late') expect(o.ts).toBe(newest - 2 * 3_600_000);
      else if (d.reason === 'missing_field') expect(o).not.toHaveProperty(d.field!);
      else if (d.kind === 'not_finite') expect(line).toContain('"rss":1e999');
      else if (d.kind === 'string_too_long') expect(o.host.length).toBeGreaterThan(1024);
    });
  });

  it('writes Arrow with nulls where fields are missing', async () => {
    const t = await writeFixture({ rows: 100, format: 'arrow', bad: defectKinds('arrow').length, out: path('n.arrows') });
    const table = tableFromIPC(readFileSync(t.file));
    expect(table.numRows).toBe(t.records);
    const missingTs = t.defects.find((d) => d.kind === 'missing_ts')!;
    expect(table.getChild('ts')!.get(missingTs.line - 1)).toBeNull();
    expect(table.getChild('ts')!.nullCount).toBe(1);
  });
});
