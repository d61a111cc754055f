/**
 * A leak alert as emitted on `alerts` edges and written by alert sinks
 * (schema documented in docs/alerts.md).
 */
export type AlertLevel = 'component' | 'process';
export type AlertState = 'open' | 'update' | 'resolved';
export type LeakPattern = 'steady' | 'stair' | 'spike' | 'unknown';

export interface Alert {
  /** Stable across updates of the same leak and across replays of the same input. */
  id: string;
  level: AlertLevel;
  state: AlertState;
  component: string;
  /** Null on component-level alerts. */
  host: string | null;
  process: string | null;
  pid: number | null;
  region: string | null;
  cluster: string | null;
  /** Leak start (event-time ms): T0 for a process, start of the anomalous run for a component. */
  start: number;
  /** Last point of the leak seen so far (event-time ms): T1, or the anomalous run's end. */
  end: number;
  /** Event time at which the alert was first raised. */
  detected_at: number;
  /** Event time of this emission. */
  at: number;
  severity: number;
  pattern: LeakPattern;
  /** Memory at `end`, bytes (process level) or the bucket's lower bound (component level). */
  rss: number;
  /** Growth from `start` to `end`, bytes per hour (process level); 0 at component level. */
  rate: number;
  /** Component level: the anomalous bucket's size in MB and its distinct-host count. */
  bucket_mb: number | null;
  hosts: number | null;
  /** Why it was raised or resolved, for a person reading the alert. */
  reason: string;
}

/** JSON schema of an Alert: the one source for the sink's serialiser and for docs/alerts.md. */
export const ALERT_JSON_SCHEMA = {
  title: 'Alert',
  type: 'object',
  properties: {
    id: { type: 'string' },
    level: { type: 'string', enum: ['component', 'process'] },
    state: { type: 'string', enum: ['open', 'update', 'resolved'] },
    component: { type: 'string' },
    host: { type: ['string', 'null'] },
    process: { type: ['string', 'null'] },
    pid: { type: ['integer', 'null'] },
    region: { type: ['string', 'null'] },
    cluster: { type: ['string', 'null'] },
    start: { type: 'integer' },
    end: { type: 'integer' },
    detected_at: { type: 'integer' },
    at: { type: 'integer' },
    severity: { type: 'number' },
    pattern: { type: 'string', enum: ['steady', 'stair', 'spike', 'unknown'] },
    rss: { type: 'number' },
    rate: { type: 'number' },
    bucket_mb: { type: ['number', 'null'] },
    hosts: { type: ['integer', 'null'] },
    reason: { type: 'string' },
  },
  required: [
    'id', 'level', 'state', 'component', 'host', 'process', 'pid', 'region', 'cluster', 'start', 'end',
    'detected_at', 'at', 'severity', 'pattern', 'rss', 'rate', 'bucket_mb', 'hosts', 'reason',
  ],
} as const;
