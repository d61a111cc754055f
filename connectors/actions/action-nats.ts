import fastJson from 'fast-json-stringify';
import { MITIGATION_JSON_SCHEMA, type MitigationDecision } from '../../engine/mitigation.js';
import type { NodeContext, SinkInstance, SinkSpec } from '../../engine/spec.js';
import { CONNECTION_PROPERTIES, type NatsConnectionOptions } from '../nats/connection.js';
import { JsonPublisher } from '../nats/jsonPublisher.js';

export const ACTIONS_PREFIX = 'resin.actions';

export interface ActionNatsOptions extends NatsConnectionOptions {
  /** Decisions go to `<prefix>.<component>`. */
  prefix: string;
}

const stringify = fastJson(MITIGATION_JSON_SCHEMA as never) as (d: MitigationDecision) => string;

/**
 * Publishes each decision as JSON (the action-log line) to `<prefix>.<component>`, with
 * the decision id as message id so a stream stores a replayed decision once. Each
 * publish is flushed under the engine's flow control, like alert-nats.
 */
export function actionNats(options: ActionNatsOptions, ctx: NodeContext): SinkInstance<MitigationDecision> {
  const publisher = new JsonPublisher(options.prefix, options, ctx);
  const published = ctx.metrics.counter('actions_written', { node: ctx.id });

  const publish = async (d: MitigationDecision) => {
    const nc = await publisher.connected();
    publisher.publish(nc, d.component, stringify(d), d.id);
    published.value++;
    await nc.flush();
  };

  return {
    write(decision) {
      ctx.flow.track(publish(decision));
    },
    async close() {
      await publisher.drain();
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
