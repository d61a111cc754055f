import { formatMs, toMs } from '../../engine/duration.js';
import { ConfigError, type ConfigIssue } from '../../engine/errors.js';
import { durationSchema } from '../../engine/pipeline/options.js';
import { profilerFactory, type ProfilerFactory } from '../../engine/profilers.js';

/** Options of `diagnose`; docs/diagnosis.md ("Diagnosis stage") says what each decides. */
export interface DiagnoseOptions {
  /** Profilers to try on a target, in order: the first that accepts it profiles it. */
  profilers: string[];
  /** Options of each profiler by name (the simulated profiler takes the simulator's options). */
  profiler_options: Record<string, unknown>;
  /** Time the stage runs on: `event` (the alerts' event time, for replays) or `wall` (live processes). */
  clock: 'event' | 'wall';
  /** Processes of one component profiled at once: the most suspect first. */
  top: number;
  /** Most profiling sessions started per cluster in any hour, references included. */
  per_cluster_hour: number;
  /** Time between heap snapshots. */
  period: string | number;
  /** Snapshots kept per trace (a ring: the oldest goes). */
  ring: number;
  /** Fewest snapshots before a trigger may complete a trace. */
  min_snapshots: number;
  /** Memory the completion triggers look at: this much of the recent past. */
  trigger_window: string | number;
  /** A trace ends after this long whatever the triggers say. */
  time_limit: string | number;
  /** Severities in the same step of this size tie, so that pattern clarity and impact decide. */
  severity_step: number;
  /** Impact of profiling a process: its rss, a per-host table, or none. */
  impact: 'rss' | 'host' | 'none';
  /** Impact per host when `impact` is host (e.g. customer VMs on it); hosts not listed count 0. */
  impact_by_host: Record<string, number>;
  /** Stacks per report. */
  stacks: number;
  /** At the end of the input: finish open traces as they stand, or (event clock) run them to their triggers or time limit. */
  on_end: 'finish' | 'drain';
  /** A diagnosed alert is not profiled again until it has been quiet this long. */
  retention: string | number;
  references: ReferenceOptions;
}

export interface ReferenceOptions {
  enabled: boolean;
  /** Healthy processes sampled when no stored reference matches. */
  hosts: number;
  /** How long a reference process is traced. */
  duration: string | number;
  /** References older than this are not used and are expired from the store. */
  max_age: string | number;
  /** A stack grows on a reference when it gained more than this share of the reference's memory. */
  min_growth: number;
  /** A stack is dropped when it grew on more than this share of the reference sets. */
  quorum: number;
  /** A reference whose memory grew by more than this share, with a growth pattern, leaks: it is discarded. */
  max_memory_growth: number;
}

export const DIAGNOSE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['profilers'],
  properties: {
    profilers: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    profiler_options: { type: 'object', default: {} },
    clock: { enum: ['event', 'wall'], default: 'wall' },
    top: { type: 'integer', minimum: 1, default: 3 },
    per_cluster_hour: { type: 'integer', minimum: 1, default: 5 },
    period: durationSchema({ default: '30m' }),
    ring: { type: 'integer', minimum: 3, maximum: 1000, default: 8 },
    min_snapshots: { type: 'integer', minimum: 3, default: 3 },
    trigger_window: durationSchema({ default: '6h' }),
    time_limit: durationSchema({ default: '24h' }),
    severity_step: { type: 'number', exclusiveMinimum: 0, default: 1 },
    impact: { enum: ['rss', 'host', 'none'], default: 'rss' },
    impact_by_host: { type: 'object', additionalProperties: { type: 'number' }, default: {} },
    stacks: { type: 'integer', minimum: 1, maximum: 1000, default: 10 },
    on_end: { enum: ['finish', 'drain'], default: 'finish' },
    retention: durationSchema({ default: '7d' }),
    references: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        hosts: { type: 'integer', minimum: 1, maximum: 100, default: 2 },
        duration: durationSchema({ default: '2h' }),
        max_age: durationSchema({ default: '7d' }),
        min_growth: { type: 'number', minimum: 0, default: 0.001 },
        quorum: { type: 'number', minimum: 0, maximum: 1, default: 0.5 },
        max_memory_growth: { type: 'number', minimum: 0, default: 0.02 },
      },
    },
  },
} as const;

/** Durations in ms and the profiler factories, checked together so that every problem is reported at once. */
export interface Resolved {
  period: number;
  triggerWindow: number;
  timeLimit: number;
  retention: number;
  refDuration: number;
  refMaxAge: number;
  profilers: { name: string; factory: ProfilerFactory }[];
}

export function resolveDiagnose(o: DiagnoseOptions, node: string): Resolved {
  const issues: ConfigIssue[] = [];
  const ms = (field: string, value: string | number | undefined, fallback: string): number => {
    try {
      const v = toMs(value ?? fallback);
      if (!(v > 0)) issues.push({ node, field: `options.${field}`, message: 'must be greater than 0' });
      return v;
    } catch (err) {
      issues.push({ node, field: `options.${field}`, message: (err as Error).message });
      return NaN;
    }
  };
  const refs = o.references ?? ({} as Partial<ReferenceOptions>);
  const r: Resolved = {
    period: ms('period', o.period, '30m'),
    triggerWindow: ms('trigger_window', o.trigger_window, '6h'),
    timeLimit: ms('time_limit', o.time_limit, '24h'),
    retention: ms('retention', o.retention, '7d'),
    refDuration: ms('references.duration', refs.duration, '2h'),
    refMaxAge: ms('references.max_age', refs.max_age, '7d'),
    profilers: [],
  };
  (o.profilers ?? []).forEach((name, i) => {
    try {
      r.profilers.push({ name, factory: profilerFactory(name) });
    } catch (err) {
      issues.push({ node, field: `options.profilers[${i}]`, message: (err as Error).message });
    }
  });
  if (r.profilers.length === 0 && issues.length === 0) issues.push({ node, field: 'options.profilers', message: 'must name at least one profiler' });
  const least = (o.min_snapshots ?? 3) * r.period;
  if (r.timeLimit < least) {
    issues.push({ node, field: 'options.time_limit', message: `must allow min_snapshots snapshots one period apart (${formatMs(least)}), got ${formatMs(r.timeLimit)}` });
  }
  if ((o.ring ?? 8) < (o.min_snapshots ?? 3)) issues.push({ node, field: 'options.ring', message: 'must hold at least min_snapshots snapshots' });
  if (issues.length) throw new ConfigError(issues);
  return r;
}
