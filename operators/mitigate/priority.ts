import type { Alert } from '../../engine/alert.js';
import type { ComponentConfig } from './options.js';

const MB = 1024 * 1024;
const HOUR = 3_600_000;

/** What orders alerts when limits bite. */
export interface Urgency {
  /** The process is at or above its component's memory limit: the host is already failing. */
  failing: boolean;
  /** Bytes the leak has grown by (rate over the leak's span). */
  size: number;
  /** Bytes per hour. */
  rate: number;
  /** Hours until the memory limit is reached at the current rate (Infinity without a limit or growth). */
  hoursLeft: number;
}

export function urgencyOf(alert: Alert, components: Readonly<Record<string, ComponentConfig>>): Urgency {
  const limit = components[alert.component]?.memory_limit_mb;
  const limitBytes = limit === undefined ? Infinity : limit * MB;
  const rate = Math.max(0, alert.rate);
  return {
    failing: alert.rss >= limitBytes,
    size: rate * Math.max(0, alert.end - alert.start) / HOUR,
    rate,
    hoursLeft: rate > 0 && limitBytes < Infinity ? Math.max(0, limitBytes - alert.rss) / rate : Infinity,
  };
}

/**
 * Alerts in the order limits should serve them: resolutions first (they free room),
 * then hosts already failing for memory, then the largest leak, the fastest, and the
 * soonest to run out; the alert id breaks ties so the order never depends on arrival.
 */
export function byPriority(alerts: readonly Alert[], components: Readonly<Record<string, ComponentConfig>>): Alert[] {
  const keyed = alerts.map((a) => ({ a, u: urgencyOf(a, components) }));
  keyed.sort((x, y) => {
    const rx = x.a.state === 'resolved' ? 0 : 1;
    const ry = y.a.state === 'resolved' ? 0 : 1;
    if (rx !== ry) return rx - ry;
    if (x.u.failing !== y.u.failing) return x.u.failing ? -1 : 1;
    if (x.u.size !== y.u.size) return y.u.size - x.u.size;
    if (x.u.rate !== y.u.rate) return y.u.rate - x.u.rate;
    if (x.u.hoursLeft !== y.u.hoursLeft) return x.u.hoursLeft - y.u.hoursLeft;
    return x.a.id < y.a.id ? -1 : x.a.id > y.a.id ? 1 : 0;
  });
  return keyed.map((k) => k.a);
}
