import type { Alert, LeakPattern } from '../../engine/alert.js';

/** A process under a process-level alert, waiting for or under diagnosis. */
export interface Suspect {
  alert: Alert;
  /** What profiling it would cost customers: lower goes first. */
  impact: number;
}

/** How clearly a pattern shows a leak, for ranking: the method's steady leaks are the clearest to trace. */
export const CLARITY: Readonly<Record<LeakPattern, number>> = { steady: 3, stair: 2, spike: 1, unknown: 0 };

/**
 * The method's order of suspects: severity first, then clarity of the growth pattern,
 * then low impact; ties end on the alert id so the order never depends on arrival.
 * Severities within the same `step` tie: compared exactly, a float would decide alone.
 */
export function compareSuspects(a: Suspect, b: Suspect, step: number): number {
  const sa = Math.floor(a.alert.severity / step), sb = Math.floor(b.alert.severity / step);
  if (sa !== sb) return sb - sa;
  const ca = CLARITY[a.alert.pattern], cb = CLARITY[b.alert.pattern];
  if (ca !== cb) return cb - ca;
  if (a.impact !== b.impact) return a.impact - b.impact;
  return a.alert.id < b.alert.id ? -1 : a.alert.id > b.alert.id ? 1 : 0;
}

/** Suspects most suspect first (a sorted copy). */
export function rankSuspects(suspects: Iterable<Suspect>, step: number): Suspect[] {
  return [...suspects].sort((a, b) => compareSuspects(a, b, step));
}
