import { existsSync, readFileSync } from 'node:fs';
import { Subject, lastValueFrom, toArray } from 'rxjs';
import type { Alert } from '../../../engine/alert.js';
import type { MitigationDecision } from '../../../engine/mitigation.js';
import { resolveOptions } from '../../../engine/pipeline/options.js';
import { mitigate, mitigateSpec, type MitigateDeps, type MitigateInstance } from '../../../operators/mitigate/mitigate.js';
import type { MitigateOptions } from '../../../operators/mitigate/options.js';
import { testContext } from '../../helpers/samples.js';

export const MB = 1024 * 1024;
export const HOUR = 3_600_000;
export const T0 = Date.UTC(2026, 0, 1);

/** A process-level leak alert; `rate` in MB per hour, leak span 10 h. */
export function leakAlert(host: string, o: Partial<Alert> & { rateMb?: number } = {}): Alert {
  const rateMb = o.rateMb ?? 10;
  const { rateMb: _, ...rest } = o;
  return {
    id: `p-${host}-${o.component ?? 'api'}`, level: 'process', state: 'open', component: 'api', host, process: 'api',
    pid: 1000, region: 'r1', cluster: 'c1', start: T0, end: T0 + 10 * HOUR, detected_at: T0 + 10 * HOUR,
    at: T0 + 10 * HOUR, severity: 3, pattern: 'steady', rss: 500 * MB, rate: rateMb * MB, bucket_mb: null, hosts: null,
    reason: 'grows', ...rest,
  };
}

/**
 * An exec hook that really runs: a node one-liner appending the target's host to a
 * file (taken from the RESIN_* environment the hook gets). The file's lines are the
 * actions that happened.
 */
export function recordingExecutor(log: string) {
  const script = 'require("fs").appendFileSync(process.argv[1], process.env.RESIN_HOST + " " + process.env.RESIN_ACTION + "\\n")';
  return { type: 'exec' as const, argv: [process.execPath, '-e', script, log], timeout: '10s' };
}

export function actionsRun(log: string): string[] {
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
}

/** Runs `mitigate` over alert batches (each batch emitted synchronously), returning every decision. */
export async function runMitigate(
  options: Record<string, unknown>, batches: Alert[][], deps: MitigateDeps = {},
  setup?: (ctx: ReturnType<typeof testContext>['ctx'], op: MitigateInstance) => void,
) {
  const { ctx, metrics } = testContext('mitigate');
  const op = mitigate(resolveOptions<MitigateOptions>(mitigateSpec, options), ctx, deps);
  setup?.(ctx, op);
  const input = new Subject<Alert>();
  const out = lastValueFrom(op.apply(input).pipe(toArray()));
  for (const batch of batches) {
    for (const a of batch) input.next(a);
    await ctx.flow.idle();
    // Actions run in the background; the next batch comes once they are done, as in a run whose periods are longer than a restart.
    await op.settled();
    await ctx.flow.idle();
  }
  input.complete();
  const decisions: MitigationDecision[] = await out;
  await ctx.flow.idle();
  await op.close?.();
  return { decisions, ctx, metrics, op };
}

export const outcomes = (ds: MitigationDecision[], outcome: string) => ds.filter((d) => d.outcome === outcome);
