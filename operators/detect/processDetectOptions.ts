import { formatMs, toMs } from '../../engine/duration.js';
import { ConfigError, type ConfigIssue } from '../../engine/errors.js';
import { durationSchema } from '../../engine/pipeline/options.js';
import type { ReportParams } from './reportRule.js';
import type { IntervalParams } from './suspiciousInterval.js';
import type { WarmupParams } from './warmupCurve.js';

/** Options of `process-detect`; docs/detection.md ("Level 2") says how each default was chosen. */
export interface ProcessDetectOptions {
  /** Event time the Gaussians of a component are fitted over. */
  model_window: string | number;
  /** Period means kept per series: for the growth pattern, and the most growth is measured over. */
  pattern_window: string | number;
  /** The load cycle that day-against-day comparisons cancel (a day). */
  cycle: string | number;
  /** Growth is measured over at most this much of the recent past (at least a cycle and a quarter). */
  growth_window: string | number;
  /** Least time since a (re)start or an event before a process can be reported. */
  min_duration: string | number;
  /** The report rule must hold this long without a break before a process is reported: spikes do not last. */
  confirm: string | number;
  /** Growth this many times both `min_growth` and `growth_z` sigmas is clear: it may be reported after `clear_min_duration` and `clear_confirm` (0: off). */
  clear_growth: number;
  /** Least time since a (re)start or an event before clear growth is reported (more than a cycle). */
  clear_min_duration: string | number;
  /** How long clear growth must hold before a report. */
  clear_confirm: string | number;
  /** Least growth reported, as a share of the level it grew from. */
  min_growth: number;
  /** Least growth reported, MB. */
  min_growth_mb: number;
  /** Least growth reported, in sigmas of the day-to-day noise of the process. */
  growth_z: number;
  /**
   * Growth in the later half of the span, and over the last day the peers are compared
   * on, must be at least this share of what steady growth would add.
   */
  recent_share: number;
  /** The latest hour-pairs (this long) must still show `latest_share` of the growth: a drained buffer does not. */
  latest: string | number;
  /** Share of the growth the latest hour-pairs must show (0: off). */
  latest_share: number;
  /** Not reported while the median host-mate or cluster peer grew by this share of the process's growth (0: off). */
  peer_share: number;
  /** Least sigmas of growth in each of two or more lifetimes (restart to restart) that may pool to growth_z (0: off). */
  lifetime_z: number;
  /** Reset T0 when fewer than this share of the interval's steps rose. */
  epsilon: number;
  /** A step rose when dU exceeds rose_k sigmas of the series' own period-to-period noise. */
  rose_k: number;
  /** Whether dU is modelled in bytes, as the method states, or relative to the process's level. */
  difference: 'absolute' | 'relative';
  /** Points ignored after a (re)start while the process fills its caches (until learned, with learn_warmup). */
  warmup: string | number;
  /** Learn each component's warm-up from the restarts of its processes, instead of the fixed `warmup`. */
  learn_warmup: boolean;
  /** The longest warm-up learned. */
  warmup_max: string | number;
  /** An upward outlier that reverses within this long is a transient spike, left out of the interval. */
  event_window: string | number;
  /** A step up that stays: an event that growth is measured after, or growth that the peer check judges. */
  steps: 'event' | 'growth';
  /** A fall of more than this share of rss within one period counts as a restart. */
  restart_drop: number;
  /** An open alert resolves after its process has not been reported for this long. */
  resolve_after: string | number;
  /** An open alert is re-emitted when its end moved this much (or its severity by 10%). */
  update_every: string | number;
}

export const PROCESS_DETECT_DEFAULTS: Readonly<ProcessDetectOptions> = {
  model_window: '30d',
  pattern_window: '7d',
  cycle: '24h',
  growth_window: '7d',
  min_duration: '30h',
  confirm: '5h',
  clear_growth: 2.5,
  clear_min_duration: '25h',
  clear_confirm: '3h',
  min_growth: 0.018,
  min_growth_mb: 1,
  growth_z: 5,
  recent_share: 0.25,
  latest: '6h',
  latest_share: 0.3,
  peer_share: 0.25,
  lifetime_z: 2,
  epsilon: 0.2,
  rose_k: 0,
  difference: 'absolute',
  warmup: '24h',
  learn_warmup: true,
  warmup_max: '48h',
  event_window: '6h',
  steps: 'growth',
  restart_drop: 0.3,
  resolve_after: '12h',
  update_every: '6h',
};

