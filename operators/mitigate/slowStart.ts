/**
 * A new action rolls out slowly: for `durationMs` after an action category is first
 * taken, it reaches at most `hosts` distinct hosts per `periodMs`. A host already
 * reached in the current period may get it again (an escalation or a retry is not a
 * new host). Past the slow start only the other limits apply.
 */
export class SlowStart {
  private readonly firstUse = new Map<string, number>();
  private readonly reached = new Map<string, Map<string, number>>();

  constructor(private readonly hosts: number, private readonly periodMs: number, private readonly durationMs: number) {}

  private recent(action: string, now: number): Map<string, number> {
    let hosts = this.reached.get(action);
    if (!hosts) this.reached.set(action, (hosts = new Map()));
    for (const [host, at] of hosts) if (at <= now - this.periodMs) hosts.delete(host);
    return hosts;
  }

  /** Whether the action is still new at `now`. */
  isNew(action: string, now: number): boolean {
    const first = this.firstUse.get(action);
    return first === undefined || now - first < this.durationMs;
  }

  allows(action: string, host: string, now: number): boolean {
    if (!this.isNew(action, now)) return true;
    const hosts = this.recent(action, now);
    return hosts.has(host) || hosts.size < this.hosts;
  }

  take(action: string, host: string, now: number): void {
    if (!this.firstUse.has(action)) this.firstUse.set(action, now);
    if (this.isNew(action, now)) this.recent(action, now).set(host, now);
    else this.reached.delete(action);
  }

  checkpoint(): { first: [string, number][]; reached: [string, [string, number][]][] } {
    return { first: [...this.firstUse.entries()], reached: [...this.reached.entries()].map(([a, h]) => [a, [...h.entries()]]) };
  }

  restore(state: { first: [string, number][]; reached: [string, [string, number][]][] }): void {
    this.firstUse.clear();
    this.reached.clear();
    for (const [a, t] of state.first) this.firstUse.set(a, t);
    for (const [a, h] of state.reached) this.reached.set(a, new Map(h));
  }
}
