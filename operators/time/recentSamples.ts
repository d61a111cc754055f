import { capacityFor, narrowFloats, packTimes, resized, unpackTimes, widenFloats, type NarrowFloats, type PackedTimes } from '../../engine/typedArrays.js';

/** What `RecentSamples.see` found for a sample. */
export const enum Seen {
  /** Not seen before: remembered now. */
  new = 0,
  /** Seen before with the same value. */
  duplicate = 1,
  /** Seen before with another value (`RecentSamples.prior` holds it). */
  conflict = 2,
}

/** Smallest and largest ring per series; past the largest, samples spill into a Map. */
const FIRST_SLOTS = 4;
const MAX_SLOTS = 64;
/** An empty slot of the Int32 time ring. */
const EMPTY = -(2 ** 31);

/** Saved form (v8-serialisable); from version 3, times packed and values narrowed when that is exact. */
interface Saved {
  v: 2 | 3;
  slots: number;
  last: Float64Array;
  head: Uint8Array;
  ts: Float64Array | PackedTimes;
  value: Float64Array | NarrowFloats;
  spilled: [number, [number, number][]][];
}

/**
 * The (time, value) of every series' samples that could still be repeated: those not
 * older than the watermark, which a sample must reach to be accepted at all. Kept per
 * series in typed arrays: the newest time (a sample after it is new without a search)
 * and a small ring of recent samples (a repeat or an out-of-order sample is looked up
 * in it). A sample may leave its ring only once the watermark has passed it; when a
 * ring holds nothing that old, its oldest sample spills into a Map, so that the answer
 * is exact whatever the sampling rate. Once an eighth of the series fill their rings
 * so within one lateness, every ring doubles, up to MAX_SLOTS: memory follows the
 * fleet's sampling rate, not one odd series.
 *
 * Ring times are Int32 milliseconds from an origin near the newest time (moved when
 * time runs 24 days past it; samples the watermark has passed are emptied then), and
 * ring values Float32 (RSS in pages below 64 GiB, in KiB below 16 GiB). The first time
 * that is not a whole millisecond, or value that Float32 does not hold exactly, turns
 * that ring to Float64 for good, so every answer is the one Float64 rings would give.
 *
 * A fleet sampled every 5 minutes with 10 minutes of lateness keeps 3 live samples a
 * series: rings of 4 slots, 42 bytes a series.
 */
export class RecentSamples {
  private slots = FIRST_SLOTS;
  private capacity = 0;
  /** Newest time per series, in the form of the ring's times; EMPTY (or -Infinity) before its first sample. */
  private last: Int32Array | Float64Array = new Int32Array(0);
  /** Next slot to write per series. */
  private head = new Uint8Array(0);
  /**
   * Ring of series s: [s * slots, (s + 1) * slots). Times are offsets from `origin`
   * (EMPTY: an empty slot), or, once `wideTimes`, the times themselves (NaN: empty).
   */
  private ts: Int32Array | Float64Array = new Int32Array(0);
  private value: Float32Array | Float64Array = new Float32Array(0);
  private origin = NaN;
  private wideTimes = false;
  private wideValues = false;
  /** Samples pushed out of full rings while still live, by slice of time: `series * span + (t - start)` -> value. */
  private spilled = new Map<number, Map<number, number>>();
  /** Series whose ring was full of live samples in the current slice, and how many. */
  private crowded = new Uint8Array(0);
  private crowdedSeries = 0;
  private crowdedSlice = NaN;
  /** Highest series id seen, plus one. */
  private seen = 0;
  /** Value of the earlier copy, after `see` answered `conflict`. */
  prior = NaN;
  /** The newest time, after `admit`: of the samples it took and the one it was given. */
  newest = -Infinity;

  /** `span`: the width of a spill slice (ms); slices are dropped whole once the watermark passes them. */
  constructor(private readonly span: number) {}