const D = PROCESS_DETECT_DEFAULTS;
const DURATIONS = [
  'model_window', 'pattern_window', 'cycle', 'growth_window', 'min_duration', 'confirm',
  'clear_min_duration', 'clear_confirm', 'latest', 'warmup', 'warmup_max', 'event_window', 'resolve_after', 'update_every',
] as const;
/** Durations that may be 0. */
const MAY_BE_ZERO: ReadonlySet<string> = new Set(['min_duration', 'confirm', 'clear_confirm', 'warmup', 'event_window', 'resolve_after', 'update_every']);

export const PROCESS_DETECT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model_window: durationSchema({ default: D.model_window }),
    pattern_window: durationSchema({ default: D.pattern_window }),
    cycle: durationSchema({ default: D.cycle }),
    growth_window: durationSchema({ default: D.growth_window }),
    min_duration: durationSchema({ default: D.min_duration }),
    confirm: durationSchema({ default: D.confirm }),
    clear_growth: { type: 'number', minimum: 0, default: D.clear_growth },
    clear_min_duration: durationSchema({ default: D.clear_min_duration }),
    clear_confirm: durationSchema({ default: D.clear_confirm }),
    min_growth: { type: 'number', minimum: 0, default: D.min_growth },
    min_growth_mb: { type: 'number', minimum: 0, default: D.min_growth_mb },
    growth_z: { type: 'number', minimum: 0, default: D.growth_z },
    recent_share: { type: 'number', minimum: 0, default: D.recent_share },
    latest: durationSchema({ default: D.latest }),
    latest_share: { type: 'number', minimum: 0, default: D.latest_share },
    peer_share: { type: 'number', minimum: 0, default: D.peer_share },
    lifetime_z: { type: 'number', minimum: 0, default: D.lifetime_z },
    epsilon: { type: 'number', minimum: 0, maximum: 1, default: D.epsilon },
    rose_k: { type: 'number', minimum: 0, default: D.rose_k },
    difference: { enum: ['absolute', 'relative'], default: D.difference },
    warmup: durationSchema({ default: D.warmup }),
    learn_warmup: { type: 'boolean', default: D.learn_warmup },
    warmup_max: durationSchema({ default: D.warmup_max }),
    event_window: durationSchema({ default: D.event_window }),
    steps: { enum: ['event', 'growth'], default: D.steps },
    restart_drop: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: D.restart_drop },
    resolve_after: durationSchema({ default: D.resolve_after }),
    update_every: durationSchema({ default: D.update_every }),
  },
} as const;

/** dU further than this many sigma2 from mu2 is an event, not growth (the method's 3 sigma). */
const OUTLIER_SIGMA = 3;
/** A warm-up is over when a restarted process rises by less than this share of its level over the next cycle. */
const WARMUP_TOLERANCE = 0.007;
/** Restarts seen at every period of the curve before a learned warm-up replaces the fixed one. */
const WARMUP_MIN_RESTARTS = 30;
/** Most period means kept per series; a longer pattern_window is clipped to it. */
export const MAX_PATTERN_SLOTS = 4096;
export type Durations = Record<(typeof DURATIONS)[number], number>;

/** Durations in ms, checked together so that every problem is reported at once. */
export function durationsOf(options: ProcessDetectOptions, node: string): Durations {
  const issues: ConfigIssue[] = [];
  const ms = {} as Durations;
  for (const name of DURATIONS) {
    try {
      ms[name] = toMs(options[name] ?? D[name]);
      if (!(ms[name] >= 0)) issues.push({ node, field: `options.${name}`, message: 'must not be negative' });
      else if (ms[name] === 0 && !MAY_BE_ZERO.has(name)) issues.push({ node, field: `options.${name}`, message: 'must be greater than 0' });
    } catch (err) {
      issues.push({ node, field: `options.${name}`, message: (err as Error).message });
    }
  }
  if (issues.length === 0) {
    const least = ms.cycle * 1.25;
    if (ms.growth_window < least) {
      issues.push({ node, field: 'options.growth_window', message: `must be at least a cycle and a quarter (${formatMs(least)}), got ${formatMs(ms.growth_window)}` });
    }
    if (ms.pattern_window < ms.growth_window) {
      issues.push({ node, field: 'options.pattern_window', message: `must be at least growth_window (${formatMs(ms.growth_window)}), got ${formatMs(ms.pattern_window)}` });
    }
  }
  if (issues.length) throw new ConfigError(issues);
  return ms;
}

