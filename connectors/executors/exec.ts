import type { ActionResult, ActionTarget, Executor } from '../../engine/mitigation.js';
import { describeArgvResult, runArgv } from './runArgv.js';
import { describeTarget, targetEnv } from './targetEnv.js';

export interface ExecHookOptions {
  /** Program and arguments, run without a shell; the target is in RESIN_* environment variables. */
  argv: string[];
  timeoutMs: number;
}

/** A team-supplied script (or a host-level hook) run on the engine's host. */
export function execExecutor(o: ExecHookOptions): Executor {
  if (o.argv.length === 0 || o.argv[0] === '') throw new Error('"argv" must name a program');
  return {
    kind: 'exec',
    describe: (t) => `run ${JSON.stringify(o.argv)} for ${describeTarget(t)}`,
    async run(t: ActionTarget, signal: AbortSignal): Promise<ActionResult> {
      const r = await runArgv(o.argv, { env: targetEnv(t), timeoutMs: o.timeoutMs, signal });
      return { ok: r.ok, detail: describeArgvResult(r, o.timeoutMs), durationMs: r.durationMs };
    },
    async close() {},
  };
}