  /** Makes room for series ids below `count`. */
  ensure(count: number): void {
    if (count > this.seen) this.seen = count;
    if (count <= this.capacity) return;
    const cap = capacityFor(count, this.capacity, 256);
    this.last = resized(this.last, cap, this.wideTimes ? -Infinity : EMPTY);
    this.head = resized(this.head, cap);
    this.ts = resized(this.ts, cap * this.slots, this.wideTimes ? NaN : EMPTY);
    this.value = resized(this.value, cap * this.slots);
    this.crowded = resized(this.crowded, cap);
    this.capacity = cap;
  }

  /**
   * Whether sample (t, v) of series s was seen, remembering it when not. `mark`: the
   * watermark, below which no sample is accepted any more, so none needs remembering.
   */
  see(s: number, t: number, v: number, mark: number): Seen {
    const last = this.last[s]!;
    if (this.wideTimes ? t > last : last === EMPTY || t > this.origin + last) {
      this.remember(s, t, v, mark);
      // Remembering made t fit the ring's times.
      const code = this.code(t, mark);
      this.last[s] = code;
      return Seen.new;
    }
    // A time the ring cannot hold as an offset is in no slot of it.
    const rel = this.wideTimes ? t : t - this.origin;
    if (this.wideTimes || fits(rel, this.origin, t)) {
      const K = this.slots, base = s * K, ts = this.ts;
      for (let k = base, e = base + K; k < e; k++) {
        if (ts[k] === rel) return this.judge(this.value[k]!, v);
      }
    }
    if (this.spilled.size > 0) {
      const start = Math.floor(t / this.span) * this.span;
      const prior = this.spilled.get(start)?.get(s * this.span + (t - start));
      if (prior !== undefined) return this.judge(prior, v);
    }
    this.remember(s, t, v, mark);
    return Seen.new;
  }

  /**
   * `see` for samples from..to-1 of a batch while each is the common case, in one loop:
   * not late (`newest`, the newest time before them, minus `lateness`), newer than its
   * series' newest, a whole-millisecond offset from the origin, a value the ring's
   * values hold, and its ring's next slot free (passed by the watermark). Such a sample
   * is new, and is written where `see` would write it. Returns the index of the first
   * sample that is not the common case, for the caller to judge (`see`); `newest` is
   * then the newest time of those taken. Under half the time of `see` a sample
   * (docs/telemetry.md).
   */
  admit(series: Int32Array, ts: Float64Array, values: Float64Array, from: number, to: number, newest: number, lateness: number): number {
    this.newest = newest;
    // Float64 times and the first sample (no origin yet) take the general path.
    if (this.wideTimes || this.origin !== this.origin) return from;
    const last = this.last as Int32Array, head = this.head, times = this.ts as Int32Array, vals = this.value;
    const origin = this.origin, K = this.slots, mask = K - 1, narrow = !this.wideValues;
    let i = from;
    for (; i < to; i++) {
      const t = ts[i]!, s = series[i]!;
      const top = t > newest ? t : newest, mark = top - lateness;
      // `fits` without its EMPTY test: an Int32 offset at or below a series' newest (EMPTY, when it has none) leaves anyway.
      const rel = t - origin;
      if (!(t >= mark) || (rel | 0) !== rel || rel <= last[s]! || origin + rel !== t) break;
      const h = head[s]!, at = s * K + h, x = times[at]!;
      if (x !== EMPTY && origin + x >= mark) break;
      const v = values[i]!;
      if (narrow && Math.fround(v) !== v) break;
      times[at] = rel;
      vals[at] = v;
      head[s] = (h + 1) & mask;
      last[s] = rel;
      newest = top;
    }
    this.newest = newest;
    return i;
  }

  private judge(prior: number, v: number): Seen {
    if (prior === v) return Seen.duplicate;
    this.prior = prior;
    return Seen.conflict;
  }

  private remember(s: number, t: number, v: number, mark: number): void {
    const K = this.slots, h = this.head[s]!, at = s * K + h;
    if (this.live(at, mark)) {
      this.full(s, t, v, mark);
      return;
    }
    this.put(at, t, v, mark);
    this.head[s] = (h + 1) & (K - 1);
  }

