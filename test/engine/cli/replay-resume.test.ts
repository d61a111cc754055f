import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFleetNdjson } from '../../../connectors/simulator/ndjson.js';
import { cli } from '../../helpers/cli.js';

const HOUR = 3_600_000;
let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'resin-resume-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Summary { samples_read: number; rejected: Record<string, number>; duplicates_dropped: number }
interface AlertLine { id: string; level: string; state: string; component: string; host: string | null; process: string | null; start: number; detected_at: number }

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);
const alerts = (path: string) => lines(path).map((l) => JSON.parse(l) as AlertLine);
/** The leaks found: every alert ever opened, by what it names and when the leak began. */
const leaks = (list: AlertLine[]) => list.filter((a) => a.state === 'open')
  .map((a) => `${a.level} ${a.component} ${a.host ?? '-'} ${a.process ?? '-'} ${a.start} ${a.detected_at}`).sort();

async function replay(file: string, out: string, state?: string): Promise<Summary> {
  const args = ['replay', file, '--out', out, '--summary', 'json', '--quiet'];
  if (state) args.push('--state', state);
  const { code, err } = await cli(...args);
  expect(code, err).toBe(0);
  return JSON.parse(err.trim().split('\n').pop()!) as Summary;
}

describe('resin replay resumed halfway with --state', () => {
  let whole: { summary: Summary; alerts: AlertLine[]; raw: string[] };
  let halves: { summaries: Summary[]; alerts: AlertLine[][]; raw: string[] };

  beforeAll(async () => {
    // A fleet small enough for a test yet with leaks that both levels find: 100 hosts,
    // 2 components, 16 days of 20-minute samples, 15% of (host, component) pairs leaking.
    const fleet = join(dir, 'fleet.ndjson');
    writeFleetNdjson({ hosts: 100, components: 2, days: 16, interval: '20m', leak_fraction: 0.15, seed: 2 }, fleet);
    const all = lines(fleet);
    // Cut in the middle of an hour, so that periods are open when the first replay ends.
    const mid = (JSON.parse(all[all.length >> 1]!) as { ts: number }).ts;
    const cutTs = Math.floor(mid / HOUR) * HOUR + HOUR / 2;
    const cut = all.findIndex((l) => (JSON.parse(l) as { ts: number }).ts >= cutTs);
    writeFileSync(join(dir, 'first.ndjson'), all.slice(0, cut).join('\n') + '\n');
    writeFileSync(join(dir, 'second.ndjson'), all.slice(cut).join('\n') + '\n');

    const summary = await replay(fleet, join(dir, 'whole.ndjson'));
    whole = { summary, alerts: alerts(join(dir, 'whole.ndjson')), raw: lines(join(dir, 'whole.ndjson')) };
    const state = join(dir, 'state.duckdb');
    const s1 = await replay(join(dir, 'first.ndjson'), join(dir, 'first-alerts.ndjson'), state);
    const s2 = await replay(join(dir, 'second.ndjson'), join(dir, 'second-alerts.ndjson'), state);
    const a1 = join(dir, 'first-alerts.ndjson'), a2 = join(dir, 'second-alerts.ndjson');
    halves = { summaries: [s1, s2], alerts: [alerts(a1), alerts(a2)], raw: [...lines(a1), ...lines(a2)] };
  }, 180_000);

  it('finds leaks at both levels, some before the cut and some after', () => {
    const levels = new Set(leaks(whole.alerts).map((k) => k.split(' ')[0]));
    expect(levels).toEqual(new Set(['component', 'process']));
    expect(leaks(halves.alerts[0]!).length).toBeGreaterThan(0);
    expect(leaks(halves.alerts[1]!).length).toBeGreaterThan(0);
  });

  it('finds the same leaks as one replay of the whole file', () => {
    expect(leaks(halves.alerts.flat())).toEqual(leaks(whole.alerts));
  });

  it('emits the same alerts, in the same order, as one replay of the whole file', () => {
    expect(halves.raw).toEqual(whole.raw);
  });

  it('rejects and drops the same samples as one replay of the whole file', () => {
    const [s1, s2] = halves.summaries as [Summary, Summary];
    expect(s1.samples_read + s2.samples_read).toBe(whole.summary.samples_read);
    expect(s1.duplicates_dropped + s2.duplicates_dropped).toBe(whole.summary.duplicates_dropped);
    const rejected: Record<string, number> = { ...s1.rejected };
    for (const [k, v] of Object.entries(s2.rejected)) rejected[k] = (rejected[k] ?? 0) + v;
    expect(rejected).toEqual(whole.summary.rejected);
  });
});
