import type { DuckDBConnection } from '@duckdb/node-api';
import type { Frame, HeapSnapshot } from '../../engine/diagnosis.js';
import type { Fingerprint, ReferenceSet, ReferenceStore } from '../../engine/references.js';

/**
 * Reference snapshots in the state file: one row per set (fingerprint, process, time),
 * per snapshot, and per stack. Frames are stored as JSON text: references are few
 * (a handful of processes a day per component), so size and append speed do not matter
 * here, while a person reading the file can still query them.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS reference_sets (
  id BIGINT NOT NULL, component VARCHAR NOT NULL, cluster VARCHAR, os_version VARCHAR, service_version VARCHAR,
  day VARCHAR NOT NULL, host VARCHAR NOT NULL, process VARCHAR NOT NULL, taken_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS reference_snapshots (
  ref BIGINT NOT NULL, seq INTEGER NOT NULL, taken BIGINT NOT NULL,
  rss DOUBLE, heap_used DOUBLE, external DOUBLE, array_buffers DOUBLE);
CREATE TABLE IF NOT EXISTS reference_stacks (
  ref BIGINT NOT NULL, seq INTEGER NOT NULL, frames VARCHAR NOT NULL, live_bytes DOUBLE NOT NULL, count BIGINT NOT NULL);
`;

type Serial = <T>(work: () => Promise<T>) => Promise<T>;

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export class DuckDbReferenceStore implements ReferenceStore {
  private constructor(private readonly conn: DuckDBConnection, private readonly serial: Serial, private nextId: number) {}

  /** Creates the tables if missing; `serial` is the state store's queue, so statements never interleave. */
  static async open(conn: DuckDBConnection, serial: Serial): Promise<DuckDbReferenceStore> {
    await conn.run(SCHEMA);
    const max = (await conn.runAndReadAll('SELECT coalesce(max(id), 0) FROM reference_sets')).getRows()[0]![0];
    return new DuckDbReferenceStore(conn, serial, Number(max) + 1);
  }

  save(ref: ReferenceSet): Promise<void> {
    return this.serial(async () => {
      const id = this.nextId++;
      const fp = ref.fingerprint;
      await this.conn.run('BEGIN TRANSACTION');
      try {
        await this.conn.run('INSERT INTO reference_sets VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
          [id, fp.component, fp.cluster, fp.os_version, fp.service_version, fp.day, ref.host, ref.process, Math.floor(ref.taken_at)]);
        for (let seq = 0; seq < ref.snapshots.length; seq++) {
          const s = ref.snapshots[seq]!;
          const m = s.memory;
          await this.conn.run('INSERT INTO reference_snapshots VALUES ($1, $2, $3, $4, $5, $6, $7)',
            [id, seq, Math.floor(s.at), m?.rss ?? null, m?.heap_used ?? null, m?.external ?? null, m?.array_buffers ?? null]);
          for (const st of s.stacks) {
            await this.conn.run('INSERT INTO reference_stacks VALUES ($1, $2, $3, $4, $5)', [id, seq, JSON.stringify(st.frames), st.live_bytes, st.count]);
          }
        }
        await this.conn.run('COMMIT');
      } catch (err) {
        await this.conn.run('ROLLBACK').catch(() => {});
        throw new Error(`saving reference snapshots of ${ref.host}/${ref.process} failed: ${(err as Error).message}`, { cause: err });
      }
    });
  }

  find(fp: Fingerprint, notBefore: number, match: 'exact' | 'similar'): Promise<ReferenceSet[]> {
    return this.serial(async () => {
      let where = 'component = $1 AND service_version IS NOT DISTINCT FROM $2 AND os_version IS NOT DISTINCT FROM $3 AND taken_at >= $4';
      const params: (string | number | null)[] = [fp.component, fp.service_version, fp.os_version, Math.floor(notBefore)];
      if (match === 'exact') {
        where += ' AND cluster IS NOT DISTINCT FROM $5 AND day = $6';
        params.push(fp.cluster, fp.day);
      }
      const sets = (await this.conn.runAndReadAll(`SELECT * FROM reference_sets WHERE ${where} ORDER BY taken_at, id`, params)).getRowObjectsJS();
      if (sets.length === 0) return [];
      const ids = sets.map((s) => num(s.id)).join(',');
      const snaps = (await this.conn.runAndReadAll(`SELECT * FROM reference_snapshots WHERE ref IN (${ids}) ORDER BY ref, seq`)).getRowObjectsJS();
      const stacks = (await this.conn.runAndReadAll(`SELECT * FROM reference_stacks WHERE ref IN (${ids})`)).getRowObjectsJS();
      const byRef = new Map<number, HeapSnapshot[]>();
      for (const r of snaps) {
        const list = byRef.get(num(r.ref)) ?? [];
        const rss = numOrNull(r.rss);
        list[num(r.seq)] = {
          at: num(r.taken), stacks: [],
          memory: rss === null ? null : { rss, heap_used: numOrNull(r.heap_used), external: numOrNull(r.external), array_buffers: numOrNull(r.array_buffers) },
        };
        byRef.set(num(r.ref), list);
      }
      for (const r of stacks) {
        byRef.get(num(r.ref))?.[num(r.seq)]?.stacks.push({ frames: JSON.parse(String(r.frames)) as Frame[], live_bytes: num(r.live_bytes), count: num(r.count) });
      }
      return sets.map((s): ReferenceSet => ({
        fingerprint: {
          component: String(s.component), cluster: s.cluster === null ? null : String(s.cluster),
          os_version: s.os_version === null ? null : String(s.os_version),
          service_version: s.service_version === null ? null : String(s.service_version), day: String(s.day),
        },
        host: String(s.host), process: String(s.process), taken_at: num(s.taken_at),
        snapshots: (byRef.get(num(s.id)) ?? []).filter(Boolean),
      }));
    });
  }

  expire(before: number): Promise<number> {
    return this.serial(async () => {
      const bound = Math.floor(before);
      const old = `SELECT id FROM reference_sets WHERE taken_at < ${bound}`;
      const n = Number((await this.conn.runAndReadAll(`SELECT count(*) FROM reference_sets WHERE taken_at < $1`, [bound])).getRows()[0]![0]);
      if (n === 0) return 0;
      await this.conn.run('BEGIN TRANSACTION');
      try {
        await this.conn.run(`DELETE FROM reference_stacks WHERE ref IN (${old})`);
        await this.conn.run(`DELETE FROM reference_snapshots WHERE ref IN (${old})`);
        await this.conn.run(`DELETE FROM reference_sets WHERE taken_at < $1`, [bound]);
        await this.conn.run('COMMIT');
      } catch (err) {
        await this.conn.run('ROLLBACK').catch(() => {});
        throw err;
      }
      return n;
    });
  }
}
