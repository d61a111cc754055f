import type { NatsConnection } from 'nats';
import type { ActionResult, ActionTarget, Executor } from '../../engine/mitigation.js';
import { agentSubject, encodeJson, readReply, supervisorSubject, type HookRequest, type RestartRequest } from './commands.js';
import { describeTarget } from './targetEnv.js';

/** The engine's NATS connection, opened on first use and shared by its remote executors. */
export type ConnectionProvider = () => Promise<NatsConnection>;

async function request(nc: ConnectionProvider, subject: string, body: unknown, timeoutMs: number): Promise<ActionResult> {
  const started = performance.now();
  try {
    const conn = await nc();
    const msg = await conn.request(subject, encodeJson(body), { timeout: timeoutMs });
    const reply = readReply(msg.data);
    return { ok: reply.ok, detail: reply.detail, durationMs: reply.duration_ms || performance.now() - started, newPid: reply.new_pid ?? null };
  } catch (err) {
    const code = (err as { code?: string }).code;
    const detail = code === '503' ? `nobody answers on ${subject}` : code === 'TIMEOUT' ? `no reply on ${subject} within ${timeoutMs} ms` : (err as Error).message;
    return { ok: false, detail, durationMs: performance.now() - started };
  }
}

/** Restarts a supervised process: a request to `resin supervise` on the target's host. */
export function supervisorExecutor(o: { connection: ConnectionProvider; timeoutMs: number; prefix?: string }): Executor {
  return {
    kind: 'supervisor',
    describe: (t) => `ask the supervisor on ${supervisorSubject(t.host ?? '_', t.component, o.prefix)} to restart ${describeTarget(t)}`,
    async run(t: ActionTarget): Promise<ActionResult> {
      if (t.host === null) return { ok: false, detail: 'a process restart needs a host', durationMs: 0 };
      const body: RestartRequest = { op: 'restart', alert_id: t.alert_id, pid: t.pid };
      return request(o.connection, supervisorSubject(t.host, t.component, o.prefix), body, o.timeoutMs);
    },
    async close() {},
  };
}

/** Runs a hook configured on the target's host agent (`resin agent --hooks`), by name. */
export function agentExecutor(o: { connection: ConnectionProvider; hook: string; timeoutMs: number; prefix?: string }): Executor {
  return {
    kind: 'agent',
    describe: (t) => `ask the agent on ${t.host ?? '?'} to run its hook "${o.hook}" for ${describeTarget(t)}`,
    async run(t: ActionTarget): Promise<ActionResult> {
      if (t.host === null) return { ok: false, detail: 'a remote hook needs a host', durationMs: 0 };
      const body: HookRequest = { op: 'hook', hook: o.hook, target: t };
      return request(o.connection, agentSubject(t.host, o.prefix), body, o.timeoutMs);
    },
    async close() {},
  };
}
