import { IdTable } from '../../engine/telemetry/idTable.js';
import type { SeriesCatalog } from '../../engine/telemetry/series.js';
import { grown } from '../../engine/typedArrays.js';

/** Catalog ids of one run -> the store's ids, filled up to a high-water mark. */
interface Translation {
  ids: Int32Array;
  done: number;
}

/**
 * The store's own ids for the names of one dimension (hosts, components, processes,
 * attribute values). Catalog ids belong to a run; these belong to the file, so rows
 * written by different runs (a resume, a replay of another file) agree on who is who.
 */
export class NameIds {
  private readonly ids = new Map<string, number>();
  /** Names given an id since the last `takePending`, ids consecutive from `size - pending.length`. */
  private pending: string[] = [];
  private readonly translations = new WeakMap<readonly string[], Translation>();

  constructor(readonly table: string) {}

  load(id: number, name: string): void {
    this.ids.set(name, id);
  }

  get size(): number {
    return this.ids.size;
  }

  private idOf(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(name, id);
      this.pending.push(name);
    }
    return id;
  }

  /**
   * Store ids of an interner's names (the catalog's `names` array, which only grows),
   * looking up only the names added since the last call.
   */
  translate(names: readonly string[]): Int32Array {
    let t = this.translations.get(names);
    if (!t) {
      t = { ids: new Int32Array(Math.max(16, names.length)), done: 0 };
      this.translations.set(names, t);
    }
    if (t.done < names.length) {
      t.ids = grown(t.ids, names.length);
      for (let i = t.done; i < names.length; i++) t.ids[i] = this.idOf(names[i]!);
      t.done = names.length;
    }
    return t.ids;
  }

  /** Names created since the last call, with the id of the first; the caller inserts them. */
  takePending(): { firstId: number; names: string[] } {
    const names = this.pending;
    this.pending = [];
    return { firstId: this.ids.size - names.length, names };
  }
}

/** Series rows to insert or rewrite, as columns. */
export interface SeriesRows {
  readonly length: number;
  readonly id: Int32Array;
  readonly host: Int32Array;
  readonly component: Int32Array;
  readonly process: Int32Array;
  readonly region: Int32Array;
  readonly cluster: Int32Array;
  readonly version: Int32Array;
  /** Ids among `id` whose earlier row must be deleted first (attributes changed). */
  readonly replaced: readonly number[];
}

/**
 * The series dimension: (host, component, process) -> store id, plus the latest region,
 * cluster and version of each series. New series and series whose attributes changed
 * (a deploy changes `version`) are collected as pending rows; everything else is
 * written once.
 */
export class SeriesIds {
  readonly hosts = new NameIds('hosts');
  readonly components = new NameIds('components');
  readonly processes = new NameIds('processes');
  readonly attrs = new NameIds('attrs');

  /**
   * (component, process) -> pair, (pair, host) -> series id: the catalog's typed-array
   * tables, not Maps keyed by a packed number, which hashed a heap double per lookup
   * (~1 us per new series, the first period of a 100k-series fleet in ~0.1 s).
   */
  private readonly pairs = new IdTable();
  private readonly keys = new IdTable();
  private count = 0;
  private host: Int32Array = new Int32Array(1024);
  private component: Int32Array = new Int32Array(1024);
  private process: Int32Array = new Int32Array(1024);
  private region: Int32Array = new Int32Array(1024).fill(-1);
  private cluster: Int32Array = new Int32Array(1024).fill(-1);
  private version: Int32Array = new Int32Array(1024).fill(-1);
  /** 1: new since the last write; 2: written before, attributes changed since. */
  private dirty: Uint8Array = new Uint8Array(1024);
  private dirtyList: number[] = [];
  private readonly translations = new WeakMap<SeriesCatalog, Translation>();
  private scratch: Int32Array = new Int32Array(1024);

  get size(): number {
    return this.count;
  }

  private ensure(n: number): void {
    if (n <= this.host.length) return;
    this.host = grown(this.host, n);
    this.component = grown(this.component, n);
    this.process = grown(this.process, n);
    this.region = grown(this.region, n, -1);
    this.cluster = grown(this.cluster, n, -1);
    this.version = grown(this.version, n, -1);
    const d = new Uint8Array(this.host.length);
    d.set(this.dirty);
    this.dirty = d;
  }

  private pairOf(component: number, proc: number): number {
    let pair = this.pairs.get(component, proc);
    if (pair < 0) {
      pair = this.pairs.size;
      this.pairs.add(component, proc, pair);
    }
    return pair;
  }

