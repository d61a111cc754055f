import type { ActionTarget } from '../../engine/mitigation.js';
import { subjectToken } from '../nats/subjects.js';

/**
 * The command subjects on NATS (docs/mitigation.md). The host agent answers requests on
 * `resin.cmd.<host>`; a process supervisor answers on `resin.cmd.<host>.<component>`,
 * so several supervised services and the agent share a host without sharing a subject.
 * Every command is a request: the reply is the result, so nothing is fire-and-forget.
 */
export const COMMAND_PREFIX = 'resin.cmd';

export function agentSubject(host: string, prefix = COMMAND_PREFIX): string {
  return `${prefix}.${subjectToken(host)}`;
}

export function supervisorSubject(host: string, component: string, prefix = COMMAND_PREFIX): string {
  return `${prefix}.${subjectToken(host)}.${subjectToken(component)}`;
}

/** Asks a supervisor to restart its child; `pid` guards against acting on a stale alert. */
export interface RestartRequest {
  op: 'restart';
  alert_id: string;
  pid: number | null;
}

/** Asks the agent to run one of its configured hooks; the engine never sends a command line. */
export interface HookRequest {
  op: 'hook';
  hook: string;
  target: ActionTarget;
}

export interface CommandReply {
  ok: boolean;
  detail: string;
  duration_ms: number;
  old_pid?: number | null;
  new_pid?: number | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Parses a command payload; null when it is not a JSON object. */
export function decodeJson(data: Uint8Array): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(decoder.decode(data));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

/** A reply read back by an executor: anything malformed is a failure that says so. */
export function readReply(data: Uint8Array): CommandReply {
  const body = decodeJson(data);
  if (!body || typeof body.ok !== 'boolean') return { ok: false, detail: 'malformed reply', duration_ms: 0 };
  return {
    ok: body.ok,
    detail: typeof body.detail === 'string' ? body.detail : '',
    duration_ms: typeof body.duration_ms === 'number' ? body.duration_ms : 0,
    old_pid: typeof body.old_pid === 'number' ? body.old_pid : null,
    new_pid: typeof body.new_pid === 'number' ? body.new_pid : null,
  };
}
