import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject, lastValueFrom, toArray } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { actionLog } from '../../../connectors/actions/action-log.js';
import { DuckDbStore } from '../../../connectors/duckdb/store.js';
import type { Alert } from '../../../engine/alert.js';
import type { MitigationDecision } from '../../../engine/mitigation.js';
import { resolveOptions } from '../../../engine/pipeline/options.js';
import type { NodeContext } from '../../../engine/spec.js';
import { mitigate, mitigateSpec } from '../../../operators/mitigate/mitigate.js';
import { cli } from '../../helpers/cli.js';
import { testContext } from '../../helpers/samples.js';
import { leakAlert, recordingExecutor } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'resin-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mitigation audit', () => {
  it('records every decision in the DuckDB state file and as NDJSON; `resin mitigations` lists them', async () => {
    const state = join(dir, 'state.duckdb');
    const store = await DuckDbStore.open(state);
    const { ctx: base } = testContext('mitigate');
    const ctx: NodeContext = { ...base, store };
    const op = mitigate(resolveOptions(mitigateSpec, {
      blast_radius: { min_hosts: 10 },
      actions: { 'restart-process': { allow: ['api'], executor: recordingExecutor(join(dir, 'never')) } },
    }), ctx);
    const logPath = join(dir, 'actions.ndjson');
    const log = actionLog({ path: logPath }, ctx);
    const input = new Subject<Alert>();
    const out = lastValueFrom(op.apply(input).pipe(toArray()));
    const written: MitigationDecision[] = [];
    for (const a of [leakAlert('h1', { id: 'a1' }), leakAlert('h2', { id: 'a2', component: 'web', process: 'web' })]) input.next(a);
    await ctx.flow.idle();
    input.next(leakAlert('h1', { id: 'a1', state: 'resolved', reason: 'fell back' }));
    input.complete();
    for (const d of await out) {
      written.push(d);
      log.write(d);
    }
    await ctx.flow.idle();
    await log.close();
    await op.close();
    await store.close();

    expect(written.map((d) => `${d.alert_id}:${d.outcome}`)).toEqual(['a1:dry-run', 'a2:skipped', 'a1:stopped']);
    const lines = readFileSync(logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MitigationDecision);
    expect(lines).toEqual(written);

    const json = await cli('mitigations', '--state', state, '--format', 'json');
    expect(json.code).toBe(0);
    const rows = json.out.trim().split('\n').map((l) => JSON.parse(l) as MitigationDecision);
    expect(rows.map((r) => `${r.alert_id}:${r.outcome}:${r.action ?? '-'}`)).toEqual(['a1:dry-run:restart-process', 'a2:skipped:-', 'a1:stopped:restart-process']);
    expect(rows[1]!.reason).toMatch(/web is on no allow-list/);
    expect(rows[0]).toEqual(written[0]);

    const table = await cli('mitigations', '--state', state, '--alert', 'a1');
    expect(table.code).toBe(0);
    const tableLines = table.out.trim().split('\n');
    expect(tableLines[0]).toMatch(/^decided_at\s+outcome\s+action\s+component\s+host\s+pid\s+alert_id\s+reason$/);
    expect(tableLines.slice(1).map((l) => l.split(/\s+/)[1])).toEqual(['dry-run', 'stopped']);

    const missing = await cli('mitigations', '--state', join(dir, 'nope.duckdb'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/no state file at/);
  });

  it('expires decisions past the audit retention', async () => {
    const store = await DuckDbStore.open(join(dir, 'expire.duckdb'));
    try {
      const d = (id: string, decided: number): MitigationDecision => ({
        id, alert_id: 'a', component: 'c', host: null, process: null, pid: null, cluster: null, action: null,
        outcome: 'skipped', reason: 'r', at: 0, decided_at: decided, duration_ms: null, attempt: 0, executor: null, new_pid: null,
      });
      await store.recordDecisions([d('old', 1000), d('new', 5000)]);
      await store.expireDecisions(2000);
      expect((await store.query('SELECT id FROM mitigations')).map((r) => r.id)).toEqual(['new']);
    } finally {
      await store.close();
    }
  });
});
