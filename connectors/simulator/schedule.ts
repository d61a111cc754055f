import type { FleetPlan, LeakPlan } from './fleet.js';
import { Stream, draw, exponential, lognormal, logUniform } from './random.js';

/**
 * When things happen, as pure functions of (seed, who, k): the k-th restart of a
 * series, the k-th spike, the k-th workload shift of a host, the k-th outage of a
 * cluster. The generator plays these sequences tick by tick and the ground truth
 * enumerates them without generating samples; sharing these functions is what keeps
 * the two in agreement. All times are in ticks from the start.
 */

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** Mean days between workload shifts of one host: a minority of hosts shift within weeks. */
export const SHIFT_MEAN_DAYS = 80;
/** Mean days between agent gaps (no samples at all) of one host. */
export const GAP_MEAN_DAYS = 25;

/** Ticks of a duration drawn log-uniformly between lo and hi ms; at least one tick. */
function ticksOf(plan: FleetPlan, u: number, loMs: number, hiMs: number): number {
  return Math.max(1, Math.round(logUniform(u, loMs, hiMs) / plan.opts.intervalMs));
}

function gapTicks(u: number, meanTicks: number): number {
  return Math.max(1, Math.round(exponential(u, meanTicks)));
}

/** Ticks from restart k-1 (or the start) to unplanned restart k of series s. */
export function restartGap(plan: FleetPlan, s: number, k: number): number {
  return gapTicks(draw(plan.seed, Stream.Restart, s, k), plan.seriesRestartMean[s]!);
}

/** A new pid for the n-th start of series s (n = 0 at the start of the span). */
export function pidOf(plan: FleetPlan, s: number, n: number): number {
  return 300 + Math.floor(draw(plan.seed, Stream.Pid, s, n) * 4_194_000);
}

export interface Spike {
  start: number;
  /** Ticks at full height. */
  hold: number;
  /** Height as a fraction of the baseline. */
  height: number;
  /** First tick back at zero: start + hold + 2. */
  end: number;
}

/** Spike k of series s, after the previous one ended at prevEnd: rises over two points, holds, falls over two. */
export function spikeAt(plan: FleetPlan, s: number, k: number, prevEnd: number, out: Spike): Spike {
  const p = plan.profiles[plan.seriesComponent[s]!]!;
  out.start = prevEnd + gapTicks(draw(plan.seed, Stream.Spike, s, k), p.spikeDays * plan.ticksPerDay);
  out.hold = ticksOf(plan, draw(plan.seed, Stream.SpikeShape, s, k, 0), 10 * MINUTE, 3 * HOUR);
  out.height = p.spikeHeight * lognormal(draw(plan.seed, Stream.SpikeShape, s, k, 1), 0.5);
  out.end = out.start + out.hold + 2;
  return out;
}

export interface Shift {
  start: number;
  /** Ticks over which the new level is reached. */
  ramp: number;
  end: number;
  up: boolean;
  /** Relative change for a fully sensitive process. */
  magnitude: number;
}

/** Workload shift k of host h: more or fewer tenants, a lasting change reached over hours. */
export function shiftAt(plan: FleetPlan, h: number, k: number, prevEnd: number, out: Shift): Shift {
  out.start = prevEnd + gapTicks(draw(plan.seed, Stream.Shift, h, k), SHIFT_MEAN_DAYS * plan.ticksPerDay);
  out.ramp = ticksOf(plan, draw(plan.seed, Stream.ShiftShape, h, k, 0), HOUR, 6 * HOUR);
  out.end = out.start + out.ramp;
  out.up = draw(plan.seed, Stream.ShiftShape, h, k, 1) < 0.6;
  out.magnitude = logUniform(draw(plan.seed, Stream.ShiftShape, h, k, 2), 0.08, 0.4);
  return out;
}

/** How much of host shift k series s feels: a process's factor multiplies by this. */
export function shiftFactor(plan: FleetPlan, s: number, k: number, shift: Shift): number {
  const change = shift.magnitude * (0.3 + 0.7 * draw(plan.seed, Stream.ShiftSens, s, k));
  return shift.up ? 1 + change : 1 / (1 + change);
}

export interface Gap {
  start: number;
  /** First tick with samples again. */
  end: number;
}

/** Agent gap k of host h: no samples from any of its processes in [start, end). */
export function gapAt(plan: FleetPlan, h: number, k: number, prevEnd: number, out: Gap): Gap {
  out.start = prevEnd + gapTicks(draw(plan.seed, Stream.Gap, h, k), GAP_MEAN_DAYS * plan.ticksPerDay);
  out.end = out.start + ticksOf(plan, draw(plan.seed, Stream.GapShape, h, k), 15 * MINUTE, 3 * HOUR);
  return out;
}

