import { capacityFor, resized } from '../../engine/typedArrays.js';

/**
 * The level-2 Gaussians of one model key (a component, or a component in one region and
 * cluster): absolute usage U ~ N(mu1, sigma1) and period difference dU ~ N(mu2, sigma2)
 * over the last `window` of event time.
 *
 * dU is modelled per phase of the day (the period's index within a daily cycle): memory
 * that follows the daily load rises every morning and falls every evening, so one
 * Gaussian over all hours would be as wide as the daily swing and a spike or a step
 * several times the noise would still pass for an ordinary hour. Per phase, mu2 is the
 * group's typical change at that hour and sigma2 its spread around it.
 *
 * The window is a ring of `SLOTS` slots per key, each holding count, sum and sum of
 * squares of U, and of dU for every phase, over window/SLOTS of event time. A slot is
 * recycled when time reaches it again, so a model forgets data between
 * window - window/SLOTS and window old, and holds 3 x (1 + phases) x SLOTS numbers per
 * key whatever the number of processes. Sums are of U - ref (ref: the key's first value)
 * so that sums of squares of multi-GB values do not cancel catastrophically when the
 * variance is taken.
 *
 * Only the newest slot of a key takes points: it sums in Float64, and is stored when
 * time moves past it, its counts as integers and its sums as Float32 (a day's sums to
 * 6e-8 of themselves; a fit adds 30 of them in Float64). A key of a region x cluster
 * with 24 phases holds 10 KB instead of 18 KB: with ~50 processes to a key, that is
 * 200 B per process instead of 365.
 */
export const SLOTS = 30;

export interface ModelParams {
  mu1: number;
  sigma1: number;
  mu2: number;
  sigma2: number;
  /** Observations behind each pair. */
  nU: number;
  nD: number;
}

export class GaussianModels {
  /** Per model and stored slot: count of U, then of dU for each phase. */
  private counts = new Int32Array(0);
  /** Per model and stored slot: sum and sum of squares of U, then of dU for each phase. */
  private sums = new Float32Array(0);
  /** Slot number (floor(t / slotMs)) each stored slot holds, -1 if empty. */
  private epochs = new Float64Array(0);
  /** Per model: count, sum, sum of squares of U and of dU per phase in its newest slot, and that slot's number (-1: none). */
  private open = new Float64Array(0);
  private openEpoch = new Float64Array(0);
  private refs = new Float64Array(0);
  private readonly index = new Map<string, number>();
  private readonly keys: string[] = [];
  /** Models the arrays have room for. */
  private room = 0;
  /** Per model: (mean, sigma, count) of U, of dU over all phases, of dU per phase; refitted at most once per `t`. */
  private cache = new Float64Array(0);
  private cacheAt = new Float64Array(0);
  readonly slotMs: number;
  /** Numbers per slot: 3 for U, 3 per phase for dU. */
  private readonly width: number;
  /** Counts per slot (1 + phases), and sums (twice that). */
  private readonly kinds: number;
  private readonly acc: Float64Array;

  constructor(readonly window: number, readonly phases = 1) {
    if (!(window > 0)) throw new RangeError(`model window must be > 0 ms, got ${window}`);
    if (!(Number.isInteger(phases) && phases >= 1)) throw new RangeError(`phases must be a positive integer, got ${phases}`);
    this.slotMs = window / SLOTS;
    this.width = 3 + 3 * phases;
    this.kinds = 1 + phases;
    this.acc = new Float64Array(this.width);
  }

  get size(): number {
    return this.keys.length;
  }

  /** Index of the model named `key`, created on first use. */
  model(key: string): number {
    let m = this.index.get(key);
    if (m === undefined) {
      m = this.keys.length;
      this.index.set(key, m);
      this.keys.push(key);
      if (m >= this.room) this.grow(m + 1);
    }
    return m;
  }

