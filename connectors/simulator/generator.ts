import { REGIONS, type FleetPlan } from './fleet.js';
import { DelaySlot } from './delay.js';
import { deviations } from './deviations.js';
import { SeriesEvents } from './events.js';
import { F, I, Stride } from './layout.js';
import { MAX_DELAY_MS } from './options.js';
import { GroupBuffers, HostGaps } from './outages.js';
import { NORMAL_TABLE, NORMAL_TABLE_BITS, Stream, draw, sampleRngState } from './random.js';
import type { RowBuffers } from './rows.js';
import { bufferSensitivity, diurnal, pidOf, warmupDecay } from './schedule.js';

const FS = Stride.F;
const IS = Stride.I;

/** How far a leak's growth follows the daily load (leaks allocate per request). */
const LEAK_DIURNAL = 0.5;
const PAGE = 4096;
const BG_PHASES = 64;
const INV_PAGE = 1 / PAGE;

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
  private readonly events: SeriesEvents;

  // Per component constants.
  private readonly cDiurnal: Float64Array;
  private readonly cBackground: Float64Array;
  private readonly cNoise: Float64Array;
  private readonly cGcAmp: Float64Array;
  private readonly cWarmDecay: Float64Array;

  private readonly groups: GroupBuffers;
  private readonly gaps: HostGaps;

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

  constructor(readonly plan: FleetPlan) {
    const S = (this.S = plan.seriesCount);
    const o = plan.opts;
    this.T = o.ticks;
    this.iv = o.intervalMs;
    this.D = Math.floor(MAX_DELAY_MS / o.intervalMs);
    this.slots = Array.from({ length: this.D + 1 }, () => new DelaySlot());
    this.rng = sampleRngState(plan.seed);

    this.st = new Float64Array(S * FS);
    this.ix = new Int32Array(S * IS);
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
    }
    this.events = new SeriesEvents(plan, this.st, this.ix);
    this.groups = new GroupBuffers(plan);
    this.gaps = new HostGaps(plan);
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
    this.groups.step(t);
    this.gaps.step(t);
  }

  /** Rows of the current tick from series `pos` on. */
  private rows(out: RowBuffers, n: number, cap: number): number {
    const plan = this.plan;
    const t = this.tick;
    const tickMs = plan.opts.startMs + t * this.iv;
    const S = this.S;
    const hostRegion = plan.hostRegion, hostCluster = plan.hostCluster, hostMem = plan.hostMem, hostDown = this.gaps.down;
    const st = this.st, ix = this.ix, bgDev = this.bgDev, k5 = this.k5, gLevel = this.groups.level;
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
      if (t >= st[a + F.NextEvt]!) this.events.advance(s, t);
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

}
