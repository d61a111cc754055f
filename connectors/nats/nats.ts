import type { JsMsg, Msg, NatsConnection, Subscription } from 'nats';
import { toMs } from '../../engine/duration.js';
import { durationSchema } from '../../engine/pipeline/options.js';
import type { NodeContext, SourceInstance, SourceSpec } from '../../engine/spec.js';
import type { Checkpointable } from '../../engine/state.js';
import { SampleBatchBuilder } from '../../engine/telemetry/builder.js';
import type { SampleBatch } from '../../engine/telemetry/schema.js';
import { ArrowPayloadReader } from './arrowPayload.js';
import { concatSampleBatches } from './concat.js';
import { CONNECTION_PROPERTIES, connectionOptions, describeServers, openConnection, type NatsConnectionOptions } from './connection.js';
import { Inbox } from './inbox.js';
import { AckLedger, COMMIT_DEFAULTS, ensureConsumer, JETSTREAM_SCHEMA, RedeliveryOrder, type JetStreamOptions } from './jetstream.js';
import { JsonPayloadReader } from './jsonPayload.js';
import { PARTITION_PROPERTIES, PARTITION_TOKEN } from './partitions.js';
import { ARROW_CONTENT_TYPE, CONTENT_TYPE, isSubscribableSubject, TELEMETRY_PREFIX } from './subjects.js';

export interface NatsSourceOptions extends NatsConnectionOptions {
  /** Subject(s) to read; wildcards allowed. JetStream takes exactly one (the consumer's filter). */
  subject: string | string[];
  /** Core NATS queue group: each message goes to one member of the group. */
  queue?: string;
  /** Read through a JetStream durable pull consumer instead of a core subscription. */
  jetstream?: JetStreamOptions;
  /** Rows per batch at most (an Arrow message is never split, so one batch may exceed it). */
  batch_size: number;
  /** How long a batch stays open for more rows after its first message. */
  max_wait: string | number;
  /** Core NATS: messages held while the engine is busy; beyond it the oldest are dropped and counted. */
  max_pending: number;
  /** Scale-out: the stream is split into this many partitions, shared by `resin run` instances (partitions.ts). */
  partitions?: number;
  /** Scale-out: how long an instance's hold on a partition lasts without renewal. */
  lease?: string | number;
  /** Scale-out: the KV bucket holding the leases. */
  lease_bucket?: string;
}

/** A message as taken off the connection; `seq` numbers it for records and dead letters. */
interface Received {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly arrow: boolean;
  readonly seq: number;
  readonly js: JsMsg | null;
}

/** A batch ready for the engine and the JetStream messages whose rows completed with it. */
interface Ready {
  readonly batch: SampleBatch;
  readonly msgs: JsMsg[];
}

/**
 * Bytes one pull asks the server for. A pull of 1,024 Arrow messages of 10k rows is
 * over 500 MB: the server would queue it for this connection all at once, call the
 * engine a slow consumer while a batch keeps it busy, and drop what it could not
 * write, which then comes back only after its ack wait. A few MB keep the pipe full.
 */
const PULL_BYTES = 16 * 1024 * 1024;

/** Time the connection gets to close before messages given back on close are delivered again. */
const RELEASE_DELAY_MS = 1000;

/** Waits for `p` at most `ms`; failures and timeouts alike just end the wait (used while closing). */
async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => { timer = setTimeout(r, ms); })]).catch(() => {});
  clearTimeout(timer);
}

function isArrow(m: Msg | JsMsg): boolean {
  return m.headers?.get(CONTENT_TYPE) === ARROW_CONTENT_TYPE;
}

/**
 * Telemetry from NATS. Each message holds samples of the canonical schema, as Arrow
 * IPC stream bytes (header `Content-Type: application/vnd.apache.arrow.stream`) or as
 * JSON (NDJSON, an object, or an array of objects). Rows are gathered into batches of
 * up to `batch_size` rows, closed early `max_wait` after their first message so that
 * a trickle is not held back. Arrow and JSON rows go into separate batches (Arrow
 * batches are joined column-wise, JSON rows go through the batch builder).
 *
 * Core NATS is at-most-once: what arrives while the engine is not running is gone,
 * and a backlog beyond `max_pending` drops its oldest messages (counted as
 * `nats_messages_dropped{reason=backlog}`). JetStream is at-least-once delivery made
 * exactly-once processing: a message is acknowledged only after the checkpoint that
 * covers the batch holding its rows (after every batch, or as `commit_rows` and
 * `commit_interval` space them), messages delivered again after a crash are
 * recognised by their stream sequence (see AckLedger) and read in stream order (see
 * RedeliveryOrder), and what a stopping run did not process is given back.
 */
