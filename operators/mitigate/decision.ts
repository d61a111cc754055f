import type { Alert } from '../../engine/alert.js';
import type { ActionKind, ActionTarget, DecisionOutcome, MitigationDecision } from '../../engine/mitigation.js';

/** A decision about `alert`; fields are always assigned in one order, so decisions share one shape. */
export function decisionOf(
  alert: Alert, outcome: DecisionOutcome, action: ActionKind | null, attempt: number, reason: string,
  executor: string | null = null, durationMs: number | null = null, newPid: number | null = null,
): MitigationDecision {
  return {
    id: `${alert.id}/${attempt}/${action ?? '-'}/${outcome}/${alert.at}`,
    alert_id: alert.id,
    component: alert.component,
    host: alert.host,
    process: alert.process,
    pid: alert.pid,
    cluster: alert.cluster,
    action,
    outcome,
    reason,
    at: alert.at,
    decided_at: Date.now(),
    duration_ms: durationMs,
    attempt,
    executor,
    new_pid: newPid,
  };
}

export function targetOf(alert: Alert, action: ActionKind): ActionTarget {
  return {
    alert_id: alert.id, action, component: alert.component, host: alert.host, process: alert.process,
    pid: alert.pid, cluster: alert.cluster, region: alert.region,
  };
}

/** The key of what an action is aimed at: one process of a component on one host. */
export function targetKey(alert: Alert): string {
  return `${alert.host ?? ''}|${alert.component}|${alert.process ?? ''}`;
}
