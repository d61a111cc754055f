const UNITS: Record<string, number> = {
  ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000,
};

/** Pattern accepted for durations in pipeline definitions: `500ms`, `10m`, `1.5h`, `15d`. */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;

/** Milliseconds of a duration given as a string with a unit, or as a number of milliseconds. */
export function toMs(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = DURATION_PATTERN.exec(value.trim());
  if (!m) throw new RangeError(`"${value}" is not a duration (use e.g. 500ms, 10m, 1h, 15d)`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

export function formatMs(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
