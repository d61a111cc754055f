import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cli } from '../../helpers/cli.js';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'resin-diagnose-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());


const pipeline = (diagnoseOptions: string[]) => [
  'name: d',
  'nodes:',
  '  telemetry:',
  '    type: simulator',
  '    options: { hosts: 4, days: 1 }',
  '  hourly:',
  '    type: rollup',
  '    inputs: [telemetry]',
  '  processes:',
  '    type: process-detect',
  '    inputs: [hourly]',
  '  diagnosis:',
  '    type: diagnose',
  '    inputs: [processes]',
  '    options:',
  ...diagnoseOptions.map((l) => `      ${l}`),
  '  reports:',
  '    type: report-log',
  '    inputs: [diagnosis]',
  `    options: { path: ${JSON.stringify(join(dir, 'reports.ndjson'))} }`,
].join('\n');

describe('diagnose in a pipeline', () => {
  it('resin validate accepts pipelines/diagnose.yaml', async () => {
    const { code, out } = await cli('validate', 'pipelines/diagnose.yaml');
    expect(code, out).toBe(0);
    expect(out).toMatch(/valid \(7 nodes/);
  });

  it('resin validate accepts pipelines/diagnose-live.yaml', async () => {
    const { code, out } = await cli('validate', 'pipelines/diagnose-live.yaml');
    expect(code, out).toBe(0);
    expect(out).toMatch(/valid \(8 nodes/);
  });

  it('resin validate names the node and field of a bad option', async () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, pipeline(['profilers: [simulated]', 'period: 30x', 'ring: 2']));
    const { code, out } = await cli('validate', path);
    expect(code).toBe(2);
    expect(out).toMatch(/node "diagnosis": options\.period/);
    expect(out).toMatch(/node "diagnosis": options\.ring/);
  });

  it('an unknown profiler fails the run at start, naming the node and the field', async () => {
    const path = join(dir, 'unknown.yaml');
    writeFileSync(path, pipeline(['profilers: [simulated, heaptrack]', 'clock: event']));
    const { code, out, err } = await cli('run', '--pipeline', path, '--state', join(dir, 's.duckdb'), '--http', 'off');
    expect(code).not.toBe(0);
    expect(out + err).toMatch(/diagnosis.{0,8}: options\.profilers\[1\]: unknown profiler .{0,4}heaptrack/);
  });
});
