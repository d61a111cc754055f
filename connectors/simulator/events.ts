import { rolloutTick, type FleetPlan } from './fleet.js';
import { F, I, Stride } from './layout.js';
import {
  leakSegment, pidOf, restartGap, segmentSlope, shiftAt, shiftFactor, spikeAt,
  type LeakSegment, type Shift, type Spike,
} from './schedule.js';

const FS = Stride.F;
const IS = Stride.I;

/**
 * What happens to a series now and then rather than on every row: rollouts, restarts,
 * spike stages, workload shifts and leak segments. Each kind keeps the tick of its next
 * event; the earliest of them is written to the hot state (F.NextEvt) so that the row
 * loop checks one number per series. Updates the generator's hot per-series arrays in
 * place.
 */
export class SeriesEvents {
  // Per series state touched only at events.
  private readonly wfTarget: Float64Array;
  private readonly starts: Int32Array;
  private readonly restartK: Int32Array;
  private readonly rolloutK: Int32Array;
  private readonly spikeK: Int32Array;
  private readonly spikeStage: Uint8Array;
  private readonly spikeMuted: Uint8Array;
  private readonly spikeHeight: Float64Array;
  private readonly spikeStart: Float64Array;
  private readonly spikeHold: Float64Array;
  private readonly shiftK: Int32Array;
  private readonly shiftStage: Uint8Array;
  private readonly shiftEnd: Float64Array;
  private readonly nextRestart: Float64Array;
  private readonly nextRollout: Float64Array;
  private readonly nextSpike: Float64Array;
  private readonly nextShift: Float64Array;
  private readonly nextLeak: Float64Array;

  // Per leak state.
  private readonly leakK: Int32Array;
  private readonly leakStage: Uint8Array;
  private readonly leakFlat: Float64Array;

  private readonly spikeTmp: Spike = { start: 0, hold: 0, height: 0, end: 0 };
  private readonly shiftTmp: Shift = { start: 0, ramp: 0, end: 0, up: true, magnitude: 0 };
  private readonly segTmp: LeakSegment = { grow: 0, flat: 0 };

  /** `st` and `ix` are the generator's interleaved per-series state (see layout.ts). */
  constructor(private readonly plan: FleetPlan, private readonly st: Float64Array, private readonly ix: Int32Array) {
    const S = plan.seriesCount;
    const f64 = () => new Float64Array(S);
    const i32 = () => new Int32Array(S);
    this.wfTarget = f64().fill(1);
    this.starts = i32();
    this.restartK = i32();
    this.rolloutK = i32();
    this.spikeK = i32();
    this.spikeStage = new Uint8Array(S);
    this.spikeMuted = new Uint8Array(S);
    this.spikeHeight = f64();
    this.spikeStart = f64();
    this.spikeHold = f64();
    this.shiftK = i32();
    this.shiftStage = new Uint8Array(S);
    this.shiftEnd = f64();
    this.nextRestart = f64();
    this.nextRollout = f64();
    this.nextSpike = f64();
    this.nextShift = f64();
    this.nextLeak = f64().fill(Infinity);
    for (let s = 0; s < S; s++) {
      const c = plan.seriesComponent[s]!;
      const h = plan.seriesHost[s]!;
      this.nextRestart[s] = restartGap(plan, s, 0);
      const rollouts = plan.rollouts[c]!;
      this.nextRollout[s] = rollouts.length > 0 ? rolloutTick(plan.seed, plan.ticksPerDay, rollouts[0]!, h, c, 0) : Infinity;
      spikeAt(plan, s, 0, 0, this.spikeTmp);
      this.spikeStart[s] = this.spikeTmp.start;
      this.spikeHold[s] = this.spikeTmp.hold;
      this.spikeHeight[s] = this.spikeTmp.height;
      this.nextSpike[s] = this.spikeTmp.start;
      this.nextShift[s] = shiftAt(plan, h, 0, 0, this.shiftTmp).start;
      st[s * FS + F.NextEvt] = Math.min(this.nextRestart[s]!, this.nextRollout[s]!, this.nextSpike[s]!, this.nextShift[s]!);
    }
    const L = plan.leaks.length;
    this.leakK = new Int32Array(L);
    this.leakStage = new Uint8Array(L);
    this.leakFlat = new Float64Array(L);
    for (const leak of plan.leaks) {
      this.nextLeak[leak.series] = leak.start;
      st[leak.series * FS + F.NextEvt] = Math.min(st[leak.series * FS + F.NextEvt]!, leak.start);
    }
  }

