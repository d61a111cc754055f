import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { HostAgent } from '../../connectors/agent/agent.js';
import { HostHooks, serveHooks } from '../../connectors/agent/hooks.js';
import { agentSubject } from '../../connectors/executors/commands.js';
import { KernelSampler } from '../../connectors/agent/kernel.js';
import { CyclePublisher } from '../../connectors/agent/publisher.js';
import { ComponentRules } from '../../connectors/agent/rules.js';
import { HostSampler } from '../../connectors/agent/sampler.js';
import { connectionOptions, openConnection, type NatsConnectionOptions } from '../../connectors/nats/connection.js';
import { isPublishableSubject, TELEMETRY_PREFIX } from '../../connectors/nats/subjects.js';
import { toMs } from '../duration.js';
import { UsageError } from '../errors.js';
import { createLogger, type LogLevel } from '../log.js';
import { Metrics } from '../metrics.js';
import { rowObject } from '../telemetry/schema.js';

const LEVELS = ['debug', 'info', 'warn', 'error'];

function positiveInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer, got "${value}"`);
  return n;
}

function duration(flag: string, value: string): number {
  let ms: number;
  try {
    ms = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : toMs(value);
  } catch {
    throw new UsageError(`--${flag} must be a duration like 60s or 5m (or seconds), got "${value}"`);
  }
  if (!(ms > 0)) throw new UsageError(`--${flag} must be greater than 0, got "${value}"`);
  return ms;
}

/**
 * `resin agent`: samples every process on this host and publishes the samples to NATS
 * as Arrow IPC, one message per component per cycle (docs/nats.md). `--dry-run`
 * prints the samples as NDJSON instead, to check component rules.
 */
export async function agentCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      servers: { type: 'string' }, interval: { type: 'string' }, host: { type: 'string' }, rules: { type: 'string' },
      once: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, prefix: { type: 'string' }, publish: { type: 'string' },
      buffer: { type: 'string' }, timeout: { type: 'string' }, memory: { type: 'string' }, 'no-cgroups': { type: 'boolean' }, 'no-kernel': { type: 'boolean' },
      region: { type: 'string' }, cluster: { type: 'string' }, hooks: { type: 'string' },
      name: { type: 'string' }, token: { type: 'string' }, user: { type: 'string' }, password: { type: 'string' },
      'nkey-seed-file': { type: 'string' }, creds: { type: 'string' },
      'tls-ca': { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' },
      'log-format': { type: 'string' }, 'log-level': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`agent takes no positional arguments (got "${positionals[0]}")`);
  const format = values['log-format'] ?? process.env.RESIN_LOG_FORMAT ?? 'text';
  const level = values['log-level'] ?? process.env.RESIN_LOG_LEVEL ?? 'info';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--log-format must be text or json, got "${format}"`);
  if (!LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}, got "${level}"`);
  const memory = values.memory ?? 'rss';
  if (memory !== 'rss' && memory !== 'anon') throw new UsageError(`--memory must be rss or anon, got "${memory}"`);
  const mode = values.publish ?? 'jetstream';
  if (mode !== 'jetstream' && mode !== 'core') throw new UsageError(`--publish must be jetstream or core, got "${mode}"`);
  const prefix = values.prefix ?? TELEMETRY_PREFIX;
  if (!isPublishableSubject(`${prefix}.x`)) throw new UsageError(`--prefix is not a subject prefix: "${prefix}"`);
  const intervalMs = duration('interval', values.interval ?? '60s');
  const timeoutMs = duration('timeout', values.timeout ?? '5s');
  const buffer = positiveInt('buffer', values.buffer, 60);
  const host = values.host ?? hostname();

  const tls = values['tls-ca'] ?? values['tls-cert'] ?? values['tls-key'];
  const conn: NatsConnectionOptions = {
    servers: (values.servers ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222').split(','),
    ...(values.name !== undefined ? { name: values.name } : {}),
    ...(values.token !== undefined ? { token: values.token } : {}),
    ...(values.user !== undefined ? { user: values.user } : {}),
    ...(values.password !== undefined ? { password: values.password } : {}),
    ...(values['nkey-seed-file'] !== undefined ? { nkey_seed_file: values['nkey-seed-file'] } : {}),
    ...(values.creds !== undefined ? { creds_file: values.creds } : {}),
    ...(tls !== undefined ? { tls: { ca: values['tls-ca'], cert: values['tls-cert'], key: values['tls-key'] } } : {}),
  };
  let connection;
  try {
    connection = connectionOptions(conn, `resin agent ${host}`);
  } catch (err) {
    throw new UsageError(`NATS connection: ${(err as Error).message}`);
  }
  const rules = values.rules !== undefined ? ComponentRules.load(values.rules) : new ComponentRules();
  const hooks = values.hooks !== undefined ? HostHooks.load(values.hooks) : null;

  const log = createLogger({ format, level: level as LogLevel });
  const metrics = new Metrics();
  const place = {
    ...(values.region !== undefined ? { region: values.region } : {}),
    ...(values.cluster !== undefined ? { cluster: values.cluster } : {}),
  };
  const sampler = new HostSampler({
    host, rules, memory, cgroups: !values['no-cgroups'], ...place,
    ...(values['no-kernel'] ? {} : { kernel: new KernelSampler({ host, log, ...place }) }),
  });

  if (values['dry-run']) {
    const cycle = sampler.sample();
    for (const { batch } of cycle.components) {
      for (let i = 0; i < batch.numRows; i++) process.stdout.write(JSON.stringify(rowObject(batch, i)) + '\n');
    }
    return 0;
  }

  const publisher = new CyclePublisher({ connection, mode, buffer, timeoutMs, host, log, metrics });
  const agent = new HostAgent(sampler, publisher, { host, prefix, log, metrics });
  log.info('resin agent starting', { host, servers: conn.servers, interval_ms: intervalMs, publish: mode, rules: rules.size });

  if (values.once) {
    const report = await agent.cycle();
    await publisher.close();
    log.info('sampled once', { processes: report.processes, components: report.components, cpu_ms: Math.round(report.cpuMs * 10) / 10, published: report.published });
    if (report.pending > 0) {
      log.error('could not publish to NATS', { servers: conn.servers });
      return 1;
    }
    return 0;
  }

  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(130);
    log.info('stopping', { signal: sig });
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Hooks get a connection of their own: a command must not queue behind buffered telemetry.
  const commands = hooks ? openConnection({ ...connection, waitOnFirstConnect: true }).then((nc) => {
    serveHooks(nc, agentSubject(host), hooks, log, metrics);
    log.info('serving hooks', { subject: agentSubject(host), hooks: hooks.size });
    return nc;
  }) : null;
  commands?.catch((err: Error) => log.error('cannot serve hooks', { error: err.message }));
  try {
    await agent.run(intervalMs, stop.signal);
  } finally {
    const nc = await Promise.race([commands?.catch(() => null), new Promise<null>((r) => setTimeout(() => r(null), 100))]);
    await nc?.drain().catch(() => {});
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await publisher.close();
    log.info('stopped', {
      cycles: metrics.total('agent_cycles'), published: metrics.total('agent_cycles_published'),
      dropped: metrics.total('agent_cycles_dropped'), pending: publisher.pending,
    });
  }
  return 0;
}
