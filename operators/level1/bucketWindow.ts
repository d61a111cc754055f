import { capacityFor, resized } from '../../engine/typedArrays.js';

/**
 * The last `window` periods of every (component, bucket) count series, as a ring of
 * Int32Array slots indexed by period mod window. Each component's slot remembers the
 * period it holds, so a period with no data for a component (an ingest gap) is
 * neither a zero in the baseline nor a point of the test: it is simply absent.
 */
export class BucketWindow {
  private counts: Int32Array;
  private stamps: Float64Array;
  /** First period seen per component: histories shorter than the window use what exists. */
  private firstSeen: Float64Array;
  private capacity: number;

  constructor(readonly window: number, readonly buckets: number, components = 0) {
    this.capacity = Math.max(0, components);
    this.counts = new Int32Array(this.capacity * buckets * window);
    this.stamps = new Float64Array(this.capacity * window).fill(NaN);
    this.firstSeen = new Float64Array(this.capacity).fill(NaN);
  }

  private ensure(component: number): void {
    if (component < this.capacity) return;
    // A component's window is thousands of counts: grown a few components at a time, not doubled.
    const cap = capacityFor(component + 1, this.capacity, 1);
    this.counts = resized(this.counts, cap * this.buckets * this.window);
    this.stamps = resized(this.stamps, cap * this.window, NaN);
    this.firstSeen = resized(this.firstSeen, cap, NaN);
    this.capacity = cap;
  }

  /** Records period `p`'s counts of one component (`hosts[from .. from + buckets)`), replacing an earlier write of p. */
  put(component: number, p: number, hosts: Int32Array, from: number): void {
    this.ensure(component);
    const W = this.window, B = this.buckets;
    const slot = ((p % W) + W) % W;
    this.stamps[component * W + slot] = p;
    for (let b = 0; b < B; b++) this.counts[(component * B + b) * W + slot] = hosts[from + b]!;
    const first = this.firstSeen[component]!;
    if (Number.isNaN(first) || p < first) this.firstSeen[component] = p;
  }

  first(component: number): number {
    return component < this.capacity ? this.firstSeen[component]! : NaN;
  }

  /** Count of (component, bucket) at period p, or -1 when p is not held. */
  at(component: number, bucket: number, p: number): number {
    const W = this.window;
    const slot = ((p % W) + W) % W;
    if (this.stamps[component * W + slot] !== p) return -1;
    return this.counts[(component * this.buckets + bucket) * W + slot]!;
  }

  /** Saved form, per component in `ids`: counts and stamps. */
  save(ids: readonly number[]): { counts: Int32Array; stamps: Float64Array; first: Float64Array } {
    const W = this.window, B = this.buckets;
    const counts = new Int32Array(ids.length * B * W), stamps = new Float64Array(ids.length * W), first = new Float64Array(ids.length);
    ids.forEach((c, k) => {
      counts.set(this.counts.subarray(c * B * W, (c + 1) * B * W), k * B * W);
      stamps.set(this.stamps.subarray(c * W, (c + 1) * W), k * W);
      first[k] = this.firstSeen[c]!;
    });
    return { counts, stamps, first };
  }

  load(ids: readonly number[], saved: { counts: Int32Array; stamps: Float64Array; first: Float64Array }): void {
    const W = this.window, B = this.buckets;
    ids.forEach((c, k) => {
      this.ensure(c);
      this.counts.set(saved.counts.subarray(k * B * W, (k + 1) * B * W), c * B * W);
      this.stamps.set(saved.stamps.subarray(k * W, (k + 1) * W), c * W);
      this.firstSeen[c] = saved.first[k]!;
    });
  }

  /** Components that have been seen. */
  seen(): number[] {
    const out: number[] = [];
    for (let c = 0; c < this.capacity; c++) if (!Number.isNaN(this.firstSeen[c]!)) out.push(c);
    return out;
  }
}
