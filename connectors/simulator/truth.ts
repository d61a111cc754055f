import { closeSync, openSync, writeSync } from 'node:fs';
import { REGIONS, leakWindow, rolloutTick, type FleetPlan, type LeakPattern } from './fleet.js';
import type { Frame } from '../../engine/diagnosis.js';
import { MAX_DELAY_MS } from './options.js';
import { culpritStack } from './sites.js';
import {
  bufferSensitivity, gapAt, groupCount, outageAt, pidOf, restartGap, shiftAt, shiftFactor, spikeAt, warmupTicks,
  type Gap, type Outage, type Shift, type Spike,
} from './schedule.js';

/**
 * The ground truth of a simulated fleet: every injected leak, and every instance of a
 * behaviour that changes memory without being a leak, with the parameters that made
 * them. Enumerated from the same schedule functions that drive the generator, without
 * generating samples. Times are event-time milliseconds; `end` is exclusive.
 */
export const TRUTH_FORMAT = 'resin-simulator-truth/1';

export interface TruthLeak {
  host: string;
  component: string;
  process: string;
  pattern: LeakPattern;
  start: number;
  /** Mean growth per day, as a fraction of `baseline_bytes`. */
  rate_per_day: number;
  bytes_per_day: number;
  /** Steady-state RSS of the process when the leak started (after rollouts, before workload shifts). */
  baseline_bytes: number;
  /** Allocation site the leak is blamed on. */
  culprit: string;
  /** The culprit's allocation stack as the simulated profiler reports it, innermost frame first. */
  culprit_stack: Frame[];
  /** Version the process ran when the leak started. */
  version: string;
  /** True when the leak arrived with that version's rollout (it starts at the host's update). */
  with_rollout: boolean;
  /** Restarts after the start: each frees the leaked memory, and growth resumes. */
  restarts: number[];
}

export type BehaviourKind = 'restart' | 'warmup' | 'rollout' | 'workload_shift' | 'spike' | 'buffer' | 'gap';

/** One labelled non-leak instance. `component` and `process` are null for a whole-host gap. */
export interface TruthBehaviour {
  kind: BehaviourKind;
  host: string;
  component: string | null;
  process: string | null;
  start: number;
  end: number;
  /** restart: the new pid; why it restarted. */
  pid?: number;
  cause?: 'unplanned' | 'rollout';
  /** warmup: initial shortfall, fraction of the baseline. */
  depth?: number;
  /** rollout: versions and the baseline multiplier. */
  from_version?: string;
  to_version?: string;
  step?: number;
  /** workload_shift: multiplier of the baseline once the ramp is done. */
  factor?: number;
  /** spike: height, fraction of the baseline. */
  height?: number;
  /** buffer: when the downstream came back (drain follows), and the peak, fraction of the baseline. */
  outage_end?: number;
  peak?: number;
}

export interface TruthParams {
  options: Record<string, unknown>;
  interval_ms: number;
  start_ms: number;
  end_ms: number;
  ticks: number;
  series: number;
  pairs: number;
  /** Samples before faults: series x ticks. */
  expected_samples: number;
  /** Farthest a duplicate or late sample trails its event time. */
  max_delay_ms: number;
  /** Leaks start within [from, to]. */
  leak_window: [number, number];
  regions: { name: string; utc_offset: number; hosts: number }[];
  clusters: number;
  components: {
    name: string;
    processes: readonly string[];
    hosts: number;
    median_bytes: number;
    diurnal: number;
    noise: number;
    background: number;
    gc_amp: number;
    gc_period_min: number;
    warm_depth: number;
    warm_tau_min: number;
    restart_days: number;
    spike_days: number;
    buffer_per_hour: number;
    outage_days: number;
    initial_version: string;
    rollouts: { start: number; step: number; version: string }[];
  }[];
}

export interface FleetTruth {
  format: typeof TRUTH_FORMAT;
  params: TruthParams;
  leaks: TruthLeak[];
  behaviours: TruthBehaviour[];
}

