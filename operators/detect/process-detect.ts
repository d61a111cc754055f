import { concatMap, type Observable } from 'rxjs';
import type { Alert, LeakPattern } from '../../engine/alert.js';
import { AlertBook, type Finding } from '../../engine/alertBook.js';
import { formatMs, toMs } from '../../engine/duration.js';
import { ConfigError, type ConfigIssue } from '../../engine/errors.js';
import { durationSchema } from '../../engine/pipeline/options.js';
import type { NodeContext, OperatorInstance, OperatorSpec } from '../../engine/spec.js';
import type { Checkpointable } from '../../engine/state.js';
import type { RollupBatch } from '../../engine/telemetry/rollup.js';
import { growthReason, Quiet, resolutionReason } from './alertText.js';
import { GaussianModels, emptyParams, type ModelParams } from './gaussianModels.js';
import { grown } from './grow.js';
import { classifyGrowth, DEFAULT_PATTERN_PARAMS, withoutCycle, type PatternParams } from './growthPattern.js';
import { PeerIndex } from './peerGrowth.js';
import { PeriodRing } from './periodRing.js';
import { GrowthJudge, Verdict, type ReportParams } from './reportRule.js';
import { IntervalState, Move, noiseOf, observe, restartInterval, severity, type IntervalParams } from './suspiciousInterval.js';

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
  /** Least growth reported, as a share of the level it grew from. */
  min_growth: number;
  /** Least growth reported, MB. */
  min_growth_mb: number;
  /** Least growth reported, in sigmas of the day-to-day noise of the process. */
  growth_z: number;
  /** Growth in the later half of the span must be at least this share of what steady growth would add. */
  recent_share: number;
  /** Not reported while the median host-mate or cluster peer grew by this share of the process's growth (0: off). */
  peer_share: number;
  /** Reset T0 when fewer than this share of the interval's steps rose. */
  epsilon: number;
  /** A step rose when dU exceeds rose_k sigmas of the series' own period-to-period noise. */
  rose_k: number;
  /** Whether dU is modelled in bytes, as the method states, or relative to the process's level. */
  difference: 'absolute' | 'relative';
  /** Points ignored after a (re)start while the process fills its caches. */
  warmup: string | number;
  /** An upward outlier that reverses within this long is a transient spike, left out of the interval. */
  event_window: string | number;
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
  min_growth: 0.018,
  min_growth_mb: 1,
  growth_z: 5,
  recent_share: 0.25,
  peer_share: 0.25,
  epsilon: 0.2,
  rose_k: 0,
  difference: 'absolute',
  warmup: '24h',
  event_window: '6h',
  restart_drop: 0.3,
  resolve_after: '12h',
  update_every: '6h',
};

const D = PROCESS_DETECT_DEFAULTS;
const DURATIONS = [
  'model_window', 'pattern_window', 'cycle', 'growth_window', 'min_duration', 'confirm',
  'warmup', 'event_window', 'resolve_after', 'update_every',
] as const;
/** Durations that may be 0. */
const MAY_BE_ZERO: ReadonlySet<string> = new Set(['min_duration', 'confirm', 'warmup', 'event_window', 'resolve_after', 'update_every']);

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
    min_growth: { type: 'number', minimum: 0, default: D.min_growth },
    min_growth_mb: { type: 'number', minimum: 0, default: D.min_growth_mb },
    growth_z: { type: 'number', minimum: 0, default: D.growth_z },
    recent_share: { type: 'number', minimum: 0, default: D.recent_share },
    peer_share: { type: 'number', minimum: 0, default: D.peer_share },
    epsilon: { type: 'number', minimum: 0, maximum: 1, default: D.epsilon },
    rose_k: { type: 'number', minimum: 0, default: D.rose_k },
    difference: { enum: ['absolute', 'relative'], default: D.difference },
    warmup: durationSchema({ default: D.warmup }),
    event_window: durationSchema({ default: D.event_window }),
    restart_drop: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: D.restart_drop },
    resolve_after: durationSchema({ default: D.resolve_after }),
    update_every: durationSchema({ default: D.update_every }),
  },
} as const;

/** dU further than this many sigma2 from mu2 is an event, not growth (the method's 3 sigma). */
const OUTLIER_SIGMA = 3;
/** Observations a model needs before its sigma2 is trusted to call outliers. */
const MIN_MODEL_POINTS = 30;
/** Most period means kept per series; a longer pattern_window is clipped to it. */
export const MAX_PATTERN_SLOTS = 4096;
const HOUR = 3_600_000;
/** Row code of a rejected row. */
const SKIP = 255;

