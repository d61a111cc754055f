import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ActionResult, ActionTarget, Executor } from '../../engine/mitigation.js';
import { describeArgvResult, runArgv } from './runArgv.js';

export interface SystemctlOptions {
  /** Unit name; `{component}` and `{process}` are replaced by the target's. */
  unit: string;
  timeoutMs: number;
  /** The host this executor can act on (default: this machine's name). */
  host?: string;
  /** Where to read PID 1's name (tests point it elsewhere). */
  pid1Comm?: string;
}

/** Name of PID 1, or why it cannot be read. */
export function initName(path = '/proc/1/comm'): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    return `unknown (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
}

/** Unit names are letters, digits and `:-_.@\`; anything else is replaced so a name cannot become a flag. */
export function unitName(template: string, t: ActionTarget): string {
  const name = template.replace(/\{component\}/g, t.component).replace(/\{process\}/g, t.process ?? t.component);
  return name.replace(/[^A-Za-z0-9:_.@\\-]/g, '_').replace(/^-+/, '_');
}

/**
 * `systemctl restart UNIT` on this host, only where systemd is PID 1: elsewhere (a
 * container, another init) systemctl cannot work, and the result says so rather than
 * failing with systemctl's own message. Other hosts are reached through the agent.
 */
export function systemctlExecutor(o: SystemctlOptions): Executor {
  const self = o.host ?? hostname();
  return {
    kind: 'systemctl',
    describe: (t) => `systemctl restart ${unitName(o.unit, t)} on ${t.host ?? self}`,
    async run(t: ActionTarget, signal: AbortSignal): Promise<ActionResult> {
      const init = initName(o.pid1Comm);
      if (init !== 'systemd') {
        return { ok: false, detail: `systemd is not PID 1 on ${self} (PID 1 is ${init}): cannot restart units here`, durationMs: 0 };
      }
      if (t.host !== null && t.host !== self) {
        return { ok: false, detail: `systemctl acts on this host (${self}) only; ${t.host} needs the agent executor`, durationMs: 0 };
      }
      const unit = unitName(o.unit, t);
      const r = await runArgv(['systemctl', 'restart', '--', unit], { timeoutMs: o.timeoutMs, signal });
      return { ok: r.ok, detail: `systemctl restart ${unit}: ${describeArgvResult(r, o.timeoutMs)}`, durationMs: r.durationMs };
    },
    async close() {},
  };
}