/** What the options come to once the rollup period is known: everything counted in periods. */
export interface PeriodSetup {
  /** Period means kept per series. */
  slots: number;
  /** Periods in a load cycle. */
  cycle: number;
  /** Periods the report rule must hold. */
  confirmPoints: number;
  /** Periods the report rule must hold while the growth is clear. */
  clearConfirmPoints: number;
  /** Periods asked for by pattern_window when more than MAX_PATTERN_SLOTS (0: not clipped). */
  clippedFrom: number;
  interval: IntervalParams;
  report: ReportParams;
  /** Null when the warm-up is not learned. */
  warmup: WarmupParams | null;
}

/** Converts the options' durations into counts of `period`-long periods. */
export function periodSetup(o: ProcessDetectOptions, ms: Durations, period: number): PeriodSetup {
  let slots = Math.max(2, Math.round(ms.pattern_window / period));
  let clippedFrom = 0;
  if (slots > MAX_PATTERN_SLOTS) {
    clippedFrom = slots;
    slots = MAX_PATTERN_SLOTS;
  }
  const cycle = Math.max(1, Math.min(Math.round(ms.cycle / period), Math.floor(slots / 2)));
  return {
    slots,
    cycle,
    confirmPoints: Math.max(1, Math.round(ms.confirm / period)),
    clearConfirmPoints: Math.max(1, Math.round(Math.min(ms.clear_confirm, ms.confirm) / period)),
    clippedFrom,
    interval: {
      period,
      epsilon: o.epsilon ?? D.epsilon,
      epsilonMinSteps: cycle,
      roseK: o.rose_k ?? D.rose_k,
      outlierSigma: OUTLIER_SIGMA,
      warmup: ms.warmup,
      eventWindow: ms.event_window,
      stepMovesAnchor: (o.steps ?? D.steps) === 'event',
      restartDrop: o.restart_drop ?? D.restart_drop,
      noiseMinSteps: cycle,
      noiseHorizon: slots,
    },
    report: {
      period,
      cycle,
      growthPoints: Math.max(cycle + Math.max(1, cycle >> 2), Math.min(slots, Math.round(ms.growth_window / period))),
      minSpan: Math.ceil(ms.min_duration / period),
      clearSpan: Math.ceil(Math.min(ms.clear_min_duration, ms.min_duration) / period),
      clearGrowth: (o.clear_growth ?? D.clear_growth) > 0 ? (o.clear_growth ?? D.clear_growth) : Infinity,
      minGrowth: o.min_growth ?? D.min_growth,
      minGrowthBytes: (o.min_growth_mb ?? D.min_growth_mb) * 1024 * 1024,
      growthZ: o.growth_z ?? D.growth_z,
      recentShare: o.recent_share ?? D.recent_share,
      latestPoints: Math.max(1, Math.round(ms.latest / period)),
      latestShare: o.latest_share ?? D.latest_share,
      peerShare: o.peer_share ?? D.peer_share,
      lifetimeZ: (o.lifetime_z ?? D.lifetime_z) > 0 ? (o.lifetime_z ?? D.lifetime_z) : Infinity,
    },
    warmup: (o.learn_warmup ?? D.learn_warmup) ? {
      horizon: Math.max(1, Math.ceil(ms.warmup_max / period)),
      tolerance: WARMUP_TOLERANCE,
      smooth: Math.max(1, cycle >> 2),
      minRestarts: WARMUP_MIN_RESTARTS,
      fallback: ms.warmup,
      period,
    } : null,
  };
}
