import { grown } from './grow.js';
import type { PeriodRing } from './periodRing.js';

/**
 * Who a process's peers are: the other processes on its host, and the other processes
 * of its component in its region and cluster (its model group), as linked lists in
 * typed arrays (series join on first sight and never leave; a list is walked only for a
 * process about to be reported).
 *
 * Growth that a process shares with its peers is not a leak: when a host takes on more
 * work every process on it grows at once, and when a cluster's downstream is down every
 * process of a component there fills its buffers at once. A leak is one process's own.
 */
export class PeerIndex {
  private firstOfHost = new Int32Array(0);
  private nextOnHost = new Int32Array(0);
  private firstOfGroup = new Int32Array(0);
  private nextInGroup = new Int32Array(0);
  /** Group a series is linked into (-1: not linked yet). */
  private groupOf = new Int32Array(0);
  private hostOf = new Int32Array(0);
  /** Series in the order they joined, so that a restored index walks its lists in the same order. */
  private order = new Int32Array(0);
  private joined = 0;

  /**
   * Room for `series` series and `hosts` hosts at once (the catalog's sizes), rather than
   * growing a sixteenth at a time as a fleet's first period joins them one by one.
   */
  ensure(series: number, hosts: number): void {
    if (series > this.groupOf.length) {
      this.groupOf = grown(this.groupOf, series, -1);
      this.hostOf = grown(this.hostOf, series, -1);
      this.nextOnHost = grown(this.nextOnHost, series, -1);
      this.nextInGroup = grown(this.nextInGroup, series, -1);
      this.order = grown(this.order, series);
    }
    if (hosts > this.firstOfHost.length) this.firstOfHost = grown(this.firstOfHost, hosts, -1);
  }

  /** Links series `id` under `host` and `group` (once; a later call with another group is ignored). */
  join(id: number, host: number, group: number): void {
    this.ensure(id + 1, host + 1);
    if (this.groupOf[id] !== -1) return;
    if (group >= this.firstOfGroup.length) this.firstOfGroup = grown(this.firstOfGroup, group + 1, -1);
    this.groupOf[id] = group;
    this.hostOf[id] = host;
    this.order[this.joined++] = id;
    this.nextOnHost[id] = this.firstOfHost[host]!;
    this.firstOfHost[host] = id;
    this.nextInGroup[id] = this.firstOfGroup[group]!;
    this.firstOfGroup[group] = id;
  }

  /**
   * Median of `growth(peer)` over series `id`'s host-mates (`byHost`) or group peers,
   * leaving out peers for which it is NaN; NaN when none is left. At most
   * `scratch.length` peers are asked (the latest to join).
   */
  medianGrowth(id: number, byHost: boolean, growth: (peer: number) => number, scratch: Float64Array): number {
    if (id >= this.groupOf.length || this.groupOf[id] === -1) return NaN;
    let q = byHost ? this.firstOfHost[this.hostOf[id]!]! : this.firstOfGroup[this.groupOf[id]!]!;
    const next = byHost ? this.nextOnHost : this.nextInGroup;
    let n = 0;
    for (; q !== -1 && n < scratch.length; q = next[q]!) {
      if (q === id) continue;
      const g = growth(q);
      if (g === g) scratch[n++] = g;
    }
    if (n === 0) return NaN;
    const sorted = scratch.subarray(0, n).sort();
    return n & 1 ? sorted[n >> 1]! : (sorted[(n >> 1) - 1]! + sorted[n >> 1]!) / 2;
  }

  checkpoint(): { order: Int32Array; host: Int32Array; group: Int32Array } {
    const order = this.order.slice(0, this.joined);
    // A loop, not Int32Array.from with a mapping function: that calls it once per series.
    const host = new Int32Array(order.length), group = new Int32Array(order.length);
    for (let k = 0; k < order.length; k++) {
      host[k] = this.hostOf[order[k]!]!;
      group[k] = this.groupOf[order[k]!]!;
    }
    return { order, host, group };
  }

  restore(state: ReturnType<PeerIndex['checkpoint']>): void {
    for (let k = 0; k < state.order.length; k++) this.join(state.order[k]!, state.host[k]!, state.group[k]!);
  }
}

/** Largest log change of one period counted for a peer: one wild period must not decide. */
const CLIP = 0.25;
/** The periods `stitchedGrowth` walks, read out of the ring (one judgement at a time). */
let levels = new Float64Array(0);

/**
 * Log growth of series `q` from the day ending at period p - shift to the day ending at
 * p: the mean of its cumulative log level over the later day minus over the earlier.
 * The changes of periods in [restartFrom, restartTo) (a restart and its warm-up) are
 * left out, so that a peer restarted meanwhile still shows whether the load around it
 * grew. NaN when either day has no value.
 */
export function stitchedGrowth(ring: PeriodRing, q: number, p: number, d: number, shift: number, restartFrom: number, restartTo: number): number {
  let level = 0, early = 0, late = 0, nEarly = 0, nLate = 0;
  const from = p - d - shift + 1;
  // The period before the earlier day starts the level; periods not held read NaN and are skipped.
  if (levels.length < d + shift + 1) levels = grown(levels, d + shift + 1);
  const first = ring.firstHeld(q, from - 1), n = ring.read(q, from - 1, levels, p);
  let before = NaN;
  for (let k = 0; k < n; k++) {
    const v = levels[k]!, t = first + k;
    if (v !== v) continue;
    if (t >= from) {
      if (before === before && before > 0 && v > 0 && !(t >= restartFrom && t < restartTo)) {
        const r = Math.log(v / before);
        level += r > CLIP ? CLIP : r < -CLIP ? -CLIP : r;
      }
      if (t <= p - shift) { early += level; nEarly++; }
      if (t > p - d) { late += level; nLate++; }
    }
    before = v;
  }
  return nEarly > 0 && nLate > 0 ? late / nLate - early / nEarly : NaN;
}