  /** Whether slot `at` holds a sample the watermark has not passed. */
  private live(at: number, mark: number): boolean {
    const x = this.ts[at]!;
    return this.wideTimes ? x >= mark : x !== EMPTY && this.origin + x >= mark;
  }

  /** Time of slot `at` (NaN: empty). */
  private timeAt(at: number): number {
    const x = this.ts[at]!;
    return this.wideTimes ? x : x === EMPTY ? NaN : this.origin + x;
  }

  /** Writes (t, v) into slot `at`. */
  private put(at: number, t: number, v: number, mark: number): void {
    const code = this.code(t, mark);
    this.ts[at] = code;
    if (!this.wideValues && Math.fround(v) !== v && v === v) {
      this.value = Float64Array.from(this.value);
      this.wideValues = true;
    }
    this.value[at] = v;
  }

  /** Time t as the ring holds it, moving the origin or widening the times first when it does not fit. */
  private code(t: number, mark: number): number {
    if (this.wideTimes) return t;
    if (this.origin !== this.origin) this.origin = Math.floor(t);
    const rel = t - this.origin;
    if (fits(rel, this.origin, t)) return rel;
    if (Number.isInteger(t) && this.rebase(t, mark)) return 0;
    this.widenTimes();
    return t;
  }

  /**
   * Moves the origin to t, a whole millisecond 24 days away from it: times the
   * watermark has passed are emptied (no sample at or after it can equal them, and any
   * is newer than them); false when a live one would not fit (a lateness of 24 days or
   * more).
   */
  private rebase(t: number, mark: number): boolean {
    const origin = this.origin;
    for (const a of [this.ts as Int32Array, this.last as Int32Array]) {
      for (let k = 0; k < a.length; k++) {
        const x = a[k]!;
        if (x !== EMPTY && origin + x >= mark && !fits(origin + x - t, t, origin + x)) return false;
      }
    }
    for (const a of [this.ts as Int32Array, this.last as Int32Array]) {
      for (let k = 0; k < a.length; k++) {
        const x = a[k]!;
        a[k] = x === EMPTY || origin + x < mark ? EMPTY : origin + x - t;
      }
    }
    this.origin = t;
    return true;
  }

  /** Turns the ring's times (and the newest times) to Float64 for good. */
  private widenTimes(): void {
    const wide = new Float64Array(this.ts.length), last = new Float64Array(this.last.length);
    for (let k = 0; k < wide.length; k++) wide[k] = this.timeAt(k);
    for (let s = 0; s < last.length; s++) last[s] = this.lastOf(s);
    this.ts = wide;
    this.last = last;
    this.wideTimes = true;
  }

  /** Newest time of series s, -Infinity before its first sample. */
  private lastOf(s: number): number {
    const x = this.last[s]!;
    return this.wideTimes ? x : x === EMPTY ? -Infinity : this.origin + x;
  }

  /** The oldest slot written is still live: another may hold one the watermark has passed; else the rings grow or the oldest spills. */
  private full(s: number, t: number, v: number, mark: number): void {
    const K = this.slots, base = s * K;
    for (let k = base; k < base + K; k++) {
      if (!this.live(k, mark)) {
        this.put(k, t, v, mark);
        return;
      }
    }
    // Rings grow for all series at once, so only when crowding is common (a fleet
    // sampled faster than its lateness); a few dense series spill instead.
    if (K < MAX_SLOTS && this.crowdedOften(s, mark)) {
      this.widen();
      this.remember(s, t, v, mark);
      return;
    }
    const at = base + this.head[s]!;
    this.spill(s, this.timeAt(at), this.value[at]!);
    this.put(at, t, v, mark);
    this.head[s] = (this.head[s]! + 1) & (K - 1);
  }

  /**
   * Notes that series s found its ring full of live samples; true once an eighth of the
   * series seen did within one lateness-long slice of event time.
   */
  private crowdedOften(s: number, mark: number): boolean {
    const slice = Math.floor(mark / this.span);
    if (slice !== this.crowdedSlice) {
      this.crowdedSlice = slice;
      this.crowded.fill(0);
      this.crowdedSeries = 0;
    }
    if (this.crowded[s] === 0) {
      this.crowded[s] = 1;
      this.crowdedSeries++;
    }
    return this.crowdedSeries * 8 >= this.seen;
  }

