import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DuckDbStore } from '../../connectors/duckdb/store.js';
import { SourceError, UsageError } from '../errors.js';
import { resolveRunConfig } from '../ops/config.js';

const COLUMNS = ['decided_at', 'outcome', 'action', 'component', 'host', 'pid', 'alert_id', 'reason'] as const;

/**
 * `resin mitigations`: the audit of mitigation decisions in a state file, oldest first
 * (or the newest `--limit`), as a table or as NDJSON.
 */
export async function mitigationsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      state: { type: 'string' }, alert: { type: 'string' }, component: { type: 'string' }, outcome: { type: 'string' },
      limit: { type: 'string' }, format: { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`mitigations takes no positional arguments (got "${positionals[0]}")`);
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, got "${format}"`);
  const limit = values.limit === undefined ? 1000 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive integer, got "${values.limit}"`);
  const state = values.state ?? resolveRunConfig({ flags: {}, env: process.env }).state;
  if (!existsSync(state)) throw new UsageError(`no state file at ${state} (--state PATH)`);

  const where: string[] = [];
  const params: string[] = [];
  for (const [column, value] of [['alert_id', values.alert], ['component', values.component], ['outcome', values.outcome]] as const) {
    if (value === undefined) continue;
    params.push(value);
    where.push(`${column} = $${params.length}`);
  }
  let store: DuckDbStore;
  try {
    store = await DuckDbStore.open(state);
  } catch (err) {
    // Most often a running `resin run` holds the file, and DuckDB locks it.
    throw new SourceError(`${(err as Error).message} (if \`resin run\` holds it, read a copy)`, { cause: err });
  }
  try {
    const rows = await store.query(
      `SELECT * FROM (SELECT * FROM mitigations ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY decided_at DESC, id DESC LIMIT ${limit}) ORDER BY decided_at, id`, params,
    );
    if (format === 'json') {
      for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
      return 0;
    }
    if (rows.length === 0) {
      process.stdout.write('no mitigation decisions recorded\n');
      return 0;
    }
    const cells = rows.map((r) => COLUMNS.map((c) => (c === 'decided_at' ? new Date(r[c] as number).toISOString() : String(r[c] ?? '-'))));
    const widths = COLUMNS.map((c, i) => (c === 'reason' ? 0 : Math.max(c.length, ...cells.map((row) => row[i]!.length))));
    const line = (row: readonly string[]) => row.map((v, i) => (widths[i] ? v.padEnd(widths[i]!) : v)).join('  ').trimEnd();
    process.stdout.write([line(COLUMNS), ...cells.map(line)].join('\n') + '\n');
    return 0;
  } finally {
    await store.close();
  }
}