  /** A series row read back from the file. */
  load(id: number, host: number, component: number, proc: number, region: number, cluster: number, version: number): void {
    const pair = this.pairOf(component, proc);
    if (this.keys.get(pair, host) < 0) this.keys.add(pair, host, id);
    this.count = Math.max(this.count, id + 1);
    this.ensure(this.count);
    this.host[id] = host;
    this.component[id] = component;
    this.process[id] = proc;
    this.region[id] = region;
    this.cluster[id] = cluster;
    this.version[id] = version;
  }

  private idOf(host: number, component: number, proc: number): number {
    const pair = this.pairOf(component, proc);
    let id = this.keys.get(pair, host);
    if (id < 0) {
      id = this.count++;
      this.keys.add(pair, host, id);
      this.ensure(this.count);
      this.host[id] = host;
      this.component[id] = component;
      this.process[id] = proc;
      this.region[id] = this.cluster[id] = this.version[id] = -1;
      this.dirty[id] = 1;
      this.dirtyList.push(id);
    }
    return id;
  }

  /**
   * Store ids of catalog series `series[0..length)`, in a buffer reused across calls.
   * Series the catalog created since the last call are looked up once (high-water
   * mark); attributes are compared per row, which is a few integer reads.
   */
  translate(catalog: SeriesCatalog, series: Int32Array, length: number): Int32Array {
    const hosts = this.hosts.translate(catalog.hosts.names);
    const comps = this.components.translate(catalog.components.names);
    const procs = this.processes.translate(catalog.processes.names);
    const attrs = this.attrs.translate(catalog.attrs.names);
    let t = this.translations.get(catalog);
    if (!t) {
      t = { ids: new Int32Array(Math.max(1024, catalog.size)), done: 0 };
      this.translations.set(catalog, t);
    }
    if (t.done < catalog.size) {
      t.ids = grown(t.ids, catalog.size);
      for (let s = t.done; s < catalog.size; s++) {
        const id = this.idOf(hosts[catalog.seriesHost[s]!]!, comps[catalog.seriesComponent[s]!]!, procs[catalog.seriesProcess[s]!]!);
        t.ids[s] = id;
        if (this.dirty[id] === 1) {
          const r = catalog.seriesRegion[s]!, c = catalog.seriesCluster[s]!, v = catalog.seriesVersion[s]!;
          this.region[id] = r < 0 ? -1 : attrs[r]!;
          this.cluster[id] = c < 0 ? -1 : attrs[c]!;
          this.version[id] = v < 0 ? -1 : attrs[v]!;
        }
      }
      t.done = catalog.size;
    }
    if (this.scratch.length < length) this.scratch = new Int32Array(length);
    const out = this.scratch;
    const ids = t.ids;
    const cr = catalog.seriesRegion, cc = catalog.seriesCluster, cv = catalog.seriesVersion;
    for (let i = 0; i < length; i++) {
      const s = series[i]!;
      const id = ids[s]!;
      out[i] = id;
      // An attribute the catalog does not know (-1: the input had no such column) keeps
      // what the file says; a known one that differs replaces it.
      const r = cr[s]!, c = cc[s]!, v = cv[s]!;
      if ((r >= 0 && attrs[r] !== this.region[id]) || (c >= 0 && attrs[c] !== this.cluster[id])
        || (v >= 0 && attrs[v] !== this.version[id])) {
        if (r >= 0) this.region[id] = attrs[r]!;
        if (c >= 0) this.cluster[id] = attrs[c]!;
        if (v >= 0) this.version[id] = attrs[v]!;
        if (this.dirty[id] === 0) {
          this.dirty[id] = 2;
          this.dirtyList.push(id);
        }
      }
    }
    return out;
  }

  /** Rows to write for series that are new or changed since the last call. */
  takePending(): SeriesRows {
    const list = this.dirtyList;
    this.dirtyList = [];
    const n = list.length;
    const rows = {
      length: n, id: new Int32Array(n), host: new Int32Array(n), component: new Int32Array(n), process: new Int32Array(n),
      region: new Int32Array(n), cluster: new Int32Array(n), version: new Int32Array(n), replaced: [] as number[],
    };
    for (let i = 0; i < n; i++) {
      const id = list[i]!;
      rows.id[i] = id;
      rows.host[i] = this.host[id]!;
      rows.component[i] = this.component[id]!;
      rows.process[i] = this.process[id]!;
      rows.region[i] = this.region[id]!;
      rows.cluster[i] = this.cluster[id]!;
      rows.version[i] = this.version[id]!;
      if (this.dirty[id] === 2) rows.replaced.push(id);
      this.dirty[id] = 0;
    }
    return rows;
  }
}
