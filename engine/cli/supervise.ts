import { hostname } from 'node:os';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import type { NatsConnection } from 'nats';
import { COMMAND_PREFIX, supervisorSubject } from '../../connectors/executors/commands.js';
import { Supervisor } from '../../connectors/executors/supervisor.js';
import { serveSupervisor } from '../../connectors/executors/supervisorControl.js';
import { connectionOptions, openConnection } from '../../connectors/nats/connection.js';
import { isPublishableSubject } from '../../connectors/nats/subjects.js';
import { toMs } from '../duration.js';
import { UsageError } from '../errors.js';
import { createLogger } from '../log.js';
import { Metrics } from '../metrics.js';

/**
 * `resin supervise -- CMD ARGS...`: runs CMD as a child in its own process group and
 * restarts it when the engine asks, on `resin.cmd.<host>.<component>` over NATS. The
 * child runs from the start; the control channel joins once NATS answers (the client
 * keeps trying). When the child exits by itself, the supervisor exits with its code, so
 * whatever runs the supervisor (systemd, a container runtime) sees the failure.
 * SIGTERM/SIGINT stop the child the same way a restart does, then exit 0.
 */
export async function superviseCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      component: { type: 'string' }, host: { type: 'string' }, servers: { type: 'string' }, grace: { type: 'string' },
      prefix: { type: 'string' }, 'log-format': { type: 'string' }, 'log-level': { type: 'string' },
    },
  });
  if (positionals.length === 0) throw new UsageError('supervise needs a command: resin supervise [options] -- CMD ARGS...');
  const [command, ...args] = positionals as [string, ...string[]];
  const format = values['log-format'] ?? process.env.RESIN_LOG_FORMAT ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--log-format must be text or json, got "${format}"`);
  let graceMs: number;
  try {
    graceMs = toMs(values.grace ?? '10s');
  } catch {
    throw new UsageError(`--grace must be a duration like 10s or 500ms, got "${values.grace}"`);
  }
  const host = values.host ?? hostname();
  const component = values.component ?? basename(command);
  const prefix = values.prefix ?? COMMAND_PREFIX;
  const subject = supervisorSubject(host, component, prefix);
  if (!isPublishableSubject(subject)) throw new UsageError(`--prefix is not a subject prefix: "${prefix}"`);
  const log = createLogger({ format, level: (values['log-level'] ?? 'info') as 'info' }, { component });
  const metrics = new Metrics();

  const supervisor = new Supervisor({ command, args, graceMs });
  const exited = new Promise<number>((resolve) => {
    supervisor.onExit = (code, signal) => {
      log.warn('child exited by itself', { code, signal });
      resolve(code ?? 1);
    };
  });
  const pid = await supervisor.start();
  log.info('supervising', { pid, subject, grace_ms: graceMs });

  const servers = (values.servers ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222').split(',');
  let onSignal: (sig: NodeJS.Signals) => void = () => {};
  const stopSignal = new Promise<number>((resolve) => {
    onSignal = (sig) => {
      log.info('stopping', { signal: sig });
      resolve(0);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  // Retried here rather than by the client (waitOnFirstConnect), which could not be
  // called off: a supervisor whose child has exited must be free to exit too.
  let nc: NatsConnection | null = null;
  let stopped = false;
  const opts = connectionOptions({ servers }, `resin supervise ${component}@${host}`);
  const connecting = (async () => {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        nc = await openConnection(opts);
        if (stopped) return;
        serveSupervisor(nc, subject, supervisor, log, metrics);
        await nc.flush();
        log.info('listening for restarts', { subject });
        return;
      } catch (err) {
        if (attempt === 0) log.warn('NATS unreachable, retrying', { servers, error: (err as Error).message });
        await new Promise((r) => setTimeout(r, 2000).unref());
      }
    }
  })();

  const code = await Promise.race([exited, stopSignal]);
  stopped = true;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await supervisor.stop();
  await Promise.race([connecting, new Promise((r) => setTimeout(r, 100))]);
  await (nc as NatsConnection | null)?.drain().catch(() => {});
  return code;
}
