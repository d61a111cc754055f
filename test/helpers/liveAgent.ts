import { hostname } from 'node:os';
import type { NatsConnection } from 'nats';
import { HostAgent } from '../../connectors/agent/agent.js';
import { CyclePublisher } from '../../connectors/agent/publisher.js';
import type { ComponentRules } from '../../connectors/agent/rules.js';
import { HostSampler } from '../../connectors/agent/sampler.js';
import { connectionOptions } from '../../connectors/nats/connection.js';
import { silentLogger } from '../../engine/log.js';
import { Metrics } from '../../engine/metrics.js';
import { until } from './until.js';

/** Resolves once the engine has created its telemetry stream: the agent would buffer its cycles until it exists. */
export async function engineStreamReady(nc: NatsConnection): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await until('the engine to create its stream', 15_000, () => jsm.streams.info('RESIN_TELEMETRY').then(() => true, () => false));
}

/**
 * A host agent on this machine: samples the processes `rules` match every 200 ms and
 * publishes them over JetStream to `url`, until `signal` aborts. Resolves once it has
 * stopped and closed its publisher.
 */
export function runAgent(url: string, rules: ComponentRules, signal: AbortSignal, options: { cgroups?: boolean } = {}): Promise<void> {
  const host = hostname();
  const metrics = new Metrics();
  const sampler = new HostSampler({ host, rules, memory: 'rss', cgroups: options.cgroups ?? true });
  const publisher = new CyclePublisher({
    connection: connectionOptions({ servers: url }, 'resin agent test'), mode: 'jetstream',
    buffer: 60, timeoutMs: 2000, host, log: silentLogger, metrics,
  });
  const agent = new HostAgent(sampler, publisher, { host, prefix: 'resin.telemetry', log: silentLogger, metrics });
  return agent.run(200, signal).finally(() => publisher.close());
}

/** The parts of a live run, stopped in order: the agent first, so that the engine sees no new data while it stops. */
export interface LiveParts {
  agentStop: AbortController;
  agentRun: Promise<void> | null;
  engineStop: AbortController;
  engine: Promise<unknown> | null;
  nc: NatsConnection | null;
}

/** The parts of a live run before any has started; a test fills them in as it starts each. */
export function liveParts(): LiveParts {
  return { agentStop: new AbortController(), agentRun: null, engineStop: new AbortController(), engine: null, nc: null };
}

/** Stops agent and engine and closes the client; their failures are the test's assertions to report, not teardown's. */
export async function stopLive(p: LiveParts): Promise<void> {
  p.agentStop.abort();
  await p.agentRun?.catch(() => {});
  p.engineStop.abort();
  await p.engine?.catch(() => {});
  await p.nc?.close();
}
