import { REGIONS, rolloutTick, type FleetPlan } from './fleet.js';
import type { Shapes } from './shapes.js';
import { MAX_DELAY_MS } from './options.js';
import { NORMAL_TABLE, NORMAL_TABLE_BITS, Stream, draw, sampleRngState } from './random.js';
import {
  bufferSensitivity, diurnal, gapAt, groupCount, leakSegment, outageAt, pidOf, restartGap, segmentSlope,
  shiftAt, shiftFactor, spikeAt, warmupDecay,
  type Gap, type LeakSegment, type Outage, type Shift, type Spike,
} from './schedule.js';

/** Column arrays a generator writes rows into; string columns hold dictionary indices. */
export interface RowBuffers {
  ts: Float64Array;
  rss: Float64Array;
  hostMem: Float64Array;
  pid: Int32Array;
  host: Int32Array;
  component: Int32Array;
  process: Int32Array;
  region: Int32Array;
  cluster: Int32Array;
  version: Int32Array;
  /** 1-based sequence number of the row in the whole stream. */
  record: Float64Array;
}

export function allocRows(n: number): RowBuffers {
  return {
    ts: new Float64Array(n), rss: new Float64Array(n), hostMem: new Float64Array(n), pid: new Int32Array(n),
    host: new Int32Array(n), component: new Int32Array(n), process: new Int32Array(n), region: new Int32Array(n),
    cluster: new Int32Array(n), version: new Int32Array(n), record: new Float64Array(n),
  };
}

/** How far a leak's growth follows the daily load (leaks allocate per request). */
const LEAK_DIURNAL = 0.5;
const PAGE = 4096;
const BG_PHASES = 64;
const INV_PAGE = 1 / PAGE;

/**
 * Layout of the per-series state read on every row. Interleaved rather than one array
 * per field: with 100k series, twenty parallel arrays are twenty streams of cache
 * misses per row; two interleaved ones are two sequential streams.
 */
const enum F { Base, Wf, WfStep, Warm, GcOffset, GcStep, Spike, LeakAcc, LeakSlope, BufSens, NextEvt }
const FS = 12;
const enum I { Host, Comp, Proc, BgAt, Group, Pid, Version }
const IS = 8;

/** Rows held back to be sent later: duplicates and late samples. */
class DelaySlot {
  n = 0;
  series = new Int32Array(64);
  ts = new Float64Array(64);
  rss = new Float64Array(64);
  pid = new Int32Array(64);
  version = new Int32Array(64);

  push(s: number, ts: number, rss: number, pid: number, version: number): void {
    if (this.n === this.series.length) {
      const grow = <T extends Int32Array | Float64Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.series = grow(this.series);
      this.ts = grow(this.ts);
      this.rss = grow(this.rss);
      this.pid = grow(this.pid);
      this.version = grow(this.version);
    }
    const i = this.n++;
    this.series[i] = s;
    this.ts[i] = ts;
    this.rss[i] = rss;
    this.pid[i] = pid;
    this.version[i] = version;
  }
}

const enum Phase { BeginTick, Rows, Release, Flush, Done }

/**
 * The fleet played forward, tick by tick across all series, into caller-provided
 * column arrays. All state is per series in typed arrays (about 200 bytes a series),
 * so a fleet of any length streams in constant memory. `fill` stops when the arrays are
 * full and resumes exactly where it stopped: the row stream does not depend on how it
 * is cut into batches.
 */
export class FleetStream {
  /** Rows written so far (duplicates included). */
  emitted = 0;
  /** Samples never sent: dropped ones and those of hosts in an agent gap. */
  missing = 0;
  duplicates = 0;
  late = 0;

  private readonly S: number;
  private readonly T: number;
  private readonly iv: number;
  /** Ticks a held-back row may trail (0 when the interval exceeds the 10-minute bound). */
  private readonly D: number;
  private readonly slots: DelaySlot[];

  /** Hot per-series numbers, interleaved: a series' state is one stretch of memory (see F). */
  private readonly st: Float64Array;
  /** Hot per-series integers, interleaved (see I). */
  private readonly ix: Int32Array;
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

  // Per component constants.
  private readonly cDiurnal: Float64Array;
  private readonly cBackground: Float64Array;
  private readonly cNoise: Float64Array;
  private readonly cGcAmp: Float64Array;
  private readonly cWarmDecay: Float64Array;

