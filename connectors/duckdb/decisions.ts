import type { DuckDBConnection } from '@duckdb/node-api';
import type { MitigationDecision } from '../../engine/mitigation.js';

/**
 * The mitigation audit table. Few rows (one per decision), read by people: plain
 * VARCHAR columns, times as epoch milliseconds like the rest of the state file.
 */
export const DECISIONS_SCHEMA = `
-- "at" is quoted: AT is a keyword in DuckDB.
CREATE TABLE IF NOT EXISTS mitigations (
  id VARCHAR NOT NULL, alert_id VARCHAR NOT NULL, component VARCHAR NOT NULL, host VARCHAR, process VARCHAR,
  pid INTEGER, cluster VARCHAR, action VARCHAR, outcome VARCHAR NOT NULL, reason VARCHAR NOT NULL,
  "at" BIGINT NOT NULL, decided_at BIGINT NOT NULL, duration_ms DOUBLE, attempt INTEGER NOT NULL,
  executor VARCHAR, new_pid INTEGER);
`;

/** Appends decisions in the caller's transaction. */
export async function appendDecisions(conn: DuckDBConnection, rows: readonly MitigationDecision[]): Promise<void> {
  const a = await conn.createAppender('mitigations');
  try {
    const text = (v: string | null) => (v === null ? a.appendNull() : a.appendVarchar(v));
    const int = (v: number | null) => (v === null ? a.appendNull() : a.appendInteger(v));
    for (const d of rows) {
      a.appendVarchar(d.id);
      a.appendVarchar(d.alert_id);
      a.appendVarchar(d.component);
      text(d.host);
      text(d.process);
      int(d.pid);
      text(d.cluster);
      text(d.action);
      a.appendVarchar(d.outcome);
      a.appendVarchar(d.reason);
      a.appendBigInt(BigInt(Math.floor(d.at)));
      a.appendBigInt(BigInt(Math.floor(d.decided_at)));
      if (d.duration_ms === null) a.appendNull();
      else a.appendDouble(d.duration_ms);
      a.appendInteger(d.attempt);
      text(d.executor);
      int(d.new_pid);
      a.endRow();
    }
    a.flushSync();
  } finally {
    a.closeSync();
  }
}
