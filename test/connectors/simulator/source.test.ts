import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFleetNdjson } from '../../../connectors/simulator/ndjson.js';
import { FleetSimulator } from '../../../connectors/simulator/simulator.js';
import { simulatorSpec } from '../../../connectors/simulator/source.js';
import type { SimulatorOptions } from '../../../connectors/simulator/options.js';
import type { FleetTruth } from '../../../connectors/simulator/truth.js';
import type { SampleBatch } from '../../../engine/telemetry/schema.js';
import { collect, sourceContext } from './collect.js';

const dir = mkdtempSync(join(tmpdir(), 'sim-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const OPTS = { hosts: 30, components: 4, days: 2, seed: 5, batch_size: 10_000 };

describe('simulator source', () => {
  it('streams samples batches, counts what it lost, and writes the truth before the first batch', async () => {
    const truthPath = join(dir, 'truth.json');
    const { ctx, metrics } = sourceContext();
    const src = simulatorSpec.create({ ...OPTS, ground_truth: truthPath } as SimulatorOptions, ctx);
    let rows = 0, batches = 0, truthFirst = false;
    for await (const batch of src.read()) {
      if (batches === 0) truthFirst = (JSON.parse(readFileSync(truthPath, 'utf8')) as FleetTruth).format === 'resin-simulator-truth/1';
      expect(batch.source).toBe('simulator');
      expect(batch.records.length).toBe(batch.data.numRows);
      expect(batch.records[0]).toBe(rows + 1);
      rows += batch.data.numRows;
      batches++;
    }
    expect(truthFirst).toBe(true);
    const direct = collect(new FleetSimulator(OPTS));
    expect(rows).toBe(direct.n);
    expect(batches).toBe(Math.ceil(direct.n / OPTS.batch_size));
    expect(metrics.total('simulator_samples', { fate: 'sent' })).toBe(rows);
    expect(metrics.total('simulator_samples', { fate: 'missing' })).toBe(direct.stream.missing);
    expect(metrics.total('simulator_samples', { fate: 'duplicate' })).toBe(direct.stream.duplicates);
    const truth = JSON.parse(readFileSync(truthPath, 'utf8')) as FleetTruth;
    expect(truth).toEqual(JSON.parse(JSON.stringify(new FleetSimulator(OPTS).truth())));
  });

  it('stops when the run is aborted', async () => {
    const abort = new AbortController();
    const { ctx } = sourceContext(abort.signal);
    const src = simulatorSpec.create({ ...OPTS, batch_size: 1000 } as SimulatorOptions, ctx);
    let batches = 0;
    for await (const _ of src.read() as AsyncIterable<SampleBatch>) {
      if (++batches === 3) abort.abort();
    }
    expect(batches).toBe(3);
  });

  it('fails when built with bad options, before any data flows', () => {
    const { ctx } = sourceContext();
    expect(() => simulatorSpec.create({ ...OPTS, interval: '0s' } as SimulatorOptions, ctx)).toThrow(/interval/);
    expect(() => simulatorSpec.create({ ...OPTS, days: -1 } as SimulatorOptions, ctx)).toThrow(/days/);
  });

  it('writes the same fleet to NDJSON, line for row', () => {
    const path = join(dir, 'fleet.ndjson');
    const result = writeFleetNdjson({ ...OPTS, ground_truth: join(dir, 'nd-truth.json') }, path);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines.length).toBe(result.rows);
    const direct = collect(new FleetSimulator(OPTS));
    expect(result.rows).toBe(direct.n);
    expect(result.duplicates).toBe(direct.stream.duplicates);
    const sim = new FleetSimulator(OPTS);
    for (const i of [0, 1, 777, Math.floor(direct.n / 2), direct.n - 1]) {
      const row = JSON.parse(lines[i]!) as Record<string, unknown>;
      const s = direct.series[i]!;
      expect(row).toEqual({
        ts: direct.ts[i], rss: direct.rss[i], pid: direct.pid[i],
        host: sim.plan.hostNames[sim.plan.seriesHost[s]!],
        component: sim.plan.profiles[sim.plan.seriesComponent[s]!]!.name,
        process: sim.plan.processNames[sim.plan.seriesProcess[s]!],
        host_mem: sim.plan.hostMem[sim.plan.seriesHost[s]!],
        region: sim.plan.regionNames[sim.plan.hostRegion[sim.plan.seriesHost[s]!]!],
        cluster: sim.plan.clusterNames[sim.plan.hostCluster[sim.plan.seriesHost[s]!]!],
        version: sim.plan.versions[direct.version[i]!],
      });
    }
    expect((JSON.parse(readFileSync(join(dir, 'nd-truth.json'), 'utf8')) as FleetTruth).leaks.length).toBeGreaterThan(0);
  });
});
