import fastJson from 'fast-json-stringify';
import { ALERT_JSON_SCHEMA, type Alert } from '../../engine/alert.js';
import type { NodeContext, SinkInstance, SinkSpec } from '../../engine/spec.js';
import { CONNECTION_PROPERTIES, type NatsConnectionOptions } from './connection.js';
import { JsonPublisher } from './jsonPublisher.js';
import { ALERTS_PREFIX } from './subjects.js';

export interface AlertNatsOptions extends NatsConnectionOptions {
  /** Alerts go to `<prefix>.<component>`. */
  prefix: string;
}

const stringifyAlert = fastJson(ALERT_JSON_SCHEMA as never) as (alert: Alert) => string;

/**
 * The id JetStream de-duplicates on: one per emission (an alert id is stable across
 * replays; state and event time tell its open, updates and resolution apart), so an
 * emission repeated after a crash and replay is stored once by a stream on the subject.
 */
export function alertMessageId(alert: Alert): string {
  return `${alert.id}:${alert.state}:${alert.at}`;
}

/**
 * Publishes each alert as JSON (the alert-log line) to `<prefix>.<component>`, with a
 * message id for de-duplication. Publishes of one batch go out together and the batch
 * counts as done only once the server has them (a flush, tracked by the engine), so a
 * checkpoint never covers an alert still sitting in a client buffer. While the server
 * is unreachable the flush waits, and with it the pipeline.
 */
export function alertNats(options: AlertNatsOptions, ctx: NodeContext): SinkInstance<Alert> {
  const publisher = new JsonPublisher(options.prefix, options, ctx);
  const published = ctx.metrics.counter('alerts_written', { node: ctx.id });
  let pending: Alert[] = [];
  let scheduled = false;

  async function publishPending(): Promise<void> {
    const nc = await publisher.connected();
    const alerts = pending;
    pending = [];
    scheduled = false;
    for (const alert of alerts) {
      publisher.publish(nc, alert.component, stringifyAlert(alert), alertMessageId(alert));
      published.value++;
    }
    await nc.flush();
  }

  return {
    write(alert) {
      pending.push(alert);
      if (scheduled) return;
      scheduled = true;
      // Deferred to a microtask: every alert of the current batch is written synchronously first.
      ctx.flow.track(Promise.resolve().then(publishPending));
    },
    async close() {
      if (pending.length > 0) await publishPending();
      await publisher.drain();
    },
  };
}

export const alertNatsSpec: SinkSpec<AlertNatsOptions, 'alerts'> = {
  type: 'alert-nats',
  kind: 'sink',
  summary: 'Publishes alerts as JSON to NATS subjects <prefix>.<component>',
  input: 'alerts',
  options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...CONNECTION_PROPERTIES,
      prefix: { type: 'string', minLength: 1, default: ALERTS_PREFIX, description: 'subject prefix; the component is the last token' },
    },
  },
  create: alertNats,
};
