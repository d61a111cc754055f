import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { supervisorSubject } from '../../connectors/executors/commands.js';
import { supervisorExecutor } from '../../connectors/executors/remote.js';
import { Supervisor } from '../../connectors/executors/supervisor.js';
import { serveSupervisor } from '../../connectors/executors/supervisorControl.js';
import { silentLogger } from '../../engine/log.js';
import { Metrics } from '../../engine/metrics.js';
import { startNatsServer } from '../../test/helpers/natsServer.js';
import { flag, quantile, saveResults } from '../lib.js';

/**
 * Process restart time through the path the engine uses: a restart request over NATS
 * to `resin supervise`'s control channel (the Supervisor class, in this process), which
 * SIGTERMs the service's process group, waits for it (SIGKILL after the grace period)
 * and starts it again. Three figures per restart:
 *   - restart: SIGTERM until the new process runs (what the supervisor records);
 *   - request: the engine's request until the reply (restart + NATS);
 *   - ready: SIGTERM until the new service has run its first line of code (it writes a file).
 * The services: a Node process holding 200 MB that exits on SIGTERM, and one that
 * ignores SIGTERM (the grace period, 1 s here, is then paid in full: the tail).
 * Compare Azure's process restarts: 1.6 s p50, 6.5 s p90 (RESIN, OSDI 2022).
 *
 *   npm run bench:restart -- --restarts 20
 */
const restarts = flag('restarts', 20);
const graceMs = flag('grace', 1000);
const dir = mkdtempSync(join(tmpdir(), 'resin-bench-restart-'));

const service = (ignoreTerm: boolean) => [
  '-e',
  `${ignoreTerm ? 'process.on("SIGTERM", () => {});' : ''} require("fs").writeFileSync(process.argv[1] + "/ready-" + process.pid, "");`
    + ' const held = Buffer.alloc(200 * 1024 * 1024, 1); setInterval(() => held[0]++, 1000);',
  dir,
];

async function waitFor(path: string, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!existsSync(path)) {
    if (performance.now() > deadline) throw new Error(`no ${path} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

const server = await startNatsServer();
const nc = await connect({ servers: server.url });
const results: Record<string, Record<string, number>> = {};
try {
  for (const [name, ignoreTerm] of [['exits on SIGTERM', false], ['ignores SIGTERM', true]] as const) {
    const supervisor = new Supervisor({ command: process.execPath, args: service(ignoreTerm), graceMs, stdio: 'ignore' });
    const subject = supervisorSubject('bench-host', 'svc');
    const sub = serveSupervisor(nc, subject, supervisor, silentLogger, new Metrics());
    await nc.flush();
    const executor = supervisorExecutor({ connection: async () => nc, timeoutMs: 30_000 });
    let pid = await supervisor.start();
    await waitFor(join(dir, `ready-${pid}`), 10_000);
    const restart: number[] = [];
    const request: number[] = [];
    const ready: number[] = [];
    for (let i = 0; i < restarts; i++) {
      // Let the service settle (its 200 MB resident) before it is restarted.
      await new Promise((r) => setTimeout(r, 200));
      const started = performance.now();
      const r = await executor.run({ alert_id: `bench-${i}`, action: 'restart-process', component: 'svc', host: 'bench-host', process: 'node', pid, cluster: null, region: null }, new AbortController().signal);
      const replied = performance.now() - started;
      if (!r.ok || r.newPid == null) throw new Error(`restart ${i} failed: ${r.detail}`);
      pid = r.newPid;
      await waitFor(join(dir, `ready-${pid}`), 10_000);
      // The request also covers the NATS hops before SIGTERM: subtract them to time readiness from SIGTERM.
      const hops = replied - r.durationMs;
      restart.push(r.durationMs);
      request.push(replied);
      ready.push(performance.now() - started - Math.max(0, hops / 2));
    }
    sub.unsubscribe();
    await supervisor.stop();
    const row: Record<string, number> = { restarts };
    for (const [k, xs] of [['restart', restart], ['request', request], ['ready', ready]] as const) {
      row[`${k}_p50_ms`] = Math.round(quantile(xs, 0.5) * 10) / 10;
      row[`${k}_p90_ms`] = Math.round(quantile(xs, 0.9) * 10) / 10;
    }
    results[name] = row;
  }
} finally {
  await nc.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

process.stdout.write(`Process restart through resin supervise (NATS request, ${restarts} restarts each, grace ${graceMs} ms)\n`);
process.stdout.write('service               restart p50/p90 ms   request p50/p90 ms   ready p50/p90 ms\n');
for (const [name, r] of Object.entries(results)) {
  const pair = (k: string) => `${r[`${k}_p50_ms`]} / ${r[`${k}_p90_ms`]}`.padEnd(21);
  process.stdout.write(`${name.padEnd(22)}${pair('restart')}${pair('request')}${pair('ready')}\n`);
}
process.stdout.write('Azure (RESIN, OSDI 2022): process restart 1600 / 6500 ms\n');
process.stdout.write(`written to ${saveResults('restart', results)}\n`);
