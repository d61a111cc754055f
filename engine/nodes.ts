import { alertLogSpec } from '../connectors/alerts/alert-log.js';
import { discardSpec } from '../connectors/discard/discard.js';
import { fileSourceSpec } from '../connectors/file/source.js';
import { simulatorSpec } from '../connectors/simulator/source.js';
import { processDetectSpec } from '../operators/detect/process-detect.js';
import { bucketAnomalySpec } from '../operators/level1/bucket-anomaly.js';
import { bucketizeSpec } from '../operators/level1/bucketize.js';
import { rollupSpec } from '../operators/rollup/rollup.js';
import { alertNatsSpec } from '../connectors/nats/alert-nats.js';
import { natsSourceSpec } from '../connectors/nats/nats.js';
import { otlpSourceSpec } from '../connectors/otlp/otlp.js';
import { prometheusSourceSpec } from '../connectors/prometheus/prometheus.js';
import { reportFilesSpec } from '../connectors/reports/report-files.js';
import { reportNatsSpec } from '../connectors/reports/report-nats.js';
import { watermarkSpec } from '../operators/time/watermark.js';
import { mitigateSpec } from '../operators/mitigate/mitigate.js';
import { actionLogSpec } from '../connectors/actions/action-log.js';
import { actionNatsSpec } from '../connectors/actions/action-nats.js';
import { diagnoseSpec } from '../operators/diagnose/diagnose.js';
import { reportLogSpec } from '../connectors/reports/report-log.js';
import { Registry } from './pipeline/registry.js';
import type { NodeSpec } from './spec.js';

/** Every node type a pipeline definition can name; the one place that assembles them. */
export const NODE_SPECS: readonly NodeSpec[] = [
  fileSourceSpec,
  simulatorSpec,
  watermarkSpec,
  rollupSpec,
  bucketizeSpec,
  bucketAnomalySpec,
  processDetectSpec,
  alertLogSpec,
  discardSpec,
  natsSourceSpec,
  alertNatsSpec,
  mitigateSpec,
  actionLogSpec,
  actionNatsSpec,
  otlpSourceSpec,
  prometheusSourceSpec,
  reportFilesSpec,
  reportNatsSpec,
  diagnoseSpec,
  reportLogSpec,
];

let registry: Registry | null = null;

export function defaultRegistry(): Registry {
  registry ??= new Registry(NODE_SPECS);
  return registry;
}
