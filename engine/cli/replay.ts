import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { createLogger } from '../log.js';
import type { PipelineDefinition } from '../pipeline/definition.js';
import { pipelinePath } from './paths.js';
import { runSession } from './session.js';
import { formatSummary, summarize } from './summary.js';

/** Swaps the definition's one source for a file source, and points alert logs at `out`. */
export function replayEdit(file: string, opts: { out?: string; format?: string; batchSize?: number }) {
  return (def: PipelineDefinition) => {
    const nodes = def.nodes && typeof def.nodes === 'object' ? def.nodes : {};
    const sources = Object.entries(nodes).filter(([, n]) => !n?.inputs || n.inputs.length === 0);
    if (sources.length !== 1) {
      throw new UsageError(`replay needs a pipeline with exactly one source to replace; this one has ${sources.length} (${sources.map(([id]) => id).join(', ')})`);
    }
    const [id] = sources[0]!;
    const options: Record<string, unknown> = { path: file };
    if (opts.format) options.format = opts.format;
    if (opts.batchSize !== undefined) options.batch_size = opts.batchSize;
    nodes[id] = { type: 'file', options };
    if (opts.out !== undefined) {
      const logs = Object.values(nodes).filter((n) => n?.type === 'alert-log');
      if (logs.length === 0) throw new UsageError('--out given, but the pipeline has no alert-log sink to write to');
      for (const n of logs) n.options = { ...n.options, path: opts.out };
    }
  };
}

export async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      pipeline: { type: 'string' }, out: { type: 'string' }, 'dead-letter': { type: 'string' },
      state: { type: 'string' }, format: { type: 'string' }, 'batch-size': { type: 'string' },
      summary: { type: 'string', default: 'text' }, quiet: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError('replay takes exactly one input file');
  const file = positionals[0]!;
  if (!existsSync(file)) throw new UsageError(`input file "${file}" does not exist`);
  if (values.summary !== 'text' && values.summary !== 'json') throw new UsageError(`--summary must be text or json, got "${values.summary}"`);
  const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize > 0)) throw new UsageError(`--batch-size must be a positive integer, got "${values['batch-size']}"`);
  const deadLetter = values['dead-letter'] ?? `${values.out ?? 'replay'}.rejected.ndjson`;
  const log = createLogger({ level: 'warn' });
  const result = await runSession({
    pipeline: pipelinePath(values.pipeline),
    edit: replayEdit(file, { out: values.out, format: values.format, batchSize }),
    state: values.state, deadLetter, log, progress: !values.quiet, checkpointEvery: 0,
  });
  const summary = summarize(result.metrics, result.samplesRead, result.seriesSeen, result.elapsedMs, deadLetter, values.out ?? null);
  process.stderr.write((values.summary === 'json' ? JSON.stringify(summary) : formatSummary(`resin replay ${file}`, summary)) + '\n');
  return 0;
}
