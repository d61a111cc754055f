import {
  AckPolicy, DeliverPolicy, nanos, type ConsumerInfo, type JsMsg, type NatsConnection, type NatsError,
} from 'nats';
import { toMs } from '../../engine/duration.js';
import { SourceError } from '../../engine/errors.js';
import { durationSchema } from '../../engine/pipeline/options.js';
import type { OptionsSchema } from '../../engine/spec.js';

/** A durable pull consumer, as written under `jetstream:` in a pipeline definition. */
export interface JetStreamOptions {
  stream: string;
  durable: string;
  /** Create the stream and the consumer when they do not exist (never changes existing ones). */
  create: boolean;
  /** Subjects of the stream when it is created (default: the source's subject). */
  stream_subjects?: string[];
  /** Age after which the stream drops messages, when it is created. */
  max_age?: string | number;
  /** How long the stream remembers message ids to drop repeats, when it is created (server default 2m). */
  duplicate_window?: string | number;
  /** How long the server waits for an ack before delivering a message again. */
  ack_wait: string | number;
  /** Messages delivered and not yet acknowledged, at most; the server stops delivering beyond. */
  max_ack_pending: number;
}

const NAME = { type: 'string', pattern: '^[^.*>\\s/\\\\]+$' };

export const JETSTREAM_SCHEMA: OptionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['stream', 'durable'],
  description: 'read through a JetStream durable pull consumer instead of a core subscription',
  properties: {
    stream: { ...NAME, description: 'stream name' },
    durable: { ...NAME, description: 'durable consumer name' },
    create: { type: 'boolean', default: false, description: 'create the stream and consumer if missing' },
    stream_subjects: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, description: 'subjects of a created stream' },
    max_age: durationSchema({ description: 'message age limit of a created stream' }),
    duplicate_window: durationSchema({ description: 'message-id de-duplication window of a created stream' }),
    ack_wait: durationSchema({ default: '30s', description: 'redelivery delay of unacknowledged messages' }),
    max_ack_pending: { type: 'integer', minimum: 1, default: 20000, description: 'unacknowledged messages at most' },
  },
};

function notFound(err: unknown): boolean {
  const code = (err as NatsError).jsError?.()?.err_code;
  // 10059: stream not found; 10014: consumer not found.
  return code === 10059 || code === 10014 || (err as NatsError).code === '404';
}

/**
 * The stream and durable consumer the source reads, created when asked. The consumer
 * acknowledges explicitly and filters on the source's subject; an existing one is used
 * as it is (its filter is the operator's to manage).
 */
export async function ensureConsumer(nc: NatsConnection, subject: string, o: JetStreamOptions): Promise<ConsumerInfo> {
  const jsm = await nc.jetstreamManager();
  try {
    await jsm.streams.info(o.stream);
  } catch (err) {
    if (!notFound(err)) throw new SourceError(`JetStream stream "${o.stream}": ${(err as Error).message}`, { cause: err });
    if (!o.create) throw new SourceError(`JetStream stream "${o.stream}" does not exist (set jetstream.create: true to create it)`, { cause: err });
    await jsm.streams.add({
      name: o.stream,
      subjects: o.stream_subjects ?? [subject],
      ...(o.max_age !== undefined ? { max_age: nanos(toMs(o.max_age)) } : {}),
      ...(o.duplicate_window !== undefined ? { duplicate_window: nanos(toMs(o.duplicate_window)) } : {}),
    });
  }
  try {
    return await jsm.consumers.info(o.stream, o.durable);
  } catch (err) {
    if (!notFound(err)) throw new SourceError(`JetStream consumer "${o.durable}": ${(err as Error).message}`, { cause: err });
    if (!o.create) throw new SourceError(`JetStream consumer "${o.durable}" on stream "${o.stream}" does not exist (set jetstream.create: true to create it)`, { cause: err });
    return jsm.consumers.add(o.stream, {
      durable_name: o.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: subject,
      ack_wait: nanos(toMs(o.ack_wait)),
      max_ack_pending: o.max_ack_pending,
    });
  }
}

/** What the source checkpoints: the stream sequences processed but perhaps not yet acknowledged. */
export interface LedgerState {
  readonly stream: string;
  readonly durable: string;
  readonly processed: number[];
}

/**
 * Acknowledgement bookkeeping that turns at-least-once delivery into exactly-once
 * processing. Messages whose rows were emitted wait here until the engine has made
 * their effect durable; the checkpoint records their stream sequences, and only then
 * are they acknowledged. After a crash between the checkpoint and the acks the server
 * delivers them again; the restored ledger recognises them, and they are acknowledged
 * without being processed twice. A message delivered again while still held (its ack
 * wait ran out during a slow batch) is ignored: the held copy's ack settles both.
 * What is remembered is bounded by the unacknowledged messages the consumer allows,
 * and restored sequences are forgotten once the consumer's ack floor passes them.
 */
export class AckLedger {
  private emitted: JsMsg[] = [];
  private snapshot: JsMsg[] = [];
  private readonly held = new Set<number>();
  private skip = new Set<number>();

  constructor(readonly stream: string, readonly durable: string) {}

  /** Whether to process `m`: false for a message processed before a restart (acked now) or already held. */
  accept(m: JsMsg): boolean {
    if (this.skip.size > 0 && this.skip.delete(m.seq)) {
      m.ack();
      return false;
    }
    if (this.held.has(m.seq)) return false;
    this.held.add(m.seq);
    return true;
  }

  /** Messages whose rows are in a batch handed to the engine. */
  emit(msgs: readonly JsMsg[]): void {
    for (const m of msgs) this.emitted.push(m);
  }

  /** Acknowledges messages that put nothing into any batch (every row refused). */
  ackNow(msgs: readonly JsMsg[]): void {
    for (const m of msgs) {
      m.ack();
      this.held.delete(m.seq);
    }
  }

  /** Messages emitted and not yet covered by a checkpoint. */
  get pending(): number {
    return this.emitted.length;
  }

  /** The state for a checkpoint; the messages it covers are acked by `commit`. */
  checkpoint(): LedgerState {
    this.snapshot = this.snapshot.length === 0 ? this.emitted : this.snapshot.concat(this.emitted);
    this.emitted = [];
    const processed = this.snapshot.map((m) => m.seq);
    for (const seq of this.skip) processed.push(seq);
    return { stream: this.stream, durable: this.durable, processed };
  }

  /** The checkpoint was saved: acknowledge what it covers. Returns how many were acked. */
  commit(): number {
    const msgs = this.snapshot;
    this.snapshot = [];
    this.ackNow(msgs);
    return msgs.length;
  }

  restore(state: unknown): void {
    const s = state as LedgerState | null;
    if (!s || s.stream !== this.stream || s.durable !== this.durable) return;
    this.skip = new Set(s.processed);
  }

  /** Forgets sequences the server will not deliver again (at or below the ack floor, or nothing pending). */
  prune(info: ConsumerInfo): void {
    if (info.num_ack_pending === 0) {
      this.skip.clear();
      return;
    }
    for (const seq of this.skip) if (seq <= info.ack_floor.stream_seq) this.skip.delete(seq);
  }

  /** Sequences restored from a checkpoint and not yet seen again. */
  get remembered(): number {
    return this.skip.size;
  }
}
