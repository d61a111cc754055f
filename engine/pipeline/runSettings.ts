import type { OptionsSchema } from '../spec.js';
import { durationSchema } from './options.js';

/**
 * How `resin run` runs a pipeline, from the definition's optional `run:` section.
 * Environment variables (RESIN_*) and command-line flags override each field; the
 * command applies the defaults last (engine/ops/config.ts).
 */
export interface RunSettings {
  /** DuckDB state file. */
  state?: string;
  /** Most memory the state store (DuckDB) may hold, e.g. "512MB". */
  state_memory?: string;
  /** Rejected records (NDJSON). */
  dead_letter?: string;
  /** Address of the health and metrics endpoint (`host:port`, `:port`), or "off". */
  http?: string;
  /** Longest a stop may take to drain in-flight batches and flush. */
  drain_timeout?: string | number;
  /** Wall-clock time between checkpoints while running. */
  checkpoint_every?: string | number;
  log_format?: 'text' | 'json';
  /** This instance's name among those sharing a partitioned pipeline's partitions. */
  instance?: string;
  log_level?: 'debug' | 'info' | 'warn' | 'error';
}

/** Instance names go into KV keys and metric labels. */
export const INSTANCE_PATTERN = '^[A-Za-z0-9_=-][A-Za-z0-9_=.-]*$';

/** No defaults here: an absent field lets the environment or the built-in default decide. */
export const RUN_SETTINGS_SCHEMA: OptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', minLength: 1, description: 'DuckDB state file' },
    state_memory: { type: 'string', minLength: 1, description: 'most memory the state store may hold, e.g. 512MB' },
    dead_letter: { type: 'string', minLength: 1, description: 'rejected records (NDJSON)' },
    http: { type: 'string', minLength: 1, description: 'health and metrics endpoint, host:port or "off"' },
    drain_timeout: durationSchema({ description: 'longest a stop may take to drain and flush' }),
    checkpoint_every: durationSchema({ description: 'wall-clock time between checkpoints' }),
    log_format: { enum: ['text', 'json'] },
    instance: { type: 'string', pattern: INSTANCE_PATTERN, description: 'name of this instance among those sharing a partitioned pipeline (default: the host name)' },
    log_level: { enum: ['debug', 'info', 'warn', 'error'] },
  },
};
