import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { createLogger, type LogLevel } from '../log.js';
import { pipelinePath } from './paths.js';
import { runSession } from './session.js';
import { formatSummary, summarize } from './summary.js';

const LEVELS = ['debug', 'info', 'warn', 'error'];

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      pipeline: { type: 'string' }, state: { type: 'string' }, 'dead-letter': { type: 'string' },
      'log-format': { type: 'string' }, 'log-level': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`run takes no positional arguments (got "${positionals[0]}"); use --pipeline`);
  const format = values['log-format'] ?? process.env.RESIN_LOG_FORMAT ?? 'text';
  const level = values['log-level'] ?? process.env.RESIN_LOG_LEVEL ?? 'info';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--log-format must be text or json, got "${format}"`);
  if (!LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}, got "${level}"`);
  const log = createLogger({ format, level: level as LogLevel });
  const state = resolve(values.state ?? process.env.RESIN_STATE ?? 'data/resin.duckdb');
  const deadLetter = resolve(values['dead-letter'] ?? 'data/rejected.ndjson');
  mkdirSync(dirname(state), { recursive: true });
  mkdirSync(dirname(deadLetter), { recursive: true });

  // The first signal drains and flushes; a second one means the operator wants out now.
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(130);
    log.info('stopping: draining in-flight batches', { signal: sig });
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const pipeline = pipelinePath(values.pipeline);
  log.info('starting', { pipeline, state });
  try {
    const result = await runSession({ pipeline, state, deadLetter, log, signal: stop.signal });
    const summary = summarize(result.metrics, result.samplesRead, result.seriesSeen, result.elapsedMs, deadLetter, null);
    if (format === 'json') log.info('stopped', { summary });
    else process.stderr.write(formatSummary(`resin run ${pipeline}`, summary) + '\n');
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
