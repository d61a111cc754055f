import { closeSync, openSync, writeSync } from 'node:fs';

export interface NdjsonWriterOptions {
  /** Append to the file rather than truncate it (an audit trail that survives restarts). */
  append?: boolean;
  /**
   * Lines held before one write (default 1: each line is written as it comes). Sinks of
   * many small records batch; sinks of rare records whose line must not wait do not.
   */
  batchLines?: number;
}

/** Lines to a file or, for the path "-", to standard output. */
export interface NdjsonWriter {
  /** One record's JSON, without the line end. */
  write(json: string): void;
  flush(): void;
  /** Flushes and closes the file; lines written after it are dropped. */
  close(): void;
}

/** The file or stdout end of the NDJSON sinks (alerts, actions, reports, report announcements). */
export function ndjsonWriter(path: string, options: NdjsonWriterOptions = {}): NdjsonWriter {
  const toStdout = path === '-';
  let fd: number | null = toStdout ? null : openSync(path, options.append ? 'a' : 'w');
  const batchLines = options.batchLines ?? 1;
  let pending: string[] = [];

  const out = (text: string) => {
    if (toStdout) process.stdout.write(text);
    else if (fd !== null) writeSync(fd, text);
  };
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    out(text);
  };

  return {
    write(json) {
      if (batchLines <= 1) {
        out(json + '\n');
        return;
      }
      pending.push(json + '\n');
      if (pending.length >= batchLines) flush();
    },
    flush,
    close() {
      flush();
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}
