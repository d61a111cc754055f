import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { formatMs } from '../duration.js';
import { ConfigError, formatIssue, SourceError, UsageError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { Metrics } from '../metrics.js';
import { formatHttpAddress } from '../ops/address.js';
import { resolveRunConfig, RUN_SETTINGS } from '../ops/config.js';
import { startOpsServer, type OpsServer } from '../ops/server.js';
import type { LogicalGraph } from '../pipeline/graph.js';
import { RunStatus } from '../runStatus.js';
import { partitionPlan } from '../../connectors/nats/partitions.js';
import { runPartitioned } from './partitioned.js';
import { pipelinePath } from './paths.js';
import { compileFile, runSession } from './session.js';
import { formatSummary, summarize } from './summary.js';

export interface RunIo {
  /** Ends the process when a stop overruns the drain timeout (tests replace it). */
  exit?: (code: number) => void;
}

const FLAGS = Object.fromEntries(Object.values(RUN_SETTINGS).map((s) => [s.flag, { type: 'string' as const }]));

/**
 * `resin run`: the long-running sidecar. Settings come from flags, then RESIN_*
 * variables, then the pipeline's `run:` section, then defaults. The first SIGINT or
 * SIGTERM stops the sources, lets in-flight batches drain, checkpoints and exits 0;
 * if that takes longer than the drain timeout, the process logs what was still in
 * flight and exits 1. A second signal exits 130 at once.
 */
export async function runCommand(argv: string[], io: RunIo = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { pipeline: { type: 'string' }, ...FLAGS },
  });
  if (positionals.length > 0) throw new UsageError(`run takes no positional arguments (got "${positionals[0]}"); use --pipeline`);
  const exit = io.exit ?? ((code: number) => process.exit(code));
  const pipeline = pipelinePath(values.pipeline);
  const flags = values as Record<string, string | undefined>;

  // Settings known before the file is read, so that a broken file is logged in the format asked for.
  const early = resolveRunConfig({ flags, env: process.env });
  let log = createLogger({ format: early.logFormat, level: early.logLevel });
  let graph: LogicalGraph;
  let plan: ReturnType<typeof partitionPlan>;
  try {
    graph = await compileFile(pipeline);
    plan = partitionPlan(graph);
  } catch (err) {
    if (early.logFormat !== 'json' || !(err instanceof ConfigError)) throw err;
    log.error('invalid pipeline definition', { pipeline, issues: err.issues.map(formatIssue) });
    return 2;
  }
  const config = resolveRunConfig({ flags, env: process.env, file: graph.run });
  log = createLogger({ format: config.logFormat, level: config.logLevel });
  mkdirSync(dirname(config.state), { recursive: true });
  mkdirSync(dirname(config.deadLetter), { recursive: true });

  const metrics = new Metrics();
  const status = new RunStatus();
  const stop = new AbortController();
  let drainTimer: NodeJS.Timeout | undefined;
  let server: OpsServer | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      log.warn('second signal: exiting without draining', { signal: sig });
      exit(130);
      return;
    }
    log.info('stopping: draining in-flight batches', { signal: sig, drain_timeout: formatMs(config.drainTimeoutMs) });
    stop.abort();
    drainTimer = setTimeout(() => {
      log.error('drain timed out: exiting with work still in flight', { drain_timeout: formatMs(config.drainTimeoutMs), in_flight: status.inFlight() });
      void server?.close();
      exit(1);
    }, config.drainTimeoutMs);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (config.http) {
      server = await startOpsServer({ address: config.http, status, metrics, log });
      log.info('serving /healthz, /readyz and /metrics', { url: server.url });
    }
    log.info('starting', {
      pipeline, name: graph.name, state: config.state, state_memory: config.stateMemory, dead_letter: config.deadLetter,
      http: server ? formatHttpAddress(server.address) : 'off', drain_timeout: formatMs(config.drainTimeoutMs),
      ...(plan ? { instance: config.instance, partitions: plan.count } : {}),
    });
    const settings = {
      pipeline, metrics, status, state: config.state, stateMemory: config.stateMemory, deadLetter: config.deadLetter, log,
      signal: stop.signal, checkpointEvery: config.checkpointEveryMs,
    };
    // A partitioned source: one run per partition this instance holds (docs/scale-out.md).
    const result = plan
      ? await runPartitioned({ ...settings, plan, instance: config.instance })
      : await runSession({ ...settings, graph });
    const summary = summarize(metrics, result.samplesRead, result.seriesSeen, result.elapsedMs, config.deadLetter, null);
    const reason = stop.signal.aborted ? 'signal' : 'sources ended';
    if (config.logFormat === 'json') log.info('stopped', { reason, summary });
    else process.stderr.write(formatSummary(`resin run ${pipeline} (stopped: ${reason})`, summary) + '\n');
    return 0;
  } catch (err) {
    return failed(log, err, config.stateMemory);
  } finally {
    clearTimeout(drainTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await server?.close();
  }
}

/** Exit code 2 for a definition that cannot run, 1 for anything that failed while running; logged either way. */
function failed(log: Logger, err: unknown, stateMemory: string): number {
  if (err instanceof ConfigError) {
    log.error('invalid pipeline definition', { issues: err.issues.map(formatIssue) });
    return 2;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const fields: Record<string, unknown> = { error: e.message };
  if (/Out of Memory Error/.test(e.message)) {
    fields.hint = `the state store ran out of its ${stateMemory}: raise it with --state-memory, RESIN_STATE_MEMORY or run.state_memory`;
  } else if (!(err instanceof SourceError) && e.stack) {
    fields.stack = e.stack;
  }
  log.error('run failed', fields);
  return 1;
}
