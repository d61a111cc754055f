/** Where the health and metrics endpoint listens. */
export interface HttpAddress {
  readonly host: string;
  readonly port: number;
}

export const DEFAULT_HTTP = '127.0.0.1:9477';

/**
 * `host:port`, `[v6]:port` or `:port` (every interface), or `off` for none. Port 0
 * asks the system for a free port (tests). Throws a RangeError quoting the text.
 * Loopback by default: metrics name hosts and processes of the fleet, so exposing
 * them beyond the machine is a decision to write down, not an accident.
 */
export function parseHttpAddress(text: string): HttpAddress | null {
  const t = text.trim();
  if (t === 'off') return null;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]*)):(\d{1,5})$/.exec(t);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new RangeError(`"${text}" is not an address to listen on (use host:port, [ipv6]:port, :port or off)`);
  }
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]!);
  return { host, port };
}

/** host:port as people write it, with brackets around IPv6 hosts. */
export function formatHttpAddress(a: HttpAddress): string {
  return `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}
