import type { DeadLetter, RejectReason } from '../../engine/deadLetter.js';
import { SampleBatchBuilder } from '../../engine/telemetry/builder.js';
import type { SampleBatch } from '../../engine/telemetry/schema.js';
import { emptyRaw, SampleRow, validateSample, type RawSample } from '../../engine/telemetry/validate.js';
import { LineCursor, lineItems, MAX_LINE_BYTES } from './lines.js';

/** What every file reader needs besides its input. */
export interface ReaderOptions {
  /** Name recorded in batches and dead letters (the file path). */
  readonly source: string;
  /** Rows per emitted batch; the last batch may hold fewer. */
  readonly batchSize: number;
  readonly deadLetter: DeadLetter;
  /** Longest line kept, in bytes (text formats). */
  readonly maxLineBytes?: number;
  /** Reading stops, without error, once this is aborted. */
  readonly signal?: AbortSignal;
  /**
   * The engine lets the reader reuse a batch's memory once the batch after it was
   * settled (NodeContext.reuseBatches); Arrow bodies are then read into three buffers
   * in turn rather than a fresh one each.
   */
  readonly reuseMemory?: boolean;
}

/** Why a line could not even be read as a record (before field validation). */
export interface LineProblem {
  readonly reason: RejectReason;
  readonly detail: string;
}

/** The format-specific step of a text reader: one line into raw field values. */
export interface LineParser {
  /**
   * Reads the cursor's current line into `raw`: null when it holds a record, a problem
   * when it cannot be read, or 'skip' for a line that is not a record (a CSV header).
   */
  parse(cursor: LineCursor, raw: RawSample): LineProblem | null | 'skip';
}

/**
 * Where a judged line is from: a file's lines are their own records, numbered from 1;
 * the lines of a NATS message are records of the message (its sequence), and their
 * dead letters say which line of it.
 */
export interface LinePlace {
  /** Name recorded in dead letters. */
  source: string;
  /** Record number of the cursor's line (a file: its line number). */
  record(cursor: LineCursor): number;
  /** A dead letter's detail for the cursor's line. */
  detail(cursor: LineCursor, detail: string): string;
}

/** The place of a file's lines: the file, each line its own record. */
export function filePlace(source: string): LinePlace {
  return { source, record: (cursor) => cursor.line, detail: (_, detail) => detail };
}

/**
 * The judge of one line: the parser reads it into raw values, shared validation
 * judges them, and a refused line goes to the dead letter with its record number
 * (a file's 1-based line number) and its text; a valid one goes to the builder.
 */
export class LineJudge {
  private readonly raw = emptyRaw();
  private readonly row = new SampleRow();

  constructor(
    private readonly place: LinePlace, private readonly deadLetter: DeadLetter,
    private readonly builder: SampleBatchBuilder, private readonly parser: LineParser,
  ) {}

  /** Judges the cursor's current line; the builder must not be full. True when the line was appended. */
  take(cursor: LineCursor): boolean {
    const { raw, row, place, deadLetter } = this;
    const unreadable = this.parser.parse(cursor, raw);
    if (unreadable !== null) {
      if (unreadable !== 'skip') {
        deadLetter.reject({
          reason: unreadable.reason, source: place.source, line: place.record(cursor),
          detail: place.detail(cursor, unreadable.detail), record: cursor.current(),
        });
      }
      return false;
    }
    const invalid = validateSample(raw, row);
    if (invalid !== null) {
      deadLetter.reject({
        reason: invalid.reason, source: place.source, line: place.record(cursor), field: invalid.field,
        detail: place.detail(cursor, invalid.detail), record: cursor.current(),
      });
      return false;
    }
    this.builder.append(row, place.record(cursor));
    return true;
  }
}

/** Dead-letters the over-long line that the cursor counts next. */
export function refuseLongLine(opts: ReaderOptions, cursor: LineCursor, item: { head: string; bytes: number }, maxLineBytes: number): void {
  opts.deadLetter.reject({
    reason: 'line_too_long', source: opts.source, line: cursor.skipLine(), record: item.head,
    detail: `line of ${item.bytes} bytes is longer than the limit of ${maxLineBytes}`,
  });
}

/** Batches of valid samples from a text file, one record per line, each judged by LineJudge. */
export async function* readTextBatches(
  chunks: AsyncIterable<Buffer>, opts: ReaderOptions, parser: LineParser,
): AsyncGenerator<SampleBatch> {
  const { signal } = opts;
  const maxLineBytes = opts.maxLineBytes ?? MAX_LINE_BYTES;
  const builder = new SampleBatchBuilder(opts.source, opts.batchSize);
  const judge = new LineJudge(filePlace(opts.source), opts.deadLetter, builder, parser);
  const cursor = new LineCursor();
  for await (const item of lineItems(chunks, maxLineBytes)) {
    if (signal?.aborted) return;
    if (item.kind === 'long') {
      refuseLongLine(opts, cursor, item, maxLineBytes);
      continue;
    }
    cursor.load(item.text);
    while (cursor.next()) {
      judge.take(cursor);
      if (builder.full) {
        yield builder.build();
        if (signal?.aborted) return;
      }
    }
  }
  if (builder.length > 0) yield builder.build();
}
