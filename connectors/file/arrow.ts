import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { RecordBatch, Schema } from 'apache-arrow';
import { Footer } from 'apache-arrow/ipc/metadata/file';
import { SourceError } from '../../engine/errors.js';
import { makeSampleBatch } from '../../engine/telemetry/arrowData.js';
import type { SampleBatch } from '../../engine/telemetry/schema.js';
import { bufferProblem, conformBatch, schemaProblem, sliceColumns } from './arrowBatch.js';
import { BatchFeed } from './arrowFeed.js';
import { checkFile } from './arrowGuard.js';
import { bodyRing, BufferRing, ChunkBytes, guardStream, HandleBytes, type ByteSource } from './arrowStream.js';
import { fileBytes, isGzip, openFile } from './input.js';
import type { ReaderOptions } from './text.js';

/** An Arrow IPC file starts with this; a stream starts with a message. */
const FILE_MAGIC = Buffer.from('ARROW1');

/** The first bytes of a chunk stream, and the whole stream again with them. */
async function peek(chunks: AsyncGenerator<Buffer>, want: number): Promise<{ head: Buffer; all: AsyncGenerator<Buffer> }> {
  const seen: Buffer[] = [];
  let bytes = 0;
  while (bytes < want) {
    const next = await chunks.next();
    if (next.done) break;
    seen.push(next.value);
    bytes += next.value.length;
  }
  async function* all(): AsyncGenerator<Buffer> {
    try {
      yield* seen;
      // Arrow's own Node-stream adapter misreads short chunks; it gets a plain async iterable.
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
    } finally {
      await chunks.return(undefined);
    }
  }
  return { head: Buffer.concat(seen).subarray(0, want), all: all() };
}

/**
 * Opens an Arrow IPC stream or file. Either is read one message part at a time
 * (arrowStream.ts): from the file itself when it is not compressed, so that each
 * batch's body is read straight into a buffer of its own. A file's footer and every
 * block it lists are checked first; its messages, laid out as a stream between its
 * magic bytes and its footer, are then read in order like a stream's. A gzipped file
 * has no random access, so it is first inflated to a temporary file (disk, not memory,
 * grows with it); gzipped streams are read as they come. With `reuse`, record batch
 * bodies are read into a ring of buffers (BufferRing) instead of a fresh one each.
 */
async function openArrow(path: string, reuse: boolean): Promise<{ feed: BatchFeed; failure: () => unknown; close: () => Promise<void> }> {
  let handle: FileHandle | null = null;
  let chunks: AsyncGenerator<Buffer> | null = null;
  let spill: string | null = null;
  let feed: BatchFeed | null = null;
  const close = async () => {
    await feed?.close();
    await chunks?.return(undefined);
    await handle?.close().catch(() => {});
    if (spill) await rm(spill, { recursive: true, force: true });
  };
  let isFile = false;
  try {
    // A file's schema is in its footer, and not every writer repeats it as the first message (apache-arrow does not).
    let schema: Schema | undefined;
    let head: Uint8Array;
    let input: ByteSource;
    if (isGzip(path)) {
      const peeked = await peek(fileBytes(path), 8);
      chunks = peeked.all;
      head = peeked.head;
      input = new ChunkBytes(chunks);
    } else {
      handle = await openFile(path);
      head = Buffer.alloc(8);
      head = head.subarray(0, (await handle.read(head, 0, 8, 0)).bytesRead);
      input = new HandleBytes(handle);
    }
    isFile = FILE_MAGIC.equals(head.subarray(0, FILE_MAGIC.length));
    if (isFile) {
      if (chunks) {
        spill = await mkdtemp(join(tmpdir(), 'resin-arrow-'));
        const inflated = join(spill, 'inflated.arrow');
        await pipeline(chunks, createWriteStream(inflated));
        chunks = null;
        handle = await open(inflated, 'r');
      }
      const { footerAt, footer } = await checkFile(handle!, path);
      // The magic bytes are padded to 8; the first message follows.
      input = new HandleBytes(handle!, 8, footerAt);
      schema = Footer.decode(footer).schema;
    }
    const guarded = guardStream(input, path, reuse ? bodyRing() : undefined);
    feed = new BatchFeed(guarded.messages, schema);
    const opened = await feed.open().catch((err: unknown) => {
      throw guarded.failure() ?? err;
    });
    if (head.length > 0 && opened === null) throw guarded.failure() ?? new SourceError(`"${path}" is not an Arrow IPC stream or file (too short to hold a schema)`);
    return { feed, failure: guarded.failure, close };
  } catch (err) {
    await close();
    if (err instanceof SourceError) throw err;
    throw new SourceError(`"${path}" is not a readable Arrow IPC ${isFile ? 'file' : 'stream'}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Batches of valid samples from an Arrow IPC stream or file (`.gz` too). Batches
 * already in the canonical schema with only valid rows pass through without a copy;
 * others are converted and filtered (arrowBatch.ts). Rows are numbered from 1 across
 * the whole input. A schema that lacks a required column refuses each batch as one
 * `invalid_arrow` dead letter counting all its rows. Bytes that cannot be decoded end
 * the read with a SourceError, after every batch before them was delivered.
 */
export async function* readArrow(path: string, opts: ReaderOptions): AsyncGenerator<SampleBatch> {
  const { source, batchSize, deadLetter, signal } = opts;
  const { feed, failure, close } = await openArrow(path, opts.reuseMemory === true);
  // The record numbers of whole batches, reused on the bodies' terms.
  const records = opts.reuseMemory === true ? new BufferRing((n) => new Float64Array(n)) : null;
  const scratch = records ? (n: number) => records.take(n) : undefined;
  let nextRecord = 1;
  try {
    for (;;) {
      if (signal?.aborted) return;
      let batch: RecordBatch | null;
      try {
        batch = await feed.next();
      } catch (err) {
        const damaged = failure();
        if (damaged !== null) throw damaged;
        if (err instanceof SourceError) throw err;
        throw new SourceError(`"${path}": Arrow IPC data cannot be decoded after record ${nextRecord - 1}: ${(err as Error).message}`, { cause: err });
      }
      if (batch === null) {
        const damaged = failure();
        if (damaged !== null) throw damaged;
        break;
      }
      const first = nextRecord;
      nextRecord += batch.numRows;
      if (batch.numRows === 0) continue;
      const bad = schemaProblem(batch);
      if (bad !== null) {
        deadLetter.reject({
          reason: 'invalid_arrow', source, line: first, field: bad.field, count: batch.numRows,
          detail: `${bad.detail}; records ${first}..${nextRecord - 1} refused`,
          record: { schema: batch.schema.fields.map((f) => `${f.name}: ${String(f.type)}`).join(', ') },
        });
        continue;
      }
      const broken = bufferProblem(batch);
      if (broken !== null) throw new SourceError(`"${path}": Arrow IPC data cannot be decoded at record ${first}: ${broken}`);
      const conformed = conformBatch(batch, first, source, deadLetter, scratch);
      const cols = conformed.columns;
      if (cols === null) continue;
      for (let start = 0; start < cols.length; start += batchSize) {
        const end = Math.min(start + batchSize, cols.length);
        const piece = start === 0 && end === cols.length ? cols : sliceColumns(cols, start, end);
        yield { data: makeSampleBatch(piece), source, records: conformed.records.subarray(start, end), watermark: -Infinity };
        if (signal?.aborted) return;
      }
    }
  } finally {
    await close();
  }
}