export function truthParams(plan: FleetPlan): TruthParams {
  const o = plan.opts;
  const ms = (t: number) => o.startMs + t * o.intervalMs;
  const [from, to] = leakWindow(o.ticks, plan.ticksPerDay);
  const regionHosts = new Array<number>(REGIONS.length).fill(0);
  for (const r of plan.hostRegion) regionHosts[r]!++;
  let pairs = 0;
  for (const n of plan.componentHosts) pairs += n;
  return {
    options: {
      hosts: o.hosts, components: o.components, days: o.days, interval: o.interval, seed: o.seed, start: o.start,
      leak_fraction: o.leak_fraction, noise: o.noise, background: o.background,
      missing_rate: o.missing_rate, duplicate_rate: o.duplicate_rate, late_rate: o.late_rate,
    },
    interval_ms: o.intervalMs,
    start_ms: o.startMs,
    end_ms: o.endMs,
    ticks: o.ticks,
    series: plan.seriesCount,
    pairs,
    expected_samples: plan.seriesCount * o.ticks,
    max_delay_ms: Math.floor(MAX_DELAY_MS / o.intervalMs) * o.intervalMs,
    leak_window: [ms(from), ms(to)],
    regions: REGIONS.map((r, i) => ({ name: r.name, utc_offset: r.utcOffset, hosts: regionHosts[i]! })),
    clusters: plan.clusterNames.length,
    components: plan.profiles.map((p, c) => ({
      name: p.name, processes: p.processes, hosts: plan.componentHosts[c]!, median_bytes: p.medianMb * 1024 ** 2,
      diurnal: p.diurnal, noise: p.noise * o.noise, background: plan.shapes ? p.background : 0,
      gc_amp: p.gcAmp, gc_period_min: p.gcPeriodMin, warm_depth: p.warmDepth, warm_tau_min: p.warmTauMin,
      restart_days: p.restartDays, spike_days: p.spikeDays, buffer_per_hour: p.bufferPerHour, outage_days: p.outageDays,
      initial_version: plan.versions[plan.componentVersion[c]!]!,
      rollouts: plan.rollouts[c]!.map((r) => ({ start: ms(r.start), step: r.step, version: plan.versions[r.version]! })),
    })),
  };
}

export interface Start {
  tick: number;
  cause: 'unplanned' | 'rollout';
  /** Rollout index when cause is rollout. */
  rollout: number;
}

/** Restarts of series s within the span, unplanned and rollout ones merged (one restart per tick). */
export function startsOf(plan: FleetPlan, s: number): Start[] {
  const T = plan.opts.ticks;
  const h = plan.seriesHost[s]!, c = plan.seriesComponent[s]!;
  const out: Start[] = [];
  const plans = plan.rollouts[c]!;
  for (let r = 0; r < plans.length; r++) {
    const tick = rolloutTick(plan.seed, plan.ticksPerDay, plans[r]!, h, c, r);
    if (tick < T) out.push({ tick, cause: 'rollout', rollout: r });
  }
  for (let k = 0, tick = restartGap(plan, s, 0); tick < T; tick += restartGap(plan, s, ++k)) {
    if (!out.some((x) => x.tick === tick)) out.push({ tick, cause: 'unplanned', rollout: -1 });
  }
  return out.sort((a, b) => a.tick - b.tick);
}

/** Every leak, in series order. */
export function truthLeaks(plan: FleetPlan): TruthLeak[] {
  const o = plan.opts;
  const ms = (t: number) => o.startMs + t * o.intervalMs;
  return plan.leaks.map((leak) => {
    const s = leak.series, h = plan.seriesHost[s]!, c = plan.seriesComponent[s]!;
    const starts = startsOf(plan, s);
    let version = plan.versions[plan.componentVersion[c]!]!;
    for (const st of starts) if (st.cause === 'rollout' && st.tick <= leak.start) version = plan.versions[plan.rollouts[c]![st.rollout]!.version]!;
    return {
      host: plan.hostNames[h]!,
      component: plan.profiles[c]!.name,
      process: plan.processNames[plan.seriesProcess[s]!]!,
      pattern: leak.pattern,
      start: ms(leak.start),
      rate_per_day: leak.ratePerDay,
      bytes_per_day: Math.round(leak.ratePerDay * leak.baseline),
      baseline_bytes: leak.baseline,
      culprit: leak.culprit,
      culprit_stack: culpritStack(plan, leak),
      version,
      with_rollout: leak.rollout >= 0,
      restarts: starts.filter((st) => st.tick > leak.start).map((st) => ms(st.tick)),
    };
  });
}

/**
 * Every labelled non-leak instance, series by series (each series' in time order), then
 * whole-host gaps. A generator, so that a large fleet's truth can be written without
 * holding it.
 */
