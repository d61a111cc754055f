import { describe, expect, it } from 'vitest';
import type { HeapSnapshot, StackSample } from '../../../engine/diagnosis.js';
import { localise, stackKey } from '../../../operators/diagnose/localise.js';

const HOUR = 3_600_000;
const stack = (fn: string, live: number): StackSample => ({ frames: [{ function: fn, file: 'app.js', line: 1 }], live_bytes: live, count: 1 });
const snap = (at: number, ...stacks: StackSample[]): HeapSnapshot => ({ at, stacks, memory: null });

describe('localise', () => {
  const snaps = [
    snap(0, stack('leak', 1_000), stack('cache', 5_000), stack('churn', 800)),
    snap(HOUR, stack('leak', 2_000), stack('cache', 5_500), stack('churn', 300), stack('burst', 1_000_000)),
  ];

  it('ranks stacks by growth between the two newest snapshots', () => {
    const r = localise({ snapshots: snaps, pattern: 'steady', slopePerHour: 0, references: new Set(), top: 5 });
    expect(r.stacks.map((s) => s.frames[0]!.function)).toEqual(['burst', 'leak', 'cache']);
    expect(r.stacks[1]!.growth_bytes).toBe(1_000);
    expect([r.older, r.newer]).toEqual([0, 1]);
  });

  it('drops stacks that grew more than twice the leak rate allows, except for spikes', () => {
    const steady = localise({ snapshots: snaps, pattern: 'steady', slopePerHour: 1_000, references: new Set(), top: 5 });
    expect(steady.stacks.map((s) => s.frames[0]!.function)).toEqual(['leak', 'cache']);
    const spike = localise({ snapshots: snaps, pattern: 'spike', slopePerHour: 1_000, references: new Set(), top: 5 });
    expect(spike.stacks[0]!.frames[0]!.function).toBe('burst');
  });

  it('drops stacks found in the references and keeps the top N', () => {
    const refs = new Set([stackKey([{ function: 'cache', file: 'app.js', line: 1 }])]);
    const r = localise({ snapshots: snaps, pattern: 'steady', slopePerHour: 1_000, references: refs, top: 1 });
    expect(r.stacks.map((s) => s.frames[0]!.function)).toEqual(['leak']);
  });

  it('diffs the oldest and the newest snapshot first: churn swings by as much whatever the interval, a leak grows with it', () => {
    const three = [
      snap(0, stack('leak', 1_000), stack('churn', 10_000)),
      snap(HOUR, stack('leak', 2_000), stack('churn', 9_000)),
      snap(2 * HOUR, stack('leak', 3_000), stack('churn', 10_500)),
    ];
    const opts = { pattern: 'steady' as const, slopePerHour: 1_000, references: new Set<string>(), top: 5 };
    // The newest pair alone: churn's swing (+1,500) is above the leak's hour (+1,000) and within the bound.
    expect(localise({ ...opts, snapshots: three.slice(1) }).stacks.map((s) => s.frames[0]!.function)).toEqual(['churn', 'leak']);
    const r = localise({ ...opts, snapshots: three });
    expect([r.older, r.newer]).toEqual([0, 2]);
    expect(r.stacks.map((s) => [s.frames[0]!.function, s.growth_bytes])).toEqual([['leak', 2_000], ['churn', 500]]);
  });

  it('falls back to the newest pair, then the previous ones, when the widest pair leaves nothing', () => {
    const three = [...snaps, snap(2 * HOUR, stack('leak', 1_000), stack('cache', 5_000))];
    const r = localise({ snapshots: three, pattern: 'steady', slopePerHour: 1_000, references: new Set(), top: 5 });
    expect([r.older, r.newer]).toEqual([0, 1]);
    expect(r.stacks[0]!.frames[0]!.function).toBe('leak');
    expect(localise({ snapshots: three.slice(0, 1), pattern: 'steady', slopePerHour: 0, references: new Set(), top: 5 }).older).toBe(-1);
  });
});