  /**
   * Makes room for `need` models. A model holds ~10 KB: room grows by at least 16 models
   * (at most ~160 KB unused), so that a fleet's first period, which meets every model,
   * copies the arrays a few times rather than once per model.
   */
  private grow(need: number): void {
    const room = capacityFor(need, this.room, 0, 16);
    this.counts = resized(this.counts, room * SLOTS * this.kinds);
    this.sums = resized(this.sums, room * SLOTS * 2 * this.kinds);
    this.epochs = resized(this.epochs, room * SLOTS, -1);
    this.open = resized(this.open, room * this.width);
    this.openEpoch = resized(this.openEpoch, room, -1);
    this.refs = resized(this.refs, room, NaN);
    this.cache = resized(this.cache, room * 3 * (2 + this.phases));
    this.cacheAt = resized(this.cacheAt, room, NaN);
    this.room = room;
  }

  keyOf(m: number): string {
    return this.keys[m]!;
  }

  /** Offset in `open` of model m's slot for time t: the open slot is stored first if t is past it. Null for t before it. */
  private slot(m: number, t: number): number | null {
    const epoch = Math.floor(t / this.slotMs);
    const open = this.openEpoch[m]!;
    if (epoch === open) return m * this.width;
    if (epoch < open) return null;
    if (open >= 0) this.store(m);
    this.openEpoch[m] = epoch;
    return m * this.width;
  }

  /** Stores model m's open slot in its place in the ring (and empties it). */
  private store(m: number): void {
    const w = this.width, kinds = this.kinds, o = m * w, epoch = this.openEpoch[m]!;
    const k = m * SLOTS + (((epoch % SLOTS) + SLOTS) % SLOTS);
    this.epochs[k] = epoch;
    for (let f = 0; f < kinds; f++) {
      this.counts[k * kinds + f] = this.open[o + 3 * f]!;
      this.sums[2 * (k * kinds + f)] = this.open[o + 3 * f + 1]!;
      this.sums[2 * (k * kinds + f) + 1] = this.open[o + 3 * f + 2]!;
    }
    this.open.fill(0, o, o + w);
  }

  /**
   * Adds usage u observed at t (and its period difference du at `phase`, unless NaN) to
   * model m. Points come in time order; one before the model's newest slot is ignored.
   */
  add(m: number, t: number, u: number, du: number, phase = 0): void {
    let ref = this.refs[m]!;
    if (ref !== ref) ref = this.refs[m] = u;
    const o = this.slot(m, t);
    if (o === null) return;
    const s = this.open;
    const x = u - ref;
    s[o]! += 1;
    s[o + 1]! += x;
    s[o + 2]! += x * x;
    if (du === du) {
      const d = o + 3 + 3 * phase;
      s[d]! += 1;
      s[d + 1]! += du;
      s[d + 2]! += du * du;
    }
    this.cacheAt[m] = NaN;
  }

  /**
   * Fits model m over the window ending at t into `out`: U over all phases, dU at
   * `phase` (over all phases when `phase` is -1). Means and sigmas are NaN when the
   * window holds fewer than two observations of their kind. All of a model's fits are
   * computed together once per `t`.
   */
  params(m: number, t: number, phase: number, out: ModelParams): ModelParams {
    const per = 3 * (2 + this.phases), o = m * per, c = this.cache;
    if (this.cacheAt[m] !== t) this.fit(m, t);
    out.mu1 = c[o]!;
    out.sigma1 = c[o + 1]!;
    out.nU = c[o + 2]!;
    const d = o + 3 * (phase < 0 ? 1 : 2 + phase);
    out.mu2 = c[d]!;
    out.sigma2 = c[d + 1]!;
    out.nD = c[d + 2]!;
    return out;
  }

