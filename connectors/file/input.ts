import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { SourceError } from '../../engine/errors.js';

/** Bytes asked of the file system per read: large reads keep the per-chunk overhead small. */
export const READ_CHUNK = 1 << 20;

export function isGzip(path: string): boolean {
  return path.toLowerCase().endsWith('.gz');
}

function describe(path: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return `"${path}" does not exist`;
  if (e?.code === 'EACCES') return `"${path}" cannot be read (permission denied)`;
  if (e?.code === 'EISDIR') return `"${path}" is a directory`;
  if (e?.code === 'Z_DATA_ERROR' || e?.code === 'Z_BUF_ERROR') return `"${path}" is not valid gzip data: ${e.message}`;
  return `"${path}" cannot be read: ${e?.message ?? String(err)}`;
}

/** A file opened for reading; failures become SourceErrors that name it. */
export async function openFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    throw new SourceError(describe(path, err), { cause: err });
  }
}

/**
 * The bytes of a file, decompressed when its name ends in `.gz`, in chunks of at most
 * `chunkSize` bytes. The stream reads at most one chunk ahead of the consumer, so a
 * file of any size is read in constant memory. Failures become SourceErrors that
 * name the file; the file is closed when the consumer stops early.
 */
export async function* fileBytes(path: string, chunkSize = READ_CHUNK): AsyncGenerator<Buffer> {
  const file = createReadStream(path, { highWaterMark: chunkSize });
  const gunzip = isGzip(path) ? createGunzip({ chunkSize: Math.min(chunkSize, 256 * 1024) }) : null;
  const stream = gunzip ? file.pipe(gunzip) : file;
  // pipe() does not forward errors of the file to the gunzip stream.
  if (gunzip) file.on('error', (err) => gunzip.destroy(err));
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      // A gunzip chunk may exceed the requested size; callers rely on the bound.
      if (buf.length <= chunkSize) yield buf;
      else for (let at = 0; at < buf.length; at += chunkSize) yield buf.subarray(at, at + chunkSize);
    }
  } catch (err) {
    throw new SourceError(describe(path, err), { cause: err });
  } finally {
    file.destroy();
    gunzip?.destroy();
  }
}
