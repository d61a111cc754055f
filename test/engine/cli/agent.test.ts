import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordBatchReader } from 'apache-arrow';
import { connect } from 'nats';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../helpers/cli.js';
import { describeNats, useNatsServer } from '../../helpers/nats.js';

const dir = mkdtempSync(join(tmpdir(), 'resin-agent-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI in-process, capturing what it writes. */
const run = (args: string[]) => cli(...args);

describe('resin agent (command line)', () => {
  it('--dry-run prints this host\'s samples, placed by the rules file', async () => {
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, `rules:\n  - component: test-runner\n    cmdline: "vitest"\n`);
    const { code, out } = await run(['agent', '--dry-run', '--host', 'box-1', '--rules', rules, '--cluster', 'c9']);
    expect(code).toBe(0);
    const rows = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const me = rows.find((r) => r.pid === process.pid);
    expect(me).toMatchObject({ host: 'box-1', component: 'test-runner', cluster: 'c9' });
    expect(me!.rss as number).toBeGreaterThan(1e6);
    expect(rows.every((r) => typeof r.ts === 'number' && r.ts === rows[0]!.ts)).toBe(true);
  });

  it('refuses bad flags and bad rules with exit code 2', async () => {
    expect((await run(['agent', '--interval', 'soon'])).code).toBe(2);
    expect((await run(['agent', '--memory', 'pss'])).err).toMatch(/--memory must be rss or anon/);
    expect((await run(['agent', '--user', 'u'])).err).toMatch(/"user" needs "password"/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'rules:\n  - component: x\n    cmdline: "("\n');
    const r = await run(['agent', '--dry-run', '--rules', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/rules\[0\]\.cmdline: not a regular expression/);
  });
});

describeNats('resin agent --once', () => {
  const server = useNatsServer();

  it('publishes one cycle as Arrow messages per component (core NATS), and fails when NATS is unreachable', async () => {
    const nc = await connect({ servers: server().url });
    const got: { subject: string; rows: number; type: string | undefined }[] = [];
    nc.subscribe('fleet.>', { callback: (_e, m) => got.push({ subject: m.subject, rows: RecordBatchReader.from(m.data).readAll().reduce((n, b) => n + b.numRows, 0), type: m.headers?.get('Content-Type') }) });
    await nc.flush();
    const ok = await run(['agent', '--once', '--servers', server().url, '--publish', 'core', '--prefix', 'fleet', '--host', 'h-1']);
    expect(ok.code).toBe(0);
    await nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    expect(got.length).toBeGreaterThan(0);
    expect(got.every((g) => g.subject.startsWith('fleet.') && g.type === 'application/vnd.apache.arrow.stream' && g.rows > 0)).toBe(true);
    expect(got.some((g) => g.subject === 'fleet.node')).toBe(true);
    await nc.close();

    const down = await run(['agent', '--once', '--servers', 'nats://127.0.0.1:1', '--timeout', '500ms']);
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/could not publish to NATS/);
  });
});
