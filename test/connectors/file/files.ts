import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll } from 'vitest';
import { MemoryDeadLetter, type Rejection } from '../../../engine/deadLetter.js';
import { Metrics } from '../../../engine/metrics.js';
import { rowObject, type SampleBatch } from '../../../engine/telemetry/schema.js';
import type { ReaderOptions } from '../../../connectors/file/text.js';

/** A temporary directory for this test file, removed after it. */
export function tempDir(prefix: string): (name: string) => string {
  const dir = mkdtempSync(join(tmpdir(), `resin-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return (name: string) => join(dir, name);
}

/** Writes `content` (gzipped when the name ends in .gz) and returns the path. */
export function writeInput(path: string, content: string | Uint8Array): string {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  writeFileSync(path, path.endsWith('.gz') ? gzipSync(bytes) : bytes);
  return path;
}

export function readerOptions(source: string, batchSize = 65_536, extra: Partial<ReaderOptions> = {}) {
  const metrics = new Metrics();
  const deadLetter = new MemoryDeadLetter(metrics);
  return { opts: { source, batchSize, deadLetter, ...extra } as ReaderOptions, deadLetter, metrics };
}

export async function drain(batches: AsyncIterable<SampleBatch>): Promise<SampleBatch[]> {
  const out: SampleBatch[] = [];
  for await (const b of batches) out.push(b);
  return out;
}

/** Every row of some batches as plain objects, with its record number: for assertions only. */
export function rowsOf(batches: readonly SampleBatch[]): Record<string, unknown>[] {
  return batches.flatMap((b) => Array.from({ length: b.data.numRows }, (_, i) => ({ ...rowObject(b.data, i), record: b.records[i] })));
}

export function rejected(rejections: readonly Rejection[]): string[] {
  return rejections.map((r) => `${r.line}:${r.reason}${r.field ? ':' + r.field : ''}`);
}
