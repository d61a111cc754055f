import { concatMap, type Observable } from 'rxjs';
import type { Alert } from '../../engine/alert.js';
import { AlertBook } from '../../engine/alertBook.js';
import type { NodeContext, OperatorInstance, OperatorSpec } from '../../engine/spec.js';
import type { Checkpointable } from '../../engine/state.js';
import type { RollupBatch } from '../../engine/telemetry/rollup.js';
import { AlertTrack } from './alertTrack.js';
import { Quiet, resolutionReason } from './alertText.js';
import { DEFAULT_PATTERN_PARAMS } from './growthPattern.js';
import { LifetimeEvidence } from './lifetimeEvidence.js';
import { ModelGroups } from './modelGroups.js';
import { PeerIndex } from './peerGrowth.js';
import { PeriodRing } from './periodRing.js';
import {
  durationsOf, periodSetup, PROCESS_DETECT_DEFAULTS, PROCESS_DETECT_SCHEMA,
  type Durations, type ProcessDetectOptions,
} from './processDetectOptions.js';
import { findingOf, seriesKey, severityOf, type FindingContext } from './processFinding.js';
import { GrowthJudge, Verdict, type ReportParams } from './reportRule.js';
import { IntervalState, Move, noiseOf, observe, restartInterval, type IntervalParams } from './suspiciousInterval.js';
import { WarmupCurve } from './warmupCurve.js';

export { MAX_PATTERN_SLOTS, PROCESS_DETECT_DEFAULTS, PROCESS_DETECT_SCHEMA, type ProcessDetectOptions } from './processDetectOptions.js';

const D = PROCESS_DETECT_DEFAULTS;

