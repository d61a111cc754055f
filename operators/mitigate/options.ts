import { toMs } from '../../engine/duration.js';
import { ACTION_KINDS, type ActionKind } from '../../engine/mitigation.js';
import { durationSchema } from '../../engine/pipeline/options.js';
import type { OptionsSchema } from '../../engine/spec.js';
import { EXECUTOR_SCHEMA, type ExecutorConfig } from '../../connectors/executors/create.js';
import { CONNECTION_PROPERTIES, type NatsConnectionOptions } from '../../connectors/nats/connection.js';
import { COMMAND_PREFIX } from '../../connectors/executors/commands.js';

/** One action category: who may get it (opt-in) and what carries it out. */
export interface ActionConfig {
  allow: string[];
  executor: ExecutorConfig;
}

export interface ComponentConfig {
  /** The component's own decision tree, lightest first (default: every category in the standard order). */
  tree?: ActionKind[];
  /** Memory a process of the component may use, MB: at or above it the host is failing, and time to exhaustion is measured to it. */
  memory_limit_mb?: number;
}

/** Options of `mitigate` (docs/mitigation.md). */
export interface MitigateOptions {
  dry_run: boolean;
  clock: 'wall' | 'event';
  actions: Partial<Record<ActionKind, ActionConfig>>;
  components: Record<string, ComponentConfig>;
  rate_limit: { global: number; per_cluster: number; window: string | number };
  blast_radius: { max_share: number; min_hosts: number };
  slow_start: { hosts: number; period: string | number; duration: string | number };
  settle: string | number;
  verify_after: string | number;
  protect: string[];
  nats: NatsConnectionOptions;
  command_prefix: string;
  audit_retention: string | number;
  max_targets: number;
}

/** Resolved settings, durations in ms. */
export interface MitigateSettings {
  dryRun: boolean;
  clock: 'wall' | 'event';
  globalLimit: number;
  clusterLimit: number;
  rateWindowMs: number;
  maxShare: number;
  minHosts: number;
  slowStartHosts: number;
  slowStartPeriodMs: number;
  slowStartMs: number;
  settleMs: number;
  verifyMs: number;
  protect: ReadonlySet<string>;
  auditRetentionMs: number;
  maxTargets: number;
}

/** Components that are resin itself: never a target, whatever the configuration says. */
export const ALWAYS_PROTECTED: readonly string[] = ['resin', 'resin-engine', 'resin-agent', 'resin-supervise'];

const actionSchema: OptionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['allow', 'executor'],
  properties: {
    allow: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'components that may get this action (opt-in)' },
    executor: EXECUTOR_SCHEMA,
  },
};

export const MITIGATE_SCHEMA: OptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dry_run: { type: 'boolean', default: true, description: 'decide and record, but act on nothing (the default)' },
    clock: { enum: ['wall', 'event'], default: 'wall', description: 'limits and waits in wall-clock time, or in the alerts\' event time (replays)' },
    actions: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: Object.fromEntries(ACTION_KINDS.map((k) => [k, actionSchema])),
      description: 'action categories: allow-list and executor each',
    },
    components: {
      type: 'object',
      default: {},
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          tree: { type: 'array', items: { enum: [...ACTION_KINDS] }, minItems: 1, uniqueItems: true },
          memory_limit_mb: { type: 'number', exclusiveMinimum: 0 },
        },
      },
      description: 'per component: its decision tree and memory limit',
    },
    rate_limit: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'actions per window: global (20), per_cluster (5), window (1h)',
      properties: {
        global: { type: 'integer', minimum: 0, default: 20, description: 'actions per window, all clusters' },
        per_cluster: { type: 'integer', minimum: 0, default: 5, description: 'actions per window in one cluster' },
        window: durationSchema({ default: '1h' }),
      },
    },
    blast_radius: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'hosts of a component under mitigation at once: max_share (0.1), min_hosts (1)',
      properties: {
        max_share: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.1, description: 'most of a component\'s hosts under mitigation at once' },
        min_hosts: { type: 'integer', minimum: 0, default: 1, description: 'hosts allowed at once however small the component' },
      },
    },
    slow_start: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'a new action reaches hosts (3) distinct hosts per period (24h) for duration (7d)',
      properties: {
        hosts: { type: 'integer', minimum: 1, default: 3, description: 'distinct hosts per period while an action is new' },
        period: durationSchema({ default: '24h' }),
        duration: durationSchema({ default: '7d', description: 'how long an action counts as new after its first use' }),
      },
    },
    settle: durationSchema({ default: '2h', description: 'after an action, alerts are waited out this long while detection sees its effect' }),
    verify_after: durationSchema({ default: '24h', description: 'memory back up within this after settling escalates to the next action' }),
    protect: { type: 'array', items: { type: 'string', minLength: 1 }, default: [], description: 'more components never acted on' },
    nats: {
      type: 'object', additionalProperties: false, default: {}, properties: CONNECTION_PROPERTIES,
      description: 'NATS for the supervisor and agent executors',
    },
    command_prefix: { type: 'string', minLength: 1, default: COMMAND_PREFIX },
    audit_retention: durationSchema({ default: '90d', description: 'decisions older than this are deleted from the state store' }),
    max_targets: { type: 'integer', minimum: 1, default: 100_000, description: 'targets remembered for escalation; the oldest are forgotten beyond' },
  },
};

export function settingsOf(o: MitigateOptions): MitigateSettings {
  return {
    dryRun: o.dry_run,
    clock: o.clock,
    globalLimit: o.rate_limit.global,
    clusterLimit: o.rate_limit.per_cluster,
    rateWindowMs: toMs(o.rate_limit.window),
    maxShare: o.blast_radius.max_share,
    minHosts: o.blast_radius.min_hosts,
    slowStartHosts: o.slow_start.hosts,
    slowStartPeriodMs: toMs(o.slow_start.period),
    slowStartMs: toMs(o.slow_start.duration),
    settleMs: toMs(o.settle),
    verifyMs: toMs(o.verify_after),
    protect: new Set([...ALWAYS_PROTECTED, ...o.protect]),
    auditRetentionMs: toMs(o.audit_retention),
    maxTargets: o.max_targets,
  };
}