export function* truthBehaviours(plan: FleetPlan): Generator<TruthBehaviour> {
  const o = plan.opts;
  const T = o.ticks;
  const ms = (t: number) => o.startMs + t * o.intervalMs;
  const clusters = plan.clusterNames.length;
  const spike: Spike = { start: 0, hold: 0, height: 0, end: 0 };
  const shift: Shift = { start: 0, ramp: 0, end: 0, up: true, magnitude: 0 };
  const outage: Outage = { start: 0, duration: 0, drain: 0, end: 0, growth: 0 };
  const gap: Gap = { start: 0, end: 0 };

  // Outages per group, computed once: every host of the group's cluster shares them.
  const outages: Outage[][] = [];
  for (let g = 0; g < groupCount(plan); g++) {
    const list: Outage[] = [];
    for (let k = 0, prev = 0; ; k++) {
      const x = outageAt(plan, g, k, prev, outage);
      if (!x || x.start >= T) break;
      list.push({ ...x });
      prev = x.end;
    }
    outages.push(list);
  }

  for (let s = 0; s < plan.seriesCount; s++) {
    const h = plan.seriesHost[s]!, c = plan.seriesComponent[s]!;
    const host = plan.hostNames[h]!, component = plan.profiles[c]!.name, proc = plan.processNames[plan.seriesProcess[s]!]!;
    const items: TruthBehaviour[] = [];
    const starts = startsOf(plan, s);
    const warm = warmupTicks(plan, c);
    let version = plan.versions[plan.componentVersion[c]!]!;
    starts.forEach((st, i) => {
      const next = i + 1 < starts.length ? starts[i + 1]!.tick : T;
      const warmEnd = Math.min(st.tick + warm, next, T);
      items.push({ kind: 'restart', host, component, process: proc, start: ms(st.tick), end: ms(st.tick), pid: pidOf(plan, s, i + 1), cause: st.cause });
      if (warm > 0) items.push({ kind: 'warmup', host, component, process: proc, start: ms(st.tick), end: ms(warmEnd), depth: plan.profiles[c]!.warmDepth });
      if (st.cause === 'rollout') {
        const r = plan.rollouts[c]![st.rollout]!;
        const to = plan.versions[r.version]!;
        items.push({ kind: 'rollout', host, component, process: proc, start: ms(st.tick), end: ms(warmEnd), from_version: version, to_version: to, step: r.step });
        version = to;
      }
    });

    for (let k = 0, prev = 0; ; k++) {
      spikeAt(plan, s, k, prev, spike);
      if (spike.start >= T) break;
      prev = spike.end;
      // A restart during a spike releases it early.
      let end = Math.min(spike.end, T);
      for (const st of starts) if (st.tick > spike.start && st.tick < end) end = st.tick;
      items.push({ kind: 'spike', host, component, process: proc, start: ms(spike.start), end: ms(end), height: spike.height });
    }

    for (let k = 0, prev = 0; ; k++) {
      shiftAt(plan, h, k, prev, shift);
      if (shift.start >= T) break;
      prev = shift.end;
      items.push({ kind: 'workload_shift', host, component, process: proc, start: ms(shift.start), end: ms(Math.min(shift.end, T)), factor: shiftFactor(plan, s, k, shift) });
    }

    const list = outages[c * clusters + plan.hostCluster[h]!]!;
    if (list.length > 0) {
      const sens = bufferSensitivity(plan, s);
      for (const x of list) {
        items.push({
          kind: 'buffer', host, component, process: proc, start: ms(x.start), end: ms(Math.min(x.end, T)),
          outage_end: ms(x.start + x.duration), peak: x.growth * x.duration * sens,
        });
      }
    }
    items.sort((a, b) => a.start - b.start);
    yield* items;
  }

  for (let h = 0; h < plan.hostNames.length; h++) {
    for (let k = 0, prev = 0; ; k++) {
      gapAt(plan, h, k, prev, gap);
      if (gap.start >= T) break;
      prev = gap.end;
      yield { kind: 'gap', host: plan.hostNames[h]!, component: null, process: null, start: ms(gap.start), end: ms(Math.min(gap.end, T)) };
    }
  }
}

export function buildTruth(plan: FleetPlan): FleetTruth {
  return { format: TRUTH_FORMAT, params: truthParams(plan), leaks: truthLeaks(plan), behaviours: [...truthBehaviours(plan)] };
}

/** Write the truth as one JSON document, streaming the behaviours so that memory stays flat. */
export function writeTruth(plan: FleetPlan, path: string): void {
  const fd = openSync(path, 'w');
  try {
    let chunk = `{"format":${JSON.stringify(TRUTH_FORMAT)},\n"params":${JSON.stringify(truthParams(plan))},\n"leaks":[`;
    chunk += truthLeaks(plan).map((l) => '\n' + JSON.stringify(l)).join(',');
    chunk += '\n],\n"behaviours":[';
    let first = true;
    for (const b of truthBehaviours(plan)) {
      chunk += (first ? '\n' : ',\n') + JSON.stringify(b);
      first = false;
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    writeSync(fd, chunk + '\n]}\n');
  } finally {
    closeSync(fd);
  }
}
