import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbStore } from '../../connectors/duckdb/store.js';
import { FleetSimulator } from '../../connectors/simulator/simulator.js';
import type { DiagnosisReport } from '../../engine/diagnosis.js';
import { stackKey } from '../../operators/diagnose/localise.js';
import { cli } from '../helpers/cli.js';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'resin-diagnose-run-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FLEET = { hosts: 30, components: 6, days: 8, seed: 1, leak_fraction: 0.1 };

describe('detection then diagnosis, through resin run with a DuckDB state file', () => {
  it('diagnoses leaking processes, with references kept in the state file', { timeout: 120_000 }, async () => {
    const reports = join(dir, 'reports.ndjson');
    const fleet = JSON.stringify(FLEET);
    const path = join(dir, 'diagnose.yaml');
    writeFileSync(path, [
      'name: diagnose-test',
      'nodes:',
      '  telemetry: { type: simulator, options: ' + fleet + ' }',
      '  ordered: { type: watermark, inputs: [telemetry], options: { lateness: 10m } }',
      '  hourly: { type: rollup, inputs: [ordered], options: { period: 1h } }',
      '  processes: { type: process-detect, inputs: [hourly] }',
      '  diagnosis:',
      '    type: diagnose',
      '    inputs: [processes]',
      '    options: { profilers: [simulated], profiler_options: { simulated: ' + fleet + ' }, clock: event, on_end: drain }',
      `  reports: { type: report-log, inputs: [diagnosis], options: { path: ${JSON.stringify(reports)} } }`,
    ].join('\n'));
    const state = join(dir, 'state.duckdb');
    const { code, err } = await cli('run', '--pipeline', path, '--state', state, '--http', 'off');
    expect(code, err).toBe(0);

    const got = readFileSync(reports, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DiagnosisReport);
    expect(got.length).toBeGreaterThanOrEqual(2);
    const truth = new FleetSimulator(FLEET).truth();
    const leakOf = (r: DiagnosisReport) => truth.leaks.find((l) => l.host === r.target.host && l.component === r.target.component && l.process === r.target.process);
    for (const r of got) {
      // Each diagnosed process leaks, its culprit is among the stacks reported, and references were used.
      const leak = leakOf(r);
      expect(leak, JSON.stringify(r.target)).toBeDefined();
      const rank = r.stacks.findIndex((s) => stackKey(s.frames) === stackKey(leak!.culprit_stack));
      const about = `${r.target.host}/${r.target.component}: culprit ${leak!.culprit} at rank ${rank + 1} of ${r.stacks.length}, ` +
        `${r.references} reference snapshots, ${r.snapshots} snapshots, trigger "${r.trigger}"`;
      expect(rank, about).toBeGreaterThanOrEqual(0);
      expect(rank, about).toBeLessThan(3);
      // A diagnosis whose trigger fires before its reference traces end waits for them.
      expect(r.references, about).toBeGreaterThan(0);
      expect(r.memory.length).toBe(r.snapshots);
    }

    const store = await DuckDbStore.open(state);
    try {
      const [row] = await store.query('SELECT count(*) AS sets, count(DISTINCT host) AS hosts FROM reference_sets');
      expect(row!.sets as number).toBeGreaterThan(0);
      // References come from processes detection had not flagged: none of the diagnosed ones is among them.
      const refs = await store.query('SELECT DISTINCT host, component, process FROM reference_sets');
      const key = (h: unknown, c: unknown, p: unknown) => `${String(h)}/${String(c)}/${String(p)}`;
      const diagnosed = new Set(got.map((r) => key(r.target.host, r.target.component, r.target.process)));
      for (const r of refs) expect(diagnosed.has(key(r.host, r.component, r.process))).toBe(false);
      expect(refs.every((r) => got.some((g) => g.target.component === r.component))).toBe(true);
    } finally {
      await store.close();
    }
  });
});
