import { SourceError } from '../../engine/errors.js';
import { REQUIRED_FIELDS, type SampleBatch } from '../../engine/telemetry/schema.js';
import {
  isNumericField, numberFromText, SAMPLE_FIELDS, type RawSample, type SampleField,
} from '../../engine/telemetry/validate.js';
import type { LineCursor } from './lines.js';
import { readTextBatches, type LineParser, type LineProblem, type ReaderOptions } from './text.js';

const BROKEN_QUOTES = -1;

/**
 * Splits `text[start, end)` into `cells` by RFC 4180 rules: fields separated by commas,
 * a field wholly in double quotes may hold commas and doubled quotes. Returns the
 * number of fields, or -1 when the quoting is broken (a quote inside an unquoted field,
 * text after a closing quote, a quote left open). A record is one line: a quoted
 * field cannot span lines, so that one stray quote costs one record, not the rest of
 * the file.
 */
export function splitCsvLine(text: string, start: number, end: number, cells: string[]): number {
  const quoted = find(text, 34, start, end) >= 0;
  let n = 0;
  let i = start;
  for (;;) {
    if (quoted && i < end && text.charCodeAt(i) === 34) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const q = find(text, 34, from, end);
        if (q < 0) return BROKEN_QUOTES;
        if (q + 1 < end && text.charCodeAt(q + 1) === 34) {
          value += text.slice(from, q + 1);
          from = q + 2;
          continue;
        }
        value += text.slice(from, q);
        i = q + 1;
        break;
      }
      cells[n++] = value;
      if (i === end) return n;
      if (text.charCodeAt(i) !== 44) return BROKEN_QUOTES;
      i++;
    } else {
      let stop = find(text, 44, i, end);
      if (stop < 0) stop = end;
      if (quoted && find(text, 34, i, stop) >= 0) return BROKEN_QUOTES;
      cells[n++] = text.slice(i, stop);
      if (stop === end) return n;
      i = stop + 1;
    }
  }
}

/** Index of `code` in `text[from, end)`, or -1: indexOf would search on through the rest of the chunk. */
function find(text: string, code: number, from: number, end: number): number {
  for (let i = from; i < end; i++) if (text.charCodeAt(i) === code) return i;
  return -1;
}

/**
 * CSV with a header line naming the fields, in any order; columns that are not sample
 * fields are ignored. Numbers are parsed from their text, an empty cell is an absent
 * value. A header without a required field makes the file unreadable (SourceError):
 * every record would be refused for the same reason.
 */
export class CsvParser implements LineParser {
  private readonly cells: string[] = [];
  /** Column of each sample field, in SAMPLE_FIELDS order; -1 when the header lacks it. */
  private columns: Int32Array | null = null;
  private width = 0;

  constructor(private readonly source: string) {}

  parse(cursor: LineCursor, raw: RawSample): LineProblem | null | 'skip' {
    const cells = this.cells;
    const n = splitCsvLine(cursor.text, cursor.start, cursor.end, cells);
    if (this.columns === null) {
      if (n < 0) throw new SourceError(`"${this.source}": line ${cursor.line}: the header has broken quoting`);
      this.header(cells.slice(0, n), cursor.line);
      return 'skip';
    }
    if (n < 0) return { reason: 'invalid_csv', detail: 'broken quoting' };
    if (n !== this.width) return { reason: 'invalid_csv', detail: `expected ${this.width} fields as in the header, got ${n}` };
    const columns = this.columns;
    for (let f = 0; f < SAMPLE_FIELDS.length; f++) {
      const field = SAMPLE_FIELDS[f]!;
      const column = columns[f]!;
      const text = column < 0 ? '' : cells[column]!;
      raw[field] = isNumericField(field) ? numberFromText(text) : text === '' ? undefined : text;
    }
    return null;
  }

  private header(names: string[], line: number): void {
    const columns = new Int32Array(SAMPLE_FIELDS.length).fill(-1);
    names.forEach((name, column) => {
      const f = SAMPLE_FIELDS.indexOf(name.trim() as SampleField);
      if (f < 0) return;
      if (columns[f] !== -1) throw new SourceError(`"${this.source}": line ${line}: the header names "${SAMPLE_FIELDS[f]}" twice`);
      columns[f] = column;
    });
    const missing = REQUIRED_FIELDS.filter((field) => columns[SAMPLE_FIELDS.indexOf(field)] === -1);
    if (missing.length > 0) {
      throw new SourceError(`"${this.source}": line ${line}: the header lacks the required column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`);
    }
    this.columns = columns;
    this.width = names.length;
  }
}

/** Batches of valid samples from CSV bytes with a header line. */
export function readCsv(chunks: AsyncIterable<Buffer>, opts: ReaderOptions): AsyncGenerator<SampleBatch> {
  return readTextBatches(chunks, opts, new CsvParser(opts.source));
}
