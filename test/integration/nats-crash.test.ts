import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, tableToIPC } from 'apache-arrow';
import { connect, headers, nanos, type JetStreamManager, type NatsConnection } from 'nats';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DuckDbStore } from '../../connectors/duckdb/store.js';
import { ARROW_CONTENT_TYPE, CONTENT_TYPE } from '../../connectors/nats/subjects.js';
import { FleetSimulator } from '../../connectors/simulator/index.js';
import type { Alert } from '../../engine/alert.js';
import { PACKAGE_ROOT } from '../../engine/cli/paths.js';
import { collectJson, describeNats, storedJson, useNatsServer } from '../helpers/nats.js';
import { until } from '../helpers/until.js';

/**
 * Delivery guarantees of pipelines/nats.yaml, end to end: a simulated fleet is
 * published into JetStream as 10k-row Arrow messages; `resin run` (the CLI, as a child
 * process) is killed with SIGKILL twice in the middle of the stream and started again
 * on the same state file. Its rollups and alerts must equal those of a run that was
 * never interrupted: no sample lost or counted twice, no alert opened twice.
 */

const FLEET = { hosts: 40, days: 14, seed: 7, batch_size: 10_000 };
const STREAM = 'RESIN_TELEMETRY';
const dir = mkdtempSync(join(tmpdir(), 'resin-nats-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `resin run` from the TypeScript sources (test/helpers/ts-hooks.mjs), as an operator would start it. */
function startEngine(name: string): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [
    '--import', join(PACKAGE_ROOT, 'test', 'helpers', 'ts-register.mjs'), join(PACKAGE_ROOT, 'engine', 'cli', 'bin.ts'),
    'run', '--pipeline', join(dir, `${name}.yaml`), '--state', join(dir, `${name}.duckdb`),
    '--dead-letter', join(dir, `${name}.rejected.ndjson`), '--log-format', 'json', '--http', 'off',
  ], { stdio: ['ignore', 'ignore', 'pipe'], cwd: PACKAGE_ROOT });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  return { child, stderr: () => err };
}

/** pipelines/nats.yaml for one engine: its own durable consumer, state and alert subjects. */
function writePipeline(name: string, url: string): void {
  const def = parse(readFileSync(join(PACKAGE_ROOT, 'pipelines', 'nats.yaml'), 'utf8'));
  const telemetry = def.nodes.telemetry.options;
  telemetry.servers = url;
  // A short ack wait so that the messages a killed engine held come back within the test;
  // checkpoints every 100k rows, so that a kill finds committed and uncommitted work.
  telemetry.jetstream = { ...telemetry.jetstream, durable: name, ack_wait: '2s', commit_rows: 100_000, commit_interval: '1s' };
  def.nodes.alerts.options = { ...def.nodes.alerts.options, servers: url, prefix: `${name}.alerts` };
  writeFileSync(join(dir, `${name}.yaml`), stringify(def));
}


