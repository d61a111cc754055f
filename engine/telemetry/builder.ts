import type { Data, Utf8 } from 'apache-arrow';
import { makeSampleBatch, utf8Data } from './arrowData.js';
import type { SampleBatch } from './schema.js';
import type { SampleRow } from './validate.js';

/** Strings of one column of one batch, numbered in order of first sight. */
class BatchDictionary {
  private readonly ids = new Map<string, number>();
  private readonly values: string[] = [];

  id(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.values.length;
      this.ids.set(s, id);
      this.values.push(s);
    }
    return id;
  }

  /** The dictionary as Arrow data (a copy), after which the map is ready for the next batch. */
  take(): Data<Utf8> {
    const data = utf8Data(this.values);
    this.ids.clear();
    this.values.length = 0;
    return data;
  }
}

/** Clears bit `i`, creating an all-valid bitmap on the first null so that columns without nulls need none. */
function clearBit(bitmap: Uint8Array | null, capacity: number, i: number): Uint8Array {
  const b = bitmap ?? new Uint8Array((capacity + 7) >> 3).fill(0xff);
  b[i >> 3]! &= ~(1 << (i & 7));
  return b;
}

/**
 * Accumulates validated rows into column arrays and turns them into a SampleBatch.
 * The emitted batch is a zero-copy view of the arrays, so every batch gets fresh
 * arrays; only the string maps, which never leave the builder, are reused.
 */
export class SampleBatchBuilder {
  private n = 0;
  private fresh = false;
  private ts!: Float64Array;
  private rss!: Float64Array;
  private hostMem!: Float64Array;
  private records!: Float64Array;
  private pid!: Int32Array;
  private host!: Int32Array;
  private component!: Int32Array;
  private process!: Int32Array;
  private region!: Int32Array;
  private cluster!: Int32Array;
  private version!: Int32Array;
  // Validity bitmaps, null while every row so far had the value.
  private pidValid: Uint8Array | null = null;
  private hostMemValid: Uint8Array | null = null;
  private regionValid: Uint8Array | null = null;
  private clusterValid: Uint8Array | null = null;
  private versionValid: Uint8Array | null = null;
  // Rows that had the value: a column nobody filled is emitted as all-null without arrays.
  private pidSeen = 0;
  private hostMemSeen = 0;
  private regionSeen = 0;
  private clusterSeen = 0;
  private versionSeen = 0;
  private readonly hostDict = new BatchDictionary();
  private readonly componentDict = new BatchDictionary();
  private readonly processDict = new BatchDictionary();
  private readonly regionDict = new BatchDictionary();
  private readonly clusterDict = new BatchDictionary();
  private readonly versionDict = new BatchDictionary();

  /**
   * @param source name recorded in every batch (file path, subject, ...)
   * @param capacity rows per batch; `full` turns true when reached
   */
  constructor(readonly source: string, readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`"capacity" must be a positive integer, got ${capacity}`);
  }

  get length(): number {
    return this.n;
  }

  get full(): boolean {
    return this.n >= this.capacity;
  }

  private allocate(): void {
    const c = this.capacity;
    this.ts = new Float64Array(c);
    this.rss = new Float64Array(c);
    this.hostMem = new Float64Array(c);
    this.records = new Float64Array(c);
    this.pid = new Int32Array(c);
    this.host = new Int32Array(c);
    this.component = new Int32Array(c);
    this.process = new Int32Array(c);
    this.region = new Int32Array(c);
    this.cluster = new Int32Array(c);
    this.version = new Int32Array(c);
    this.fresh = true;
  }

  /** Adds a validated row; `record` is its line or record number in the source. */
  append(row: SampleRow, record: number): void {
    if (!this.fresh) this.allocate();
    if (this.n >= this.capacity) throw new RangeError('batch is full: build() it first');
    const i = this.n++;
    const c = this.capacity;
    this.ts[i] = row.ts;
    this.rss[i] = row.rss;
    this.records[i] = record;
    this.host[i] = this.hostDict.id(row.host);
    this.component[i] = this.componentDict.id(row.component);
    this.process[i] = this.processDict.id(row.process ?? row.component);
    if (row.pid >= 0) { this.pid[i] = row.pid; this.pidSeen++; } else this.pidValid = clearBit(this.pidValid, c, i);
    if (row.host_mem >= 0) { this.hostMem[i] = row.host_mem; this.hostMemSeen++; } else this.hostMemValid = clearBit(this.hostMemValid, c, i);
    if (row.region !== null) { this.region[i] = this.regionDict.id(row.region); this.regionSeen++; } else this.regionValid = clearBit(this.regionValid, c, i);
    if (row.cluster !== null) { this.cluster[i] = this.clusterDict.id(row.cluster); this.clusterSeen++; } else this.clusterValid = clearBit(this.clusterValid, c, i);
    if (row.version !== null) { this.version[i] = this.versionDict.id(row.version); this.versionSeen++; } else this.versionValid = clearBit(this.versionValid, c, i);
  }

  /** The rows appended since the last build, as a batch; the builder starts over empty. */
  build(): SampleBatch {
    if (!this.fresh) this.allocate();
    const n = this.n;
    const data = makeSampleBatch({
      length: n,
      ts: this.ts,
      rss: this.rss,
      pid: this.pidSeen > 0 ? this.pid : null,
      pidValid: this.pidValid,
      host_mem: this.hostMemSeen > 0 ? this.hostMem : null,
      hostMemValid: this.hostMemValid,
      strings: {
        host: { indices: this.host, dictionary: this.hostDict.take() },
        component: { indices: this.component, dictionary: this.componentDict.take() },
        process: { indices: this.process, dictionary: this.processDict.take() },
        region: this.optional(this.regionSeen, this.region, this.regionDict, this.regionValid),
        cluster: this.optional(this.clusterSeen, this.cluster, this.clusterDict, this.clusterValid),
        version: this.optional(this.versionSeen, this.version, this.versionDict, this.versionValid),
      },
    });
    const batch: SampleBatch = { data, source: this.source, records: this.records.subarray(0, n), watermark: -Infinity };
    this.n = 0;
    this.fresh = false;
    this.pidValid = this.hostMemValid = this.regionValid = this.clusterValid = this.versionValid = null;
    this.pidSeen = this.hostMemSeen = this.regionSeen = this.clusterSeen = this.versionSeen = 0;
    return batch;
  }

  private optional(seen: number, indices: Int32Array, dict: BatchDictionary, valid: Uint8Array | null) {
    const dictionary = dict.take();
    return seen > 0 ? { indices, dictionary, valid } : null;
  }
}
