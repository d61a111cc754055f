import { closeSync, openSync, writeSync } from 'node:fs';
import type { Metrics } from './metrics.js';

/**
 * Why a record was refused. Every reason is counted (`samples_rejected{reason}`) and
 * the record kept, with the reason, in the dead-letter output.
 */
export const REJECT_REASONS = [
  'invalid_json', // not parseable as JSON, or not a JSON object
  'invalid_csv', // wrong number of fields, broken quoting
  'invalid_arrow', // Arrow bytes that cannot be decoded, or a schema without the required columns
  'invalid_otlp', // an OTLP/HTTP request that cannot be decoded (the whole request)
  'invalid_exposition', // a line of Prometheus text exposition that cannot be parsed
  'line_too_long', // a line longer than the reader's limit (kept truncated)
  'missing_field', // ts, host, component or rss absent or null
  'wrong_type', // a field of the wrong JSON type, or a CSV value that is not a number
  'negative_value', // ts, rss, host_mem or pid below zero
  'not_finite', // NaN or an infinite number
  'string_too_long', // a string attribute over 1 KiB
  'late', // event time older than the watermark (max event time minus allowed lateness)
  'conflict', // same host, component, process and ts as an earlier sample, different values
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface Rejection {
  readonly reason: RejectReason;
  /** Input the record came from (file path, subject, ...). */
  readonly source: string;
  /** 1-based line (text) or record (Arrow) number within the source. */
  readonly line: number;
  /** The offending field, when one field is to blame. */
  readonly field?: string;
  readonly detail: string;
  /** The record as received: raw text where there is one, else its values. */
  readonly record: string | Record<string, unknown>;
  /** Records this rejection stands for, when a whole block is refused at once (default 1). */
  readonly count?: number;
}

export interface DeadLetter {
  reject(rejection: Rejection): void;
  close(): Promise<void>;
}

/** Longest raw record kept in a dead letter; the rest is cut and marked. */
const MAX_KEPT = 16 * 1024;

function keep(record: string | Record<string, unknown>): string | Record<string, unknown> {
  if (typeof record !== 'string' || record.length <= MAX_KEPT) return record;
  return `${record.slice(0, MAX_KEPT)}…[${record.length - MAX_KEPT} more characters]`;
}

abstract class CountingDeadLetter implements DeadLetter {
  constructor(private readonly metrics: Metrics) {}

  reject(r: Rejection): void {
    this.metrics.inc('samples_rejected', { reason: r.reason }, r.count ?? 1);
    this.keep({
      reason: r.reason, source: r.source, line: r.line, field: r.field, detail: r.detail, record: keep(r.record),
      ...(r.count !== undefined ? { count: r.count } : {}),
    });
  }

  protected abstract keep(r: Rejection): void;
  abstract close(): Promise<void>;
}

/** Dead letters as NDJSON in a file, written in large blocks. */
export class FileDeadLetter extends CountingDeadLetter {
  private fd: number | null = null;
  private pending: string[] = [];
  private pendingBytes = 0;

  constructor(metrics: Metrics, readonly path: string) {
    super(metrics);
  }

  protected keep(r: Rejection): void {
    const line = JSON.stringify(r) + '\n';
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes > 256 * 1024) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    // Opened lazily so that a clean input leaves no empty dead-letter file behind.
    this.fd ??= openSync(this.path, 'w');
    writeSync(this.fd, this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }

  async close(): Promise<void> {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** Dead letters kept in memory, for tests and for callers that read them back. */
export class MemoryDeadLetter extends CountingDeadLetter {
  readonly rejections: Rejection[] = [];

  protected keep(r: Rejection): void {
    this.rejections.push(r);
  }

  async close(): Promise<void> {}
}
