import { describe, expect, it } from 'vitest';
import { makeSampleBatch, utf8Data } from '../../../engine/telemetry/arrowData.js';
import { filterBatch, keptRows } from '../../../engine/telemetry/filter.js';
import { SeriesCatalog } from '../../../engine/telemetry/series.js';

const HOSTS = Array.from({ length: 50 }, (_, h) => `h${h}`);
const COMPONENTS = ['api', 'db', 'cache'];

/** A batch over fixed dictionaries (as an Arrow stream's), or over dictionaries of its own. */
function batch(rows: [number, number][], dictionaries: ReturnType<typeof fixed> | null) {
  const d = dictionaries ?? fixed();
  return makeSampleBatch({
    length: rows.length, ts: new Float64Array(rows.length), rss: new Float64Array(rows.length),
    strings: {
      host: { indices: Int32Array.from(rows, ([h]) => h), dictionary: d.host },
      component: { indices: Int32Array.from(rows, ([, c]) => c), dictionary: d.component },
      process: { indices: Int32Array.from(rows, ([, c]) => c), dictionary: d.component },
      region: null, cluster: null, version: null,
    },
  });
}
const fixed = () => ({ host: utf8Data(HOSTS), component: utf8Data(COMPONENTS) });

describe('SeriesCatalog.rowsToSeries', () => {
  it('gives a series one id, whether its batches share dictionaries or not, and again after a restore', () => {
    const shared = fixed();
    const rows = (k: number) => Array.from({ length: 400 }, (_, i): [number, number] => [(i * 7 + k) % 50, (i + k) % 3]);
    const catalog = new SeriesCatalog();
    const expected = (cat: SeriesCatalog, [h, c]: [number, number]) =>
      cat.seriesId(cat.hosts.intern(HOSTS[h]!), cat.components.intern(COMPONENTS[c]!), cat.processes.intern(COMPONENTS[c]!));
    for (let k = 0; k < 6; k++) {
      const r = rows(k);
      // Even batches share one set of dictionaries (the memo), odd ones bring their own.
      const ids = catalog.rowsToSeries(batch(r, k % 2 === 0 ? shared : null));
      expect([...ids]).toEqual(r.map((x) => expected(catalog, x)));
    }
    expect(catalog.size).toBe(150);
    const restored = new SeriesCatalog();
    restored.restore(catalog.checkpoint());
    const r = rows(3);
    expect([...restored.rowsToSeries(batch(r, shared))]).toEqual([...catalog.rowsToSeries(batch(r, shared))]);
    expect(restored.size).toBe(150);
  });

  it('takes a filtered copy\'s ids from the batch it was filtered from, and only from that batch', () => {
    const rows = Array.from({ length: 300 }, (_, i): [number, number] => [(i * 11) % 50, i % 3]);
    const keep = Uint8Array.from(rows, (_, i) => (i % 7 === 3 ? 0 : 1));
    const kept = keep.reduce((a, b) => a + b, 0);
    const wrap = (data: ReturnType<typeof batch>) => ({ data, source: 't', records: new Float64Array(data.numRows), watermark: 0 });
    const catalog = new SeriesCatalog();
    const whole = batch(rows, null);
    const mapped = catalog.rowsToSeries(whole), ids = [...mapped];
    const filtered = filterBatch(wrap(whole), keep, kept).data;
    const out = keptRows(mapped, keep, kept, new Int32Array(kept));
    catalog.adoptFiltered(whole, filtered, out);
    // The catalog answers with the adopted array: the kept rows' ids, in order.
    expect(catalog.rowsToSeries(filtered)).toBe(out);
    expect([...out]).toEqual(ids.filter((_, i) => keep[i]));
    // A batch other than the one last mapped is not adopted: its copy is mapped afresh.
    const other = batch(rows.map(([h, c]): [number, number] => [(h + 1) % 50, c]), null);
    const otherFiltered = filterBatch(wrap(other), keep, kept).data;
    const stale = new Int32Array(kept).fill(-1);
    catalog.adoptFiltered(other, otherFiltered, stale);
    expect(catalog.rowsToSeries(otherFiltered)).not.toBe(stale);
    const fresh = new SeriesCatalog();
    fresh.restore(catalog.checkpoint());
    expect([...catalog.rowsToSeries(otherFiltered)]).toEqual([...fresh.rowsToSeries(otherFiltered)]);
  });
});
