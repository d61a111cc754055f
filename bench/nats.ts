import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, tableToIPC } from 'apache-arrow';
import { AckPolicy, connect, headers, type JetStreamManager } from 'nats';
import { parse } from 'yaml';
import { DuckDbStore } from '../connectors/duckdb/store.js';
import { ARROW_CONTENT_TYPE, CONTENT_TYPE } from '../connectors/nats/subjects.js';
import { FleetSimulator } from '../connectors/simulator/index.js';
import { PACKAGE_ROOT } from '../engine/cli/paths.js';
import { MemoryDeadLetter } from '../engine/deadLetter.js';
import { silentLogger, type Logger } from '../engine/log.js';
import { Metrics } from '../engine/metrics.js';
import { defaultRegistry } from '../engine/nodes.js';
import { compile } from '../engine/pipeline/compile.js';
import type { PipelineDefinition } from '../engine/pipeline/definition.js';
import { runPipeline } from '../engine/runtime.js';
import { startNatsServer } from '../test/helpers/natsServer.js';
import { flag, measureRows, printRows, saveResults, type RowTask } from './lib.js';

/**
 * End-to-end NATS throughput: a simulated fleet published as Arrow IPC messages
 * (10k rows each) through a real nats-server into the engine, pass-through and with
 * the default detection chain (pipelines/nats.yaml), over core NATS and JetStream,
 * beside the nats client's own ceiling in the same run (the same publishes, received
 * by a plain subscription or consumer and nothing else). Publisher and engine share
 * this process, so the figures are for one core plus the server's.
 *
 *   npm run bench:nats -- --rows 5000000 --iterations 3
 */
const rows = flag('rows', 5_000_000);
const iterations = flag('iterations', 3);
const perMessage = flag('message-rows', 10_000);
/** `--only TEXT`: run just the tasks whose name contains TEXT (their ceilings too). */
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] ?? '' : '';
/** Core NATS has no flow control: a flush round trip every this many messages keeps the subscriber from falling behind. */
const CORE_WINDOW = 32;
/** JetStream publishes awaiting their ack at once. */
const JS_IN_FLIGHT = 16;
const CORE_SUBJECT = 'bench.core.fleet';
const JS_SUBJECT = 'bench.js.fleet';
const STREAM = 'BENCH';
/** The commit policy of pipelines/nats.yaml. */
const COMMIT_ROWS = 1_000_000;
const COMMIT_INTERVAL = '5s';

const dir = mkdtempSync(join(tmpdir(), 'resin-bench-nats-'));
const server = await startNatsServer();
const nc = await connect({ servers: server.url });
const jsm = await nc.jetstreamManager();

/** The fleet as IPC messages, encoded before anything is timed. */
function encodeFleet(): Uint8Array[] {
  // 2,000 hosts x 4 components sampled every 5 minutes, as in the replay benchmark.
  const sim = new FleetSimulator({ hosts: 2000, components: 4, days: 30, seed: 1, batch_size: perMessage });
  const out: Uint8Array[] = [];
  let n = 0;
  for (const batch of sim.batches()) {
    if (n >= rows) break;
    out.push(tableToIPC(new Table(batch.data), 'stream'));
    n += batch.data.numRows;
  }
  if (n < rows) throw new Error(`the simulated fleet has ${n} samples, fewer than --rows ${rows}`);
  return out;
}

const messages = encodeFleet();
const total = messages.length * perMessage;
const arrowHeaders = () => {
  const h = headers();
  h.set(CONTENT_TYPE, ARROW_CONTENT_TYPE);
  return h;
};

async function publishCore(subject: string): Promise<void> {
  for (let i = 0; i < messages.length; i++) {
    nc.publish(subject, messages[i]!, { headers: arrowHeaders() });
    if (i % CORE_WINDOW === CORE_WINDOW - 1) await nc.flush();
  }
  await nc.flush();
}

async function publishJetStream(subject: string): Promise<void> {
  const js = nc.jetstream();
  const inFlight: Promise<unknown>[] = [];
  for (const data of messages) {
    inFlight.push(js.publish(subject, data, { headers: arrowHeaders() }));
    if (inFlight.length >= JS_IN_FLIGHT) await inFlight.shift();
  }
  await Promise.all(inFlight);
}

async function freshStream(m: JetStreamManager): Promise<void> {
  await m.streams.delete(STREAM).catch(() => {});
  await m.streams.add({ name: STREAM, subjects: [`${JS_SUBJECT.split('.').slice(0, 2).join('.')}.>`] });
}

function until(done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (done() ? resolve() : setTimeout(check, 1));
    check();
  });
}

// --- the client alone --------------------------------------------------------------

async function coreCeiling(): Promise<void> {
  const sub = nc.subscribe(CORE_SUBJECT);
  let got = 0;
  const received = (async () => {
    for await (const m of sub) {
      got += m.data.byteLength > 0 ? perMessage : 0;
      if (got >= total) break;
    }
  })();
  await nc.flush();
  await publishCore(CORE_SUBJECT);
  await received;
  sub.unsubscribe();
}

async function jetStreamCeiling(): Promise<void> {
  const info = await jsm.consumers.add(STREAM, { durable_name: 'ceiling', ack_policy: AckPolicy.Explicit, max_ack_pending: 20000 });
  let got = 0;
  let finish!: () => void;
  const received = new Promise<void>((r) => { finish = r; });
  const consumer = await nc.jetstream().consumers.get(STREAM, info.name);
  const messagesIn = await consumer.consume({
    max_messages: 1024,
    callback: (m) => {
      m.ack();
      got += perMessage;
      if (got >= total) finish();
    },
  });
  await publishJetStream(JS_SUBJECT);
  await received;
  await messagesIn.close();
  await nc.flush();
}