export function natsSource(options: NatsSourceOptions, ctx: NodeContext): SourceInstance<SampleBatch> & Checkpointable {
  if (options.partitions !== undefined) {
    throw new Error('"partitions": a partitioned source runs one pipeline per partition, which `resin run` starts for the partitions its instance holds');
  }
  const subjects = Array.isArray(options.subject) ? options.subject : [options.subject];
  for (const s of subjects) if (s.includes(PARTITION_TOKEN)) throw new Error(`"subject": "${s}" holds ${PARTITION_TOKEN}, which needs "partitions"`);
  for (const s of subjects) if (!isSubscribableSubject(s)) throw new Error(`"subject": "${s}" is not a valid subject`);
  const js = options.jetstream ?? null;
  if (js && subjects.length !== 1) throw new Error('"subject": a JetStream consumer reads one subject (use a wildcard such as resin.telemetry.>)');
  if (js && options.queue !== undefined) throw new Error('"queue" applies to core subscriptions; JetStream consumers share work through their durable name');
  const maxWait = toMs(options.max_wait);
  if (!(maxWait > 0)) throw new Error(`"max_wait" must be greater than 0, got ${options.max_wait}`);
  const connOpts = connectionOptions(options, `resin ${ctx.id}`);
  const source = `nats:${subjects.join(',')}`;
  const batchSize = options.batch_size;

  const metrics = {
    messages: ctx.metrics.counter('nats_messages_in', { node: ctx.id }),
    bytes: ctx.metrics.counter('nats_bytes_in', { node: ctx.id }),
    dropped: ctx.metrics.counter('nats_messages_dropped', { node: ctx.id, reason: 'backlog' }),
    skipped: ctx.metrics.counter('nats_messages_skipped', { node: ctx.id, reason: 'already_processed' }),
    acked: ctx.metrics.counter('nats_messages_acked', { node: ctx.id }),
  };
  // JetStream bounds deliveries by max_ack_pending, so its inbox never needs to drop.
  const inbox = new Inbox<Received>(js ? js.max_ack_pending * 2 : options.max_pending);
  const ackWait = js ? toMs(js.ack_wait) : 0;
  if (js && !(ackWait > 0)) throw new Error(`"jetstream.ack_wait" must be greater than 0, got ${js.ack_wait}`);
  const commitInterval = js ? toMs(js.commit_interval ?? COMMIT_DEFAULTS.interval) : 0;
  if (js && !(commitInterval >= 0)) throw new Error(`"jetstream.commit_interval" must not be negative, got ${js.commit_interval}`);
  const ledger = js
    ? new AckLedger(js.stream, js.durable, { rows: js.commit_rows ?? COMMIT_DEFAULTS.rows, interval: commitInterval, maxAckPending: js.max_ack_pending })
    : null;
  let keepAlive: NodeJS.Timeout | undefined;
  /** Whether the last batch was closed by max_wait rather than by size. */
  let quiet = false;
  /** Set at start while messages a previous run left unacknowledged are coming back. */
  let recovery: RedeliveryOrder<Received> | null = null;
  /** Messages taken out of the inbox to be read first (the recovered ones, in stream order). */
  let backlog: Received[] = [];
  let backlogAt = 0;
  const jsonReader = new JsonPayloadReader(ctx.deadLetter);
  const arrowReader = new ArrowPayloadReader(ctx.deadLetter);

  let nc: NatsConnection | null = null;
  const subscriptions: Subscription[] = [];
  let consumerMessages: { close(): Promise<void | Error> } | null = null;
  let received = 0;
  /** Subscribed (or consuming) and not disconnected since: what the readiness probe asks. */
  let connected = false;

  // Gathering state: JSON rows in the builder, Arrow batches in `arrowParts`.
  const builder = new SampleBatchBuilder(source, batchSize);
  let jsonMsgs: JsMsg[] = [];
  let arrowParts: SampleBatch[] = [];
  let arrowRows = 0;
  let arrowMsgs: JsMsg[] = [];
  /** Messages that put no row into any batch (all refused): acked with the next batch, or on their own. */
  let emptyMsgs: JsMsg[] = [];
  const ready: Ready[] = [];

  const cutJson = () => {
    ready.push({ batch: builder.build(), msgs: jsonMsgs });
    jsonMsgs = [];
  };
  const cutArrow = () => {
    ready.push({ batch: concatSampleBatches(arrowParts, source), msgs: arrowMsgs });
    arrowParts = [];
    arrowRows = 0;
    arrowMsgs = [];
  };

  function take(m: Received): void {
    metrics.messages.value++;
    metrics.bytes.value += m.data.byteLength;
    const origin = { subject: m.subject, seq: m.seq };
    let rows: number;
    if (m.arrow) {
      rows = arrowReader.read(m.data, origin, arrowParts);
      arrowRows += rows;
      if (m.js) (rows > 0 ? arrowMsgs : emptyMsgs).push(m.js);
      if (arrowRows >= batchSize) cutArrow();
    } else {
      rows = jsonReader.read(m.data, origin, builder, cutJson);
      // Added after its rows: a message cut across two batches is acked with the second.
      if (m.js) (rows > 0 ? jsonMsgs : emptyMsgs).push(m.js);
      if (builder.full) cutJson();
    }
  }

  async function start(): Promise<void> {
    nc = await openConnection(connOpts);
    const conn = nc;
    void (async () => {
      for await (const s of conn.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect') {
          connected = s.type === 'reconnect';
          ctx.log.warn(`NATS ${s.type}`, { server: String(s.data) });
        }
      }
    })().catch(() => {});
    if (js && ledger) {
      const info = await ensureConsumer(conn, subjects[0]!, js);
      ledger.prune(info);
      if (RedeliveryOrder.needed(info)) {
        recovery = new RedeliveryOrder(info, 2 * ackWait + 1000);
        ctx.log.info('reading in stream order the messages the previous run left unacknowledged: waiting for them to come back', {
          unacknowledged: info.num_ack_pending, ack_wait_ms: ackWait,
        });
      }
      // Held messages are kept from redelivery however long the engine takes to reach them.
      keepAlive = setInterval(() => ledger.keepAlive(), ackWait / 3);
      keepAlive.unref();
      const consumer = await conn.jetstream().consumers.get(js.stream, js.durable);
      consumerMessages = await consumer.consume({
        max_bytes: PULL_BYTES,
        callback: (m) => {
          ledger.delivered(m);
          inbox.push({ subject: m.subject, data: m.data, arrow: isArrow(m), seq: m.seq, js: m });
        },
      });
      connected = true;
      ctx.log.info('reading NATS JetStream', { servers: describeServers(options.servers), stream: js.stream, durable: js.durable, subject: subjects[0] });
      return;
    }
    for (const subject of subjects) {
      subscriptions.push(conn.subscribe(subject, {
        ...(options.queue !== undefined ? { queue: options.queue } : {}),
        callback: (err, m) => {
          if (err) {
            ctx.log.warn('NATS subscription error', { subject, error: err.message });
            return;
          }
          inbox.push({ subject: m.subject, data: m.data, arrow: isArrow(m), seq: ++received, js: null });
        },
      }));
    }
    // The server knows the subscriptions once this returns: nothing published after it is missed.
    await conn.flush();
    connected = true;
    ctx.log.info('reading NATS', { servers: describeServers(options.servers), subjects: subjects.join(','), queue: options.queue ?? null });
  }

  /** Holds what arrives until the messages a previous run left unacknowledged are back, then queues all of it in stream order. */
  async function recover(r: RedeliveryOrder<Received>): Promise<void> {
    while (!ctx.signal.aborted && !inbox.closed) {
      for (let m = inbox.shift(); m !== undefined; m = inbox.shift()) r.offer(m);
      if (r.complete) break;
      await inbox.wait(r.deadline, ctx.signal);
    }
    backlog = r.release();
    backlogAt = 0;
    recovery = null;
    ctx.log.info('messages left unacknowledged are back', { returned: r.returned, held: backlog.length });
  }

  /** The next message: the recovered ones first, then the inbox. */
  function next(): Received | undefined {
    if (backlogAt < backlog.length) {
      const m = backlog[backlogAt]!;
      backlog[backlogAt++] = undefined as never;
      if (backlogAt === backlog.length) { backlog = []; backlogAt = 0; }
      return m;
    }
    return inbox.shift();
  }

  /**
   * Takes messages until a batch is full or `max_wait` has passed since the first one
   * (or since the last batch, for rows left over from it).
   */
  async function gather(): Promise<void> {
    const signal = ctx.signal;
    if (recovery !== null) await recover(recovery);
    // Rows emitted and not yet checkpointed must not wait for a next message to be committed.
    if (builder.length === 0 && arrowRows === 0 && backlog.length === 0) await inbox.wait(ledger ? ledger.commitDeadline : Infinity, signal);
    const deadline = performance.now() + maxWait;
    while (ready.length === 0 && !signal.aborted && !(inbox.closed && inbox.length === 0 && backlog.length === 0)) {
      const m = next();
      if (m !== undefined) {
        if (m.js && !ledger!.accept(m.js)) {
          metrics.skipped.value++;
          continue;
        }
        take(m);
        continue;
      }
      if (performance.now() >= deadline) break;
      await inbox.wait(deadline, signal);
    }
    if (inbox.dropped > 0) {
      metrics.dropped.value += inbox.dropped;
      ctx.log.warn('NATS backlog full: oldest messages dropped', { dropped: inbox.dropped, max_pending: options.max_pending });
      inbox.dropped = 0;
    }
    // Closed by time rather than by size: the stream is quiet, so there is no reason to hold acks back.
    quiet = ready.length === 0;
    if (ready.length === 0) {
      if (builder.length > 0) cutJson();
      if (arrowRows > 0) cutArrow();
    }
    if (emptyMsgs.length > 0) {
      if (ready.length > 0) ready[ready.length - 1]!.msgs.push(...emptyMsgs);
      else ledger?.ackNow(emptyMsgs);
      emptyMsgs = [];
    }
  }

  return {
    async *read() {
      await start();
      while (!ctx.signal.aborted && !inbox.closed) {
        await gather();
        // Nothing arrived before emitted rows were due for their checkpoint: an empty batch
        // gives the engine the turn between batches in which it checkpoints.
        if (ready.length === 0 && ledger !== null && ledger.pending > 0 && !ctx.signal.aborted) ready.push({ batch: builder.build(), msgs: [] });
        while (ready.length > 0) {
          const { batch, msgs } = ready.shift()!;
          // Recorded before the engine sees the batch: the checkpoint after it must cover these.
          ledger?.emit(msgs, batch.data.numRows);
          yield batch;
        }
      }
    },

    ready() {
      return connected && nc !== null && !nc.isClosed();
    },

    checkpointDue() {
      return ledger !== null && ledger.due(quiet);
    },

    checkpoint() {
      return ledger ? ledger.checkpoint() : null;
    },

    restore(state: unknown) {
      ledger?.restore(state);
    },

    async committed() {
      if (!ledger) return;
      metrics.acked.value += ledger.commit();
    },

    async close() {
      connected = false;
      inbox.close();
      clearInterval(keepAlive);
      // Messages the server sent before this round trip arrive before it ends, and are given back
      // below; closing the consumer first would drop them, and they would wait out their ack wait.
      if (consumerMessages !== null && nc !== null) await withTimeout(nc.flush(), 2000);
      await consumerMessages?.close().catch(() => {});
      ledger?.release(Math.min(RELEASE_DELAY_MS, ackWait));
      for (const s of subscriptions) s.unsubscribe();
      // Acks and naks go out before the connection closes (close() alone drops unsent bytes):
      // messages held and not processed are given back, and the server delivers them again.
      if (nc !== null) {
        const conn: NatsConnection = nc;
        nc = null;
        await withTimeout(conn.flush(), 2000);
        await conn.close().catch(() => {});
      }
    },
  };
}

export const natsSourceSpec: SourceSpec<NatsSourceOptions, 'samples'> = {
  type: 'nats',
  kind: 'source',
  summary: 'Reads telemetry (Arrow IPC or JSON samples) from NATS subjects or a JetStream durable consumer',
  output: 'samples',
  options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...CONNECTION_PROPERTIES,
      subject: {
        type: ['string', 'array'],
        default: `${TELEMETRY_PREFIX}.>`,
        description: 'subject or subjects to read (wildcards allowed)',
        anyOf: [
          { type: 'string', minLength: 1 },
          { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
        ],
      },
      queue: { type: 'string', minLength: 1, description: 'queue group (core NATS): each message to one member' },
      jetstream: JETSTREAM_SCHEMA,
      batch_size: { type: 'integer', minimum: 1, default: 65536, description: 'rows per batch at most' },
      max_wait: durationSchema({ default: '100ms', description: 'time a batch waits for more rows after its first message' }),
      max_pending: { type: 'integer', minimum: 1, default: 100000, description: 'core NATS: messages held before the oldest are dropped' },
      ...PARTITION_PROPERTIES,
    },
  },
  create: natsSource,
};
