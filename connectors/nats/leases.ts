import { StorageType, type JetStreamManager, type KV, type NatsConnection, type NatsError } from 'nats';
import { SourceError } from '../../engine/errors.js';
import type { Logger } from '../../engine/log.js';
import type { Metrics } from '../../engine/metrics.js';
import { assignPartitions } from './assign.js';
import { connectionOptions, openConnection } from './connection.js';
import type { PartitionPlan } from './partitions.js';
import { sleep } from '../../engine/sleep.js';

/** What an instance does with a partition it holds (engine/cli/partitioned.ts runs its pipeline). */
export interface PartitionWork {
  /** The partition was just leased: start on it. */
  start(p: number): void;
  /** Stop working on `p` (the lease was lost, or it goes to another instance); resolves once stopped. */
  stop(p: number): Promise<void>;
}

/** JetStream's "wrong last sequence": another instance renewed or took the key meanwhile. */
const WRONG_LAST_SEQUENCE = 10071;

const memberKey = (instance: string) => `member.${instance}`;
const partitionKey = (p: number) => `partition.${p}`;
const encoder = new TextEncoder();

function errorCode(err: unknown): number | undefined {
  return (err as NatsError).api_error?.err_code;
}

/**
 * Partition ownership through NATS alone: a KV bucket whose keys expire `lease` after
 * their last write (the bucket's max age, kept by the server, so no clocks are
 * compared). Each instance writes `member.<instance>` and, for each partition it holds,
 * `partition.<p>`, every third of the lease. A partition is taken with a create (only
 * if absent) and renewed with an update against the revision this instance last wrote,
 * so two instances can never both renew one lease: the second gets "wrong last
 * sequence" and stops at once. An instance that cannot renew for most of a lease (cut
 * off from NATS) stops its partitions too, since another may take them when the key
 * expires.
 *
 * Which partitions to hold follows from the live members (assign.ts), recomputed each
 * round: when an instance dies its member key and leases expire and the others take
 * its partitions; when one joins, the others stop the partitions that are now its and
 * delete their leases, and it takes them. The lease of a partition being stopped is
 * renewed until its work has stopped (engine/cli/partitioned.ts abandons the
 * partition's pipeline run), then deleted.
 */
