import { grown, narrowFloats, packTimes, unpackTimes, widenFloats, type NarrowFloats, type PackedTimes } from '../../engine/typedArrays.js';

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
 * A fleet sampled every 5 minutes with 10 minutes of lateness keeps 3 live samples a
 * series: rings of 4 slots, 73 bytes a series.
 */
export class RecentSamples {
  private slots = FIRST_SLOTS;
  private capacity = 0;
  /** Newest time per series, -Infinity before its first sample. */
  private last = new Float64Array(0);
  /** Next slot to write per series. */
  private head = new Uint8Array(0);
  /** Ring of series s: [s * slots, (s + 1) * slots); empty slots hold NaN. */
  private ts = new Float64Array(0);
  private value = new Float64Array(0);
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

  /** `span`: the width of a spill slice (ms); slices are dropped whole once the watermark passes them. */
  constructor(private readonly span: number) {}

  /** Makes room for series ids below `count`. */
  ensure(count: number): void {
    if (count > this.seen) this.seen = count;
    if (count <= this.capacity) return;
    const cap = Math.max(count, this.capacity * 2, 256);
    this.last = grown(this.last, cap, -Infinity);
    this.head = grown(this.head, cap);
    this.ts = grown(this.ts, cap * this.slots, NaN);
    this.value = grown(this.value, cap * this.slots);
    this.crowded = grown(this.crowded, cap);
    this.capacity = cap;
  }

  /**
   * Whether sample (t, v) of series s was seen, remembering it when not. `mark`: the
   * watermark, below which no sample is accepted any more, so none needs remembering.
   */
  see(s: number, t: number, v: number, mark: number): Seen {
    const last = this.last[s]!;
    if (t > last) {
      this.last[s] = t;
      this.remember(s, t, v, mark);
      return Seen.new;
    }
    const K = this.slots, base = s * K, ts = this.ts;
    for (let k = base, e = base + K; k < e; k++) {
      if (ts[k] === t) return this.judge(this.value[k]!, v);
    }
    if (this.spilled.size > 0) {
      const start = Math.floor(t / this.span) * this.span;
      const prior = this.spilled.get(start)?.get(s * this.span + (t - start));
      if (prior !== undefined) return this.judge(prior, v);
    }
    this.remember(s, t, v, mark);
    return Seen.new;
  }

  private judge(prior: number, v: number): Seen {
    if (prior === v) return Seen.duplicate;
    this.prior = prior;
    return Seen.conflict;
  }

  private remember(s: number, t: number, v: number, mark: number): void {
    const K = this.slots, h = this.head[s]!, at = s * K + h;
    if (this.ts[at]! >= mark) {
      this.full(s, t, v, mark);
      return;
    }
    this.ts[at] = t;
    this.value[at] = v;
    this.head[s] = (h + 1) & (K - 1);
  }

  /** The oldest slot written is still live: another may hold one the watermark has passed; else the rings grow or the oldest spills. */
  private full(s: number, t: number, v: number, mark: number): void {
    const K = this.slots, base = s * K;
    for (let k = base; k < base + K; k++) {
      if (!(this.ts[k]! >= mark)) {
        this.ts[k] = t;
        this.value[k] = v;
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
    this.spill(s, this.ts[at]!, this.value[at]!);
    this.ts[at] = t;
    this.value[at] = v;
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
    const ts = new Float64Array(this.capacity * K2).fill(NaN), value = new Float64Array(this.capacity * K2);
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
    const n = Math.min(count, this.capacity);
    return {
      v: 3, slots: this.slots, last: this.last.slice(0, n), head: this.head.slice(0, n),
      ts: packTimes(this.ts.slice(0, n * this.slots)), value: narrowFloats(this.value.slice(0, n * this.slots)),
      spilled: [...this.spilled].map(([start, slice]) => [start, [...slice]]),
    };
  }

  restore(state: Saved): void {
    const n = state.last.length;
    this.slots = state.slots;
    this.capacity = 0;
    this.last = new Float64Array(0);
    this.head = new Uint8Array(0);
    this.ts = new Float64Array(0);
    this.value = new Float64Array(0);
    this.ensure(n);
    this.last.set(state.last);
    this.head.set(state.head);
    this.ts.set(unpackTimes(state.ts));
    this.value.set(widenFloats(state.value));
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
