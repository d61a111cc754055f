import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { toMs } from '../duration.js';
import { UsageError } from '../errors.js';
import type { LogLevel } from '../log.js';
import { INSTANCE_PATTERN, type RunSettings } from '../pipeline/runSettings.js';
import { MEMORY_LIMIT_PATTERN } from '../../connectors/duckdb/store.js';
import { DEFAULT_HTTP, parseHttpAddress, type HttpAddress } from './address.js';

/** Everything `resin run` needs to know, resolved from its four sources. */
export interface RunConfig {
  readonly state: string;
  /** DuckDB's memory limit, in its syntax ("512MB"). */
  readonly stateMemory: string;
  readonly deadLetter: string;
  /** null: no HTTP endpoint. */
  readonly http: HttpAddress | null;
  readonly drainTimeoutMs: number;
  readonly checkpointEveryMs: number;
  readonly logFormat: 'text' | 'json';
  readonly logLevel: LogLevel;
  /** Name among the instances sharing a partitioned pipeline. */
  readonly instance: string;
}

type Key = keyof RunSettings;

/** Each setting: its flag, its environment variable, its default. */
export const RUN_SETTINGS: Readonly<Record<Key, { flag: string; env: string; fallback: string }>> = {
  state: { flag: 'state', env: 'RESIN_STATE', fallback: 'data/resin.duckdb' },
  // Checkpoints go into DuckDB as one blob per operator, and writing one takes about three
  // times its size: 1 GB holds those of ~100k monitored processes (bench/soak.ts) with room.
  // DuckDB's own default is 80% of RAM.
  state_memory: { flag: 'state-memory', env: 'RESIN_STATE_MEMORY', fallback: '1GB' },
  dead_letter: { flag: 'dead-letter', env: 'RESIN_DEAD_LETTER', fallback: 'data/rejected.ndjson' },
  http: { flag: 'http', env: 'RESIN_HTTP', fallback: DEFAULT_HTTP },
  drain_timeout: { flag: 'drain-timeout', env: 'RESIN_DRAIN_TIMEOUT', fallback: '30s' },
  checkpoint_every: { flag: 'checkpoint-every', env: 'RESIN_CHECKPOINT_EVERY', fallback: '60s' },
  log_format: { flag: 'log-format', env: 'RESIN_LOG_FORMAT', fallback: 'text' },
  log_level: { flag: 'log-level', env: 'RESIN_LOG_LEVEL', fallback: 'info' },
  // Host names are unique in a fleet; two instances on one host need names of their own.
  instance: { flag: 'instance', env: 'RESIN_INSTANCE', fallback: hostname() },
};

const LEVELS = ['debug', 'info', 'warn', 'error'];

export interface ConfigSources {
  /** Command-line flags by flag name (`drain-timeout`), as given. */
  readonly flags: Readonly<Record<string, string | undefined>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The pipeline definition's `run:` section, already checked against its schema. */
  readonly file?: RunSettings;
}

/**
 * Flags override the environment, which overrides the pipeline file's `run:` section,
 * which overrides the defaults. A bad value is a UsageError that says where it came
 * from, so "--drain-timeout" and "RESIN_DRAIN_TIMEOUT" are told apart.
 */
export function resolveRunConfig(src: ConfigSources): RunConfig {
  const pick = (key: Key): { value: string; from: string } => {
    const s = RUN_SETTINGS[key];
    const flag = src.flags[s.flag];
    if (flag !== undefined) return { value: flag, from: `--${s.flag}` };
    const env = src.env[s.env];
    if (env !== undefined && env !== '') return { value: env, from: s.env };
    const file = src.file?.[key];
    if (file !== undefined) return { value: String(file), from: `run.${key} in the pipeline file` };
    return { value: s.fallback, from: 'the default' };
  };
  const duration = (key: Key): number => {
    const { value, from } = pick(key);
    // A plain number is milliseconds, as in a pipeline file.
    const ms = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : tryMs(value);
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new UsageError(`${from}: "${value}" is not a duration (use e.g. 500ms, 30s, 5m)`);
    return ms;
  };
  const http = pick('http');
  let address: HttpAddress | null;
  try {
    address = parseHttpAddress(http.value);
  } catch (err) {
    throw new UsageError(`${http.from}: ${(err as Error).message}`);
  }
  const memory = pick('state_memory');
  if (!MEMORY_LIMIT_PATTERN.test(memory.value)) throw new UsageError(`${memory.from}: "${memory.value}" is not a memory size (use e.g. 512MB, 2GB)`);
  const format = pick('log_format');
  if (format.value !== 'text' && format.value !== 'json') throw new UsageError(`${format.from}: log format must be text or json, got "${format.value}"`);
  const level = pick('log_level');
  if (!LEVELS.includes(level.value)) throw new UsageError(`${level.from}: log level must be one of ${LEVELS.join(', ')}, got "${level.value}"`);
  const instance = pick('instance');
  if (!new RegExp(INSTANCE_PATTERN).test(instance.value)) {
    throw new UsageError(`${instance.from}: instance name must be letters, digits, "_", "-", "=" or "." (not first), got "${instance.value}"`);
  }
  return {
    state: resolve(pick('state').value),
    stateMemory: memory.value,
    deadLetter: resolve(pick('dead_letter').value),
    http: address,
    drainTimeoutMs: duration('drain_timeout'),
    checkpointEveryMs: duration('checkpoint_every'),
    logFormat: format.value,
    logLevel: level.value as LogLevel,
    instance: instance.value,
  };
}

function tryMs(value: string): number {
  try {
    return toMs(value);
  } catch {
    return NaN;
  }
}
