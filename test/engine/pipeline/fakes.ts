import type { NodeSpec, OperatorSpec, SinkSpec, SourceSpec } from '../../../engine/spec.js';
import { ConfigError, formatIssue } from '../../../engine/errors.js';
import { compile } from '../../../engine/pipeline/compile.js';
import { durationSchema } from '../../../engine/pipeline/options.js';
import { Registry } from '../../../engine/pipeline/registry.js';

// Compiling never builds a node, so the fakes only describe ports and options.
const unbuilt = (): never => {
  throw new Error('compile must not build nodes');
};

export const simulator: SourceSpec = {
  type: 'simulator',
  kind: 'source',
  output: 'samples',
  summary: 'fake sample source',
  options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      hosts: { type: 'integer', minimum: 1, default: 10 },
      interval: durationSchema({ default: '5m' }),
    },
  },
  create: unbuilt,
};

export const rollup: OperatorSpec = {
  type: 'rollup',
  kind: 'operator',
  input: 'samples',
  output: 'rollups',
  summary: 'fake hourly rollup',
  options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      period: durationSchema({ default: '1h' }),
      lateness: durationSchema({ default: '10m' }),
      outliers: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: { method: { enum: ['iqr', 'none'], default: 'iqr' }, k: { type: 'number', default: 3 } },
      },
    },
  },
  create: unbuilt,
};

export const bucketize: OperatorSpec = {
  type: 'bucketize',
  kind: 'operator',
  input: 'rollups',
  output: 'buckets',
  summary: 'fake bucketization',
  options: {
    type: 'object',
    additionalProperties: false,
    properties: { sizes_mb: { type: 'array', items: { type: 'number', exclusiveMinimum: 0 }, default: [50, 100, 200] } },
  },
  create: unbuilt,
};

export const bucketDetect: OperatorSpec = {
  type: 'bucket-detect',
  kind: 'operator',
  input: 'buckets',
  output: 'alerts',
  summary: 'fake level-1 detection',
  options: {
    type: 'object',
    additionalProperties: false,
    required: ['size_mb'],
    properties: { size_mb: { type: 'number' }, score: { type: 'number', default: 10 }, window: durationSchema({ default: '15d' }) },
  },
  create: unbuilt,
};

export const unionAlerts: OperatorSpec = {
  type: 'union-alerts',
  kind: 'operator',
  input: 'alerts',
  output: 'alerts',
  maxInputs: 2,
  summary: 'fake alert merge',
  options: { type: 'object', additionalProperties: false, properties: {} },
  create: unbuilt,
};

export const alertLog: SinkSpec = {
  type: 'alert-log',
  kind: 'sink',
  input: 'alerts',
  summary: 'fake alert sink',
  options: {
    type: 'object',
    additionalProperties: false,
    properties: { path: { type: 'string', default: 'alerts.ndjson' } },
  },
  create: unbuilt,
};

export const rollupStore: SinkSpec = {
  type: 'rollup-store',
  kind: 'sink',
  input: 'rollups',
  maxInputs: 1,
  summary: 'fake rollup sink',
  options: { type: 'object', additionalProperties: false, properties: {} },
  create: unbuilt,
};

export const ALL: NodeSpec[] = [simulator, rollup, bucketize, bucketDetect, unionAlerts, alertLog, rollupStore];

export function fakeRegistry(): Registry {
  return new Registry(ALL);
}

/** The formatted issues of a definition that must not compile. */
export function issuesOf(def: unknown, registry: Registry = fakeRegistry()): string[] {
  try {
    compile(def, registry);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map(formatIssue);
  }
  throw new Error('expected a ConfigError');
}

/** A valid definition: samples -> hourly -> buckets -> detect -> alerts, with hourly also stored. */
export function validDefinition(): Record<string, any> {
  return {
    name: 'fleet',
    description: 'level-1 detection',
    nodes: {
      samples: { type: 'simulator', options: { hosts: 3 } },
      hourly: { type: 'rollup', inputs: ['samples'], options: { lateness: '20m' } },
      buckets: { type: 'bucketize', inputs: ['hourly'] },
      detect: { type: 'bucket-detect', inputs: ['buckets'], options: { size_mb: 200, score: 40 } },
      alerts: { type: 'alert-log', inputs: ['detect'] },
      store: { type: 'rollup-store', inputs: ['hourly'] },
    },
  };
}
