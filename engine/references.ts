import type { HeapSnapshot } from './diagnosis.js';

/**
 * Reference snapshots: heap profiles of healthy processes, against which diagnosis
 * tells a leak's stack from stacks that grow everywhere. Keyed by the method's
 * fingerprint; the state store keeps them (connectors/duckdb/references.ts) and expires
 * them by age.
 */
export interface Fingerprint {
  component: string;
  cluster: string | null;
  /** Null where the telemetry does not carry it. */
  os_version: string | null;
  /** The service's version (the telemetry's `version` attribute). */
  service_version: string | null;
  /** UTC day the reference was taken, YYYY-MM-DD. */
  day: string;
}

/** The snapshots of one healthy process, oldest first. */
export interface ReferenceSet {
  fingerprint: Fingerprint;
  host: string;
  process: string;
  taken_at: number;
  snapshots: HeapSnapshot[];
}

export interface ReferenceStore {
  save(ref: ReferenceSet): Promise<void>;
  /**
   * Sets taken at or after `notBefore`: `exact` matches the whole fingerprint; otherwise
   * a similar one (same component, service and OS version, any cluster or day).
   */
  find(fp: Fingerprint, notBefore: number, match: 'exact' | 'similar'): Promise<ReferenceSet[]>;
  /** Deletes sets taken before `before`; returns how many went. */
  expire(before: number): Promise<number>;
}

export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function matches(a: Fingerprint, b: Fingerprint, match: 'exact' | 'similar'): boolean {
  const similar = a.component === b.component && a.service_version === b.service_version && a.os_version === b.os_version;
  return match === 'similar' ? similar : similar && a.cluster === b.cluster && a.day === b.day;
}

/** The in-memory store, for runs without a state file and for tests; same contract. */
export class MemoryReferenceStore implements ReferenceStore {
  private sets: ReferenceSet[] = [];

  async save(ref: ReferenceSet): Promise<void> {
    this.sets.push(structuredClone(ref));
  }

  async find(fp: Fingerprint, notBefore: number, match: 'exact' | 'similar'): Promise<ReferenceSet[]> {
    return this.sets.filter((s) => s.taken_at >= notBefore && matches(s.fingerprint, fp, match)).map((s) => structuredClone(s));
  }

  async expire(before: number): Promise<number> {
    const n = this.sets.length;
    this.sets = this.sets.filter((s) => s.taken_at >= before);
    return n - this.sets.length;
  }
}
