import { describe, expect, it } from 'vitest';
import { makeSampleBatch, utf8Data } from '../../../engine/telemetry/arrowData.js';
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
});
