import type { LeakPattern } from '../../engine/alert.js';
import type { Frame, HeapSnapshot, RankedStack, StackSample } from '../../engine/diagnosis.js';

export interface LocaliseOptions {
  /** Snapshots of the trace, oldest first; at least two are needed to diff. */
  snapshots: readonly HeapSnapshot[];
  pattern: LeakPattern;
  /** Growth rate of the leak from detection, bytes per hour; 0 or less disables the size bound. */
  slopePerHour: number;
  /** Keys (see `stackKey`) of stacks that also grow on healthy hosts. */
  references: ReadonlySet<string>;
  /** Stacks to report. */
  top: number;
}

export interface Localisation {
  stacks: RankedStack[];
  /** Index in `snapshots` of the older and newer snapshot of the pair that gave the result; -1 when none did. */
  older: number;
  newer: number;
}

/** Identity of a stack across snapshots and hosts: its frames, innermost first. */
export function stackKey(frames: readonly Frame[]): string {
  let key = '';
  for (const f of frames) key += `${f.function}\u0000${f.file ?? ''}\u0000${f.line ?? ''}\u0001`;
  return key;
}

/**
 * The method's localisation (algorithm 2): diff a pair of snapshots by stack, order by
 * growth, drop stacks that grew more than the leak could have (2 x slope x the pair's
 * interval, unless the pattern is spike, whose growth is not a rate) and stacks that
 * grow on healthy hosts too, keep the top N; when nothing is left, try the next pair.
 *
 * A profile gives live bytes per stack, not per allocation, so "allocations live in
 * the newer snapshot and not in the older" is the stack's growth in live bytes. That
 * changes which pair to diff first. Per allocation, a churning stack's allocations are
 * all new in the newer snapshot and the size bound drops it; as a net change per stack,
 * churn is a swing of fixed size around its mean, whatever the interval, while a leak's
 * growth is proportional to it. So the first pair is the oldest snapshot held and the
 * newest, the longest interval the trace has (for a trace whose first snapshot is
 * kept, the whole trace), and then the method's pairs from the newest back
 * (docs/diagnosis.md, "Accuracy on the simulator", has the figures).
 */
export function localise(opts: LocaliseOptions): Localisation {
  const { snapshots } = opts;
  const last = snapshots.length - 1;
  if (last >= 2) {
    const stacks = rankPair(snapshots[0]!, snapshots[last]!, opts);
    if (stacks.length > 0) return { stacks, older: 0, newer: last };
  }
  for (let newer = last; newer >= 1; newer--) {
    const older = newer - 1;
    const stacks = rankPair(snapshots[older]!, snapshots[newer]!, opts);
    if (stacks.length > 0) return { stacks, older, newer };
  }
  return { stacks: [], older: -1, newer: -1 };
}

function rankPair(older: HeapSnapshot, newer: HeapSnapshot, opts: LocaliseOptions): RankedStack[] {
  const before = new Map<string, number>();
  for (const s of older.stacks) {
    const key = stackKey(s.frames);
    before.set(key, (before.get(key) ?? 0) + s.live_bytes);
  }
  const grown = new Map<string, RankedStack>();
  for (const s of newer.stacks) merge(grown, s, before);

  const hours = Math.max(0, newer.at - older.at) / 3_600_000;
  const bound = opts.pattern !== 'spike' && opts.slopePerHour > 0 ? 2 * opts.slopePerHour * hours : Infinity;
  const kept: RankedStack[] = [];
  for (const [key, stack] of grown) {
    if (stack.growth_bytes <= 0 || stack.growth_bytes > bound || opts.references.has(key)) continue;
    kept.push(stack);
  }
  kept.sort((a, b) => b.growth_bytes - a.growth_bytes || b.live_bytes - a.live_bytes);
  return kept.slice(0, Math.max(0, opts.top));
}

/** Adds one stack of the newer snapshot; a stack may appear more than once in a profile. */
function merge(grown: Map<string, RankedStack>, s: StackSample, before: Map<string, number>): void {
  const key = stackKey(s.frames);
  const seen = grown.get(key);
  if (seen) {
    seen.live_bytes += s.live_bytes;
    seen.growth_bytes += s.live_bytes;
    seen.count += s.count;
    return;
  }
  grown.set(key, { frames: s.frames, live_bytes: s.live_bytes, growth_bytes: s.live_bytes - (before.get(key) ?? 0), count: s.count });
}