describeNats('JetStream delivery: resin run killed mid-stream and restarted', () => {
  const server = useNatsServer();
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let published = 0;
  let rows = 0;

  beforeAll(async () => {
    nc = await connect({ servers: server().url });
    jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: STREAM, subjects: ['resin.telemetry.>'] });
    for (const name of ['clean', 'crash']) {
      await jsm.streams.add({ name: `${name.toUpperCase()}_ALERTS`, subjects: [`${name}.alerts.>`], duplicate_window: nanos(600_000) });
      writePipeline(name, server().url);
    }
    const js = nc.jetstream();
    const sim = new FleetSimulator(FLEET);
    const inFlight: Promise<unknown>[] = [];
    for (const batch of sim.batches()) {
      const h = headers();
      h.set(CONTENT_TYPE, ARROW_CONTENT_TYPE);
      inFlight.push(js.publish('resin.telemetry.fleet', tableToIPC(new Table(batch.data), 'stream'), { headers: h, msgID: `fleet-${published}` }));
      published++;
      rows += batch.data.numRows;
      if (inFlight.length >= 16) await inFlight.shift();
    }
    await Promise.all(inFlight);
  });
  afterAll(async () => { await nc?.close(); });

  const consumer = (durable: string) => jsm.consumers.info(STREAM, durable).catch(() => null);
  const finished = async (durable: string) => {
    const c = await consumer(durable);
    return c !== null && c.num_pending === 0 && c.num_ack_pending === 0 && c.ack_floor.stream_seq === published;
  };

  /** Every alert the engine published, in order, as a stream with de-duplication stored them. */
  const storedAlerts = (name: string) => storedJson<Alert>(nc, jsm, `${name.toUpperCase()}_ALERTS`);

  async function rollups(name: string): Promise<Map<string, { mean: number; n: number }>> {
    const store = await DuckDbStore.open(join(dir, `${name}.duckdb`));
    try {
      const rs = await store.query('SELECT epoch_ms(period) AS t, host, component, process, mean, n FROM rollups_v');
      return new Map(rs.map((r) => [`${r.t}|${r.host}|${r.component}|${r.process}`, { mean: r.mean as number, n: r.n as number }]));
    } finally {
      await store.close();
    }
  }

  async function stop(engine: { child: ChildProcess; stderr: () => string }): Promise<void> {
    engine.child.kill('SIGTERM');
    const [code] = await once(engine.child, 'exit');
    expect(code, engine.stderr()).toBe(0);
  }

  it('loses no sample and opens no alert twice', { timeout: 120_000 }, async () => {
    // The reference: one run, never interrupted (beside the other: its own consumer, state and alert subjects).
    const clean = startEngine('clean');
    const reference = until('the clean run to acknowledge every message', 90_000, () => finished('clean')).then(() => stop(clean));
    reference.catch(() => {});

    const crashes: number[] = [];
    const rawEmissions = collectJson<Alert>(nc, 'crash.alerts.>');
    // The first kill lands wherever the engine is at 30%; the second right after an alert went out
    // past half of the stream (if one does before 80%), most likely before the checkpoint covering it.
    for (const [share, onAlert] of [[0.3, false], [0.5, true]] as const) {
      const engine = startEngine('crash');
      await until(`the crash run to acknowledge ${share * 100}% of the stream`, 60_000, async () => {
        const c = await consumer('crash');
        return c !== null && c.ack_floor.stream_seq >= share * published;
      });
      if (onAlert) {
        const seen = rawEmissions.length;
        await until('an alert or 80% of the stream', 60_000, async () => rawEmissions.length > seen
          || ((await consumer('crash'))?.ack_floor.stream_seq ?? 0) >= 0.8 * published);
      }
      engine.child.kill('SIGKILL');
      await once(engine.child, 'exit');
      crashes.push((await consumer('crash'))!.ack_floor.stream_seq);
    }
    const last = startEngine('crash');
    await until('the restarted run to acknowledge every message', 60_000, () => finished('crash'));
    await stop(last);
    await reference;
    // Both kills landed mid-stream.
    for (const acked of crashes) expect(acked).toBeLessThan(published);

    const [want, got] = await Promise.all([rollups('clean'), rollups('crash')]);
    expect(want.size).toBeGreaterThan(1000);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    let samples = 0;
    for (const [key, w] of want) {
      const g = got.get(key)!;
      expect(g.n, key).toBe(w.n);
      expect(g.mean, key).toBeCloseTo(w.mean, 3);
      samples += w.n;
    }
    // The simulator's duplicates are dropped and its few late samples refused; everything else is in a rollup.
    expect(samples).toBeGreaterThan(rows * 0.99);

    const [wantAlerts, gotAlerts] = await Promise.all([storedAlerts('clean'), storedAlerts('crash')]);
    const opened = gotAlerts.filter((a) => a.state === 'open').map((a) => a.id);
    expect(opened.length).toBeGreaterThan(0);
    expect(new Set(opened).size).toBe(opened.length);
    const emission = (a: Alert) => `${a.id} ${a.state} ${a.at}`;
    expect(gotAlerts.map(emission).sort()).toEqual(wantAlerts.map(emission).sort());
    // A plain subscriber may have seen an emission twice (at-least-once: one published before a
    // kill and again after the restart); the stream stored it once, and there was nothing else.
    expect(rawEmissions.length).toBeGreaterThanOrEqual(gotAlerts.length);
    expect([...new Set(rawEmissions.map(emission))].sort()).toEqual(gotAlerts.map(emission).sort());
  });
});
