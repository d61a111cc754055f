/**
 * How many of a component's hosts are under mitigation at once: a host is held from
 * the moment an action on it is taken until its alert resolves or its hold expires
 * (the action finished, settled and was verified). At most
 * max(min_hosts, floor(max_share x hosts of the component)) hosts are held at once.
 */
export class BlastRadius {
  private readonly held = new Map<string, Map<string, number>>();

  constructor(private readonly maxShare: number, private readonly minHosts: number) {}

  private live(component: string, now: number): Map<string, number> | undefined {
    const hosts = this.held.get(component);
    if (!hosts) return undefined;
    for (const [host, until] of hosts) if (until <= now) hosts.delete(host);
    if (hosts.size === 0) this.held.delete(component);
    return hosts.size ? hosts : undefined;
  }

  capacity(componentHosts: number): number {
    return Math.max(this.minHosts, Math.floor(this.maxShare * componentHosts));
  }

  /** Whether `host` may be acted on: it is held already, or there is room for it. */
  allows(component: string, host: string, componentHosts: number, now: number): boolean {
    const hosts = this.live(component, now);
    return (hosts?.has(host) ?? false) || (hosts?.size ?? 0) < this.capacity(componentHosts);
  }

  heldCount(component: string, now: number): number {
    return this.live(component, now)?.size ?? 0;
  }

  hold(component: string, host: string, until: number): void {
    let hosts = this.held.get(component);
    if (!hosts) this.held.set(component, (hosts = new Map()));
    hosts.set(host, until);
  }

  release(component: string, host: string): void {
    const hosts = this.held.get(component);
    hosts?.delete(host);
    if (hosts?.size === 0) this.held.delete(component);
  }

  checkpoint(): [string, [string, number][]][] {
    return [...this.held.entries()].map(([c, h]) => [c, [...h.entries()]]);
  }

  /** `runningUntil` replaces the open-ended hold of an action that was running when saved. */
  restore(state: [string, [string, number][]][], runningUntil: number): void {
    this.held.clear();
    for (const [c, h] of state) this.held.set(c, new Map(h.map(([host, until]) => [host, until === Infinity ? runningUntil : until])));
  }
}
