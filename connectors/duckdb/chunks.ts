import bindings from '@duckdb/node-bindings';
import { DuckDBDataChunk, DuckDBTypeId, type DuckDBAppender, type DuckDBType } from '@duckdb/node-api';

/** A column of a typed array: Int32Array for INTEGER, Float64Array for DOUBLE, BigInt64Array for BIGINT, Uint8Array (0/1) for BOOLEAN. */
export type ColumnValues = Int32Array | Float64Array | BigInt64Array | Uint8Array;

export type ChunkColumn =
  | { readonly values: ColumnValues; readonly nullWhen?: undefined }
  /** Integer rows holding `nullWhen` are written as NULL (e.g. -1 where a pid is unknown). */
  | { readonly values: Int32Array; readonly nullWhen: number };

const ROWS = bindings.vector_size();

/**
 * Most rows written as SQL text rather than through the appender. An appender flush
 * costs ~0.5-0.8 ms of the JavaScript thread whatever its size (DuckDB plans and runs
 * an INSERT on the calling thread), ~0.1 us a row beyond that; formatting a row costs
 * ~1-2 us (a double's shortest exact form is the dear part). Up to this many rows,
 * text is cheaper (docs/detection.md).
 */
export const TEXT_ROWS = 256;

/**
 * Appends typed-array columns to one table, in the connection's open transaction.
 *
 * Many rows go through DataChunks, copying each column's bytes straight into the
 * chunk's vectors with one memcpy per column and chunk: the idiomatic layer of
 * @duckdb/node-api writes a chunk value by value (setItem with per-value checks); the
 * raw copy it uses underneath is the same binding called once per column, which
 * measured about 3x faster here (docs/detection.md). They reach the table with
 * `flush()`, which runs on this thread.
 *
 * Few rows (a period's bucket counts) become an INSERT statement instead, which the
 * caller runs with its next statement or with the COMMIT (`takeText()`), so that they
 * are planned and written on libuv's pool, not here. Only numbers are ever formatted,
 * never strings, so the text cannot carry anything but values; doubles are written in
 * the shortest form that reads back to the same double.
 */
export class ChunkAppender {
  private readonly chunk: DuckDBDataChunk;
  // Validity words are 64-bit in DuckDB; written through a 32-bit view to avoid BigInt per row.
  private readonly validity = new Uint32Array(ROWS / 32);
  private readonly ids: readonly DuckDBTypeId[];
  private chunked = false;
  private text: string[] = [];

  constructor(private readonly appender: DuckDBAppender, private readonly table: string, private readonly types: readonly DuckDBType[]) {
    this.chunk = DuckDBDataChunk.create(types, ROWS);
    this.ids = types.map((t) => t.typeId);
  }

  /** Appends rows [0, length) of `columns` (one per table column, in table order). */
  append(columns: readonly ChunkColumn[], length: number): void {
    if (columns.length !== this.types.length) {
      throw new Error(`${columns.length} columns given for a table of ${this.types.length}`);
    }
    for (const col of columns) {
      if (col.values.length < length) throw new Error(`a column holds ${col.values.length} rows, ${length} asked for`);
    }
    if (length === 0) return;
    if (length <= TEXT_ROWS) {
      this.text.push(this.insertText(columns, length));
      return;
    }
    const raw = this.chunk.chunk;
    for (let offset = 0; offset < length; offset += ROWS) {
      const rows = Math.min(ROWS, length - offset);
      this.chunk.reset();
      bindings.data_chunk_set_size(raw, rows);
      for (let c = 0; c < columns.length; c++) {
        const col = columns[c]!;
        const values = col.values;
        const vector = bindings.data_chunk_get_vector(raw, c);
        const width = values.BYTES_PER_ELEMENT;
        bindings.copy_data_to_vector(vector, 0, values.buffer as ArrayBuffer, values.byteOffset + offset * width, rows * width);
        if (col.nullWhen !== undefined) this.writeValidity(vector, col.values, col.nullWhen, offset, rows);
      }
      this.appender.appendDataChunk(this.chunk);
    }
    this.chunked = true;
  }

  private writeValidity(vector: bindings.Vector, values: Int32Array, nullWhen: number, offset: number, rows: number): void {
    const bits = this.validity;
    const words = Math.ceil(rows / 64) * 2;
    bits.fill(0xffffffff, 0, words);
    for (let i = 0; i < rows; i++) {
      if (values[offset + i] === nullWhen) bits[i >> 5]! &= ~(1 << (i & 31));
    }
    bindings.vector_ensure_validity_writable(vector);
    bindings.copy_data_to_vector_validity(vector, 0, bits.buffer, 0, words * 4);
  }

  private insertText(columns: readonly ChunkColumn[], length: number): string {
    const rows: string[] = new Array(length);
    const cells: string[] = new Array(columns.length);
    for (let i = 0; i < length; i++) {
      for (let c = 0; c < columns.length; c++) {
        const col = columns[c]!;
        const v = col.values[i]!;
        cells[c] = col.nullWhen !== undefined && v === col.nullWhen ? 'NULL' : literal(this.ids[c]!, v);
      }
      rows[i] = `(${cells.join(',')})`;
    }
    return `INSERT INTO ${this.table} VALUES ${rows.join(',')}`;
  }

  /** Hands rows appended through chunks to the table (within the connection's open transaction, if any). */
  flush(): void {
    if (!this.chunked) return;
    this.appender.flushSync();
    this.chunked = false;
  }

  /** The INSERT statements of rows appended as text since the last call, for the caller to run. */
  takeText(): string[] {
    const text = this.text;
    this.text = [];
    return text;
  }

  /** Drops rows appended but not written (after a failed transaction). */
  clear(): void {
    this.appender.clear();
    this.chunked = false;
    this.text = [];
  }

  close(): void {
    this.appender.closeSync();
  }
}

/** A value as an SQL literal of its column's type. */
function literal(type: DuckDBTypeId, v: number | bigint): string {
  switch (type) {
    case DuckDBTypeId.DOUBLE: {
      const x = v as number;
      // toExponential() gives the digits that read back to the same double, and DuckDB
      // reads such a literal as a DOUBLE; NaN, the infinities and -0 need the string form.
      return Number.isFinite(x) && !Object.is(x, -0) ? x.toExponential() : `'${Object.is(x, -0) ? '-0' : String(x)}'::DOUBLE`;
    }
    case DuckDBTypeId.BOOLEAN:
      return v === 0 ? 'false' : 'true';
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
      return String(v);
    default:
      throw new Error(`no SQL literal for column type ${DuckDBTypeId[type]}`);
  }
}
