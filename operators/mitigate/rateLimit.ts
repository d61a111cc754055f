/**
 * Actions per window, globally and per cluster: a sliding window of the times actions
 * were taken. A key holds at most `limit` times and empty keys are dropped, so memory
 * is bounded by the limits, not by the number of clusters ever seen.
 */
export class RateLimit {
  private readonly times = new Map<string, number[]>();

  constructor(private readonly limit: number, private readonly windowMs: number) {}

  private live(key: string, now: number): number[] {
    const times = this.times.get(key);
    if (!times) return [];
    while (times.length > 0 && times[0]! <= now - this.windowMs) times.shift();
    if (times.length === 0) this.times.delete(key);
    return times;
  }

  allows(key: string, now: number): boolean {
    return this.live(key, now).length < this.limit;
  }

  take(key: string, now: number): void {
    const times = this.live(key, now);
    if (times.length === 0) this.times.set(key, times);
    times.push(now);
  }

  used(key: string, now: number): number {
    return this.live(key, now).length;
  }

  checkpoint(): [string, number[]][] {
    return [...this.times.entries()];
  }

  restore(state: [string, number[]][]): void {
    this.times.clear();
    for (const [k, v] of state) this.times.set(k, v.slice(-this.limit));
  }
}
