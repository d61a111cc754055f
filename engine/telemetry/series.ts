import type { RecordBatch } from 'apache-arrow';
import type { Checkpointable } from '../state.js';
import { grown } from '../typedArrays.js';
import { IdTable } from './idTable.js';
import { dictColumn, type SampleColumns, type StringField } from './schema.js';

/** Strings to dense integer ids and back. */
export class Interner {
  private readonly ids = new Map<string, number>();
  readonly names: string[] = [];

  intern(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(name, id);
      this.names.push(name);
    }
    return id;
  }

  lookup(name: string): number | undefined {
    return this.ids.get(name);
  }

  name(id: number): string {
    return this.names[id]!;
  }

  get size(): number {
    return this.names.length;
  }
}

/** Largest memo of series ids by dictionary indices (4 MiB). */
const MEMO_MAX = 1 << 20;

/**
 * The run-wide identity of series: a series is (host, component, process), the unit
 * that level 2 watches. Operators key their state by series id in typed arrays; this
 * class turns a batch's dictionary columns into per-row series ids without touching a
 * row object: dictionaries are mapped to global ids once (cached by dictionary
 * identity), then rows are combined through one numeric-key Map lookup each.
 */
export class SeriesCatalog implements Checkpointable {
  readonly hosts = new Interner();
  readonly components = new Interner();
  readonly processes = new Interner();
  /** Region, cluster and version strings share one interner; -1 means absent. */
  readonly attrs = new Interner();

  /** (component, process) -> pair id, and (pair, host) -> series id. */
  private readonly pairs = new IdTable();
  private readonly series = new IdTable();
  private pairComponent = new Int32Array(64);
  private pairProcess = new Int32Array(64);
  private pairCount = 0;

  seriesHost = new Int32Array(1024);
  seriesComponent = new Int32Array(1024);
  seriesProcess = new Int32Array(1024);
  seriesRegion = new Int32Array(1024);
  seriesCluster = new Int32Array(1024);
  seriesVersion = new Int32Array(1024);
  private count = 0;

  private readonly remaps = new WeakMap<object, Int32Array>();
  private readonly memos = new WeakMap<Int32Array, { components: Int32Array; processes: Int32Array; ids: Int32Array }>();
  private lastBatch: RecordBatch<SampleColumns> | null = null;
  private lastIds: Int32Array | null = null;

  get size(): number {
    return this.count;
  }

  /** Id of (host, component, process), created on first sight. */
  seriesId(host: number, component: number, proc: number): number {
    let pair = this.pairs.get(component, proc);
    if (pair < 0) {
      pair = this.pairCount++;
      this.pairs.add(component, proc, pair);
      this.pairComponent = grown(this.pairComponent, this.pairCount);
      this.pairProcess = grown(this.pairProcess, this.pairCount);
      this.pairComponent[pair] = component;
      this.pairProcess[pair] = proc;
    }
    let id = this.series.get(pair, host);
    if (id < 0) {
      id = this.count++;
      this.series.add(pair, host, id);
      this.ensure(this.count);
      this.seriesHost[id] = host;
      this.seriesComponent[id] = component;
      this.seriesProcess[id] = proc;
      this.seriesRegion[id] = -1;
      this.seriesCluster[id] = -1;
      this.seriesVersion[id] = -1;
    }
    return id;
  }

  private ensure(n: number): void {
    if (n <= this.seriesHost.length) return;
    this.seriesHost = grown(this.seriesHost, n);
    this.seriesComponent = grown(this.seriesComponent, n);
    this.seriesProcess = grown(this.seriesProcess, n);
    this.seriesRegion = grown(this.seriesRegion, n);
    this.seriesCluster = grown(this.seriesCluster, n);
    this.seriesVersion = grown(this.seriesVersion, n);
  }

  /**
   * Series ids by dictionary indices (host, component, process), for batches that share
   * their dictionaries (an Arrow stream's are fixed): one load per row instead of two
   * hash lookups. Null when the three dictionaries are too large to multiply out.
   * Memos live as long as their host dictionary's ids (a WeakMap).
   */
  private memoFor(hosts: Int32Array, components: Int32Array, processes: Int32Array, rows: number): Int32Array | null {
    const memo = this.memos.get(hosts);
    if (memo !== undefined && memo.components === components && memo.processes === processes) return memo.ids;
    // A memo much larger than the batch would cost more to fill than it saves, unless later batches share it.
    const size = hosts.length * components.length * processes.length;
    if (size > MEMO_MAX || size > 8 * rows) return null;
    const ids = new Int32Array(size).fill(-1);
    this.memos.set(hosts, { components, processes, ids });
    return ids;
  }

  /** Global ids of a dictionary's entries, computed once per dictionary. */
  private remap(name: StringField, batch: RecordBatch<SampleColumns>): { ids: Int32Array; indices: Int32Array; valid: Uint8Array | null } {
    const col = dictColumn(batch, name);
    let ids = this.remaps.get(col.key);
    if (ids === undefined || ids.length < col.values.length) {
      const interner = name === 'host' ? this.hosts : name === 'component' ? this.components
        : name === 'process' ? this.processes : this.attrs;
      ids = new Int32Array(col.values.length);
      for (let i = 0; i < col.values.length; i++) ids[i] = interner.intern(col.values[i]!);
      this.remaps.set(col.key, ids);
    }
    return { ids, indices: col.indices, valid: col.valid };
  }