type Durations = Record<(typeof DURATIONS)[number], number>;

/** Durations in ms, checked together so that every problem is reported at once. */
function durationsOf(options: ProcessDetectOptions, node: string): Durations {
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

/**
 * Level-2 detection: which processes leak. Per series it moves RESIN's suspicious
 * interval over the period means of a `rollups` stream, against Gaussians fitted per
 * component (and per region x cluster where the rollups carry them), reports a process
 * once the report rule (reportRule.ts) has held for `confirm`, with the method's
 * severity and growth pattern.
 *
 * A batch is worked in three passes over its rows: every point moves its interval and
 * enters the period ring; then each process is judged (so that peers are compared on
 * the same period whatever the row order); then the models learn the batch.
 *
 * Alerts open when a process is first reported, update while it stays reported (the
 * AlertBook throttles), and resolve once it has not been reported for `resolve_after`:
 * after a restart, a fall below the leak's starting level, growth stopping, or no data.
 * A reported interval stays reported while its T0 holds, so that noise around a
 * threshold cannot make an alert flap.
 */
export class ProcessDetector implements Checkpointable {
  private readonly ms: Durations;
  private readonly relative: boolean;
  private period = 0;
  private cycle = 0;
  private confirmPoints = 1;
  private ip!: IntervalParams;
  private rp!: ReportParams;
  private s = new IntervalState();
  private ring: PeriodRing | null = null;
  private models: GaussianModels;
  private peers = new PeerIndex();
  private judge: GrowthJudge | null = null;
  private book: AlertBook;

  /** Per series: component model, region x cluster model (-1: none), and the attributes they were keyed by. */
  private compModel = new Int32Array(0);
  private fineModel = new Int32Array(0);
  private keyedRegion = new Int32Array(0);
  private keyedCluster = new Int32Array(0);
  /** Per series: T0 of the interval its open alert follows (NaN: no open alert). */
  private alertT0 = new Float64Array(0);
  /** Per series: when its open alert's process stopped being reported (NaN: it is reported), and why. */
  private quietSince = new Float64Array(0);
  private quietCause = new Uint8Array(0);
  /** Per series: consecutive periods the report rule has held. */
  private streak = new Int32Array(0);
  private readonly openIds = new Set<number>();

  /** Per row of the current batch: what observe did (SKIP: rejected), dU, and the previous mean. */
  private codes = new Uint8Array(0);
  private du = new Float64Array(0);
  private before = new Float64Array(0);
  private readonly fine = emptyParams();
  private readonly coarse = emptyParams();
  private patternScratch = new Float64Array(0);
  private patternParams: PatternParams = DEFAULT_PATTERN_PARAMS;
  private warnedClip = false;

  constructor(private readonly options: ProcessDetectOptions, private readonly ctx: NodeContext) {
    this.ms = durationsOf(options, ctx.id);
    this.relative = (options.difference ?? D.difference) === 'relative';
    this.models = new GaussianModels(this.ms.model_window);
    this.book = new AlertBook({ level: 'process', endStep: this.ms.update_every });
  }

  /** Sizes everything that is counted in periods; state kept for another period length is dropped. */
  private setup(period: number): void {
    const o = this.options, ms = this.ms;
    let slots = Math.max(2, Math.round(ms.pattern_window / period));
    if (slots > MAX_PATTERN_SLOTS) {
      slots = MAX_PATTERN_SLOTS;
      if (!this.warnedClip) {
        this.ctx.log.warn('pattern_window clipped', { node: this.ctx.id, periods: Math.round(ms.pattern_window / period), kept: slots });
        this.warnedClip = true;
      }
    }
    const cycle = Math.max(1, Math.min(Math.round(ms.cycle / period), Math.floor(slots / 2)));
    this.period = period;
    this.cycle = cycle;
    this.confirmPoints = Math.max(1, Math.round(ms.confirm / period));
    this.ip = {
      period,
      epsilon: o.epsilon ?? D.epsilon,
      epsilonMinSteps: cycle,
      roseK: o.rose_k ?? D.rose_k,
      outlierSigma: OUTLIER_SIGMA,
      warmup: ms.warmup,
      eventWindow: ms.event_window,
      restartDrop: o.restart_drop ?? D.restart_drop,
      noiseMinSteps: cycle,
      noiseHorizon: slots,
    };
    this.rp = {
      period,
      cycle,
      growthPoints: Math.max(cycle + Math.max(1, cycle >> 2), Math.min(slots, Math.round(ms.growth_window / period))),
      minSpan: Math.ceil(ms.min_duration / period),
      minGrowth: o.min_growth ?? D.min_growth,
      minGrowthBytes: (o.min_growth_mb ?? D.min_growth_mb) * 1024 * 1024,
      growthZ: o.growth_z ?? D.growth_z,
      recentShare: o.recent_share ?? D.recent_share,
      peerShare: o.peer_share ?? D.peer_share,
      warmup: ms.warmup,
    };
    this.s = new IntervalState();
    this.ring = new PeriodRing(slots);
    this.models = new GaussianModels(ms.model_window, cycle);
    this.peers = new PeerIndex();
    this.judge = new GrowthJudge(this.rp, this.ring, this.peers, this.s);
    this.patternScratch = new Float64Array(slots);
    this.patternParams = { ...DEFAULT_PATTERN_PARAMS, smooth: Math.max(2, cycle >> 2) };
    this.compModel = new Int32Array(0);
    this.fineModel = new Int32Array(0);
    this.keyedRegion = new Int32Array(0);
    this.keyedCluster = new Int32Array(0);
  }

  private ensure(need: number): void {
    this.s.ensure(need);
    this.ring!.ensure(need);
    this.judge!.ensure(need, this.models.size + 1);
    if (need <= this.compModel.length && need <= this.alertT0.length) return;
    this.compModel = grown(this.compModel, need, -1);
    this.fineModel = grown(this.fineModel, need, -1);
    this.keyedRegion = grown(this.keyedRegion, need, -2);
    this.keyedCluster = grown(this.keyedCluster, need, -2);
    this.alertT0 = grown(this.alertT0, need, NaN);
    this.quietSince = grown(this.quietSince, need, NaN);
    this.quietCause = grown(this.quietCause, need);
    this.streak = grown(this.streak, need);
  }

  /** Model indices of series `id`, keyed again if its region or cluster has become known. */
  private keyModels(id: number): void {
    const cat = this.ctx.catalog;
    const region = cat.seriesRegion[id]!, cluster = cat.seriesCluster[id]!;
    if (this.keyedRegion[id] === region && this.keyedCluster[id] === cluster) return;
    const component = cat.components.name(cat.seriesComponent[id]!);
    this.compModel[id] = this.models.model(`c\u0001${component}`);
    this.fineModel[id] = region < 0 && cluster < 0 ? -1 : this.models.model(
      `r\u0001${component}\u0001${region < 0 ? '' : cat.attrs.name(region)}\u0001${cluster < 0 ? '' : cat.attrs.name(cluster)}`,
    );
    this.keyedRegion[id] = region;
    this.keyedCluster[id] = cluster;
    this.judge!.ensure(this.s.capacity, this.models.size);
  }

  /**
   * The model series `id` is judged against at period p: the narrowest with data enough,
   * from its region x cluster group at this phase of the cycle, through its component at
   * this phase, to either over all phases (a young fleet has few points per phase).
   */
  private paramsFor(id: number, p: number): ModelParams {
    const f = this.fineModel[id]!, c = this.compModel[id]!, m = this.models, t = p * this.period;
    const phase = ((p % this.cycle) + this.cycle) % this.cycle;
    if (f >= 0 && m.params(f, t, phase, this.fine).nD >= MIN_MODEL_POINTS) return this.fine;
    if (m.params(c, t, phase, this.coarse).nD >= MIN_MODEL_POINTS) return this.coarse;
    if (f >= 0 && m.params(f, t, -1, this.fine).nD >= MIN_MODEL_POINTS) return this.fine;
    if (m.params(c, t, -1, this.coarse).nD < MIN_MODEL_POINTS) {
      this.coarse.mu2 = NaN;
      this.coarse.sigma2 = NaN;
    }
    return this.coarse;
  }

  process(batch: RollupBatch): Alert[] {
    // A period still open at stream end comes again, complete, when the run resumes; the
    // interval and the models cannot take a period twice, so they wait for that one.
    if (batch.provisional === true) return [];
    const out: Alert[] = [];
    if (batch.period !== this.period) {
      if (this.period !== 0) {
        this.ctx.log.warn('rollup period changed: level-2 state starts again', { node: this.ctx.id, from: this.period, to: batch.period });
      }
      this.setup(batch.period);
    }
    const n = batch.length;
    const cat = this.ctx.catalog;
    this.ensure(cat.size);
    if (this.codes.length < n) {
      this.codes = new Uint8Array(Math.max(n, this.codes.length * 2));
      this.du = new Float64Array(this.codes.length);
      this.before = new Float64Array(this.codes.length);
    }
    const codes = this.codes, du = this.du, before = this.before;
    const ts = batch.start, at = batch.start + batch.period, p = Math.round(ts / batch.period);
    const s = this.s, ring = this.ring!, ip = this.ip, judge = this.judge!;
    const { series, mean, restarted } = batch;

    // 1. Every point moves its interval and enters the ring.
    for (let i = 0; i < n; i++) {
      const id = series[i]!, u = mean[i]!;
      codes[i] = SKIP;
      du[i] = NaN;
      if (!(id >= 0 && id < cat.size) || !(u >= 0) || u === Infinity) {
        this.reject(batch, i, !(id >= 0 && id < cat.size) ? 'missing_field' : u < 0 ? 'negative_value' : 'not_finite');
        continue;
      }
      this.keyModels(id);
      this.peers.join(id, cat.seriesHost[id]!, this.fineModel[id]! >= 0 ? this.fineModel[id]! : this.compModel[id]!);
      const model = this.paramsFor(id, p);
      const prevTs = s.lastTs[id]!, prevU = s.lastU[id]!;
      const scale = this.relative ? prevU : 1;
      const code = observe(s, id, ts, u, restarted[i] === 1, model.mu2 * scale, model.sigma2 * scale, ip);
      if (code === Move.stale) {
        this.reject(batch, i, ts < prevTs ? 'late' : 'conflict');
        continue;
      }
      ring.write(id, p, u);
      // A transient spike's periods are left out of every level, as they were left out of the interval.
      if (s.spikeFrom === s.spikeFrom) ring.mask(id, Math.round(s.spikeFrom / batch.period), p - 1);
      if (code !== Move.restart && code !== Move.warming && ts - prevTs < 1.5 * batch.period) du[i] = u - prevU;
      codes[i] = code;
      before[i] = prevU;
    }

    // 2. Every process is judged, once all of this period's points are in.
    for (let i = 0; i < n; i++) {
      const code = codes[i]!;
      if (code === SKIP || code === Move.event) continue;
      const id = series[i]!, u = mean[i]!;
      if (code === Move.restart || code === Move.warming) {
        this.streak[id] = 0;
        if (this.alertT0[id] === this.alertT0[id]) this.quiet(id, ts, Quiet.restart, at, out);
        continue;
      }
      judge.trackDayNoise(id, p, this.compModel[id]!);
      const t0 = s.t0[id]!;
      let reported = false;
      let cause: number = code === Move.below ? Quiet.below : code === Move.outlier ? Quiet.drop : Quiet.paused;
      if (code === Move.extended && this.alertT0[id] === t0) {
        reported = true;
      } else if (code === Move.outlier && this.alertT0[id] === this.alertT0[id] && s.anchor[id] === ts) {
        // A step up is an event, not a leak, but no sign that the leak ended either: follow the new interval.
        reported = true;
      } else if (code === Move.extended) {
        const model = this.paramsFor(id, p);
        const sigma = noiseOf(s, id, this.relative ? model.sigma2 * before[i]! : model.sigma2, ip);
        const verdict = judge.judge(id, p, Math.round(s.anchor[id]! / batch.period), this.compModel[id]!, sigma);
        if (verdict === Verdict.shared) {
          // Growth the peers share is an event like the method's outliers: the interval starts after it.
          restartInterval(s, id, ts, u);
          cause = Quiet.shared;
        }
        this.streak[id] = verdict === Verdict.report ? this.streak[id]! + 1 : 0;
        reported = this.streak[id]! >= this.confirmPoints;
      } else {
        this.streak[id] = 0;
      }
      if (reported) {
        this.alertT0[id] = s.t0[id]!;
        this.quietSince[id] = NaN;
        this.openIds.add(id);
        const alert = this.book.flag(this.keyOf(id), this.finding(id, batch.pid[i]!, p), at);
        if (alert) out.push(alert);
      } else if (this.alertT0[id] === this.alertT0[id]) {
        this.quiet(id, ts, cause, at, out);
      }
    }

    // 3. Models learn from the batch after it was judged, so that a point never vouches for itself.
    const phase = ((p % this.cycle) + this.cycle) % this.cycle;
    for (let i = 0; i < n; i++) {
      if (codes[i] === SKIP) continue;
      const id = series[i]!, u = mean[i]!;
      const d = this.relative ? du[i]! / before[i]! : du[i]!;
      this.models.add(this.compModel[id]!, ts, u, d, phase);
      const f = this.fineModel[id]!;
      if (f >= 0) this.models.add(f, ts, u, d, phase);
    }

    // A process that stopped reporting holds no memory any more.
    if (this.openIds.size > 0) {
      const gone: number[] = [];
      for (const id of this.openIds) if (s.lastTs[id]! < ts - this.ms.resolve_after) gone.push(id);
      gone.sort((a, b) => a - b);
      for (const id of gone) {
        const alert = this.book.clear(this.keyOf(id), at, `no data since ${new Date(s.lastTs[id]! + batch.period).toISOString()}`);
        this.close(id);
        if (alert) out.push(alert);
      }
    }
    return out;
  }

  /** Series `id` with an open alert was not reported at ts: resolve it once that has lasted resolve_after. */
  private quiet(id: number, ts: number, cause: number, at: number, out: Alert[]): void {
    if (this.quietSince[id] !== this.quietSince[id]) {
      this.quietSince[id] = ts;
      this.quietCause[id] = cause;
    } else if (cause === Quiet.restart || cause === Quiet.shared) {
      this.quietCause[id] = cause;
    }
    // Not while the report rule is holding again (waiting out `confirm`): that would resolve and reopen.
    if (ts - this.quietSince[id]! < this.ms.resolve_after || this.streak[id]! > 0) return;
    const reason = resolutionReason(this.quietCause[id]!, ts + this.period - this.quietSince[id]!, this.s.lastU[id]!);
    const alert = this.book.clear(this.keyOf(id), at, reason);
    this.close(id);
    if (alert) out.push(alert);
  }

  private close(id: number): void {
    this.alertT0[id] = NaN;
    this.quietSince[id] = NaN;
    this.quietCause[id] = 0;
    this.openIds.delete(id);
  }

  private keyOf(id: number): string {
    const cat = this.ctx.catalog;
    return `${cat.hosts.name(cat.seriesHost[id]!)}|${cat.components.name(cat.seriesComponent[id]!)}|${cat.processes.name(cat.seriesProcess[id]!)}`;
  }

  /** What is known about series `id`'s leak at period p, as the fields of an alert. */
  private finding(id: number, pid: number, p: number): Finding {
    const s = this.s;
    const model = this.paramsFor(id, p);
    const t0 = s.t0[id]!, t1 = s.t1[id]!, u0 = s.u0[id]!, u1 = s.u1[id]!;
    const n = s.n[id]!, nInc = s.nInc[id]!;
    const span = t1 - t0;
    const pattern = this.patternOf(id, t0);
    const rate = span > 0 ? ((u1 - u0) / span) * HOUR : 0;
    const d = this.ctx.catalog.describe(id);
    return {
      component: d.component, host: d.host, process: d.process, pid: pid >= 0 ? pid : null,
      region: d.region, cluster: d.cluster, start: t0, end: t1,
      severity: severity(u1 - s.firstU[id]!, model.sigma1, nInc, n, span, u1, model.mu1),
      pattern, rss: u1, rate, bucket_mb: null, hosts: null,
      reason: growthReason(u1 - u0, span, rate, pattern, n > 1 ? Math.round((100 * nInc) / (n - 1)) : 0),
    };
  }

  /**
   * Growth pattern of series `id` over what the ring holds since its anchor (or T0, if
   * earlier), its daily cycle taken out as seen over the whole ring: a week shows the
   * cycle even when the stretch since the anchor is too short to.
   */
  private patternOf(id: number, t0: number): LeakPattern {
    const ring = this.ring!, sc = this.patternScratch;
    const anchor = this.s.anchor[id]!;
    const from = Math.round((anchor === anchor ? Math.min(t0, anchor) : t0) / this.period);
    const first = ring.newest[id]! - ring.slots + 1;
    const k = ring.read(id, first, sc);
    const skip = Math.max(0, Math.min(k, from - Math.max(first, 0)));
    const flat = withoutCycle(sc, k, this.cycle);
    return classifyGrowth(flat.subarray(skip), k - skip, this.patternParams).pattern;
  }

  private reject(batch: RollupBatch, i: number, reason: 'missing_field' | 'negative_value' | 'not_finite' | 'late' | 'conflict'): void {
    const detail = reason === 'missing_field' ? `series ${batch.series[i]} is not in the catalog`
      : reason === 'late' ? 'period is older than the series\' last one'
        : reason === 'conflict' ? 'second value for the same series and period'
          : `mean ${batch.mean[i]} is not a usable byte count`;
    this.ctx.deadLetter.reject({
      reason, source: this.ctx.id, line: i + 1,
      field: reason === 'missing_field' ? 'series' : reason === 'late' || reason === 'conflict' ? 'start' : 'mean',
      detail, record: { series: batch.series[i], start: batch.start, mean: batch.mean[i], max: batch.max[i], count: batch.count[i] },
    });
  }

  checkpoint(): unknown {
    const count = Math.min(this.s.capacity, this.ctx.catalog.size);
    return {
      version: 1,
      period: this.period,
      interval: this.period ? this.s.snapshot(count) : null,
      ring: this.ring ? this.ring.checkpoint(count) : null,
      judge: this.judge ? this.judge.checkpoint(count, this.models.size) : null,
      models: this.models.checkpoint(),
      peers: this.peers.checkpoint(),
      alertT0: this.alertT0.slice(0, count),
      quietSince: this.quietSince.slice(0, count),
      quietCause: this.quietCause.slice(0, count),
      streak: this.streak.slice(0, count),
      book: this.book.checkpoint(),
    };
  }

  restore(state: unknown): void {
    const st = state as ReturnType<ProcessDetector['checkpoint']> & Record<string, any>;
    if (!st || st.version !== 1 || !(st.period > 0)) return;
    this.setup(st.period);
    this.models.restore(st.models);
    this.peers.restore(st.peers);
    this.ensure(st.alertT0.length);
    this.s.load(st.interval);
    this.ring!.restore(st.ring);
    this.judge!.restore(st.judge);
    this.alertT0.set(st.alertT0);
    this.quietSince.set(st.quietSince);
    this.quietCause.set(st.quietCause);
    this.streak.set(st.streak);
    this.openIds.clear();
    for (let id = 0; id < st.alertT0.length; id++) if (st.alertT0[id] === st.alertT0[id]) this.openIds.add(id);
    this.book.restore(st.book);
  }

  /** Drops all state; the next batch starts from nothing. */
  release(): void {
    this.period = 0;
    this.s = new IntervalState();
    this.ring = null;
    this.judge = null;
    this.models = new GaussianModels(this.ms.model_window);
    this.peers = new PeerIndex();
    this.book = new AlertBook({ level: 'process', endStep: this.ms.update_every });
    this.compModel = new Int32Array(0);
    this.fineModel = new Int32Array(0);
    this.keyedRegion = new Int32Array(0);
    this.keyedCluster = new Int32Array(0);
    this.alertT0 = new Float64Array(0);
    this.quietSince = new Float64Array(0);
    this.quietCause = new Uint8Array(0);
    this.streak = new Int32Array(0);
    this.openIds.clear();
  }
}

/**
 * `process-detect`: level-2 detection over period rollups.
 *
 *   rollups: --h1--h2--...--h40(P grows)--h41--...--h60(P restarted)--...--h72--|
 *   alerts:  ----------------open(P)------update(P)------------------resolved(P)--|
 */
export const processDetectSpec: OperatorSpec<ProcessDetectOptions, 'rollups', 'alerts'> = {
  type: 'process-detect',
  kind: 'operator',
  input: 'rollups',
  output: 'alerts',
  summary: 'Level-2 leak detection: which processes leak (moving suspicious interval, severity, growth pattern)',
  options: PROCESS_DETECT_SCHEMA,
  create(options, ctx): OperatorInstance<RollupBatch, Alert> & Checkpointable {
    const detector = new ProcessDetector(options, ctx);
    return {
      apply: (input: Observable<RollupBatch>) => input.pipe(concatMap((batch) => detector.process(batch))),
      close: async () => detector.release(),
      checkpoint: () => detector.checkpoint(),
      restore: (state) => detector.restore(state),
    };
  },
};
