import type { NodeContext, SourceInstance, SourceSpec } from '../../engine/spec.js';
import type { SampleBatch } from '../../engine/telemetry/schema.js';
import { readArrow } from './arrow.js';
import { readCsv } from './csv.js';
import { fileBytes } from './input.js';
import { readNdjson } from './ndjson.js';
import type { ReaderOptions } from './text.js';

export type FileFormat = 'ndjson' | 'csv' | 'arrow';

export interface FileSourceOptions {
  path: string;
  format: 'auto' | FileFormat;
  batch_size: number;
}

export const MAX_BATCH_SIZE = 1 << 20;

const EXTENSIONS: Readonly<Record<string, FileFormat>> = {
  '.ndjson': 'ndjson', '.jsonl': 'ndjson', '.csv': 'csv', '.arrow': 'arrow', '.arrows': 'arrow', '.feather': 'arrow',
};

/** The format named by a file's extension, `.gz` set aside; undefined when it names none. */
export function formatOf(path: string): FileFormat | undefined {
  const name = path.toLowerCase().replace(/\.gz$/, '');
  const dot = name.lastIndexOf('.');
  return dot < 0 ? undefined : EXTENSIONS[name.slice(dot)];
}

/**
 * Samples from a file, read in constant memory whatever its size: NDJSON, CSV with a
 * header, or Arrow IPC (stream or file), each optionally gzipped. Batches are made
 * as the engine asks for them: nothing is read ahead beyond one chunk of the file.
 */
export function fileSource(options: FileSourceOptions, ctx: NodeContext): SourceInstance<SampleBatch> {
  const { path } = options;
  const format = options.format === 'auto' ? formatOf(path) : options.format;
  if (format === undefined) {
    throw new RangeError(`"path": cannot tell the format of "${path}" from its extension (use .ndjson, .jsonl, .csv, .arrow, .arrows or .feather, optionally .gz, or set "format")`);
  }
  if (!Number.isInteger(options.batch_size) || options.batch_size < 1 || options.batch_size > MAX_BATCH_SIZE) {
    throw new RangeError(`"batch_size" must be an integer from 1 to ${MAX_BATCH_SIZE}, got ${options.batch_size}`);
  }
  const read = ctx.metrics.counter('samples_read');
  const reader: ReaderOptions = {
    source: path, batchSize: options.batch_size, deadLetter: ctx.deadLetter, signal: ctx.signal, reuseMemory: ctx.reuseBatches === true,
  };
  return {
    async *read() {
      const batches = format === 'arrow' ? readArrow(path, reader)
        : format === 'csv' ? readCsv(fileBytes(path), reader)
        : readNdjson(fileBytes(path), reader);
      for await (const batch of batches) {
        read.value += batch.data.numRows;
        yield batch;
      }
    },
  };
}

export const fileSourceSpec: SourceSpec<FileSourceOptions, 'samples'> = {
  type: 'file',
  kind: 'source',
  summary: 'Samples from an NDJSON, CSV or Arrow IPC file (optionally gzipped), read in constant memory',
  output: 'samples',
  options: {
    type: 'object',
    additionalProperties: false,
    required: ['path'],
    properties: {
      path: { type: 'string', minLength: 1, description: 'File to read; a .gz suffix means gzip' },
      format: { enum: ['auto', 'ndjson', 'csv', 'arrow'], default: 'auto', description: 'auto: by extension (.ndjson/.jsonl, .csv, .arrow/.arrows/.feather)' },
      batch_size: { type: 'integer', minimum: 1, maximum: MAX_BATCH_SIZE, default: 65_536, description: 'Rows per batch' },
    },
  },
  create: fileSource,
};
