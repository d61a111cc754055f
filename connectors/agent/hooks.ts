import { readFileSync } from 'node:fs';
import type { NatsConnection, Subscription } from 'nats';
import { parse as parseYaml } from 'yaml';
import { DURATION_PATTERN, toMs } from '../../engine/duration.js';
import { lazyValidator } from '../../engine/jsonSchema.js';
import { ConfigError } from '../../engine/errors.js';
import type { Logger } from '../../engine/log.js';
import type { Metrics } from '../../engine/metrics.js';
import { ACTION_KINDS, type ActionKind, type ActionTarget } from '../../engine/mitigation.js';
import { decodeJson, encodeJson, type CommandReply } from '../executors/commands.js';
import { describeArgvResult, runArgv } from '../executors/runArgv.js';
import { targetEnv } from '../executors/targetEnv.js';

/**
 * Hooks the host agent runs for the engine (`resin agent --hooks FILE`). The engine
 * names a hook; the command line is the host's own, so whoever can publish on NATS can
 * trigger what the host allows and nothing else.
 *
 * ```yaml
 * hooks:
 *   drain:   { argv: [/usr/local/bin/drain-host, --wait], timeout: 10m }
 *   restart-api: { argv: [systemctl, restart, api.service], timeout: 60s }
 * ```
 */
export interface HookDefinition {
  argv: string[];
  timeout?: string | number;
}

export const HOOKS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['hooks'],
  properties: {
    hooks: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['argv'],
        properties: {
          argv: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
          timeout: { type: ['string', 'number'] },
        },
      },
    },
  },
} as const;

const validator = lazyValidator<{ hooks: Record<string, HookDefinition> }>(HOOKS_SCHEMA);

export class HostHooks {
  private readonly hooks = new Map<string, { argv: string[]; timeoutMs: number }>();

  constructor(defs: Record<string, HookDefinition>) {
    for (const [name, d] of Object.entries(defs)) {
      const t = d.timeout ?? '60s';
      if (typeof t === 'string' && !DURATION_PATTERN.test(t)) throw new ConfigError([{ field: `hooks.${name}.timeout`, message: `"${t}" is not a duration` }]);
      this.hooks.set(name, { argv: d.argv, timeoutMs: toMs(t) });
    }
  }

  static load(path: string): HostHooks {
    const doc: unknown = parseYaml(readFileSync(path, 'utf8'));
    const validate = validator();
    if (!validate(doc)) {
      throw new ConfigError((validate.errors ?? []).map((e) => ({ field: e.instancePath || 'hooks', message: e.message ?? 'is invalid' })), path);
    }
    return new HostHooks(doc.hooks);
  }

  get size(): number {
    return this.hooks.size;
  }

  /** Runs hook `name` for `target`; an unknown hook is refused, not guessed. */
  async run(name: string, target: ActionTarget): Promise<CommandReply> {
    const hook = this.hooks.get(name);
    if (!hook) return { ok: false, detail: `no hook "${name}" on this host (have: ${[...this.hooks.keys()].join(', ') || 'none'})`, duration_ms: 0 };
    const r = await runArgv(hook.argv, { env: targetEnv(target), timeoutMs: hook.timeoutMs });
    return { ok: r.ok, detail: `${name}: ${describeArgvResult(r, hook.timeoutMs)}`, duration_ms: r.durationMs };
  }
}

function targetOf(value: unknown): ActionTarget | null {
  if (value === null || typeof value !== 'object') return null;
  const t = value as Record<string, unknown>;
  const str = (k: string) => (typeof t[k] === 'string' ? t[k] as string : null);
  if (str('alert_id') === null || str('component') === null || !ACTION_KINDS.includes(t.action as ActionKind)) return null;
  return {
    alert_id: str('alert_id')!, action: t.action as ActionKind, component: str('component')!, host: str('host'),
    process: str('process'), pid: typeof t.pid === 'number' ? t.pid : null, cluster: str('cluster'), region: str('region'),
  };
}

/**
 * Answers hook requests on `resin.cmd.<host>`: each reply carries the hook's result
 * (exit code, duration, the tail of its output). Malformed requests are answered with
 * why, and counted by reason.
 */
export function serveHooks(nc: NatsConnection, subject: string, hooks: HostHooks, log: Logger, metrics: Metrics): Subscription {
  return nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return;
      const reply = (r: CommandReply) => { if (msg.reply) msg.respond(encodeJson(r)); };
      const body = decodeJson(msg.data);
      const target = targetOf(body?.target);
      if (!body || body.op !== 'hook' || typeof body.hook !== 'string' || !target) {
        metrics.inc('agent_commands', { result: 'bad_request' });
        reply({ ok: false, detail: 'bad request: expected {"op":"hook","hook":NAME,"target":{...}}', duration_ms: 0 });
        return;
      }
      hooks.run(body.hook, target).then((r) => {
        metrics.inc('agent_commands', { result: r.ok ? 'ok' : 'failed' });
        log.info('hook ran', { hook: body.hook, alert: target.alert_id, ok: r.ok, detail: r.detail });
        reply(r);
      });
    },
  });
}
