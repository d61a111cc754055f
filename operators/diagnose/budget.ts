const HOUR = 3_600_000;

/**
 * The method's cap on tracing: at most `perHour` sessions started per cluster in any
 * hour (a sliding window of start times). State is bounded: a cluster keeps at most
 * `perHour` start times, and a cluster with none in the window is dropped.
 */
export class ProfilingBudget {
  private readonly starts = new Map<string, number[]>();

  constructor(readonly perHour: number, readonly window = HOUR) {}

  /** Sessions that may still start in `cluster` at `now`. */
  left(cluster: string, now: number): number {
    const list = this.prune(cluster, now);
    return this.perHour - list.length;
  }

  /** Takes one start if the cluster has any left; false when it is spent. */
  take(cluster: string, now: number): boolean {
    const list = this.prune(cluster, now);
    if (list.length >= this.perHour) return false;
    list.push(now);
    this.starts.set(cluster, list);
    return true;
  }

  /** When the next start frees up in `cluster` (now if one is free). */
  nextFree(cluster: string, now: number): number {
    const list = this.prune(cluster, now);
    return list.length < this.perHour ? now : list[0]! + this.window;
  }

  private prune(cluster: string, now: number): number[] {
    const list = this.starts.get(cluster) ?? [];
    let drop = 0;
    while (drop < list.length && list[drop]! <= now - this.window) drop++;
    if (drop > 0) list.splice(0, drop);
    if (list.length === 0) this.starts.delete(cluster);
    return list;
  }

  checkpoint(): [string, number[]][] {
    return [...this.starts];
  }

  restore(state: [string, number[]][]): void {
    this.starts.clear();
    for (const [cluster, list] of state) this.starts.set(cluster, [...list]);
  }
}
