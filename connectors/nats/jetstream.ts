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
  /**
   * Rows emitted after which a checkpoint is due (and with it the acks); 0 makes every
   * batch a checkpoint. Fewer checkpoints cost less, but a crash repeats more work.
   */
  commit_rows: number;
  /** Longest time emitted rows wait for their checkpoint when `commit_rows` is not reached. */
  commit_interval: string | number;
}

const NAME = { type: 'string', pattern: '^[^.*>\\s/\\\\]+$' };

/** Every batch is checkpointed (and acknowledged) unless a pipeline asks for fewer checkpoints. */
export const COMMIT_DEFAULTS = { rows: 0, interval: '1s' } as const;

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
    commit_rows: { type: 'integer', minimum: 0, default: COMMIT_DEFAULTS.rows, description: 'rows between checkpoints (and acks); 0: after every batch' },
    commit_interval: durationSchema({ default: COMMIT_DEFAULTS.interval, description: 'longest wait of emitted rows for their checkpoint' }),
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

/** When the checkpoint that acknowledges emitted messages is due. */
export interface CommitPolicy {
  /** Rows emitted since the last checkpoint that make one due; 0: every batch. */
  readonly rows: number;
  /** Longest wait of emitted rows for their checkpoint, ms. */
  readonly interval: number;
  /** Messages the consumer lets this engine hold unacknowledged (max_ack_pending). */
  readonly maxAckPending: number;
}

/**
 * Acknowledgement bookkeeping that turns at-least-once delivery into exactly-once
 * processing. Messages whose rows were emitted wait here until the engine has made
 * their effect durable; the checkpoint records their stream sequences, and only then
 * are they acknowledged. After a crash between the checkpoint and the acks the server
 * delivers them again; the restored ledger recognises them, and they are acknowledged
 * without being processed twice.
 *
 * Every message delivered and not yet acknowledged is kept from redelivery (`keepAlive`
 * sends "working" before its ack wait runs out), however long it waits for the engine.
 * A copy delivered anyway (a heartbeat that came too late) is ignored while the first
 * is held, and acknowledged without processing when it arrives just after the first
 * was acknowledged. What is remembered is bounded by the unacknowledged messages the
 * consumer allows, and restored sequences are forgotten once the consumer's ack floor
 * passes them.
 */
export class AckLedger {
  private emitted: JsMsg[] = [];
  private emittedRows = 0;
  private emittedSince = 0;
  private snapshot: JsMsg[] = [];
  private readonly held = new Set<number>();
  private skip = new Set<number>();
  /** Delivered and not acknowledged, by sequence (the latest copy). */
  private readonly outstanding = new Map<number, JsMsg>();
  /** The latest acknowledged sequences, oldest first in a ring of `maxAckPending`. */
  private readonly acked = new Set<number>();
  private readonly ackedRing: Float64Array;
  private ackedNext = 0;

  constructor(readonly stream: string, readonly durable: string, private readonly policy: CommitPolicy) {
    this.ackedRing = new Float64Array(policy.maxAckPending).fill(-1);
  }

  /** A message as the consumer delivers it, before it is read. */
  delivered(m: JsMsg): void {
    this.outstanding.set(m.seq, m);
  }

  /** Whether to process `m`: false for a message processed before (acked now) or already held. */
  accept(m: JsMsg): boolean {
    if ((this.skip.size > 0 && this.skip.delete(m.seq)) || this.acked.has(m.seq)) {
      this.settle(m);
      return false;
    }
    if (this.held.has(m.seq)) return false;
    this.held.add(m.seq);
    return true;
  }

  /** Messages whose rows (`rows` of them) are in a batch handed to the engine. */
  emit(msgs: readonly JsMsg[], rows: number): void {
    if (this.emitted.length === 0) this.emittedSince = performance.now();
    for (const m of msgs) this.emitted.push(m);
    this.emittedRows += rows;
  }

  /** Acknowledges messages that put nothing into any batch (every row refused). */
  ackNow(msgs: readonly JsMsg[]): void {
    for (const m of msgs) this.settle(m);
  }

