import type { NatsConnection } from 'nats';
import { toMs } from '../../engine/duration.js';
import type { Executor } from '../../engine/mitigation.js';
import { durationSchema } from '../../engine/pipeline/options.js';
import type { OptionsSchema } from '../../engine/spec.js';
import { connectionOptions, openConnection, type NatsConnectionOptions } from '../nats/connection.js';
import { execExecutor } from './exec.js';
import { agentExecutor, supervisorExecutor, type ConnectionProvider } from './remote.js';
import { systemctlExecutor } from './systemctl.js';
import { webhookExecutor } from './webhook.js';

export type ExecutorType = 'supervisor' | 'systemctl' | 'exec' | 'webhook' | 'agent';

/** An executor as a pipeline definition writes it (docs/mitigation.md, "Executors"). */
export interface ExecutorConfig {
  type: ExecutorType;
  timeout: string | number;
  /** systemctl: unit name template. */
  unit?: string;
  /** exec: program and arguments. */
  argv?: string[];
  /** webhook: URL and extra headers. */
  url?: string;
  headers?: Record<string, string>;
  /** agent: the hook's name in the agent's --hooks file. */
  hook?: string;
}

export const EXECUTOR_SCHEMA: OptionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { enum: ['supervisor', 'systemctl', 'exec', 'webhook', 'agent'], description: 'how the action is carried out' },
    timeout: durationSchema({ default: '60s', description: 'longest the action may take' }),
    unit: { type: 'string', minLength: 1, description: 'systemctl: unit, {component} and {process} replaced' },
    argv: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'exec: program and arguments, no shell' },
    url: { type: 'string', minLength: 1, description: 'webhook: URL to POST the target to' },
    headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'webhook: extra HTTP headers' },
    hook: { type: 'string', minLength: 1, description: 'agent: hook name configured on the host agent' },
  },
  // So that `resin validate` reports a missing field, not only the run that builds the executor.
  allOf: [
    { if: { properties: { type: { const: 'systemctl' } } }, then: { properties: { unit: {} }, required: ['unit'] } },
    { if: { properties: { type: { const: 'exec' } } }, then: { properties: { argv: {} }, required: ['argv'] } },
    { if: { properties: { type: { const: 'webhook' } } }, then: { properties: { url: {} }, required: ['url'] } },
    { if: { properties: { type: { const: 'agent' } } }, then: { properties: { hook: {} }, required: ['hook'] } },
  ],
};

const NEEDS: Record<ExecutorType, keyof ExecutorConfig | null> = {
  supervisor: null, systemctl: 'unit', exec: 'argv', webhook: 'url', agent: 'hook',
};

/** Opens one NATS connection on first use, for every remote executor of a node. */
export class SharedConnection {
  private conn: Promise<NatsConnection> | null = null;
  readonly provide: ConnectionProvider;

  constructor(options: NatsConnectionOptions, name: string) {
    const opts = connectionOptions(options, name);
    this.provide = () => {
      this.conn ??= openConnection(opts);
      // A failed connect is retried on the next action rather than cached.
      this.conn.catch(() => { this.conn = null; });
      return this.conn;
    };
  }

  async close(): Promise<void> {
    const nc = await this.conn?.catch(() => null);
    await nc?.drain().catch(() => {});
  }
}

/** Builds an executor; a missing or misplaced field throws with its name. */
export function createExecutor(c: ExecutorConfig, nats: SharedConnection, commandPrefix: string): Executor {
  const need = NEEDS[c.type];
  if (need !== null && c[need] === undefined) throw new Error(`"${need}" is required for a ${c.type} executor`);
  for (const field of ['unit', 'argv', 'url', 'headers', 'hook'] as const) {
    if (c[field] !== undefined && field !== need && !(field === 'headers' && c.type === 'webhook')) {
      throw new Error(`"${field}" does not apply to a ${c.type} executor`);
    }
  }
  const timeoutMs = toMs(c.timeout);
  if (!(timeoutMs > 0)) throw new Error('"timeout" must be greater than 0');
  switch (c.type) {
    case 'supervisor': return supervisorExecutor({ connection: nats.provide, timeoutMs, prefix: commandPrefix });
    case 'systemctl': return systemctlExecutor({ unit: c.unit!, timeoutMs });
    case 'exec': return execExecutor({ argv: c.argv!, timeoutMs });
    case 'webhook': return webhookExecutor({ url: c.url!, timeoutMs, ...(c.headers ? { headers: c.headers } : {}) });
    case 'agent': return agentExecutor({ connection: nats.provide, hook: c.hook!, timeoutMs, prefix: commandPrefix });
  }
}
