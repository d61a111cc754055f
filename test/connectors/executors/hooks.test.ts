import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, expect, it } from 'vitest';
import { HostHooks, serveHooks } from '../../../connectors/agent/hooks.js';
import { agentSubject, encodeJson, readReply } from '../../../connectors/executors/commands.js';
import { agentExecutor } from '../../../connectors/executors/remote.js';
import { ConfigError } from '../../../engine/errors.js';
import { silentLogger } from '../../../engine/log.js';
import { Metrics } from '../../../engine/metrics.js';
import type { ActionTarget } from '../../../engine/mitigation.js';
import { describeNats, useNatsServer } from '../../helpers/nats.js';

const dir = mkdtempSync(join(tmpdir(), 'resin-hooks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const target: ActionTarget = { alert_id: 'p-9', action: 'drain', component: 'api', host: 'h1', process: 'api', pid: 5, cluster: 'c1', region: null };

it('loads hooks from YAML and rejects a malformed file, naming the file', () => {
  const good = join(dir, 'good.yaml');
  writeFileSync(good, `hooks:\n  drain: { argv: [${JSON.stringify(process.execPath)}, -e, "0"], timeout: 5s }\n`);
  expect(HostHooks.load(good).size).toBe(1);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'hooks:\n  drain: { cmd: "rm -rf /" }\n');
  expect(() => HostHooks.load(bad)).toThrow(ConfigError);
  expect(() => HostHooks.load(bad)).toThrow(/bad\.yaml/);
});

describeNats('remote execution through the host agent', () => {
  const server = useNatsServer();

  it('runs the named hook on the target host with the target in its environment, and reports the result back', async () => {
    const out = join(dir, 'drained');
    const hooks = new HostHooks({
      drain: { argv: [process.execPath, '-e', 'require("fs").writeFileSync(process.argv[1], process.env.RESIN_ALERT_ID + " " + process.env.RESIN_COMPONENT); console.log("drained")', out], timeout: '5s' },
      broken: { argv: [process.execPath, '-e', 'process.exit(4)'] },
    });
    const metrics = new Metrics();
    const nc: NatsConnection = await connect({ servers: server().url });
    try {
      serveHooks(nc, agentSubject('h1'), hooks, silentLogger, metrics);
      await nc.flush();
      const run = (hook: string, t = target) => agentExecutor({ connection: async () => nc, hook, timeoutMs: 5000 }).run(t, new AbortController().signal);

      const ok = await run('drain');
      expect(ok).toMatchObject({ ok: true, detail: 'drain: exit 0: drained' });
      expect(ok.durationMs).toBeGreaterThan(0);
      expect(readFileSync(out, 'utf8')).toBe('p-9 api');

      expect(await run('broken')).toMatchObject({ ok: false, detail: 'broken: exit 4' });
      expect(await run('reboot')).toMatchObject({ ok: false, detail: 'no hook "reboot" on this host (have: drain, broken)' });
      expect(await run('drain', { ...target, host: 'h2' })).toMatchObject({ ok: false, detail: 'nobody answers on resin.cmd.h2' });

      // A command line sent by whoever can publish is not a hook.
      const raw = readReply((await nc.request(agentSubject('h1'), encodeJson({ op: 'exec', argv: ['rm', '-rf', '/'] }), { timeout: 2000 })).data);
      expect(raw).toMatchObject({ ok: false, detail: expect.stringMatching(/^bad request/) });
      expect(metrics.total('agent_commands', { result: 'bad_request' })).toBe(1);
      expect(metrics.total('agent_commands', { result: 'ok' })).toBe(1);
    } finally {
      await nc.close();
    }
  });
});
