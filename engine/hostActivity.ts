/**
 * Which hosts are being profiled right now, shared by every node of a run: mitigation
 * waits while a host is being profiled (a restart would throw the trace away).
 */
export class HostActivity {
  private readonly profiling = new Map<string, Set<string>>();

  /** Marks `host` as profiled by `session` until `endProfiling` with the same pair. */
  beginProfiling(host: string, session: string): void {
    let sessions = this.profiling.get(host);
    if (!sessions) this.profiling.set(host, (sessions = new Set()));
    sessions.add(session);
  }

  endProfiling(host: string, session: string): void {
    const sessions = this.profiling.get(host);
    if (!sessions) return;
    sessions.delete(session);
    if (sessions.size === 0) this.profiling.delete(host);
  }

  isProfiling(host: string): boolean {
    return this.profiling.has(host);
  }

  /** Hosts with at least one open profiling session. */
  profiledHosts(): string[] {
    return [...this.profiling.keys()];
  }
}
