import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../helpers/cli.js';

describe('resin demo', () => {
  let dir: string;
  let result: { code: number; out: string; err: string };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'resin-demo-test-'));
    // Seed 2 has alerts whose interval restarted after they opened (a later T0 on their last emission).
    result = await cli('demo', '--hosts', '150', '--days', '14', '--seed', '2', '--out', join(dir, 'alerts.ndjson'));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists process alerts with a leak start no later than their detection, scored against the injected leaks', () => {
    expect(result.code, result.err).toBe(0);
    const rows = result.out.split('\n').filter((l) => l.startsWith('host-'));
    expect(rows.length).toBeGreaterThan(5);
    const emitted = readFileSync(join(dir, 'alerts.ndjson'), 'utf8').split('\n').filter(Boolean)
      .map((l) => JSON.parse(l) as { level: string; start: number; detected_at: number });
    // The situation the table must survive: an emission whose start is after its alert's detection.
    expect(emitted.some((a) => a.level === 'process' && a.start > a.detected_at)).toBe(true);
    for (const row of rows) {
      const [since, detected] = [...row.matchAll(/\d{4}-\d\d-\d\d \d\d:\d\d/g)].map((m) => m[0]);
      expect(since! <= detected!, row).toBe(true);
    }
    const score = /Injected leaks: (\d+); found (\d+) \(recall [\d.]+\); false alarms (\d+)/.exec(result.out);
    expect(score).not.toBeNull();
    expect(Number(score![2])).toBeLessThanOrEqual(Number(score![1]));
  });
});