// --- the engine ----------------------------------------------------------------------

interface Engine {
  metrics: Metrics;
  stop: AbortController;
  run: Promise<unknown>;
  store: DuckDbStore;
}

/** pipelines/nats.yaml, or the pass-through, reading this server's `subject` (through JetStream when `commitRows` is set). */
function definition(pipeline: 'passthrough' | 'default', subject: string, jetstream: { commitRows: number } | null): PipelineDefinition {
  const options: Record<string, unknown> = { servers: server.url, subject, batch_size: 65536, max_wait: '10ms' };
  if (jetstream) {
    options.jetstream = {
      stream: STREAM, durable: 'engine', create: true, ack_wait: '60s', commit_rows: jetstream.commitRows, commit_interval: COMMIT_INTERVAL,
    };
  } else {
    // The whole fleet may be queued while the engine works: nothing may be dropped from the measurement.
    options.max_pending = messages.length;
  }
  const telemetry = { type: 'nats', options };
  if (pipeline === 'passthrough') {
    return { name: 'nats-passthrough', nodes: { telemetry, sink: { type: 'discard', inputs: ['telemetry'] } } };
  }
  const def = parse(readFileSync(join(PACKAGE_ROOT, 'pipelines', 'nats.yaml'), 'utf8')) as PipelineDefinition;
  def.nodes.telemetry = telemetry;
  def.nodes.alerts!.options = { ...def.nodes.alerts!.options, servers: server.url };
  return def;
}

let engine: Engine | null = null;

async function startEngine(def: PipelineDefinition): Promise<void> {
  const graph = compile(def, defaultRegistry());
  const metrics = new Metrics();
  const stop = new AbortController();
  const state = join(dir, `state-${Date.now()}.duckdb`);
  const store = await DuckDbStore.open(state);
  let listening!: () => void;
  const ready = new Promise<void>((r) => { listening = r; });
  const log: Logger = { ...silentLogger, child: () => log, info: (msg: string) => { if (msg.startsWith('reading NATS')) listening(); } };
  const run = runPipeline({
    nodes: graph.nodes, specs: defaultRegistry(), metrics, deadLetter: new MemoryDeadLetter(metrics), log, store, signal: stop.signal,
  });
  run.catch(() => {});
  await Promise.race([ready, run]);
  engine = { metrics, stop, run, store };
}

/** Publishes the fleet and waits until the engine has read all of it and drained. */
async function throughEngine(publish: () => Promise<void>): Promise<void> {
  const e = engine!;
  await publish();
  await until(() => e.metrics.total('rows_out', { node: 'telemetry' }) >= total);
  e.stop.abort();
  await e.run;
}

async function stopEngine(): Promise<void> {
  const e = engine;
  engine = null;
  if (!e) return;
  e.stop.abort();
  await e.run.catch(() => {});
  await e.store.close();
  if (e.metrics.total('rows_out', { node: 'telemetry' }) !== total) {
    throw new Error(`the engine read ${e.metrics.total('rows_out', { node: 'telemetry' })} samples of ${total}`);
  }
}

function engineTask(name: string, pipeline: 'passthrough' | 'default', mode: 'core' | { commitRows: number }, ceiling: string): RowTask {
  const js = mode === 'core' ? null : mode;
  return {
    name, rows: total, ceiling,
    beforeEach: async () => {
      if (js) await freshStream(jsm);
      await startEngine(definition(pipeline, js ? JS_SUBJECT : CORE_SUBJECT, js));
    },
    fn: () => throughEngine(() => (js ? publishJetStream(JS_SUBJECT) : publishCore(CORE_SUBJECT))),
    afterEach: stopEngine,
  };
}

const CORE_CEILING = 'core: nats client publish + subscribe (ceiling)';
const JS_CEILING = 'jetstream: nats client publish + consume + ack (ceiling)';
try {
  const tasks: RowTask[] = [
    { name: CORE_CEILING, rows: total, fn: coreCeiling },
    engineTask('core: engine pass-through', 'passthrough', 'core', CORE_CEILING),
    engineTask('core: engine default pipeline', 'default', 'core', 'core: engine pass-through'),
    { name: JS_CEILING, rows: total, beforeEach: () => freshStream(jsm), fn: jetStreamCeiling },
    engineTask('jetstream: engine pass-through, checkpoint per batch', 'passthrough', { commitRows: 0 }, JS_CEILING),
    engineTask(`jetstream: engine pass-through, checkpoint per ${COMMIT_ROWS / 1e6}M rows or ${COMMIT_INTERVAL}`, 'passthrough', { commitRows: COMMIT_ROWS }, JS_CEILING),
    engineTask('jetstream: engine default pipeline, checkpoint per batch', 'default', { commitRows: 0 }, JS_CEILING),
    engineTask(`jetstream: engine default pipeline, checkpoint per ${COMMIT_ROWS / 1e6}M rows or ${COMMIT_INTERVAL}`, 'default', { commitRows: COMMIT_ROWS }, JS_CEILING),
  ];
  const chosen = tasks.filter((t) => t.name.includes(only));
  const wanted = tasks.filter((t) => chosen.includes(t) || chosen.some((c) => c.ceiling === t.name));
  const results = await measureRows('nats', wanted, { iterations });
  printRows(`${total.toLocaleString('en-US')} samples as ${messages.length} Arrow messages of ${perMessage.toLocaleString('en-US')} rows through nats-server (median of ${iterations} runs; publisher and engine on one core)`, [['nats', results]]);
  console.log(`\nresults: ${saveResults('nats', results)}`);
} finally {
  await stopEngine().catch(() => {});
  await nc.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