  private settle(m: JsMsg): void {
    m.ack();
    this.held.delete(m.seq);
    this.outstanding.delete(m.seq);
    if (this.acked.has(m.seq) || this.ackedRing.length === 0) return;
    const old = this.ackedRing[this.ackedNext]!;
    if (old >= 0) this.acked.delete(old);
    this.ackedRing[this.ackedNext] = m.seq;
    this.ackedNext = (this.ackedNext + 1) % this.ackedRing.length;
    this.acked.add(m.seq);
  }

  /** Messages emitted and not yet covered by a checkpoint. */
  get pending(): number {
    return this.emitted.length;
  }

  /**
   * Whether to checkpoint now: the policy's rows or interval are reached, the stream
   * is `quiet` (the last batch was closed by time, not size: holding acks then only
   * delays them), or the engine holds half of what the consumer lets it hold
   * unacknowledged (beyond it the server would stop delivering).
   */
  due(quiet: boolean): boolean {
    if (this.emitted.length === 0) return false;
    const p = this.policy;
    return quiet || this.emittedRows >= p.rows || performance.now() >= this.commitDeadline
      || 2 * (this.emitted.length + this.snapshot.length) >= p.maxAckPending;
  }

  /** When the rows emitted first since the last checkpoint are due for one (a performance.now() time). */
  get commitDeadline(): number {
    return this.emitted.length === 0 ? Infinity : this.emittedSince + this.policy.interval;
  }

  /** The state for a checkpoint; the messages it covers are acked by `commit`. */
  checkpoint(): LedgerState {
    this.snapshot = this.snapshot.length === 0 ? this.emitted : this.snapshot.concat(this.emitted);
    this.emitted = [];
    this.emittedRows = 0;
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

  /** Resets the ack wait of every message delivered and not yet acknowledged. */
  keepAlive(): void {
    for (const m of this.outstanding.values()) m.working();
  }

  /**
   * Gives back every message still unacknowledged (the run is ending): the server
   * delivers them again `delayMs` later, ahead of newer ones, instead of after their
   * ack wait. Without a delay it would hand them straight to this run's last pull
   * request, which it still holds after the subscription is gone, and they would be
   * lost until their ack wait ran out.
   */
  release(delayMs: number): void {
    for (const m of this.outstanding.values()) m.nak(delayMs);
    this.outstanding.clear();
    this.held.clear();
  }

  /** Sequences restored from a checkpoint and not yet seen again. */
  get remembered(): number {
    return this.skip.size;
  }
}

/**
 * The messages a previous run left unacknowledged, put back in stream order. After a
 * crash the server delivers them again only once their ack wait runs out, in no
 * particular order, and newer messages meanwhile: read as they come, a backlog's
 * later samples would move the watermark past its earlier ones, which would then be
 * refused as late. So, when the consumer reports unacknowledged messages at start,
 * everything delivered is held until each of them (stream sequence at or below the
 * highest delivered) has come back, or until `waitMs` has passed (another engine
 * sharing the durable may hold some), and then released sorted by sequence.
 */
export class RedeliveryOrder<M extends { readonly seq: number }> {
  private held: M[] = [];
  private readonly back = new Set<number>();
  private readonly expected: number;
  private readonly top: number;
  readonly deadline: number;

  constructor(info: ConsumerInfo, waitMs: number) {
    this.expected = info.num_ack_pending;
    this.top = info.delivered.stream_seq;
    this.deadline = performance.now() + waitMs;
  }

  /** Whether a consumer in this state has messages to wait for. */
  static needed(info: ConsumerInfo): boolean {
    return info.num_ack_pending > 0;
  }

  offer(m: M): void {
    this.held.push(m);
    if (m.seq <= this.top) this.back.add(m.seq);
  }

  /** Every unacknowledged message is back, or the wait is over. */
  get complete(): boolean {
    return this.back.size >= this.expected || performance.now() >= this.deadline;
  }

  /** Messages whose sequence was below the highest delivered one and came back. */
  get returned(): number {
    return this.back.size;
  }

  /** What was held, in stream order (a sequence delivered twice stays where it was first). */
  release(): M[] {
    const out = this.held;
    this.held = [];
    return out.sort((a, b) => a.seq - b.seq);
  }
}