  /**
   * Series id of every row of a batch (and region/cluster/version recorded per series).
   * `out` is reused when large enough.
   */
  rowsToSeries(batch: RecordBatch<SampleColumns>, out?: Int32Array): Int32Array {
    const n = batch.numRows;
    // Operators in a chain (watermark, rollup) ask about the same batch in turn; the
    // graph handles one batch at a time, so remembering the last answer is enough.
    if (batch === this.lastBatch) return this.lastIds!;
    const ids = out && out.length >= n ? out : new Int32Array(n);
    const h = this.remap('host', batch);
    const c = this.remap('component', batch);
    const p = this.remap('process', batch);
    const memo = this.memoFor(h.ids, c.ids, p.ids, n);
    const C = c.ids.length, P = p.ids.length;
    if (memo !== null) {
      // One load per row: comparing with the previous row first would only add a
      // branch, mispredicted whenever rows interleave series (time order).
      const hx = h.indices, cx = c.indices, px = p.indices;
      for (let i = 0; i < n; i++) {
        const m = (hx[i]! * C + cx[i]!) * P + px[i]!;
        let id = memo[m]!;
        if (id < 0) id = memo[m] = this.seriesId(h.ids[hx[i]!]!, c.ids[cx[i]!]!, p.ids[px[i]!]!);
        ids[i] = id;
      }
    } else {
      // Without a memo each new (host, component, process) is two hash lookups; a run of
      // rows of one series (a grouped file) pays them once.
      let lastH = -1, lastC = -1, lastP = -1, lastId = -1;
      for (let i = 0; i < n; i++) {
        const hi = h.indices[i]!, ci = c.indices[i]!, pi = p.indices[i]!;
        if (hi !== lastH || ci !== lastC || pi !== lastP) {
          lastId = this.seriesId(h.ids[hi]!, c.ids[ci]!, p.ids[pi]!);
          lastH = hi; lastC = ci; lastP = pi;
        }
        ids[i] = lastId;
      }
    }
    this.recordAttr('region', batch, ids, this.seriesRegion);
    this.recordAttr('cluster', batch, ids, this.seriesCluster);
    this.recordAttr('version', batch, ids, this.seriesVersion);
    this.lastBatch = batch;
    this.lastIds = ids;
    return ids;
  }

  /**
   * `filtered` holds some rows of `batch` (filterBatch's copy), and `ids` their series
   * (keptRows of what rowsToSeries gave for `batch`). When `batch` is the one last mapped,
   * the next operator's rowsToSeries of `filtered` takes them from here instead of
   * mapping every row again.
   */
  adoptFiltered(batch: RecordBatch<SampleColumns>, filtered: RecordBatch<SampleColumns>, ids: Int32Array): void {
    if (batch !== this.lastBatch) return;
    this.lastBatch = filtered;
    this.lastIds = ids;
  }

  private recordAttr(name: StringField, batch: RecordBatch<SampleColumns>, ids: Int32Array, into: Int32Array): void {
    const col = batch.getChild(name)!.data[0]!;
    if (col.nullCount === col.length) return;
    const a = this.remap(name, batch);
    const n = batch.numRows;
    for (let i = 0; i < n; i++) {
      if (a.valid === null || (a.valid[i >> 3]! & (1 << (i & 7))) !== 0) into[ids[i]!] = a.ids[a.indices[i]!]!;
    }
  }

  /** Everything needed to give the same ids to the same series in a later run. */
  checkpoint(): unknown {
    const n = this.count;
    return {
      hosts: this.hosts.names, components: this.components.names, processes: this.processes.names, attrs: this.attrs.names,
      host: this.seriesHost.slice(0, n), component: this.seriesComponent.slice(0, n), process: this.seriesProcess.slice(0, n),
      region: this.seriesRegion.slice(0, n), cluster: this.seriesCluster.slice(0, n), version: this.seriesVersion.slice(0, n),
    };
  }

  restore(state: unknown): void {
    const s = state as Record<'hosts' | 'components' | 'processes' | 'attrs', string[]> &
      Record<'host' | 'component' | 'process' | 'region' | 'cluster' | 'version', Int32Array>;
    if (this.count > 0 || this.hosts.size > 0) throw new Error('a catalog can only be restored before it is used');
    for (const n of s.hosts) this.hosts.intern(n);
    for (const n of s.components) this.components.intern(n);
    for (const n of s.processes) this.processes.intern(n);
    for (const n of s.attrs) this.attrs.intern(n);
    for (let i = 0; i < s.host.length; i++) {
      const id = this.seriesId(s.host[i]!, s.component[i]!, s.process[i]!);
      this.seriesRegion[id] = s.region[i]!;
      this.seriesCluster[id] = s.cluster[i]!;
      this.seriesVersion[id] = s.version[i]!;
    }
  }

  describe(id: number): { host: string; component: string; process: string; region: string | null; cluster: string | null; version: string | null } {
    const attr = (v: number) => (v < 0 ? null : this.attrs.name(v));
    return {
      host: this.hosts.name(this.seriesHost[id]!),
      component: this.components.name(this.seriesComponent[id]!),
      process: this.processes.name(this.seriesProcess[id]!),
      region: attr(this.seriesRegion[id]!),
      cluster: attr(this.seriesCluster[id]!),
      version: attr(this.seriesVersion[id]!),
    };
  }
}
