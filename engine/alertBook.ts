import type { Alert, AlertLevel } from './alert.js';
import type { Checkpointable } from './state.js';

/** The parts of an alert that detection decides; lifecycle fields are the book's. */
export type Finding = Omit<Alert, 'id' | 'level' | 'state' | 'detected_at' | 'at'>;

export interface AlertBookOptions {
  level: AlertLevel;
  /** Re-emit an open alert when its severity moved by at least this share (default 0.1). */
  severityStep?: number;
  /** ...or when its end moved by at least this much event time, ms (default 6 h). */
  endStep?: number;
}

interface Entry {
  id: string;
  detectedAt: number;
  severity: number;
  end: number;
  last: Alert;
}

/** FNV-1a, 52 bits: ids must be the same on every replay, so no randomness and no clocks. */
export function stableHash(text: string): string {
  let h1 = 0x811c9dc5, h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + (h2 & 0xfffff).toString(16).padStart(5, '0');
}

/**
 * Lifecycle of alerts of one level: raised once (`open`), re-emitted when severity or
 * end move enough (`update`), `resolved` when detection stops flagging the target.
 * Keyed by the caller's target key (e.g. host|component|process); the id also depends
 * on the event time it was first raised, so a leak that comes back after being
 * resolved is a new alert.
 */
export class AlertBook implements Checkpointable {
  private readonly open = new Map<string, Entry>();
  private readonly severityStep: number;
  private readonly endStep: number;

  constructor(private readonly opts: AlertBookOptions) {
    this.severityStep = opts.severityStep ?? 0.1;
    this.endStep = opts.endStep ?? 6 * 3_600_000;
  }

  /**
   * Whether `flag` would emit for a finding of this severity and end: lets a caller
   * skip building a finding (text, pattern) that the book would only throttle.
   */
  due(key: string, severity: number, end: number): boolean {
    const entry = this.open.get(key);
    return entry === undefined || this.moved(entry, severity, end);
  }

  private moved(entry: Entry, severity: number, end: number): boolean {
    return Math.abs(severity - entry.severity) >= this.severityStep * Math.abs(entry.severity) || end - entry.end >= this.endStep;
  }

  /** Detection flags `key` at event time `at`: returns the alert to emit, if any. */
  flag(key: string, finding: Finding, at: number): Alert | null {
    const entry = this.open.get(key);
    if (!entry) {
      const id = `${this.opts.level[0]}-${stableHash(`${this.opts.level}|${key}|${at}`)}`;
      const alert: Alert = { id, level: this.opts.level, state: 'open', ...finding, detected_at: at, at };
      this.open.set(key, { id, detectedAt: at, severity: finding.severity, end: finding.end, last: alert });
      return alert;
    }
    if (!this.moved(entry, finding.severity, finding.end)) return null;
    const alert: Alert = { id: entry.id, level: this.opts.level, state: 'update', ...finding, detected_at: entry.detectedAt, at };
    entry.severity = finding.severity;
    entry.end = finding.end;
    entry.last = alert;
    return alert;
  }

  /** Detection no longer flags `key`: resolves its open alert, if there is one. */
  clear(key: string, at: number, reason: string): Alert | null {
    const entry = this.open.get(key);
    if (!entry) return null;
    this.open.delete(key);
    return { ...entry.last, state: 'resolved', at, reason };
  }

  isOpen(key: string): boolean {
    return this.open.has(key);
  }

  keys(): IterableIterator<string> {
    return this.open.keys();
  }

  get size(): number {
    return this.open.size;
  }

  checkpoint(): unknown {
    return [...this.open.entries()];
  }

  restore(state: unknown): void {
    this.open.clear();
    for (const [k, v] of state as [string, Entry][]) this.open.set(k, v);
  }
}