  /** Everything due for series s at tick t: rollouts, restarts, spike stages, shifts, leak segments. */
  advance(s: number, t: number): void {
    const plan = this.plan;
    const c = plan.seriesComponent[s]!;
    let restarted = false;
    while (this.nextRollout[s]! <= t) {
      const r = this.rolloutK[s]!;
      const plans = plan.rollouts[c]!;
      this.st[s * FS + F.Base] = this.st[s * FS + F.Base]! * plans[r]!.step;
      this.ix[s * IS + I.Version] = plans[r]!.version;
      this.rolloutK[s] = r + 1;
      this.nextRollout[s] = r + 1 < plans.length ? rolloutTick(plan.seed, plan.ticksPerDay, plans[r + 1]!, plan.seriesHost[s]!, c, r + 1) : Infinity;
      restarted = true;
    }
    while (this.nextRestart[s]! <= t) {
      const k = ++this.restartK[s]!;
      this.nextRestart[s] = this.nextRestart[s]! + restartGap(plan, s, k);
      restarted = true;
    }
    if (restarted) {
      // A new process: new pid, caches cold, leaked memory freed, any spike gone.
      this.ix[s * IS + I.Pid] = pidOf(plan, s, ++this.starts[s]!);
      this.st[s * FS + F.Warm] = plan.profiles[c]!.warmDepth;
      this.st[s * FS + F.LeakAcc] = 0;
      this.st[s * FS + F.GcOffset] = -t * this.st[s * FS + F.GcStep]!;
      if (this.spikeStage[s] !== 0) {
        this.spikeMuted[s] = 1;
        this.st[s * FS + F.Spike] = 0;
      }
    }
    while (this.nextSpike[s]! <= t) this.spikeStep(s);
    while (this.nextShift[s]! <= t) this.shiftStep(s);
    while (this.nextLeak[s]! <= t) this.leakStep(s);
    this.st[s * FS + F.NextEvt] = Math.min(this.nextRestart[s]!, this.nextRollout[s]!, this.nextSpike[s]!, this.nextShift[s]!, this.nextLeak[s]!);
  }
  private spikeStep(s: number): void {
    const height = this.spikeHeight[s]!, start = this.spikeStart[s]!, hold = this.spikeHold[s]!;
    let level = 0;
    switch (this.spikeStage[s]) {
      case 0:
        level = 0.5 * height;
        this.spikeStage[s] = 1;
        this.nextSpike[s] = start + 1;
        break;
      case 1:
        level = height;
        this.spikeStage[s] = 2;
        this.nextSpike[s] = start + 1 + hold;
        break;
      case 2:
        level = 0.35 * height;
        this.spikeStage[s] = 3;
        this.nextSpike[s] = start + 2 + hold;
        break;
      default: {
        this.spikeStage[s] = 0;
        this.spikeMuted[s] = 0;
        const k = ++this.spikeK[s]!;
        spikeAt(this.plan, s, k, start + 2 + hold, this.spikeTmp);
        this.spikeStart[s] = this.spikeTmp.start;
        this.spikeHold[s] = this.spikeTmp.hold;
        this.spikeHeight[s] = this.spikeTmp.height;
        this.nextSpike[s] = this.spikeTmp.start;
      }
    }
    this.st[s * FS + F.Spike] = this.spikeMuted[s] ? 0 : level;
  }

  private shiftStep(s: number): void {
    const plan = this.plan;
    const h = plan.seriesHost[s]!;
    const k = this.shiftK[s]!;
    shiftAt(plan, h, k, this.shiftEnd[s]!, this.shiftTmp);
    if (this.shiftStage[s] === 0) {
      const target = this.wfTarget[s]! * shiftFactor(plan, s, k, this.shiftTmp);
      this.st[s * FS + F.WfStep] = (target - this.st[s * FS + F.Wf]!) / this.shiftTmp.ramp;
      this.wfTarget[s] = target;
      this.shiftStage[s] = 1;
      this.nextShift[s] = this.shiftTmp.end;
    } else {
      this.st[s * FS + F.Wf] = this.wfTarget[s]!;
      this.st[s * FS + F.WfStep] = 0;
      this.shiftStage[s] = 0;
      this.shiftEnd[s] = this.shiftTmp.end;
      this.shiftK[s] = k + 1;
      this.nextShift[s] = shiftAt(plan, h, k + 1, this.shiftTmp.end, this.shiftTmp).start;
    }
  }

  private leakStep(s: number): void {
    const plan = this.plan;
    const i = plan.seriesLeak[s]!;
    const leak = plan.leaks[i]!;
    if (this.leakStage[i] === 1) {
      this.st[s * FS + F.LeakSlope] = 0;
      this.leakStage[i] = 2;
      this.nextLeak[s] = this.nextLeak[s]! + this.leakFlat[i]!;
      return;
    }
    if (this.leakStage[i] === 2) this.leakK[i]++;
    const seg = leakSegment(plan, leak, i, this.leakK[i]!, this.segTmp);
    this.st[s * FS + F.LeakSlope] = segmentSlope(leak, seg);
    this.leakFlat[i] = seg.flat;
    this.leakStage[i] = 1;
    this.nextLeak[s] = this.nextLeak[s]! + seg.grow;
  }
}
