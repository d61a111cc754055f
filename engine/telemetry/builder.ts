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

/**
 * Which rows of an optional column have a value. Nothing is written while the column
 * is all absent or all present so far, the usual cases; a bitmap appears on the first
 * change.
 */
class Presence {
  /** Rows that had a value. */
  seen = 0;
  valid: Uint8Array | null = null;

  constructor(private readonly capacity: number) {}

  present(i: number): void {
    if (this.seen++ === 0 && i > 0) {
      this.valid = new Uint8Array((this.capacity + 7) >> 3).fill(0xff);
      for (let r = 0; r < i; r++) this.valid[r >> 3]! &= ~(1 << (r & 7));
    }
  }

  absent(i: number): void {
    if (this.seen === 0) return;
    this.valid ??= new Uint8Array((this.capacity + 7) >> 3).fill(0xff);
    this.valid[i >> 3]! &= ~(1 << (i & 7));
  }

  reset(): void {
    this.seen = 0;
    this.valid = null;
  }
}

/** String columns in the order the builder numbers them (`stringId`'s `column`). */
export const HOST = 0, COMPONENT = 1, PROCESS = 2, REGION = 3, CLUSTER = 4, VERSION = 5;

/**
 * A validated row with its strings already numbered in the builder's dictionaries
 * (`stringId`): what a reader that recognises repeated strings by their bytes appends,
 * so that no string is made or hashed per row. Absent optional values are -1.
 */
export class IdRow {
  ts = 0;
  rss = 0;
  pid = -1;
  host_mem = -1;
  host = 0;
  component = 0;
  process = 0;
  region = -1;
  cluster = -1;
  version = -1;
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
  private readonly pidPresence: Presence;
  private readonly hostMemPresence: Presence;
  private readonly regionPresence: Presence;
  private readonly clusterPresence: Presence;
  private readonly versionPresence: Presence;
  private readonly hostDict = new BatchDictionary();
  private readonly componentDict = new BatchDictionary();
  private readonly processDict = new BatchDictionary();
  private readonly regionDict = new BatchDictionary();
  private readonly clusterDict = new BatchDictionary();
  private readonly versionDict = new BatchDictionary();
  /** Indexed by HOST, COMPONENT, ...: the same dictionaries. */
  private readonly dicts = [this.hostDict, this.componentDict, this.processDict, this.regionDict, this.clusterDict, this.versionDict];
  private readonly ids = new IdRow();
  /**
   * Counts built batches: ids from `stringId` hold while it is unchanged, so a caller
   * may keep them (keyed by this number) instead of asking again on every row.
   */
  generation = 0;

  /**
   * @param source name recorded in every batch (file path, subject, ...)
   * @param capacity rows per batch; `full` turns true when reached
   */
  constructor(readonly source: string, readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`"capacity" must be a positive integer, got ${capacity}`);
    this.pidPresence = new Presence(capacity);
    this.hostMemPresence = new Presence(capacity);
    this.regionPresence = new Presence(capacity);
    this.clusterPresence = new Presence(capacity);
    this.versionPresence = new Presence(capacity);
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
    if (this.n >= this.capacity) throw new RangeError('batch is full: build() it first');
    const ids = this.ids;
    ids.ts = row.ts;
    ids.rss = row.rss;
    ids.pid = row.pid;
    ids.host_mem = row.host_mem;
    ids.host = this.hostDict.id(row.host);
    ids.component = this.componentDict.id(row.component);
    ids.process = this.processDict.id(row.process ?? row.component);
    ids.region = row.region === null ? -1 : this.regionDict.id(row.region);
    ids.cluster = row.cluster === null ? -1 : this.clusterDict.id(row.cluster);
    ids.version = row.version === null ? -1 : this.versionDict.id(row.version);
    this.appendIds(ids, record);
  }

  /**
   * The number of `s` in the dictionary of a string column (HOST, COMPONENT, ...) of
   * the batch being built, adding it if new. Numbers hold until `generation` changes.
   */
  stringId(column: number, s: string): number {
    return this.dicts[column]!.id(s);
  }

  /** Adds a validated row whose strings were numbered by `stringId` in this generation. */
  appendIds(row: IdRow, record: number): void {
    if (!this.fresh) this.allocate();
    if (this.n >= this.capacity) throw new RangeError('batch is full: build() it first');
    const i = this.n++;
    this.ts[i] = row.ts;
    this.rss[i] = row.rss;
    this.records[i] = record;
    this.host[i] = row.host;
    this.component[i] = row.component;
    this.process[i] = row.process;
    if (row.pid >= 0) { this.pid[i] = row.pid; this.pidPresence.present(i); } else this.pidPresence.absent(i);
    if (row.host_mem >= 0) { this.hostMem[i] = row.host_mem; this.hostMemPresence.present(i); } else this.hostMemPresence.absent(i);
    if (row.region >= 0) { this.region[i] = row.region; this.regionPresence.present(i); } else this.regionPresence.absent(i);
    if (row.cluster >= 0) { this.cluster[i] = row.cluster; this.clusterPresence.present(i); } else this.clusterPresence.absent(i);
    if (row.version >= 0) { this.version[i] = row.version; this.versionPresence.present(i); } else this.versionPresence.absent(i);
  }

  /** The rows appended since the last build, as a batch; the builder starts over empty. */
  build(): SampleBatch {
    if (!this.fresh) this.allocate();
    const n = this.n;
    const data = makeSampleBatch({
      length: n,
      ts: this.ts,
      rss: this.rss,
      pid: this.pidPresence.seen > 0 ? this.pid : null,
      pidValid: this.pidPresence.valid,
      host_mem: this.hostMemPresence.seen > 0 ? this.hostMem : null,
      hostMemValid: this.hostMemPresence.valid,
      strings: {
        host: { indices: this.host, dictionary: this.hostDict.take() },
        component: { indices: this.component, dictionary: this.componentDict.take() },
        process: { indices: this.process, dictionary: this.processDict.take() },
        region: this.optional(this.regionPresence, this.region, this.regionDict),
        cluster: this.optional(this.clusterPresence, this.cluster, this.clusterDict),
        version: this.optional(this.versionPresence, this.version, this.versionDict),
      },
    });
    const batch: SampleBatch = { data, source: this.source, records: this.records.subarray(0, n), watermark: -Infinity };
    this.n = 0;
    this.fresh = false;
    this.generation++;
    this.pidPresence.reset();
    this.hostMemPresence.reset();
    this.regionPresence.reset();
    this.clusterPresence.reset();
    this.versionPresence.reset();
    return batch;
  }

  private optional(presence: Presence, indices: Int32Array, dict: BatchDictionary) {
    const dictionary = dict.take();
    return presence.seen > 0 ? { indices, dictionary, valid: presence.valid } : null;
  }
}
