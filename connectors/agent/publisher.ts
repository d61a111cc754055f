import { Table, tableToIPC } from 'apache-arrow';
import { connect, headers, type ConnectionOptions, type NatsConnection } from 'nats';
import type { Logger } from '../../engine/log.js';
import type { Metrics } from '../../engine/metrics.js';
import { describeServers } from '../nats/connection.js';
import { ARROW_CONTENT_TYPE, CONTENT_TYPE, HOST_HEADER, MSG_ID, subjectToken } from '../nats/subjects.js';
import type { Cycle } from './sampler.js';

/** One NATS message: a component's samples of one cycle as Arrow IPC stream bytes. */
export interface Outgoing {
  readonly subject: string;
  readonly data: Uint8Array;
  /** `<host>:<component>:<ts>`: the same cycle sent twice (a retry) is stored once by JetStream. */
  readonly msgId: string;
}

/** A cycle's messages, encoded when sampled so that the buffer holds compact bytes. */
export function encodeCycle(cycle: Cycle, host: string, prefix: string): Outgoing[] {
  return cycle.components.map(({ component, batch }) => ({
    subject: `${prefix}.${subjectToken(component)}`,
    data: tableToIPC(new Table(batch), 'stream'),
    msgId: `${host}:${component}:${cycle.ts}`,
  }));
}

export interface PublisherOptions {
  readonly connection: ConnectionOptions;
  /**
   * `jetstream`: each message is acknowledged by the stream that stores it (a cycle
   * is done only when all its messages are stored); `core`: a flush round trip
   * confirms the server has them, with no promise that anyone stored them.
   */
  readonly mode: 'jetstream' | 'core';
  /** Cycles kept while NATS is unreachable; the oldest are dropped beyond it. */
  readonly buffer: number;
  /** Longest wait for a publish (or a connection attempt) before the cycle is kept for later. */
  readonly timeoutMs: number;
  readonly host: string;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/**
 * Publishes cycles in order and keeps the ones it could not, up to a bound. NATS
 * being down never blocks sampling: a cycle that cannot be published within the
 * timeout stays queued and is retried on the next cycle; past `buffer` cycles the
 * oldest is dropped and counted (`agent_cycles_dropped`). Connecting is retried on
 * each attempt, so an agent may start before its server.
 */
export class CyclePublisher {
  private readonly queue: Outgoing[][] = [];
  private nc: NatsConnection | null = null;
  private connecting: Promise<NatsConnection | null> | null = null;
  private connected = false;
  private down = false;
  private readonly counters;

  constructor(readonly options: PublisherOptions) {
    if (!Number.isInteger(options.buffer) || options.buffer < 1) throw new RangeError(`"buffer" must be a positive integer, got ${options.buffer}`);
    const m = options.metrics;
    this.counters = {
      published: m.counter('agent_messages_published'),
      cycles: m.counter('agent_cycles_published'),
      dropped: m.counter('agent_cycles_dropped'),
      failures: m.counter('agent_publish_failures'),
    };
  }

  /** Cycles waiting to be published. */
  get pending(): number {
    return this.queue.length;
  }

  enqueue(messages: Outgoing[]): void {
    this.queue.push(messages);
    while (this.queue.length > this.options.buffer) {
      this.queue.shift();
      this.counters.dropped.value++;
      this.options.log.warn('NATS unreachable for too long: oldest buffered cycle dropped', {
        buffer: this.options.buffer, dropped_total: this.counters.dropped.value,
      });
    }
  }

  /** Publishes queued cycles, oldest first, until one fails; resolves to the number published. */
  async flush(): Promise<number> {
    let done = 0;
    while (this.queue.length > 0) {
      const nc = await this.connection();
      if (nc === null || !(await this.publish(nc, this.queue[0]!))) {
        this.counters.failures.value++;
        if (!this.down) this.options.log.warn('cannot publish to NATS: keeping cycles for later', { pending: this.queue.length });
        this.down = true;
        break;
      }
      if (this.down) this.options.log.info('publishing to NATS again', { pending: this.queue.length - 1 });
      this.down = false;
      this.counters.published.value += this.queue[0]!.length;
      this.counters.cycles.value++;
      this.queue.shift();
      done++;
    }
    return done;
  }

  private async publish(nc: NatsConnection, messages: Outgoing[]): Promise<boolean> {
    if (!this.connected) return false;
    const { host, timeoutMs, mode } = this.options;
    const headersOf = (m: Outgoing) => {
      const h = headers();
      h.set(CONTENT_TYPE, ARROW_CONTENT_TYPE);
      h.set(MSG_ID, m.msgId);
      h.set(HOST_HEADER, host);
      return h;
    };
    try {
      if (mode === 'jetstream') {
        const js = nc.jetstream({ timeout: timeoutMs });
        await Promise.all(messages.map((m) => js.publish(m.subject, m.data, { msgID: m.msgId, headers: headersOf(m) })));
      } else {
        for (const m of messages) nc.publish(m.subject, m.data, { headers: headersOf(m) });
        await withTimeout(nc.flush(), timeoutMs);
      }
      return true;
    } catch (err) {
      this.options.log.debug('publish failed', { error: (err as Error).message });
      return false;
    }
  }

  /** The connection, opened on first use and after a failed attempt; null while unreachable. */
  private async connection(): Promise<NatsConnection | null> {
    if (this.nc !== null && !this.nc.isClosed()) return this.nc;
    this.connecting ??= this.open().finally(() => { this.connecting = null; });
    return this.connecting;
  }

  private async open(): Promise<NatsConnection | null> {
    try {
      const nc = await connect({ ...this.options.connection, timeout: this.options.timeoutMs });
      this.nc = nc;
      this.connected = true;
      this.options.log.info('connected to NATS', { servers: describeServers(this.options.connection.servers ?? '') });
      void (async () => {
        for await (const s of nc.status()) {
          if (s.type === 'disconnect') this.connected = false;
          else if (s.type === 'reconnect') this.connected = true;
        }
      })().catch(() => {});
      return nc;
    } catch (err) {
      this.options.log.debug('cannot connect to NATS', { error: (err as Error).message });
      return null;
    }
  }

  /** Tries once more to publish what is queued, then closes the connection. */
  async close(): Promise<void> {
    if (this.queue.length > 0 && this.nc !== null) await this.flush();
    const nc = this.nc;
    this.nc = null;
    if (nc !== null && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}
