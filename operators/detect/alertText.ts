import type { LeakPattern } from '../../engine/alert.js';

const MB = 1024 * 1024;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Bytes as MB with three significant figures or so: "412 MB", "41.2 MB", "4.12 MB". */
export function formatMb(bytes: number): string {
  const mb = bytes / MB;
  const a = Math.abs(mb);
  return `${a >= 100 ? mb.toFixed(0) : a >= 10 ? mb.toFixed(1) : mb.toFixed(2)} MB`;
}

/** A span of event time in the largest unit that keeps it above 2: "3.2 days", "30 h", "45 min", "12 s". */
export function formatSpan(ms: number): string {
  const trim = (v: number) => v.toFixed(1).replace(/\.0$/, '');
  if (ms >= 2 * DAY) return `${trim(ms / DAY)} days`;
  if (ms >= 2 * HOUR) return `${trim(ms / HOUR)} h`;
  if (ms >= 120_000) return `${trim(ms / 60_000)} min`;
  return `${trim(ms / 1000)} s`;
}

/** "rss grew 412 MB in 3.2 days (5.36 MB/h), steady, 92% of points increasing". */
export function growthReason(grew: number, span: number, ratePerHour: number, pattern: LeakPattern, increasingPct: number): string {
  return `rss grew ${formatMb(grew)} in ${formatSpan(span)} (${formatMb(ratePerHour)}/h), ${pattern}, ${increasingPct}% of points increasing`;
}

/** Why a process stopped being reported, for a resolution. */
export const Quiet = { restart: 1, below: 2, paused: 3, drop: 4, shared: 5 } as const;
export type QuietCause = (typeof Quiet)[keyof typeof Quiet];

/** The reason of a resolution after `span` without leak-like growth, `rss` the latest mean. */
export function resolutionReason(cause: number, span: number, rss: number): string {
  const quiet = `no leak-like growth in the ${formatSpan(span)} since`;
  switch (cause) {
    case Quiet.restart: return `process restarted; ${quiet}`;
    case Quiet.below: return `rss fell below the level the growth started from; ${quiet}`;
    case Quiet.drop: return `rss dropped in one period; ${quiet}`;
    case Quiet.shared: return `the growth was shared with the process's peers (host or cluster), not its own; ${quiet}`;
    default: return `growth stopped at ${formatMb(rss)}; no leak-like growth in the last ${formatSpan(span)}`;
  }
}
