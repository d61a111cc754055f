import type { ActionTarget } from '../../engine/mitigation.js';

/**
 * The target of an action as environment variables for a hook. Names travel only here,
 * never in a command line, so a component called `x; rm -rf /` is data, not syntax.
 */
export function targetEnv(target: ActionTarget, dryRun = false): Record<string, string> {
  return {
    RESIN_ACTION: target.action,
    RESIN_ALERT_ID: target.alert_id,
    RESIN_COMPONENT: target.component,
    RESIN_HOST: target.host ?? '',
    RESIN_PROCESS: target.process ?? '',
    RESIN_PID: target.pid === null ? '' : String(target.pid),
    RESIN_CLUSTER: target.cluster ?? '',
    RESIN_REGION: target.region ?? '',
    RESIN_DRY_RUN: dryRun ? '1' : '0',
  };
}

/** One line naming a target, for reasons and logs. */
export function describeTarget(target: ActionTarget): string {
  const proc = target.process === null ? '' : ` process ${target.process}${target.pid === null ? '' : ` (pid ${target.pid})`}`;
  return `${target.component}${proc} on ${target.host ?? 'every host'}`;
}