export interface Outage {
  start: number;
  /** Ticks the downstream is down; buffers grow. */
  duration: number;
  /** Ticks to drain afterwards. */
  drain: number;
  /** First tick with an empty buffer again. */
  end: number;
  /** Buffer growth per tick, fraction of the baseline. */
  growth: number;
}

/** Number of buffer groups: one per (component, cluster). */
export function groupCount(plan: FleetPlan): number {
  return plan.profiles.length * plan.clusterNames.length;
}

/**
 * Downstream outage k of group g = component * clusters + cluster, or null when the
 * component does not buffer.
 */
export function outageAt(plan: FleetPlan, g: number, k: number, prevEnd: number, out: Outage): Outage | null {
  const p = plan.profiles[Math.floor(g / plan.clusterNames.length)]!;
  if (!(p.bufferPerHour > 0 && p.outageDays > 0)) return null;
  out.start = prevEnd + gapTicks(draw(plan.seed, Stream.Outage, g, k), p.outageDays * plan.ticksPerDay);
  out.duration = ticksOf(plan, draw(plan.seed, Stream.OutageShape, g, k, 0), HOUR, 8 * HOUR);
  out.drain = ticksOf(plan, draw(plan.seed, Stream.OutageShape, g, k, 1), 30 * MINUTE, 2 * HOUR);
  out.end = out.start + out.duration + out.drain;
  out.growth = (p.bufferPerHour * plan.opts.intervalMs) / HOUR;
  return out;
}

/** How strongly series s buffers relative to its component (busier hosts queue more). */
export function bufferSensitivity(plan: FleetPlan, s: number): number {
  return lognormal(draw(plan.seed, Stream.BufferSens, s), 0.4);
}

export interface LeakSegment {
  /** Ticks of growth, then ticks flat (0 flat and infinite growth for steady leaks). */
  grow: number;
  flat: number;
}

/**
 * Segment k of a leak. Stairs grow for hours and rest for hours; spikes jump within
 * one to three points and rest for days. Either way the mean rate is the leak's rate.
 */
export function leakSegment(plan: FleetPlan, leak: LeakPlan, index: number, k: number, out: LeakSegment): LeakSegment {
  const u0 = draw(plan.seed, Stream.LeakSegment, index, k, 0);
  const u1 = draw(plan.seed, Stream.LeakSegment, index, k, 1);
  switch (leak.pattern) {
    case 'steady':
      out.grow = Infinity;
      out.flat = 0;
      break;
    case 'stair':
      out.grow = ticksOf(plan, u0, 2 * HOUR, 8 * HOUR);
      out.flat = ticksOf(plan, u1, 3 * HOUR, 24 * HOUR);
      break;
    case 'spike':
      out.grow = 1 + Math.floor(u0 * 3);
      out.flat = ticksOf(plan, u1, 24 * HOUR, 96 * HOUR);
      break;
  }
  return out;
}

/** Bytes per tick while a segment grows, so that grow + flat averages the leak's rate. */
export function segmentSlope(leak: LeakPlan, seg: LeakSegment): number {
  return seg.flat === 0 ? leak.bytesPerTick : (leak.bytesPerTick * (seg.grow + seg.flat)) / seg.grow;
}

/** Ticks until a restarted process of component c is within 1 % of its plateau. */
export function warmupTicks(plan: FleetPlan, c: number): number {
  const p = plan.profiles[c]!;
  if (p.warmDepth <= 0) return 0;
  return Math.max(1, Math.ceil((Math.log(p.warmDepth / 0.01) * p.warmTauMin * MINUTE) / plan.opts.intervalMs));
}

/** Per-tick decay of the warm-up shortfall of component c. */
export function warmupDecay(plan: FleetPlan, c: number): number {
  return Math.exp(-plan.opts.intervalMs / (plan.profiles[c]!.warmTauMin * MINUTE));
}

/**
 * The daily load cycle in a region at time `ms`: a sine peaking at 15:00 local time,
 * damped at weekends. Mean zero over a day, so it never adds drift.
 */
export function diurnal(ms: number, utcOffsetHours: number): number {
  const localHours = ms / HOUR + utcOffsetHours;
  const hour = localHours - Math.floor(localHours / 24) * 24;
  // 1970-01-01 was a Thursday: local day index 2 and 3 (mod 7) are Saturday and Sunday.
  const dow = Math.floor(localHours / 24) % 7;
  const weekend = dow === 2 || dow === 3 || dow === -4 || dow === -5;
  return Math.sin((2 * Math.PI * (hour - 9)) / 24) * (weekend ? 0.6 : 1);
}