  // Per group (component, cluster) buffer state.
  private readonly gLevel: Float64Array;
  private readonly gK: Int32Array;
  private readonly gStage: Uint8Array;
  private readonly gNext: Float64Array;
  private readonly gGrowth: Float64Array;
  private readonly gDrain: Float64Array;
  private readonly gEnd: Float64Array;
  private readonly gActive: Int32Array;

  // Per host agent gaps.
  private readonly hostDown: Uint8Array;
  private readonly hK: Int32Array;
  private readonly hNext: Float64Array;
  private readonly hEnd: Float64Array;

  // Per tick values.
  private readonly diur: Float64Array;
  private readonly leakMod: Float64Array;
  private k5 = 0;
  private readonly bgDev: Float32Array;
  private readonly bgLen: number;

  // Cursor.
  private phase = Phase.BeginTick;
  private tick = 0;
  private pos = 0;
  private flushDue = 0;
  private rng: number;

  private readonly spikeTmp: Spike = { start: 0, hold: 0, height: 0, end: 0 };
  private readonly shiftTmp: Shift = { start: 0, ramp: 0, end: 0, up: true, magnitude: 0 };
  private readonly gapTmp: Gap = { start: 0, end: 0 };
  private readonly outageTmp: Outage = { start: 0, duration: 0, drain: 0, end: 0, growth: 0 };
  private readonly segTmp: LeakSegment = { grow: 0, flat: 0 };

  constructor(readonly plan: FleetPlan) {
    const S = (this.S = plan.seriesCount);
    const o = plan.opts;
    this.T = o.ticks;
    this.iv = o.intervalMs;
    this.D = Math.floor(MAX_DELAY_MS / o.intervalMs);
    this.slots = Array.from({ length: this.D + 1 }, () => new DelaySlot());
    this.rng = sampleRngState(plan.seed);

    const f64 = () => new Float64Array(S);
    const i32 = () => new Int32Array(S);
    this.st = new Float64Array(S * FS);
    this.ix = new Int32Array(S * IS);
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

    const C = plan.profiles.length;
    this.cDiurnal = new Float64Array(C);
    this.cBackground = new Float64Array(C);
    this.cNoise = new Float64Array(C);
    this.cGcAmp = new Float64Array(C);
    this.cWarmDecay = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      const p = plan.profiles[c]!;
      this.cDiurnal[c] = p.diurnal;
      this.cBackground[c] = plan.shapes ? p.background : 0;
      this.cNoise[c] = p.noise * o.noise;
      this.cGcAmp[c] = p.gcAmp;
      this.cWarmDecay[c] = warmupDecay(plan, c);
    }

    const shapes = plan.shapes;
    this.bgLen = shapes ? shapes.length : 1;
    this.bgDev = shapes ? deviations(shapes) : new Float32Array(2);
    const clusters = plan.clusterNames.length;
    for (let s = 0; s < S; s++) {
      const c = plan.seriesComponent[s]!;
      const h = plan.seriesHost[s]!;
      const p = plan.profiles[c]!;
      this.st[s * FS + F.Base] = plan.seriesBaseline[s]!;
      this.st[s * FS + F.Wf] = 1;
      this.ix[s * IS + I.Host] = h;
      this.ix[s * IS + I.Comp] = c;
      this.ix[s * IS + I.Proc] = plan.seriesProcess[s]!;
      this.ix[s * IS + I.Pid] = pidOf(plan, s, 0);
      this.ix[s * IS + I.Version] = plan.componentVersion[c]!;
      const gcPeriod = p.gcPeriodMin * 60_000 * (0.8 + 0.4 * draw(plan.seed, Stream.Gc, s, 0));
      this.st[s * FS + F.GcStep] = Math.min(1, o.intervalMs / gcPeriod);
      this.st[s * FS + F.GcOffset] = draw(plan.seed, Stream.Gc, s, 1);
      this.st[s * FS + F.BufSens] = bufferSensitivity(plan, s);
      this.ix[s * IS + I.Group] = c * clusters + plan.hostCluster[h]!;
      if (shapes) {
        // One of BG_PHASES phases per machine: every (machine, phase) pair is a distinct
        // background, and a large fleet's series share the cache lines they read per tick.
        const machine = Math.floor(draw(plan.seed, Stream.Background, s, 0) * shapes.count);
        const phase = Math.floor(draw(plan.seed, Stream.Background, s, 1) * BG_PHASES);
        this.ix[s * IS + I.BgAt] = machine * 2 * shapes.length + Math.floor((phase * shapes.length) / BG_PHASES);
      }
      this.nextRestart[s] = restartGap(plan, s, 0);
      const rollouts = plan.rollouts[c]!;
      this.nextRollout[s] = rollouts.length > 0 ? rolloutTick(plan.seed, plan.ticksPerDay, rollouts[0]!, h, c, 0) : Infinity;
      spikeAt(plan, s, 0, 0, this.spikeTmp);
      this.spikeStart[s] = this.spikeTmp.start;
      this.spikeHold[s] = this.spikeTmp.hold;
      this.spikeHeight[s] = this.spikeTmp.height;
      this.nextSpike[s] = this.spikeTmp.start;
      this.nextShift[s] = shiftAt(plan, h, 0, 0, this.shiftTmp).start;
      this.st[s * FS + F.NextEvt] = Math.min(this.nextRestart[s]!, this.nextRollout[s]!, this.nextSpike[s]!, this.nextShift[s]!);
    }
    const L = plan.leaks.length;
    this.leakK = new Int32Array(L);
    this.leakStage = new Uint8Array(L);
    this.leakFlat = new Float64Array(L);
    for (const leak of plan.leaks) {
      this.nextLeak[leak.series] = leak.start;
      this.st[leak.series * FS + F.NextEvt] = Math.min(this.st[leak.series * FS + F.NextEvt]!, leak.start);
    }

