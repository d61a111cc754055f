import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, tableToIPC } from 'apache-arrow';
import { connect, headers, nanos, type JetStreamManager, type NatsConnection } from 'nats';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { DuckDbStore } from '../../connectors/duckdb/store.js';
import { ARROW_CONTENT_TYPE, CONTENT_TYPE, subjectToken } from '../../connectors/nats/subjects.js';
import { FleetSimulator, type SimulatedBatch } from '../../connectors/simulator/index.js';
import type { Alert } from '../../engine/alert.js';
import { PACKAGE_ROOT } from '../../engine/cli/paths.js';
import { filterBatch } from '../../engine/telemetry/filter.js';
import { dictColumn, floatColumn } from '../../engine/telemetry/schema.js';
import { collectJson, describeNats, storedJson, useNatsServer } from '../helpers/nats.js';
import { until } from '../helpers/until.js';

/**
 * Scale-out, end to end: nats-server partitions the telemetry by component with its
 * own mapping; three `resin run` instances of pipelines/nats-partitioned.yaml share
 * the 12 partitions through leases; one is killed with SIGKILL in the middle of the
 * stream. The other two must take its partitions over and finish them from its
 * checkpoints, so that every component's alerts come out exactly once: the alert
 * stream ends with the same emissions as an instance that ran every partition
 * without interruption, none twice, and the rollups hold every sample once.
 */