  /** Doubles every ring; each series' samples keep their order, and its next write goes after them. */
  private widen(): void {
    const K = this.slots, K2 = K * 2;
    const ts = this.wideTimes ? new Float64Array(this.capacity * K2).fill(NaN) : new Int32Array(this.capacity * K2).fill(EMPTY);
    const value = this.wideValues ? new Float64Array(this.capacity * K2) : new Float32Array(this.capacity * K2);
    for (let s = 0; s < this.capacity; s++) {
      const h = this.head[s]!;
      for (let j = 0; j < K; j++) {
        const from = s * K + ((h + j) % K);
        ts[s * K2 + j] = this.ts[from]!;
        value[s * K2 + j] = this.value[from]!;
      }
      this.head[s] = K;
    }
    this.ts = ts;
    this.value = value;
    this.slots = K2;
  }

  private spill(s: number, t: number, v: number): void {
    const start = Math.floor(t / this.span) * this.span;
    let slice = this.spilled.get(start);
    if (slice === undefined) {
      slice = new Map();
      this.spilled.set(start, slice);
    }
    slice.set(s * this.span + (t - start), v);
  }

  /** Forgets spilled slices the watermark has passed (rings reuse such slots as they go). */
  expire(mark: number): void {
    for (const start of this.spilled.keys()) if (start + this.span <= mark) this.spilled.delete(start);
  }

  checkpoint(count: number): Saved {
    const n = Math.min(count, this.capacity), cells = n * this.slots;
    const ts = new Float64Array(cells);
    for (let k = 0; k < cells; k++) ts[k] = this.timeAt(k);
    return {
      v: 3, slots: this.slots, last: Float64Array.from({ length: n }, (_, s) => this.lastOf(s)), head: this.head.slice(0, n),
      ts: packTimes(ts), value: narrowFloats(Float64Array.from(this.value.subarray(0, cells))),
      spilled: [...this.spilled].map(([start, slice]) => [start, [...slice]]),
    };
  }

  /** Takes a checkpoint back; `mark` is the watermark it was saved at (samples older than it are not kept). */
  restore(state: Saved, mark: number): void {
    const n = state.last.length;
    this.slots = state.slots;
    this.capacity = 0;
    this.last = new Int32Array(0);
    this.head = new Uint8Array(0);
    this.ts = new Int32Array(0);
    this.value = new Float32Array(0);
    this.origin = NaN;
    this.wideTimes = false;
    this.wideValues = false;
    this.ensure(n);
    this.head.set(state.head);
    const ts = unpackTimes(state.ts), value = widenFloats(state.value);
    for (let k = 0; k < ts.length; k++) {
      const t = ts[k]!;
      if (t >= mark) this.put(k, t, value[k]!, mark);
    }
    // A newest time the watermark has passed is older than any sample to come: as good as none.
    for (let s = 0; s < n; s++) {
      const t = state.last[s]!;
      if (t > -Infinity && t >= mark) {
        const code = this.code(t, mark);
        this.last[s] = code;
      }
    }
    this.spilled = new Map(state.spilled.map(([start, slice]) => [start, new Map(slice)]));
  }

  /**
   * Takes the samples of the earlier form of the watermark's state: slices of event
   * time, each a Map of `series * span + (t - start)` -> value.
   */
  restoreSegments(segments: readonly { start: number; seen: Map<number, number> }[], mark: number): void {
    for (const seg of segments) {
      for (const [key, v] of seg.seen) {
        const s = Math.floor(key / this.span), t = seg.start + (key - s * this.span);
        this.ensure(s + 1);
        this.see(s, t, v, mark);
      }
    }
  }
}

/** Whether `rel` = t - origin is an Int32 offset (not the EMPTY code) that gives t back exactly. */
function fits(rel: number, origin: number, t: number): boolean {
  return (rel | 0) === rel && rel !== EMPTY && origin + rel === t;
}