    const G = groupCount(plan);
    this.gLevel = new Float64Array(G);
    this.gK = new Int32Array(G);
    this.gStage = new Uint8Array(G);
    this.gNext = new Float64Array(G).fill(Infinity);
    this.gGrowth = new Float64Array(G);
    this.gDrain = new Float64Array(G);
    this.gEnd = new Float64Array(G);
    const active: number[] = [];
    for (let g = 0; g < G; g++) {
      const first = outageAt(plan, g, 0, 0, this.outageTmp);
      if (first) {
        active.push(g);
        this.gNext[g] = first.start;
      }
    }
    this.gActive = Int32Array.from(active);

    const H = plan.hostNames.length;
    this.hostDown = new Uint8Array(H);
    this.hK = new Int32Array(H);
    this.hNext = new Float64Array(H);
    this.hEnd = new Float64Array(H);
    for (let h = 0; h < H; h++) {
      gapAt(plan, h, 0, 0, this.gapTmp);
      this.hNext[h] = this.gapTmp.start;
      this.hEnd[h] = this.gapTmp.end;
    }
    this.diur = new Float64Array(REGIONS.length);
    this.leakMod = new Float64Array(REGIONS.length);
  }

  get done(): boolean {
    return this.phase === Phase.Done;
  }

  /** Event time below which no further row will come. */
  get watermark(): number {
    const o = this.plan.opts;
    if (this.phase === Phase.Done) return o.endMs - this.iv;
    return o.startMs + (Math.min(this.tick, this.T) - this.D) * this.iv;
  }

  /** Write up to `cap` rows into `out` from index 0; returns the number written (0 once done). */
  fill(out: RowBuffers, cap: number): number {
    let n = 0;
    while (n < cap) {
      switch (this.phase) {
        case Phase.BeginTick:
          if (this.tick >= this.T) {
            this.phase = Phase.Flush;
            this.flushDue = this.T;
            this.pos = 0;
            break;
          }
          this.beginTick();
          this.pos = 0;
          this.phase = Phase.Rows;
          break;
        case Phase.Rows:
          n = this.rows(out, n, cap);
          if (this.pos < this.S) return n;
          this.pos = 0;
          this.phase = Phase.Release;
          break;
        case Phase.Release:
          n = this.release(this.slots[this.tick % this.slots.length]!, out, n, cap);
          if (n === cap) return n;
          this.tick++;
          this.phase = Phase.BeginTick;
          break;
        case Phase.Flush:
          if (this.flushDue > this.T + this.D) {
            this.phase = Phase.Done;
            return n;
          }
          n = this.release(this.slots[this.flushDue % this.slots.length]!, out, n, cap);
          if (n === cap) return n;
          this.flushDue++;
          break;
        case Phase.Done:
          return n;
      }
    }
    return n;
  }

  private beginTick(): void {
    const t = this.tick;
    const ms = this.plan.opts.startMs + t * this.iv;
    for (let r = 0; r < REGIONS.length; r++) {
      const d = diurnal(ms, REGIONS[r]!.utcOffset);
      this.diur[r] = d;
      this.leakMod[r] = 1 + LEAK_DIURNAL * d;
    }
    if (this.plan.shapes) this.k5 = Math.floor((t * this.iv) / this.plan.shapes.stepMs) % this.bgLen;
    for (let i = 0; i < this.gActive.length; i++) this.stepGroup(this.gActive[i]!, t);
    const H = this.hostDown.length;
    for (let h = 0; h < H; h++) {
      if (t >= this.hEnd[h]!) {
        gapAt(this.plan, h, ++this.hK[h], this.hEnd[h]!, this.gapTmp);
        this.hNext[h] = this.gapTmp.start;
        this.hEnd[h] = this.gapTmp.end;
      }
      this.hostDown[h] = t >= this.hNext[h]! ? 1 : 0;
    }
  }

  /** Buffer level of one group at tick t: grows during an outage, drains after it. */
  private stepGroup(g: number, t: number): void {
    if (this.gStage[g] === 0) {
      if (t < this.gNext[g]!) return;
      outageAt(this.plan, g, this.gK[g]!, this.gEnd[g]!, this.outageTmp);
      this.gGrowth[g] = this.outageTmp.growth;
      this.gNext[g] = this.outageTmp.start + this.outageTmp.duration;
      this.gEnd[g] = this.outageTmp.end;
      this.gDrain[g] = (this.outageTmp.growth * this.outageTmp.duration) / this.outageTmp.drain;
      this.gStage[g] = 1;
    }
    if (this.gStage[g] === 1) {
      if (t < this.gNext[g]!) {
        this.gLevel[g] += this.gGrowth[g]!;
        return;
      }
      this.gStage[g] = 2;
    }
    if (t < this.gEnd[g]!) {
      this.gLevel[g] = Math.max(0, this.gLevel[g]! - this.gDrain[g]!);
      return;
    }
    this.gLevel[g] = 0;
    this.gK[g]++;
    this.gStage[g] = 0;
    this.gNext[g] = outageAt(this.plan, g, this.gK[g]!, this.gEnd[g]!, this.outageTmp)!.start;
  }

  /** Rows of the current tick from series `pos` on. */
  private rows(out: RowBuffers, n: number, cap: number): number {
    const plan = this.plan;
    const t = this.tick;
    const tickMs = plan.opts.startMs + t * this.iv;
    const S = this.S;
    const hostRegion = plan.hostRegion, hostCluster = plan.hostCluster, hostMem = plan.hostMem, hostDown = this.hostDown;
    const st = this.st, ix = this.ix, bgDev = this.bgDev, k5 = this.k5, gLevel = this.gLevel;
    const cDiurnal = this.cDiurnal, cBackground = this.cBackground, cNoise = this.cNoise, cGcAmp = this.cGcAmp, cWarmDecay = this.cWarmDecay;
    const diur = this.diur, leakMod = this.leakMod;
    const oTs = out.ts, oRss = out.rss, oHostMem = out.hostMem, oPid = out.pid, oHost = out.host, oComp = out.component;
    const oProc = out.process, oRegion = out.region, oCluster = out.cluster, oVersion = out.version, oRecord = out.record;
    const NT = NORMAL_TABLE, shift = 32 - NORMAL_TABLE_BITS;
    const o = plan.opts;
    const missT = o.missing_rate * 4294967296;
    const lateT = this.D > 0 ? missT + o.late_rate * 4294967296 : missT;
    const dupT = lateT + o.duplicate_rate * 4294967296;
    let x = this.rng;
    let record = this.emitted;
    let s = this.pos;
    // Series are host-major: host-level values change only every few rows.
    let lastHost = -1, r = 0, cluster = 0, mem = 0, down = 0, day = 0, leakDay = 0;
    for (; s < S; s++) {
      if (n >= cap) break;
      const a = s * FS, q = s * IS;
      if (t >= st[a + F.NextEvt]!) this.advance(s, t);
      const h = ix[q + I.Host]!, c = ix[q + I.Comp]!;
      if (h !== lastHost) {
        lastHost = h;
        r = hostRegion[h]!;
        cluster = hostCluster[h]!;
        mem = hostMem[h]!;
        down = hostDown[h]!;
        day = diur[r]!;
        leakDay = leakMod[r]!;
      }

      const w = st[a + F.Warm]!;
      if (w !== 0) st[a + F.Warm] = w > 1e-4 ? w * cWarmDecay[c]! : 0;
      // The GC phase is a function of time, not stored: a row that changes nothing else
      // leaves its series' state clean, which saves writing it back to memory.
      let ph = t * st[a + F.GcStep]! + st[a + F.GcOffset]!;
      ph -= Math.floor(ph);
      const wfv = st[a + F.Wf]!;
      const load = st[a + F.Base]! * wfv;
      const step = st[a + F.WfStep]!;
      if (step !== 0) st[a + F.Wf] = wfv + step;
      let leak = st[a + F.LeakAcc]!;
      const slope = st[a + F.LeakSlope]!;
      if (slope !== 0) st[a + F.LeakAcc] = leak = leak + slope * leakDay;

      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      const z = NT[x >>> shift]!;
      const f = 1 + cDiurnal[c]! * day + cBackground[c]! * bgDev[ix[q + I.BgAt]! + k5]! + cGcAmp[c]! * ph
        + st[a + F.Spike]! + gLevel[ix[q + I.Group]!]! * st[a + F.BufSens]! + cNoise[c]! * z;
      // Whole pages, as the kernel counts RSS; `| 0` truncates and holds up to 8 TiB.
      let pages = ((load * (1 - w) * f + leak) * INV_PAGE) | 0;
      if (pages < 1) pages = 1;
      const rss = pages * PAGE;

      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      const u = x >>> 0;
      if (down !== 0 || u < missT) {
        this.missing++;
        continue;
      }
      if (u < lateT) {
        this.late++;
        this.hold(s, tickMs, rss, u);
        continue;
      }
      oTs[n] = tickMs;
      oRss[n] = rss;
      oHostMem[n] = mem;
      oPid[n] = ix[q + I.Pid]!;
      oHost[n] = h;
      oComp[n] = c;
      oProc[n] = ix[q + I.Proc]!;
      oRegion[n] = r;
      oCluster[n] = cluster;
      oVersion[n] = ix[q + I.Version]!;
      oRecord[n] = ++record;
      n++;
      if (u < dupT) {
        this.duplicates++;
        this.hold(s, tickMs, rss, u);
      }
    }
    this.pos = s;
    this.rng = x;
    this.emitted = record;
    return n;
  }

  /** Keep a row to send 1..D ticks later (in this tick's release when D is 0). */
  private hold(s: number, ts: number, rss: number, u: number): void {
    const delay = this.D === 0 ? 0 : 1 + ((u >>> 3) % this.D);
    this.slots[(this.tick + delay) % this.slots.length]!.push(s, ts, rss, this.ix[s * IS + I.Pid]!, this.ix[s * IS + I.Version]!);
  }

  /** Send the held rows of one slot, from `pos` on; the slot is emptied once all are out. */
  private release(slot: DelaySlot, out: RowBuffers, n: number, cap: number): number {
    const plan = this.plan;
    let i = this.pos;
    for (; i < slot.n && n < cap; i++, n++) {
      const s = slot.series[i]!;
      const h = plan.seriesHost[s]!;
      out.ts[n] = slot.ts[i]!;
      out.rss[n] = slot.rss[i]!;
      out.hostMem[n] = plan.hostMem[h]!;
      out.pid[n] = slot.pid[i]!;
      out.host[n] = h;
      out.component[n] = plan.seriesComponent[s]!;
      out.process[n] = plan.seriesProcess[s]!;
      out.region[n] = plan.hostRegion[h]!;
      out.cluster[n] = plan.hostCluster[h]!;
      out.version[n] = slot.version[i]!;
      out.record[n] = ++this.emitted;
    }
    if (i < slot.n) {
      this.pos = i;
      return n;
    }
    this.pos = 0;
    slot.n = 0;
    // A slot emptied exactly at a full batch must not be sent again on resume.
    if (n === cap) this.afterFullRelease();
    return n;
  }

  private afterFullRelease(): void {
    if (this.phase === Phase.Release) {
      this.tick++;
      this.phase = Phase.BeginTick;
    } else if (this.phase === Phase.Flush) {
      this.flushDue++;
    }
  }

  /** Everything due for series s at tick t: rollouts, restarts, spike stages, shifts, leak segments. */
  private advance(s: number, t: number): void {
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

const deviationCache = new WeakMap<Shapes, Float32Array>();

/**
 * Each machine's deviation from 1, stored twice in a row: a series reads at its own
 * offset plus the current point without wrapping (no unpredictable branch per sample).
 */
function deviations(shapes: Shapes): Float32Array {
  let dev = deviationCache.get(shapes);
  if (dev) return dev;
  const L = shapes.length;
  dev = new Float32Array(shapes.count * 2 * L);
  for (let m = 0; m < shapes.count; m++) {
    for (let i = 0; i < 2 * L; i++) dev[m * 2 * L + i] = shapes.values[m * L + (i % L)]! - 1;
  }
  deviationCache.set(shapes, dev);
  return dev;
}
