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

/** Numbers in [0, 1) from a seed: the same sequence every run. */
export function seeded(seed: number): () => number {
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

/** `line` with one to three characters of `alphabet` put in, put over others, or others dropped, at random. */
export function mutate(line: string, alphabet: string, rand: () => number): string {
  const chars = [...line];
  const edits = 1 + Math.floor(rand() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rand() * chars.length);
    const c = alphabet[Math.floor(rand() * alphabet.length)]!;
    const op = rand();
    if (op < 0.4) chars[at] = c;
    else if (op < 0.7) chars.splice(at, 0, c);
    else chars.splice(at, 1);
  }
  return chars.join('');
}