  /** Sums model m's live slots into its cache: U, dU over all phases, dU per phase (mean, sigma, count each). */
  private fit(m: number, t: number): void {
    const newest = Math.floor(t / this.slotMs);
    const w = this.width, kinds = this.kinds, phases = this.phases, per = 3 * (2 + phases), o = m * per;
    const acc = this.acc, open = this.openEpoch[m]!;
    acc.fill(0);
    for (let j = 0; j < SLOTS; j++) {
      const k = m * SLOTS + j;
      const e = this.epochs[k]!;
      if (e < 0 || e > newest || e <= newest - SLOTS || e === open) continue;
      for (let f = 0; f < kinds; f++) {
        acc[3 * f]! += this.counts[k * kinds + f]!;
        acc[3 * f + 1]! += this.sums[2 * (k * kinds + f)]!;
        acc[3 * f + 2]! += this.sums[2 * (k * kinds + f) + 1]!;
      }
    }
    if (open >= 0 && open <= newest && open > newest - SLOTS) {
      for (let f = 0; f < w; f++) acc[f]! += this.open[m * w + f]!;
    }
    const c = this.cache;
    const ref = this.refs[m]!;
    c[o] = acc[0]! >= 2 ? ref + acc[1]! / acc[0]! : NaN;
    c[o + 1] = stdev(acc[0]!, acc[1]!, acc[2]!);
    c[o + 2] = acc[0]!;
    let cA = 0, sA = 0, qA = 0;
    for (let f = 3; f < w; f += 3) { cA += acc[f]!; sA += acc[f + 1]!; qA += acc[f + 2]!; }
    c[o + 3] = cA >= 2 ? sA / cA : NaN;
    c[o + 4] = stdev(cA, sA, qA);
    c[o + 5] = cA;
    for (let ph = 0; ph < phases; ph++) {
      const f = 3 + 3 * ph, d = o + 6 + 3 * ph;
      c[d] = acc[f]! >= 2 ? acc[f + 1]! / acc[f]! : NaN;
      c[d + 1] = stdev(acc[f]!, acc[f + 1]!, acc[f + 2]!);
      c[d + 2] = acc[f]!;
    }
    this.cacheAt[m] = t;
  }

  checkpoint(): {
    window: number; phases: number; keys: string[]; counts: Int32Array; sums: Float32Array; epochs: Float64Array;
    open: Float64Array; openEpoch: Float64Array; refs: Float64Array;
  } {
    const n = this.keys.length;
    return {
      window: this.window,
      phases: this.phases,
      keys: [...this.keys],
      counts: this.counts.slice(0, n * SLOTS * this.kinds),
      sums: this.sums.slice(0, n * SLOTS * 2 * this.kinds),
      epochs: this.epochs.slice(0, n * SLOTS),
      open: this.open.slice(0, n * this.width),
      openEpoch: this.openEpoch.slice(0, n),
      refs: this.refs.slice(0, n),
    };
  }

  /**
   * Takes back a checkpoint of models of the same window and phases (else keeps nothing
   * of it). One of the earlier form (every slot in Float64) keeps each model's newest
   * slot open and stores the others.
   */
  restore(state: ReturnType<GaussianModels['checkpoint']> | Earlier): void {
    if (state.window !== this.window || state.phases !== this.phases) return;
    this.index.clear();
    this.keys.length = 0;
    for (const key of state.keys) this.model(key);
    this.refs.set(state.refs);
    this.cacheAt.fill(NaN);
    if ('counts' in state) {
      this.counts.set(state.counts);
      this.sums.set(state.sums);
      this.epochs.set(state.epochs);
      this.open.set(state.open);
      this.openEpoch.set(state.openEpoch);
      return;
    }
    const w = this.width;
    for (let m = 0; m < state.keys.length; m++) {
      // Oldest first, so that each slot is stored when the next one opens.
      const order = Array.from({ length: SLOTS }, (_, j) => m * SLOTS + j)
        .filter((k) => state.epochs[k]! >= 0).sort((a, b) => state.epochs[a]! - state.epochs[b]!);
      for (const k of order) {
        this.slot(m, (state.epochs[k]! + 0.5) * this.slotMs);
        this.open.set(state.sums.subarray(k * w, (k + 1) * w), m * w);
      }
    }
  }
}

/** A checkpoint of the earlier form: count, sum and sum of squares of every slot in Float64. */
interface Earlier { window: number; phases: number; keys: string[]; sums: Float64Array; epochs: Float64Array; refs: Float64Array }

function stdev(n: number, sum: number, squares: number): number {
  return n >= 2 ? Math.sqrt(Math.max(0, (squares - (sum * sum) / n) / (n - 1))) : NaN;
}

export function emptyParams(): ModelParams {
  return { mu1: NaN, sigma1: NaN, mu2: NaN, sigma2: NaN, nU: 0, nD: 0 };
}
