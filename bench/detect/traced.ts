import { GrowthJudge, Held, Verdict } from '../../operators/detect/reportRule.js';

const HELD_NAME = new Map<number, string>(Object.entries(Held).map(([name, code]) => [code, name]));

/** One judgement of the report rule: series, period, the anchor it measured from (a period), and its verdict or the first test it failed. */
export type Seen = (id: number, p: number, from: number, why: string) => void;

/**
 * Runs `run` with every judgement of the report rule passed to `seen`: the operator keeps
 * its judge to itself, so the prototype's method is wrapped for the run (a bench tool's
 * trace, never the engine's).
 */
export function traced<T>(seen: Seen, run: () => T): T {
  const judge = GrowthJudge.prototype.judge;
  GrowthJudge.prototype.judge = function (this: GrowthJudge, ...args: Parameters<GrowthJudge['judge']>) {
    const verdict = judge.apply(this, args);
    seen(args[0], args[1], args[2], verdict === Verdict.report ? 'report' : verdict === Verdict.shared ? 'shared' : HELD_NAME.get(this.held)!);
    return verdict;
  };
  try {
    return run();
  } finally {
    GrowthJudge.prototype.judge = judge;
  }
}
