import type { LeakPattern } from '../../engine/alert.js';
import type { MemoryPoint } from '../../engine/diagnosis.js';
import { formatMs } from '../../engine/duration.js';
import { classifyGrowth, type PatternParams } from '../detect/growthPattern.js';

const HOUR = 3_600_000;

/** One memory reading of a traced process: the triggers look at `rss`, the report's chart at all of it. */
export type { MemoryPoint } from '../../engine/diagnosis.js';

/** The growth detection saw (the method's k): from the alert. */
export interface DetectedGrowth {
  pattern: LeakPattern;
  /** slope_k: bytes per hour. */
  slopePerHour: number;
  /** dU_k: bytes the leak grew by. */
  growth: number;
}

export interface TriggerParams {
  /** Memory looked at: this much of the recent past (the method's 6 hours). */
  window: number;
  /** Spacing of the readings, for putting them on a grid. */
  period: number;
  /** Fewest readings in the window. */
  minPoints: number;
}

/** The window's regression (the method's j): slope per hour, R^2 and rise. */
export interface WindowFit {
  slopePerHour: number;
  r2: number;
  growth: number;
  points: number;
}

/**
 * classifyGrowth with spikes, flat segments and the growth-start cut all turned off:
 * every segment counts as growing and they merge into one run regressed over the whole
 * window, which is the regression the triggers need (the detector's code, not a copy).
 */
const WHOLE_WINDOW: PatternParams = { spikePoints: 1, spikeShare: Infinity, flatShare: -Infinity, minPoints: 3, smooth: 0 };

/** Least-squares fit of the readings of the last `window`; null when too few or when memory did not rise. */
export function fitWindow(memory: readonly MemoryPoint[], now: number, p: TriggerParams): WindowFit | null {
  const from = now - p.window;
  let first = -1;
  for (let i = 0; i < memory.length; i++) if (memory[i]!.at >= from) { first = i; break; }
  if (first < 0 || memory.length - first < p.minPoints) return null;
  const t0 = memory[first]!.at;
  const slots = Math.round((memory[memory.length - 1]!.at - t0) / p.period) + 1;
  const values = new Float64Array(slots).fill(NaN);
  for (let i = first; i < memory.length; i++) values[Math.round((memory[i]!.at - t0) / p.period)] = memory[i]!.rss;
  const fit = classifyGrowth(values, slots, WHOLE_WINDOW);
  const run = fit.runs[0];
  if (!run) return null;
  return { slopePerHour: (run.slope * HOUR) / p.period, r2: run.r2, growth: run.du, points: memory.length - first };
}

/**
 * The method's completion triggers on the last `window` of the target's memory against
 * the pattern detection classified (k: the alert's rate and growth):
 * steady: R^2_j > 0.8; stair: |1 - slope_j / slope_k| < 0.1 and R^2_j < 0.1 (the window
 * holds a whole step); spike: dU_j / dU_k > 0.5 (a new jump was caught). A pattern
 * detection could not classify is held to the steady rule. Returns the trigger as a
 * sentence for the report, or null.
 */
export function completionTrigger(memory: readonly MemoryPoint[], now: number, k: DetectedGrowth, p: TriggerParams): string | null {
  const j = fitWindow(memory, now, p);
  if (!j) return null;
  // formatMs, not hours: a window scaled to seconds would read "0.0h".
  const hours = formatMs(p.window);
  switch (k.pattern) {
    case 'steady':
    case 'unknown':
      return j.r2 > 0.8 ? `${k.pattern === 'unknown' ? 'unknown pattern, steady rule' : 'steady'}: R^2 ${j.r2.toFixed(2)} > 0.8 over the last ${hours}` : null;
    case 'stair': {
      if (!(k.slopePerHour > 0)) return null;
      const off = Math.abs(1 - j.slopePerHour / k.slopePerHour);
      return off < 0.1 && j.r2 < 0.1 ? `stair: |1 - slope_j/slope_k| ${off.toFixed(3)} < 0.1 and R^2 ${j.r2.toFixed(2)} < 0.1 over the last ${hours}` : null;
    }
    case 'spike': {
      if (!(k.growth > 0)) return null;
      const share = j.growth / k.growth;
      return share > 0.5 ? `spike: dU_j/dU_k ${share.toFixed(2)} > 0.5 over the last ${hours}` : null;
    }
  }
}
