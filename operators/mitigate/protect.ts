import type { Alert } from '../../engine/alert.js';
import type { ActionKind } from '../../engine/mitigation.js';

/** Where the engine runs: its host, and the process ids that are the engine or its parent. */
export interface SelfIdentity {
  readonly host: string;
  readonly pids: ReadonlySet<number>;
}

const HOST_LEVEL: ReadonlySet<ActionKind> = new Set(['drain', 'soft-reboot', 'reboot']);

export function isHostLevel(action: ActionKind): boolean {
  return HOST_LEVEL.has(action);
}

/**
 * Why `alert`'s target must never be acted on, or null. resin never mitigates itself:
 * not a protected component (resin's own names are always protected), not a process
 * named like one, not the engine's own process or its parent, and no host-level
 * action on the host the engine runs on (that would take the engine down with it).
 */
export function protectedReason(alert: Alert, protect: ReadonlySet<string>, self: SelfIdentity): string | null {
  if (protect.has(alert.component)) return `component ${alert.component} is protected: resin never acts on itself or on protected components`;
  if (alert.process !== null && protect.has(alert.process)) return `process ${alert.process} is protected: resin never acts on itself`;
  if (alert.host === self.host && alert.pid !== null && self.pids.has(alert.pid)) {
    return `pid ${alert.pid} on ${alert.host} is this engine: resin never acts on itself`;
  }
  return null;
}

/** Why `action` may not run on `host`, or null: host-level actions spare the engine's own host. */
export function protectedHostReason(action: ActionKind, host: string, self: SelfIdentity): string | null {
  return isHostLevel(action) && host === self.host
    ? `${action} on ${host} would take this engine down: resin never acts on itself`
    : null;
}
