import fastJson from 'fast-json-stringify';
import { headers, type NatsConnection } from 'nats';
import { MITIGATION_JSON_SCHEMA, type MitigationDecision } from '../../engine/mitigation.js';
import type { NodeContext, SinkInstance, SinkSpec } from '../../engine/spec.js';
import { CONNECTION_PROPERTIES, connectionOptions, openConnection, type NatsConnectionOptions } from '../nats/connection.js';
import { CONTENT_TYPE, isPublishableSubject, JSON_CONTENT_TYPE, MSG_ID, subjectToken } from '../nats/subjects.js';

export const ACTIONS_PREFIX = 'resin.actions';

export interface ActionNatsOptions extends NatsConnectionOptions {
  /** Decisions go to `<prefix>.<component>`. */
  prefix: string;
}

const stringify = fastJson(MITIGATION_JSON_SCHEMA as never) as (d: MitigationDecision) => string;
const encoder = new TextEncoder();

/**
 * Publishes each decision as JSON (the action-log line) to `<prefix>.<component>`, with
 * the decision id as message id so a stream stores a replayed decision once. Each
 * publish is flushed under the engine's flow control, like alert-nats.
 */
export function actionNats(options: ActionNatsOptions, ctx: NodeContext): SinkInstance<MitigationDecision> {
  const prefix = options.prefix;
  if (!isPublishableSubject(`${prefix}.x`)) throw new Error(`"prefix" is not a subject prefix: "${prefix}"`);
  const connOpts = connectionOptions(options, `resin ${ctx.id}`);
  const published = ctx.metrics.counter('actions_written', { node: ctx.id });
  let connection: Promise<NatsConnection> | null = null;

  const publish = async (d: MitigationDecision) => {
    connection ??= openConnection(connOpts);
    const nc = await connection;
    const h = headers();
    h.set(CONTENT_TYPE, JSON_CONTENT_TYPE);
    h.set(MSG_ID, d.id);
    nc.publish(`${prefix}.${subjectToken(d.component)}`, encoder.encode(stringify(d)), { headers: h });
    published.value++;
    await nc.flush();
  };

  return {
    write(decision) {
      ctx.flow.track(publish(decision));
    },
    async close() {
      if (connection) {
        const nc = await connection.catch(() => null);
        await nc?.drain();
      }
    },
  };
}

export const actionNatsSpec: SinkSpec<ActionNatsOptions, 'actions'> = {
  type: 'action-nats',
  kind: 'sink',
  summary: 'Publishes mitigation decisions as JSON to NATS subjects <prefix>.<component>',
  input: 'actions',
  options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...CONNECTION_PROPERTIES,
      prefix: { type: 'string', minLength: 1, default: ACTIONS_PREFIX, description: 'subject prefix; the component is the last token' },
    },
  },
  create: actionNats,
};
