import { alertLogSpec } from '../connectors/alerts/alert-log.js';
import { discardSpec } from '../connectors/discard/discard.js';
import { alertNatsSpec } from '../connectors/nats/alert-nats.js';
import { natsSourceSpec } from '../connectors/nats/nats.js';
import { watermarkSpec } from '../operators/time/watermark.js';
import { Registry } from './pipeline/registry.js';
import type { NodeSpec } from './spec.js';

/** Every node type a pipeline definition can name; the one place that assembles them. */
export const NODE_SPECS: readonly NodeSpec[] = [
  watermarkSpec,
  alertLogSpec,
  discardSpec,
  natsSourceSpec,
  alertNatsSpec,
];

let registry: Registry | null = null;

export function defaultRegistry(): Registry {
  registry ??= new Registry(NODE_SPECS);
  return registry;
}