export class PartitionLeases {
  /** Partitions held: the revision of our last write of the lease. */
  private readonly held = new Map<number, number>();
  /** performance.now() at which each held lease's last successful renewal was sent. */
  private readonly renewedAt = new Map<number, number>();
  /** Partitions being stopped (lost or handed over), until their work has stopped. */
  private readonly stopping = new Map<number, Promise<void>>();
  private members: string[] = [];
  private leaving = false;
  /** performance.now() of the first round: partitions are taken only a lease after it. */
  private joinedAt = -1;
  private readonly gauge;
  private readonly changes;
  /** Not disconnected since the connection opened (the readiness probe asks). */
  private up = true;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly kv: KV,
    private readonly plan: PartitionPlan,
    readonly instance: string,
    private readonly log: Logger,
    metrics: Metrics,
  ) {
    this.gauge = metrics.gauge('partitions_held', { instance });
    this.changes = (what: 'taken' | 'released' | 'lost') => metrics.counter('partition_leases', { instance, event: what });
    void (async () => {
      for await (const st of nc.status()) {
        if (st.type === 'disconnect' || st.type === 'reconnect') {
          this.up = st.type === 'reconnect';
          log.warn(`NATS ${st.type} (lease bucket)`, { server: String(st.data) });
        }
      }
    })().catch(() => {});
  }

  /** Connects and opens the lease bucket (created with the plan's lease as its max age when missing). */
  static async open(plan: PartitionPlan, instance: string, log: Logger, metrics: Metrics): Promise<PartitionLeases> {
    const nc = await openConnection(connectionOptions(plan.connection, `resin ${instance} leases`));
    try {
      // A request that takes longer than a round is as good as lost: the next round tries again.
      const timeout = Math.max(1000, plan.leaseMs / 3);
      const jsm = await nc.jetstreamManager({ timeout });
      const kv = await nc.jetstream({ timeout }).views.kv(plan.bucket, {
        ttl: plan.leaseMs, history: 1, storage: StorageType.Memory,
        description: `resin partition leases: ${plan.count} partitions`,
      });
      const status = await kv.status();
      // Instances that disagree on the lease or the partition count would hand partitions back and forth.
      if (status.ttl !== plan.leaseMs) {
        throw new SourceError(`"lease" is ${plan.leaseMs} ms but the bucket ${plan.bucket} expires leases after ${status.ttl} ms: give every instance the same lease (or delete the bucket: nats kv rm ${plan.bucket})`);
      }
      const count = /(\d+) partitions/.exec(status.description)?.[1];
      if (count !== undefined && Number(count) !== plan.count) {
        throw new SourceError(`"partitions" is ${plan.count} but the bucket ${plan.bucket} was created for ${count}: give every instance the same count (and the server mapping's partition(n, ...) the same n)`);
      }
      return new PartitionLeases(nc, jsm, kv, plan, instance, log, metrics);
    } catch (err) {
      await nc.close().catch(() => {});
      throw err instanceof SourceError ? err : new SourceError(`lease bucket ${plan.bucket}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Connected to NATS (the readiness probe asks). */
  get connected(): boolean {
    return this.up && !this.nc.isClosed();
  }

  /** Partitions held now, in order. */
  get partitions(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /**
   * Holds partitions and runs `work` on them until `signal` aborts; then stops every
   * partition, deletes its lease so that the others take it at once (rather than after
   * it expires), leaves, and closes the connection.
   */
  async run(work: PartitionWork, signal: AbortSignal): Promise<void> {
    const every = this.plan.leaseMs / 3;
    try {
      for (;;) {
        // Rounds start on a fixed cadence, however long the last one took to come back.
        const next = performance.now() + every;
        if (signal.aborted && !this.leaving) {
          this.leaving = true;
          await this.kv.delete(memberKey(this.instance)).catch(() => {});
        }
        const started = performance.now();
        await this.round(work);
        const took = performance.now() - started;
        if (took > every) this.log.warn('lease round took longer than a third of the lease', { ms: Math.round(took), lease_ms: this.plan.leaseMs });
        if (this.leaving && this.held.size === 0 && this.stopping.size === 0) break;
        await sleep(Math.max(0, next - performance.now()), this.leaving ? undefined : signal);
      }
    } finally {
      this.gauge.value = 0;
      await this.nc.close().catch(() => {});
    }
  }

  /** One round: say we are alive, renew what we hold, hand over what is no longer ours, take what is. */
  private async round(work: PartitionWork): Promise<void> {
    if (this.joinedAt < 0) this.joinedAt = performance.now();
    // All at once: the pipelines share this event loop, and renewals one after the
    // other would each wait their turn behind a batch.
    await Promise.all([
      this.leaving ? null : this.kv.put(memberKey(this.instance), encoder.encode(this.instance)).catch((err) => this.unreachable(err)),
      ...[...this.held.keys()].map((p) => this.renew(p, work)),
    ]);
    if (!this.leaving) {
      const members = await this.liveMembers();
      if (members !== null) this.members = members;
    }
    const owner = this.leaving ? [] : assignPartitions(this.plan.count, this.members);
    for (const p of [...this.held.keys()]) {
      if (owner[p] !== this.instance && !this.stopping.has(p)) this.handOver(p, work);
    }
    // Instances started together see each other within a lease: taking partitions before
    // that would start pipelines only to hand them over a moment later.
    if (performance.now() - this.joinedAt >= this.plan.leaseMs) {
      const wanted: number[] = [];
      for (let p = 0; p < this.plan.count; p++) {
        if (owner[p] === this.instance && !this.held.has(p) && !this.stopping.has(p)) wanted.push(p);
      }
      await Promise.all(wanted.map((p) => this.take(p, work)));
    }
    this.gauge.value = this.held.size;
  }

  /**
   * Members whose key is alive: the subjects the bucket's stream holds a message for
   * (one request, no consumer), less those whose last message is a delete.
   */
  private async liveMembers(): Promise<string[] | null> {
    try {
      const prefix = `$KV.${this.plan.bucket}.`;
      const info = await this.jsm.streams.info(`KV_${this.plan.bucket}`, { subjects_filter: `${prefix}member.>` });
      const names = Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length + 'member.'.length));
      const entries = await Promise.all(names.map((n) => this.kv.get(memberKey(n))));
      const out = names.filter((_, i) => entries[i]?.operation === 'PUT');
      if (!out.includes(this.instance)) out.push(this.instance);
      return out;
    } catch (err) {
      this.unreachable(err);
      return null;
    }
  }

  private async take(p: number, work: PartitionWork): Promise<void> {
    const sent = performance.now();
    try {
      const rev = await this.kv.create(partitionKey(p), encoder.encode(this.instance));
      this.held.set(p, rev);
      this.renewedAt.set(p, sent);
    } catch (err) {
      // Held by another instance (its lease has not expired yet): try again next round.
      if (errorCode(err) !== WRONG_LAST_SEQUENCE) this.unreachable(err);
      return;
    }
    this.changes('taken').value++;
    this.log.info('partition taken', { partition: p, members: this.members.length });
    work.start(p);
  }

  private async renew(p: number, work: PartitionWork): Promise<void> {
    // The lease runs from when the server stored the write, which is after this: counting
    // from here errs on the safe side when the answer is read late.
    const sent = performance.now();
    try {
      this.held.set(p, await this.kv.update(partitionKey(p), encoder.encode(this.instance), this.held.get(p)!));
      this.renewedAt.set(p, sent);
      return;
    } catch (err) {
      if (errorCode(err) === WRONG_LAST_SEQUENCE) {
        const entry = await this.kv.get(partitionKey(p)).catch(() => null);
        this.lose(p, work, entry?.operation === 'PUT' ? `instance ${entry.string()} holds the lease` : 'the lease expired before it was renewed');
        return;
      }
      this.unreachable(err);
    }
    // Not renewed: once the lease may have expired on the server, another instance may hold it.
    if (performance.now() - this.renewedAt.get(p)! > this.plan.leaseMs * 0.8) this.lose(p, work, 'lease not renewed in time');
  }

  /** The lease is gone: stop at once, and never write it again. */
  private lose(p: number, work: PartitionWork, reason: string): void {
    this.held.delete(p);
    this.renewedAt.delete(p);
    this.changes('lost').value++;
    this.log.warn('partition lease lost: stopping it', { partition: p, reason });
    this.track(p, work.stop(p));
  }

  /** Ours, but no longer meant to be: stop, then delete the lease so the new owner takes it now. */
  private handOver(p: number, work: PartitionWork): void {
    this.log.info('handing partition over', { partition: p, leaving: this.leaving });
    this.track(p, work.stop(p).then(async () => {
      const rev = this.held.get(p);
      if (rev === undefined) return;
      this.held.delete(p);
      this.renewedAt.delete(p);
      await this.kv.delete(partitionKey(p), { previousSeq: rev }).catch(() => {});
      this.changes('released').value++;
      this.log.info('partition released', { partition: p });
    }));
  }

  private track(p: number, stopped: Promise<void>): void {
    const done = stopped
      .catch((err) => this.log.error('stopping a partition failed', { partition: p, error: (err as Error).message }))
      .finally(() => this.stopping.delete(p));
    this.stopping.set(p, done);
  }

  private unreachable(err: unknown): void {
    this.log.warn('lease bucket unreachable', { bucket: this.plan.bucket, error: (err as Error).message });
  }
}