// Fewer than the shipped 12: every partition's pipeline flushes its own rollups to its own
// state file once per closed period, and this test pushes 12 days of periods through in seconds.
const PARTITIONS = 6;
const FLEET = { hosts: 12, components: 12, days: 9, interval: '15m', seed: 11, batch_size: 2_000, leak_fraction: 0.06 };
const STREAM = 'RESIN_TELEMETRY';
const INSTANCES = ['a', 'b', 'c'];
const dir = mkdtempSync(join(tmpdir(), 'resin-scaleout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const conf = join(dir, 'nats.conf');
// The deployment's server configuration (docs/scale-out.md); the test server adds its port and store.
writeFileSync(conf, `mappings = {\n  "resin.telemetry.*": "resin.part.{{partition(${PARTITIONS},1)}}.{{wildcard(1)}}"\n}\n`);

interface Engine {
  readonly child: ChildProcess;
  readonly stderr: () => string;
}

/** `resin run --instance NAME` from the TypeScript sources, as an SRE would start it. */
function startInstance(pipeline: string, instance: string, state: string): Engine {
  const child = spawn(process.execPath, [
    '--import', join(PACKAGE_ROOT, 'test', 'helpers', 'ts-register.mjs'), join(PACKAGE_ROOT, 'engine', 'cli', 'bin.ts'),
    'run', '--pipeline', join(dir, `${pipeline}.yaml`), '--instance', instance, '--state', join(dir, state, 'state.duckdb'),
    '--dead-letter', join(dir, state, 'rejected.ndjson'), '--log-format', 'json', '--http', 'off',
  ], { stdio: ['ignore', 'ignore', 'pipe'], cwd: PACKAGE_ROOT });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const engine = { child, stderr: () => err };
  started.set(instance, engine);
  return engine;
}

/**
 * pipelines/nats-partitioned.yaml with test time: leases of 8 s, an ack wait of 2 s,
 * a checkpoint every 20k rows; `name` gets its own durable consumers, lease bucket and
 * alert subjects.
 */
function writePipeline(name: string, url: string): void {
  const def = parse(readFileSync(join(PACKAGE_ROOT, 'pipelines', 'nats-partitioned.yaml'), 'utf8'));
  const telemetry = def.nodes.telemetry.options;
  Object.assign(telemetry, { servers: url, partitions: PARTITIONS, lease: '8s', lease_bucket: `${name.toUpperCase()}_PARTITIONS` });
  telemetry.jetstream = { ...telemetry.jetstream, durable: name, ack_wait: '5s', max_ack_pending: 1000, commit_rows: 20_000, commit_interval: '1s' };
  def.nodes.alerts.options = { ...def.nodes.alerts.options, servers: url, prefix: `${name}.alerts` };
  writeFileSync(join(dir, `${name}.yaml`), stringify(def));
}

/** Every engine started, for the message of a test that times out. */
const started = new Map<string, Engine>();
// A failed test must not leave engines behind.
afterAll(() => { for (const e of started.values()) e.child.kill('SIGKILL'); });
const logs = () => [...started].map(([i, e]) => `--- ${i}:\n${e.stderr().split('\n').filter((l) => !/reading NATS|left unacknowledged/.test(l)).join('\n').slice(-4000)}`).join('\n');

/** `until`, with the engines' logs in the message of a timeout. */
const waitFor = (what: string, ms: number, test: () => Promise<boolean>) => until(what, ms, test, { every: 50, context: logs });

describeNats('scale-out: three instances share the partitions, one is killed mid-stream', () => {
  const server = useNatsServer(['-c', conf]);
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  /** Messages per partition, as the server's mapping placed them. */
  const perPartition = new Array<number>(PARTITIONS).fill(0);
  const components = new Map<string, number>();
  let rows = 0;

  beforeAll(async () => {
    nc = await connect({ servers: server().url });
    jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: STREAM, subjects: ['resin.part.>'] });
    for (const name of ['scaled', 'whole']) {
      await jsm.streams.add({ name: `${name.toUpperCase()}_ALERTS`, subjects: [`${name}.alerts.>`], duplicate_window: nanos(600_000) });
      writePipeline(name, server().url);
    }
    // As agents publish: one Arrow message per component per cycle, on resin.telemetry.<component>.
    // (A message spanning hours would put one component's early samples behind another's
    // late ones in a partition holding both, and the watermark would refuse them.)
    const js = nc.jetstream();
    const inFlight: Promise<unknown>[] = [];
    let published = 0;
    const publish = (batch: SimulatedBatch, component: string, rowsOf: number[]) => {
      const keep = new Uint8Array(batch.data.numRows);
      for (const i of rowsOf) keep[i] = 1;
      const part = filterBatch({ data: batch.data, records: batch.records, source: 'sim', watermark: batch.watermark }, keep, rowsOf.length);
      const h = headers();
      h.set(CONTENT_TYPE, ARROW_CONTENT_TYPE);
      rows += rowsOf.length;
      return js.publish(`resin.telemetry.${subjectToken(component)}`, tableToIPC(new Table(part.data), 'stream'), { headers: h, msgID: `m-${published++}` });
    };
    for (const batch of new FleetSimulator(FLEET).batches()) {
      const comp = dictColumn(batch.data, 'component');
      const ts = floatColumn(batch.data, 'ts');
      let cycle = new Map<number, number[]>();
      let cycleTs = -Infinity;
      const flush = async () => {
        for (const [c, list] of cycle) {
          inFlight.push(publish(batch, comp.values[c]!, list));
          if (inFlight.length >= 64) await inFlight.shift();
        }
        cycle = new Map();
      };
      for (let i = 0; i < batch.data.numRows; i++) {
        // A later timestamp starts the next cycle; a late sample stays in the cycle it arrived with.
        if (ts[i]! > cycleTs) {
          await flush();
          cycleTs = ts[i]!;
        }
        const c = comp.indices[i]!;
        const list = cycle.get(c);
        if (list) list.push(i);
        else cycle.set(c, [i]);
      }
      await flush();
    }
    await Promise.all(inFlight);
    const info = await jsm.streams.info(STREAM, { subjects_filter: '>' });
    for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
      const [, , p, component] = subject.split('.');
      perPartition[Number(p)]! += count;
      components.set(component!, Number(p));
    }
  });
  afterAll(async () => { await nc?.close(); });

  const consumer = (durable: string) => jsm.consumers.info(STREAM, durable).catch(() => null);
  /** Messages of partition p that consumer `name-p` has acknowledged. */
  const acked = async (name: string, p: number) => {
    const c = await consumer(`${name}-${p}`);
    if (c === null) return 0;
    return c.num_pending === 0 && c.num_ack_pending === 0 ? perPartition[p]! : Math.max(0, perPartition[p]! - c.num_pending - c.num_ack_pending);
  };
  const finished = async (name: string) => {
    for (let p = 0; p < PARTITIONS; p++) if (perPartition[p]! > 0 && await acked(name, p) < perPartition[p]!) return false;
    return true;
  };
  /** Who holds each partition, as the lease bucket says. */
  async function holders(name: string): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    // Bound only: the instances create the bucket, with their lease as its keys' age limit.
    const kv = await nc.jetstream().views.kv(`${name.toUpperCase()}_PARTITIONS`, { bindOnly: true }).catch(() => null);
    if (kv === null) return out;
    for (let p = 0; p < PARTITIONS; p++) {
      const e = await kv.get(`partition.${p}`);
      if (e && e.operation === 'PUT') out.set(p, e.string());
    }
    return out;
  }

  const storedAlerts = (name: string) => storedJson<Alert>(nc, jsm, `${name.toUpperCase()}_ALERTS`);

  /** Rollups of every partition's state file under `name/`. */
  async function rollups(name: string): Promise<Map<string, { mean: number; n: number }>> {
    const out = new Map<string, { mean: number; n: number }>();
    for (const file of readdirSync(join(dir, name)).filter((f) => /\.p\d+\.duckdb$/.test(f))) {
      const store = await DuckDbStore.open(join(dir, name, file));
      try {
        const rs = await store.query('SELECT epoch_ms(period) AS t, host, component, process, mean, n FROM rollups_v');
        for (const r of rs) {
          const key = `${r.t}|${r.host}|${r.component}|${r.process}`;
          expect(out.has(key), `${key} in two partitions`).toBe(false);
          out.set(key, { mean: r.mean as number, n: r.n as number });
        }
      } finally {
        await store.close();
      }
    }
    return out;
  }

  async function stop(engine: Engine): Promise<void> {
    engine.child.kill('SIGTERM');
    const [code] = await once(engine.child, 'exit');
    expect(code, engine.stderr()).toBe(0);
  }

  it('takes over the killed instance\'s partitions and produces every alert exactly once', { timeout: 180_000 }, async () => {
    onTestFailed(() => { process.stderr.write(`${logs()}\n`); });
    // The server spread the components over several partitions.
    expect(new Set(components.values()).size).toBeGreaterThanOrEqual(PARTITIONS - 1);

    // The reference: one instance that holds every partition and is never interrupted.
    const whole = startInstance('whole', 'whole', 'whole');
    const reference = waitFor('the reference instance to acknowledge every message', 150_000, () => finished('whole')).then(() => stop(whole));
    reference.catch(() => {});

    const raw = collectJson<Alert>(nc, 'scaled.alerts.>');
    const engines = new Map(INSTANCES.map((i) => [i, startInstance('scaled', i, 'scaled')]));
    // Every instance holds partitions: they found each other through the bucket.
    await waitFor('the three instances to share the partitions', 60_000, async () => {
      const h = await holders('scaled');
      return h.size === PARTITIONS && new Set(h.values()).size === 3;
    });
    // The victim: whichever instance holds the most telemetry.
    const held = await holders('scaled');
    const load = (i: string) => [...held].filter(([p, h]) => h === i && perPartition[p]! > 0).map(([p]) => p);
    const victim = [...INSTANCES].sort((x, y) => load(y).reduce((s, p) => s + perPartition[p]!, 0) - load(x).reduce((s, p) => s + perPartition[p]!, 0))[0]!;
    const survivors = INSTANCES.filter((i) => i !== victim);
    const ofVictim = load(victim);
    expect(ofVictim.length).toBeGreaterThan(0);
    const total = ofVictim.reduce((s, p) => s + perPartition[p]!, 0);
    const progress = async () => {
      let n = 0;
      for (const p of ofVictim) n += await acked('scaled', p);
      return n;
    };
    await waitFor(`instance ${victim} to get through 30% of its partitions`, 60_000, async () => await progress() >= 0.3 * total);
    const killed = engines.get(victim)!;
    killed.child.kill('SIGKILL');
    await once(killed.child, 'exit');
    const atKill = await progress();
    // Killed mid-stream: it had work left.
    expect(atKill).toBeLessThan(total);

    const killedAt = Date.now();
    await waitFor('the survivors to take the killed instance\'s partitions', 60_000, async () => {
      const h = await holders('scaled');
      return ofVictim.every((p) => survivors.includes(h.get(p)!));
    });
    const takenAt = Date.now();
    await waitFor('the survivors to acknowledge every message', 90_000, () => finished('scaled'));
    console.info(`partitions ${ofVictim.join(', ')} of ${victim} (killed at ${Math.round(100 * atKill / total)}%) taken over in ${takenAt - killedAt} ms, finished ${Date.now() - killedAt} ms after the kill`);
    await Promise.all(survivors.map((i) => stop(engines.get(i)!)));
    await reference;

    // Every sample once: the partitions' rollups together are the reference's.
    const [want, got] = await Promise.all([rollups('whole'), rollups('scaled')]);
    expect(want.size).toBeGreaterThan(1000);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    let samples = 0;
    for (const [key, w] of want) {
      expect(got.get(key)!.n, key).toBe(w.n);
      expect(got.get(key)!.mean, key).toBeCloseTo(w.mean, 3);
      samples += w.n;
    }
    expect(samples).toBeGreaterThan(rows * 0.99);

    // Every alert emission once, component by component, the same as the uninterrupted run.
    const [wantAlerts, gotAlerts] = await Promise.all([storedAlerts('whole'), storedAlerts('scaled')]);
    const emission = (a: Alert) => `${a.id} ${a.state} ${a.at}`;
    const byComponent = (alerts: Alert[]) => {
      const m = new Map<string, string[]>();
      for (const a of alerts) m.set(a.component, [...(m.get(a.component) ?? []), emission(a)].sort());
      return m;
    };
    expect(wantAlerts.filter((a) => a.state === 'open').length).toBeGreaterThan(0);
    console.info(`${gotAlerts.length} alert emissions stored for ${byComponent(gotAlerts).size} components, ${raw.length} seen by a plain subscriber`);
    expect(byComponent(gotAlerts)).toEqual(byComponent(wantAlerts));
    const opened = gotAlerts.filter((a) => a.state === 'open').map((a) => a.id);
    expect(new Set(opened).size).toBe(opened.length);
    // A plain subscriber may have seen an emission twice (published by b before its last
    // checkpoint, again by its successor); the stream stored each once.
    expect([...new Set(raw.map(emission))].sort()).toEqual(gotAlerts.map(emission).sort());
  });
});
