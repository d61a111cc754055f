import type { Data, Utf8 } from 'apache-arrow';
import { makeSampleBatch, utf8Data } from '../../engine/telemetry/arrowData.js';
import {
  dictColumn, STRING_FIELDS, type SampleBatch, type SampleColumns, type StringField,
} from '../../engine/telemetry/schema.js';

type NullableNumeric = 'pid' | 'host_mem';

/** A column's data chunk (a RecordBatch column has exactly one). */
function chunk(batch: SampleBatch, name: keyof SampleColumns): Data {
  return batch.data.getChild(name)!.data[0]! as Data;
}

/** The one chunk of a string column's dictionary (null when it has several). */
function dictionaryData(batch: SampleBatch, name: StringField): Data<Utf8> | null {
  const dictionary = chunk(batch, name).dictionary;
  return dictionary !== undefined && dictionary.data.length === 1 ? dictionary.data[0] as Data<Utf8> : null;
}

/** Copies the validity of `data` into `into` (zeroed) at row `at`. */
function copyValidity(data: Data, into: Uint8Array, at: number): void {
  const n = data.length;
  const bits = data.nullCount === 0 ? null : data.nullBitmap ?? null;
  const off = data.offset;
  // Parts of whole bytes (10k-row messages) start on a byte: whole bytes are copied or filled.
  if ((at & 7) === 0 && (bits === null || (off & 7) === 0)) {
    const whole = n >> 3;
    if (bits === null) into.fill(0xff, at >> 3, (at >> 3) + whole);
    else into.set(bits.subarray(off >> 3, (off >> 3) + whole), at >> 3);
    for (let i = whole << 3; i < n; i++) {
      if (bits === null || bits[(off + i) >> 3]! & (1 << ((off + i) & 7))) into[(at + i) >> 3]! |= 1 << ((at + i) & 7);
    }
    return;
  }
  if (bits === null) {
    for (let i = 0; i < n; i++) into[(at + i) >> 3]! |= 1 << ((at + i) & 7);
    return;
  }
  for (let i = 0; i < n; i++) {
    const j = off + i;
    if (bits[j >> 3]! & (1 << (j & 7))) into[(at + i) >> 3]! |= 1 << ((at + i) & 7);
  }
}

/**
 * One batch from several canonical batches (the Arrow messages gathered for one
 * engine batch). Numeric columns are block copies; each string column gets one
 * dictionary for the result, built from the parts' dictionaries (a Map lookup per
 * dictionary entry, not per row) and applied to the rows through an index table.
 */
export function concatSampleBatches(parts: readonly SampleBatch[], source: string): SampleBatch {
  if (parts.length === 1) return { ...parts[0]!, source };
  let n = 0;
  for (const p of parts) n += p.data.numRows;
  const ts = new Float64Array(n);
  const rss = new Float64Array(n);
  const records = new Float64Array(n);
  let watermark = -Infinity;
  let at = 0;
  for (const p of parts) {
    const len = p.data.numRows;
    ts.set((chunk(p, 'ts').values as Float64Array).subarray(0, len), at);
    rss.set((chunk(p, 'rss').values as Float64Array).subarray(0, len), at);
    records.set(p.records.subarray(0, len), at);
    if (p.watermark > watermark) watermark = p.watermark;
    at += len;
  }

  const numeric = <T extends Float64Array | Int32Array>(name: NullableNumeric, make: (k: number) => T) => {
    if (parts.every((p) => chunk(p, name).nullCount === p.data.numRows)) return { values: null, valid: null };
    const values = make(n);
    const valid = new Uint8Array((n + 7) >> 3);
    let row = 0;
    for (const p of parts) {
      const data = chunk(p, name);
      values.set((data.values as T).subarray(0, data.length), row);
      copyValidity(data, valid, row);
      row += data.length;
    }
    return { values, valid };
  };
  const pid = numeric('pid', (k) => new Int32Array(k));
  const hostMem = numeric('host_mem', (k) => new Float64Array(k));

  const strings = {} as Record<StringField, { indices: Int32Array; dictionary: Data<Utf8>; valid: Uint8Array | null } | null>;
  for (const name of STRING_FIELDS) {
    if (parts.every((p) => chunk(p, name).nullCount === p.data.numRows)) {
      strings[name] = null;
      continue;
    }
    const indices = new Int32Array(n);
    const anyNull = parts.some((p) => chunk(p, name).nullCount > 0);
    const valid = anyNull ? new Uint8Array((n + 7) >> 3) : null;
    // Messages of one publisher usually share one dictionary object (see ArrowPayloadReader):
    // then its indices stand as they are.
    const shared = dictionaryData(parts[0]!, name);
    if (shared !== null && parts.every((p) => dictionaryData(p, name) === shared)) {
      let at = 0;
      for (const p of parts) {
        const data = chunk(p, name);
        indices.set((data.values as Int32Array).subarray(0, data.length), at);
        if (valid) copyValidity(data, valid, at);
        at += data.length;
      }
      strings[name] = { indices, dictionary: shared, valid };
      continue;
    }
    const ids = new Map<string, number>();
    const values: string[] = [];
    let row = 0;
    for (const p of parts) {
      const col = dictColumn(p.data, name);
      const remap = new Int32Array(col.values.length);
      for (let k = 0; k < col.values.length; k++) {
        const v = col.values[k]!;
        let id = ids.get(v);
        if (id === undefined) {
          id = values.length;
          ids.set(v, id);
          values.push(v);
        }
        remap[k] = id;
      }
      const src = col.indices;
      const len = p.data.numRows;
      const data = chunk(p, name);
      if (data.nullCount === 0) {
        for (let i = 0; i < len; i++) indices[row + i] = remap[src[i]!]!;
      } else {
        // A null row's index may point anywhere: read it only through the validity bit.
        const bits = data.nullBitmap!;
        const off = data.offset;
        for (let i = 0; i < len; i++) {
          const j = off + i;
          if (bits[j >> 3]! & (1 << (j & 7))) indices[row + i] = remap[src[i]!]!;
        }
      }
      if (valid) copyValidity(data, valid, row);
      row += len;
    }
    strings[name] = { indices, dictionary: utf8Data(values), valid };
  }

  const data = makeSampleBatch({
    length: n, ts, rss,
    pid: pid.values, pidValid: pid.valid,
    host_mem: hostMem.values, hostMemValid: hostMem.valid,
    strings,
  });
  return { data, source, records, watermark };
}