/** Per row of a batch: what observe did (SKIP: rejected), dU, and the previous mean. */
interface Rows {
  readonly codes: Uint8Array;
  readonly du: Float64Array;
  readonly before: Float64Array;
}
/** Row code of a rejected row. */
const SKIP = 255;

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
  private clearConfirmPoints = 1;
  private ip!: IntervalParams;
  private rp!: ReportParams;
  private s = new IntervalState();
  private ring: PeriodRing | null = null;
  private groups: ModelGroups;
  private peers = new PeerIndex();
  private judge: GrowthJudge | null = null;
  private lives = new LifetimeEvidence(Infinity);
  private book: AlertBook;
  private track = new AlertTrack();
  private warm: WarmupCurve | null = null;
  private fc: FindingContext | null = null;

  private warnedClip = false;

  constructor(private readonly options: ProcessDetectOptions, private readonly ctx: NodeContext) {
    this.ms = durationsOf(options, ctx.id);
    this.relative = (options.difference ?? D.difference) === 'relative';
    this.groups = new ModelGroups(this.ms.model_window);
    this.book = new AlertBook({ level: 'process', endStep: this.ms.update_every });
  }

  /** Sizes everything that is counted in periods; state kept for another period length is dropped. */
  private setup(period: number): void {
    const set = periodSetup(this.options, this.ms, period);
    if (set.clippedFrom > 0 && !this.warnedClip) {
      this.ctx.log.warn('pattern_window clipped', { node: this.ctx.id, periods: set.clippedFrom, kept: set.slots });
      this.warnedClip = true;
    }
    this.period = period;
    this.cycle = set.cycle;
    this.confirmPoints = set.confirmPoints;
    this.clearConfirmPoints = set.clearConfirmPoints;
    this.ip = set.interval;
    this.rp = set.report;
    this.s = new IntervalState();
    this.ring = new PeriodRing(set.slots);
    this.groups = new ModelGroups(this.ms.model_window, set.cycle);
    this.peers = new PeerIndex();
    this.lives = new LifetimeEvidence(this.rp.lifetimeZ);
    this.judge = new GrowthJudge(this.rp, this.ring, this.peers, this.s, this.lives);
    this.warm = set.warmup ? new WarmupCurve(set.warmup) : null;
    this.fc = {
      catalog: this.ctx.catalog, state: this.s, ring: this.ring, period, cycle: set.cycle,
      pattern: { ...DEFAULT_PATTERN_PARAMS, smooth: Math.max(2, set.cycle >> 2) }, scratch: new Float64Array(set.slots),
    };
  }

  private ensure(need: number): void {
    this.s.ensure(need);
    this.peers.ensure(need, this.ctx.catalog.hosts.size);
    this.ring!.ensure(need);
    this.judge!.ensure(need, this.groups.size + 1);
    this.lives.ensure(need);
    this.warm?.ensure(this.groups.size + 1);
    this.groups.ensure(need);
    this.track.ensure(need);
  }

  /**
   * Model indices of series `id`, keyed again if its region or cluster has become known;
   * a series keyed for the first time joins its peers (a later group is not joined, see
   * PeerIndex.join, so a series already keyed needs no join).
   */
  private keyModels(id: number): void {
    if (!this.groups.key(id, this.ctx.catalog)) return;
    this.judge!.ensure(this.s.capacity, this.groups.size);
    this.warm?.ensure(this.groups.size);
    this.peers.join(id, this.ctx.catalog.seriesHost[id]!, this.groups.group(id));
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
    this.ensure(this.ctx.catalog.size);
    // Made per batch (one a period), like the batch itself, rather than held between
    // periods as ~17 bytes a series of state.
    const rows: Rows = { codes: new Uint8Array(n), du: new Float64Array(n), before: new Float64Array(n) };
    const p = Math.round(batch.start / batch.period);
    // One method per pass: each is compiled on its own, with the calls of its loop inlined.
    this.move(batch, p, rows);
    this.judgeAll(batch, p, rows, out);
    this.learn(batch, p, rows);
    // A process that stopped reporting holds no memory any more.
    const track = this.track, s = this.s, ts = batch.start, at = batch.start + batch.period;
    if (track.open.size > 0) {
      const gone: number[] = [];
      for (const id of track.open.keys()) if (s.lastTs[id]! < ts - this.ms.resolve_after) gone.push(id);
      gone.sort((a, b) => a - b);
      for (const id of gone) {
        const alert = this.book.clear(seriesKey(this.ctx.catalog, id), at, `no data since ${new Date(s.lastTs[id]! + batch.period).toISOString()}`);
        track.close(id);
        if (alert) out.push(alert);
      }
    }
    return out;
  }

  /** Phase of period p in the daily cycle: the models are asked at the period's start and phase (ModelGroups.params). */
  private phaseOf(p: number): number {
    return ((p % this.cycle) + this.cycle) % this.cycle;
  }

  /** 1. Every point moves its interval and enters the ring. */
  private move(batch: RollupBatch, p: number, rows: Rows): void {
    const { codes, du, before } = rows;
    const s = this.s, ring = this.ring!, ip = this.ip, groups = this.groups;
    const t = p * this.period, phase = this.phaseOf(p);
    const { series, mean, restarted, pid } = batch;
    const n = batch.length, size = this.ctx.catalog.size, relative = this.relative, period = batch.period, ts = batch.start;
    for (let i = 0; i < n; i++) {
      const id = series[i]!, u = mean[i]!;
      codes[i] = SKIP;
      du[i] = NaN;
      if (!(id >= 0 && id < size) || !(u >= 0) || u === Infinity) {
        this.reject(batch, i, !(id >= 0 && id < size) ? 'missing_field' : u < 0 ? 'negative_value' : 'not_finite');
        continue;
      }
      this.keyModels(id);
      const model = groups.params(id, t, phase);
      const prevTs = s.lastTs[id]!, prevU = s.lastU[id]!;
      const scale = relative ? prevU : 1;
      const code = observe(s, id, ts, u, restarted[i] === 1, pid[i]! >= 0, model.mu2 * scale, model.sigma2 * scale, ip);
      if (code === Move.stale) {
        this.reject(batch, i, ts < prevTs ? 'late' : 'conflict');
        continue;
      }
      // The component's warm-up, as learned so far, replaces the fixed one.
      if (code === Move.restart && this.warm) s.warmUntil[id] = ts + this.warm.warmup(groups.comp[id]!);
      ring.write(id, p, u);
      // A transient spike's periods are left out of every level, as they were left out of the interval.
      if (s.spikeFrom === s.spikeFrom) ring.mask(id, Math.round(s.spikeFrom / period), p - 1);
      if (code !== Move.restart && code !== Move.warming && ts - prevTs < 1.5 * period) du[i] = u - prevU;
      codes[i] = code;
      before[i] = prevU;
    }
  }

  /** 2. Every process is judged, once all of this period's points are in. */
  private judgeAll(batch: RollupBatch, p: number, rows: Rows, out: Alert[]): void {
    const { codes, before } = rows;
    const s = this.s, ip = this.ip, judge = this.judge!, track = this.track, groups = this.groups, cat = this.ctx.catalog;
    const t = p * this.period, phase = this.phaseOf(p);
    const { series, mean } = batch;
    const n = batch.length, period = batch.period, ts = batch.start, at = batch.start + batch.period;
    for (let i = 0; i < n; i++) {
      const code = codes[i]!;
      if (code === SKIP || code === Move.event) continue;
      const id = series[i]!, u = mean[i]!;
      if (code === Move.restart || code === Move.warming) {
        if (code === Move.restart) judge.endLifetime(id);
        track.streak[id] = 0;
        if (track.isOpen(id)) this.quiet(id, ts, Quiet.restart, at, out);
        continue;
      }
      judge.trackDayNoise(id, p, groups.comp[id]!);
      const t0 = s.t0[id]!;
      let reported = false;
      let cause: number = code === Move.below ? Quiet.below : code === Move.outlier ? Quiet.drop : Quiet.paused;
      if (code === Move.extended && track.alertT0(id) === t0) {
        reported = true;
      } else if (code === Move.step && !ip.stepMovesAnchor && judge.stepShared(id, p)) {
        // A step its peers took too is an event, like a restart's: growth is measured after it.
        s.anchor[id] = ts;
        if (track.isOpen(id)) reported = true;
      } else if (code === Move.step && track.isOpen(id)) {
        // A step up is an event, not a leak, but no sign that the leak ended either: follow the new interval.
        reported = true;
      } else if (code === Move.extended) {
        const model = groups.params(id, t, phase);
        const sigma = noiseOf(s, id, this.relative ? model.sigma2 * before[i]! : model.sigma2, ip);
        const verdict = judge.judge(id, p, Math.round(s.anchor[id]! / period), groups.comp[id]!, sigma);
        if (verdict === Verdict.shared) {
          // Growth the peers share is an event like the method's outliers: the interval starts after it.
          restartInterval(s, id, ts, u);
          cause = Quiet.shared;
        }
        track.streak[id] = verdict === Verdict.report ? track.streak[id]! + 1 : 0;
        reported = track.streak[id]! >= (judge.clear ? this.clearConfirmPoints : this.confirmPoints);
      } else {
        track.streak[id] = 0;
      }
      if (reported) {
        track.reported(id, s.t0[id]!);
        const key = seriesKey(cat, id), model = groups.params(id, t, phase);
        // Most periods of a reported process only confirm its open alert: the finding's text and pattern are built when it would be emitted.
        if (this.book.due(key, severityOf(s, id, model), s.t1[id]!)) {
          const alert = this.book.flag(key, findingOf(this.fc!, id, batch.pid[i]!, model), at);
          if (alert) out.push(alert);
        }
      } else if (track.isOpen(id)) {
        this.quiet(id, ts, cause, at, out);
      }
    }
  }

  /** 3. Models learn from the batch after it was judged, so that a point never vouches for itself. */
  private learn(batch: RollupBatch, p: number, rows: Rows): void {
    const { codes, du, before } = rows;
    const groups = this.groups, phase = this.phaseOf(p), relative = this.relative, warm = this.warm !== null;
    const { series, mean } = batch;
    const n = batch.length, ts = batch.start;
    for (let i = 0; i < n; i++) {
      if (codes[i] === SKIP) continue;
      const id = series[i]!, u = mean[i]!;
      const d = relative ? du[i]! / before[i]! : du[i]!;
      if (warm) this.learnWarmup(id, p, u);
      groups.add(id, ts, u, d, phase);
    }
  }

  /**
   * A restarted series `id` within the learned horizon teaches its component's warm-up
   * curve how much it rose over the last cycle.
   */
  private learnWarmup(id: number, p: number, u: number): void {
    const restart = this.s.restartTs[id]!;
    if (restart !== restart) return;
    const k = p - this.cycle - Math.round(restart / this.period);
    if (k < 0) return;
    const then = this.ring!.value(id, p - this.cycle);
    if (then > 0 && u > 0) this.warm!.add(this.groups.comp[id]!, k, Math.log(u / then));
  }

  /** Series `id` with an open alert was not reported at ts: resolve it once that has lasted resolve_after. */
  private quiet(id: number, ts: number, cause: number, at: number, out: Alert[]): void {
    const track = this.track;
    if (!track.quiet(id, ts, cause, this.ms.resolve_after)) return;
    const reason = resolutionReason(track.quietCause(id), ts + this.period - track.quietSince(id), this.s.lastU[id]!);
    const alert = this.book.clear(seriesKey(this.ctx.catalog, id), at, reason);
    track.close(id);
    if (alert) out.push(alert);
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
      judge: this.judge ? this.judge.checkpoint(count, this.groups.size) : null,
      lives: this.period ? this.lives.checkpoint(count) : null,
      models: this.groups.models.checkpoint(),
      warmup: this.warm ? this.warm.checkpoint(this.groups.size) : null,
      peers: this.peers.checkpoint(),
      ...this.track.checkpoint(count),
      book: this.book.checkpoint(),
    };
  }

  restore(state: unknown): void {
    const st = state as ReturnType<ProcessDetector['checkpoint']> & Record<string, any>;
    if (!st || st.version !== 1 || !(st.period > 0)) return;
    this.setup(st.period);
    this.groups.restore(st.models);
    this.peers.restore(st.peers);
    this.ensure(st.streak.length);
    this.s.load(st.interval);
    this.ring!.restore(st.ring);
    this.judge!.restore(st.judge);
    if (st.lives) this.lives.restore(st.lives);
    this.warm?.restore(st.warmup ?? undefined);
    this.track.restore(st as ReturnType<AlertTrack['checkpoint']>);
    this.book.restore(st.book);
  }

  /** Drops all state; the next batch starts from nothing. */
  release(): void {
    this.period = 0;
    this.s = new IntervalState();
    this.ring = null;
    this.judge = null;
    this.lives = new LifetimeEvidence(Infinity);
    this.warm = null;
    this.fc = null;
    this.groups = new ModelGroups(this.ms.model_window);
    this.peers = new PeerIndex();
    this.book = new AlertBook({ level: 'process', endStep: this.ms.update_every });
    this.track = new AlertTrack();
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
      held: () => detector,
    };
  },
};
