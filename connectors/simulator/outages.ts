import type { FleetPlan } from './fleet.js';
import { gapAt, groupCount, outageAt, type Gap, type Outage } from './schedule.js';

/**
 * Buffer level of every (component, cluster) group: it grows while a downstream outage
 * lasts and drains after it. Only groups that ever see an outage are stepped.
 */
export class GroupBuffers {
  readonly level: Float64Array;
  private readonly k: Int32Array;
  private readonly stage: Uint8Array;
  private readonly next: Float64Array;
  private readonly growth: Float64Array;
  private readonly drain: Float64Array;
  private readonly end: Float64Array;
  private readonly active: Int32Array;
  private readonly tmp: Outage = { start: 0, duration: 0, drain: 0, end: 0, growth: 0 };

  constructor(private readonly plan: FleetPlan) {
    const G = groupCount(plan);
    this.level = new Float64Array(G);
    this.k = new Int32Array(G);
    this.stage = new Uint8Array(G);
    this.next = new Float64Array(G).fill(Infinity);
    this.growth = new Float64Array(G);
    this.drain = new Float64Array(G);
    this.end = new Float64Array(G);
    const active: number[] = [];
    for (let g = 0; g < G; g++) {
      const first = outageAt(plan, g, 0, 0, this.tmp);
      if (first) {
        active.push(g);
        this.next[g] = first.start;
      }
    }
    this.active = Int32Array.from(active);
  }

  /** Every group's level at tick t. */
  step(t: number): void {
    for (let i = 0; i < this.active.length; i++) this.stepGroup(this.active[i]!, t);
  }

  private stepGroup(g: number, t: number): void {
    if (this.stage[g] === 0) {
      if (t < this.next[g]!) return;
      outageAt(this.plan, g, this.k[g]!, this.end[g]!, this.tmp);
      this.growth[g] = this.tmp.growth;
      this.next[g] = this.tmp.start + this.tmp.duration;
      this.end[g] = this.tmp.end;
      this.drain[g] = (this.tmp.growth * this.tmp.duration) / this.tmp.drain;
      this.stage[g] = 1;
    }
    if (this.stage[g] === 1) {
      if (t < this.next[g]!) {
        this.level[g] += this.growth[g]!;
        return;
      }
      this.stage[g] = 2;
    }
    if (t < this.end[g]!) {
      this.level[g] = Math.max(0, this.level[g]! - this.drain[g]!);
      return;
    }
    this.level[g] = 0;
    this.k[g]++;
    this.stage[g] = 0;
    this.next[g] = outageAt(this.plan, g, this.k[g]!, this.end[g]!, this.tmp)!.start;
  }
}

/** Which hosts' agents are down at the current tick (their samples are never sent). */
export class HostGaps {
  /** 1 while the host is in a gap. */
  readonly down: Uint8Array;
  private readonly k: Int32Array;
  private readonly next: Float64Array;
  private readonly end: Float64Array;
  private readonly tmp: Gap = { start: 0, end: 0 };

  constructor(private readonly plan: FleetPlan) {
    const H = plan.hostNames.length;
    this.down = new Uint8Array(H);
    this.k = new Int32Array(H);
    this.next = new Float64Array(H);
    this.end = new Float64Array(H);
    for (let h = 0; h < H; h++) {
      gapAt(plan, h, 0, 0, this.tmp);
      this.next[h] = this.tmp.start;
      this.end[h] = this.tmp.end;
    }
  }

  step(t: number): void {
    const H = this.down.length;
    for (let h = 0; h < H; h++) {
      if (t >= this.end[h]!) {
        gapAt(this.plan, h, ++this.k[h], this.end[h]!, this.tmp);
        this.next[h] = this.tmp.start;
        this.end[h] = this.tmp.end;
      }
      this.down[h] = t >= this.next[h]! ? 1 : 0;
    }
  }
}
