import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defectKinds, writeFixture, type FixtureFormat, type FixtureTruth } from '../../../bench/fixtures.js';
import { cli } from '../../helpers/cli.js';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'resin-cli-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const readNdjson = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe.each<FixtureFormat>(['ndjson', 'csv', 'arrow'])('resin replay of %s with every kind of bad record', (format) => {
  let truth: FixtureTruth;
  let result: { code: number; out: string; err: string };
  const kinds = defectKinds(format);
  const file = () => join(dir, `fleet-${format}.${format === 'arrow' ? 'arrows' : format}${format === 'csv' ? '.gz' : ''}`);

  beforeAll(async () => {
    // A dozen bad records of each kind among 40,000 good ones (CSV gzipped, to cover that path too).
    truth = await writeFixture({ rows: 40_000, format, out: file(), bad: 12 * kinds.length, gzip: format === 'csv', hosts: 50, truthFile: false });
    result = await cli('replay', truth.file, '--out', join(dir, `alerts-${format}.ndjson`), '--summary', 'json', '--quiet');
  }, 120_000);

  it('exits 0 with a summary that counts every record', () => {
    expect(result.code, result.err).toBe(0);
    const summary = JSON.parse(result.err.trim().split('\n').pop()!) as { samples_read: number; rejected: Record<string, number> };
    expect(summary.samples_read).toBe(truth.records);
    const expected: Record<string, number> = {};
    for (const d of truth.defects) expected[d.reason] = (expected[d.reason] ?? 0) + 1;
    expect(summary.rejected).toEqual(expected);
  });

  it("says how much of the run each of the default pipeline's operators and sinks took", () => {
    const summary = JSON.parse(result.err.trim().split('\n').pop()!) as { elapsed_s: number; node_s: Record<string, number> };
    expect(Object.keys(summary.node_s).sort()).toEqual(['alerts', 'buckets', 'fleet', 'hourly', 'ordered', 'processes']);
    const times = Object.values(summary.node_s);
    for (const t of times) expect(t).toBeGreaterThanOrEqual(0);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(times.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(summary.elapsed_s);
    expect(summary.node_s.hourly).toBeGreaterThan(0);
  });

  it('writes each bad record to the dead-letter file with its line number and reason', () => {
    const dead = readNdjson(join(dir, `alerts-${format}.ndjson.rejected.ndjson`));
    const got = dead.map((d) => `${d.line}:${d.reason}`).sort();
    const want = truth.defects.map((d) => `${d.line}:${d.reason}`).sort();
    expect(got).toEqual(want);
    for (const d of truth.defects.filter((x) => x.field)) {
      expect(dead.find((x) => x.line === d.line)!.field).toBe(d.field);
    }
  });
});

describe('resin validate', () => {
  it('reports all three mistakes of a definition, each naming its node and field', async () => {
    const path = join(dir, 'three-mistakes.yaml');
    writeFileSync(path, [
      'name: broken',
      'nodes:',
      '  telemetry:',
      '    type: simulator',
      '  ordered:',
      '    type: watermark',
      '    inputs: [telemetri]',
      '  hourly:',
      '    type: rolup',
      '    inputs: [ordered]',
      '  sink:',
      '    type: discard',
      '    inputs: [ordered]',
      '    options: { bogus: 1 }',
    ].join('\n'));
    const { code, out } = await cli('validate', path);
    expect(code).toBe(2);
    expect(out).toMatch(/3 errors/);
    expect(out).toMatch(/node "ordered": inputs\[0\]: "telemetri"/);
    expect(out).toMatch(/node "hourly": type: unknown type "rolup" \(did you mean "rollup"\?\)/);
    expect(out).toMatch(/node "sink": options.*bogus/);
  });

  it('accepts the shipped pipelines', async () => {
    for (const p of ['resin', 'passthrough', 'nats']) {
      const { code, out } = await cli('validate', p);
      expect(code, out).toBe(0);
    }
  });
});

describe('resin command line', () => {
  it.each(['replay', 'run', 'demo', 'validate', 'graph', 'types', 'agent'])('%s --help prints its usage', async (cmd) => {
    const { code, out } = await cli(cmd, '--help');
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^Usage: resin ${cmd}`));
  });

  it('names an unknown flag and exits 2', async () => {
    const { code, err } = await cli('replay', 'x.ndjson', '--outt', 'y');
    expect(code).toBe(2);
    expect(err).toMatch(/--outt/);
  });

  it('says which input file is missing', async () => {
    const { code, err } = await cli('replay', join(dir, 'nope.ndjson'));
    expect(code).toBe(2);
    expect(err).toMatch(/nope\.ndjson" does not exist/);
  });

  it('prints the graph as Mermaid and DOT', async () => {
    const mermaid = await cli('graph', 'resin');
    expect(mermaid.out).toMatch(/^flowchart LR/);
    expect(mermaid.out).toMatch(/process-detect/);
    const dot = await cli('graph', 'resin', '--format', 'dot');
    expect(dot.out).toMatch(/^digraph/);
  });
});
