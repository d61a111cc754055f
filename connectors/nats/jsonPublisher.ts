import { headers, type ConnectionOptions, type NatsConnection } from 'nats';
import type { NodeContext } from '../../engine/spec.js';
import { connectionOptions, openConnection, type NatsConnectionOptions } from './connection.js';
import { CONTENT_TYPE, isPublishableSubject, JSON_CONTENT_TYPE, MSG_ID, subjectToken } from './subjects.js';

const encoder = new TextEncoder();

/**
 * The NATS end of the JSON sinks (alerts, actions, reports): one connection, opened on
 * the first publish, and JSON messages on `<prefix>.<component>` with a message id
 * that JetStream de-duplicates on, so a record published again after a replay is
 * stored once. When to flush is the sink's choice.
 */
export class JsonPublisher {
  private connection: Promise<NatsConnection> | null = null;
  private readonly connOpts: ConnectionOptions;

  /** Throws at start on a prefix that cannot begin a subject. */
  constructor(readonly prefix: string, options: NatsConnectionOptions, ctx: NodeContext) {
    if (!isPublishableSubject(`${prefix}.x`)) throw new Error(`"prefix" is not a subject prefix: "${prefix}"`);
    this.connOpts = connectionOptions(options, `resin ${ctx.id}`);
  }

  connected(): Promise<NatsConnection> {
    this.connection ??= openConnection(this.connOpts);
    return this.connection;
  }

  /** Publishes one message (not flushed) to `<prefix>.<component>`. */
  publish(nc: NatsConnection, component: string, body: string | Uint8Array, id: string): void {
    const h = headers();
    h.set(CONTENT_TYPE, JSON_CONTENT_TYPE);
    h.set(MSG_ID, id);
    nc.publish(`${this.prefix}.${subjectToken(component)}`, typeof body === 'string' ? encoder.encode(body) : body, { headers: h });
  }

  /** Drains the connection if one was opened (a failed connect was already reported). */
  async drain(): Promise<void> {
    if (!this.connection) return;
    const nc = await this.connection.catch(() => null);
    await nc?.drain();
  }
}
