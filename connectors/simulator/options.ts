import { toMs } from '../../engine/duration.js';
import { durationSchema, resolveOptions as checkedOptions } from '../../engine/pipeline/options.js';
import type { NodeSpec, OptionsSchema } from '../../engine/spec.js';

/** Options of the `simulator` source, as written in a pipeline definition. */
export interface SimulatorOptions {
  /** Hosts in the fleet. */
  hosts: number;
  /** Components (kinds of process); the catalogue repeats with numbered names past 12. */
  components: number;
  /** Simulated span in days. */
  days: number;
  /** Sampling interval, e.g. "5m". */
  interval: string | number;
  seed: number;
  /** First sample time, ISO 8601. */
  start: string;
  /** Share of (host, component) pairs with a leak; at least one pair when above 0. */
  leak_fraction: number;
  /** Rows per emitted batch. */
  batch_size: number;
  /** Where to write the ground truth as JSON before the first batch. */
  ground_truth?: string;
  /** Multiplier of the white sample noise of every component (0 = none). */
  noise: number;
  /** Real background variation ("alibaba") or none. */
  background: 'alibaba' | 'none';
  /** Share of samples lost, on top of whole-host agent gaps. */
  missing_rate: number;
  /** Share of samples sent twice; the copy arrives up to 10 minutes later. */
  duplicate_rate: number;
  /** Share of samples that arrive late (out of order), up to 10 minutes. */
  late_rate: number;
}

export const SIMULATOR_OPTIONS_SCHEMA: OptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    hosts: { type: 'integer', minimum: 1, maximum: 10_000_000, default: 300 },
    components: { type: 'integer', minimum: 1, maximum: 1000, default: 6 },
    days: { type: 'number', exclusiveMinimum: 0, maximum: 3650, default: 21 },
    interval: durationSchema({ default: '5m' }),
    seed: { type: 'integer', default: 1 },
    start: { type: 'string', minLength: 1, default: '2026-01-01T00:00:00Z' },
    leak_fraction: { type: 'number', minimum: 0, maximum: 1, default: 0.03 },
    batch_size: { type: 'integer', minimum: 1, maximum: 16_777_216, default: 65536 },
    ground_truth: { type: 'string', minLength: 1 },
    noise: { type: 'number', minimum: 0, maximum: 100, default: 1 },
    background: { enum: ['alibaba', 'none'], default: 'alibaba' },
    missing_rate: { type: 'number', minimum: 0, maximum: 0.5, default: 0.002 },
    duplicate_rate: { type: 'number', minimum: 0, maximum: 0.5, default: 0.001 },
    late_rate: { type: 'number', minimum: 0, maximum: 0.5, default: 0.001 },
  },
};

/** Options with defaults applied and the derived quantities every part needs. */
export interface ResolvedOptions extends SimulatorOptions {
  readonly intervalMs: number;
  readonly startMs: number;
  /** Sampling instants: the last one is before start + days. */
  readonly ticks: number;
  readonly endMs: number;
}

/** The schema as the engine's option checker sees it, for building a simulator outside a pipeline. */
const OPTIONS_ONLY = { type: 'simulator', options: SIMULATOR_OPTIONS_SCHEMA } as NodeSpec;

/** Farthest a duplicate or late sample may trail its event time. */
export const MAX_DELAY_MS = 600_000;

/**
 * Defaults applied, checked, and derived. Throws (a ConfigError for the schema, a
 * RangeError for the rest) naming the field, so that a bad definition fails when the
 * node is built rather than mid-stream.
 */
export function resolveOptions(input: Partial<SimulatorOptions> = {}): ResolvedOptions {
  const o = checkedOptions<SimulatorOptions>(OPTIONS_ONLY, input);
  const intervalMs = toMs(o.interval);
  if (!(intervalMs >= 1000) || intervalMs > 86_400_000) {
    throw new RangeError(`simulator options: "interval" must be between 1s and 1d, got ${JSON.stringify(o.interval)}`);
  }
  const startMs = Date.parse(o.start);
  if (!Number.isFinite(startMs) || startMs < 0) {
    throw new RangeError(`simulator options: "start" must be an ISO 8601 date after 1970, got ${JSON.stringify(o.start)}`);
  }
  const spanMs = o.days * 86_400_000;
  const ticks = Math.ceil(spanMs / intervalMs);
  return { ...o, intervalMs, startMs, ticks, endMs: startMs + ticks * intervalMs };
}
