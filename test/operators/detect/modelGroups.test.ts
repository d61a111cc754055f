import { describe, expect, it } from 'vitest';
import { SeriesCatalog } from '../../../engine/telemetry/series.js';
import { emptyParams } from '../../../operators/detect/gaussianModels.js';
import { MIN_MODEL_POINTS, ModelGroups } from '../../../operators/detect/modelGroups.js';

const HOUR = 3_600_000;

/** Series 0..5 of component svc: 0-2 in region eu / cluster a, 3-4 in us / a, 5 without either. */
function fleet(): { cat: SeriesCatalog; groups: ModelGroups } {
  const cat = new SeriesCatalog();
  const c = cat.components.intern('svc'), proc = cat.processes.intern('svc');
  const eu = cat.attrs.intern('eu'), us = cat.attrs.intern('us'), a = cat.attrs.intern('a');
  for (let i = 0; i < 6; i++) {
    const id = cat.seriesId(cat.hosts.intern(`h${i}`), c, proc);
    cat.seriesRegion[id] = i < 3 ? eu : i < 5 ? us : -1;
    cat.seriesCluster[id] = i < 5 ? a : -1;
  }
  const groups = new ModelGroups(30 * 24 * HOUR, 24);
  groups.ensure(cat.size);
  for (let id = 0; id < cat.size; id++) groups.key(id, cat);
  return { cat, groups };
}

describe('ModelGroups', () => {
  it('keys series by their component and region x cluster, the same models as by name', () => {
    const { cat, groups } = fleet();
    expect(groups.group(0)).toBe(groups.group(2));
    expect(groups.group(3)).not.toBe(groups.group(0));
    expect(groups.comp[0]).toBe(groups.comp[5]);
    expect(groups.group(5)).toBe(groups.comp[5]);
    expect(groups.models.keyOf(groups.group(3))).toBe('r\u0001svc\u0001us\u0001a');
    expect(groups.models.keyOf(groups.comp[0]!)).toBe('c\u0001svc');
    // A series whose cluster becomes known is keyed again.
    cat.seriesCluster[5] = cat.attrs.intern('a');
    expect(groups.key(5, cat)).toBe(true);
    expect(groups.models.keyOf(groups.group(5))).toBe('r\u0001svc\u0001\u0001a');
    expect(groups.key(5, cat)).toBe(false);
  });

  it('answers every process of a group alike, and afresh once a model has learned a point', () => {
    const { groups } = fleet();
    const fresh = new ModelGroups(30 * 24 * HOUR, 24);
    const { cat: cat2 } = fleet();
    fresh.ensure(cat2.size);
    for (let id = 0; id < cat2.size; id++) fresh.key(id, cat2);
    // Both learn the same points; `fresh` is asked only at the end, `groups` after every point.
    for (let h = 0; h < 3 * MIN_MODEL_POINTS; h++) {
      const t = h * HOUR;
      for (let id = 0; id < 6; id++) {
        const u = 1e9 + id * 1e7 + h * (id + 1) * 1e5;
        const before = groups.params(id, t, h % 24);
        expect(groups.params(id === 0 ? 1 : 0, t, h % 24) === before).toBe(groups.group(id) === groups.group(id === 0 ? 1 : 0));
        groups.add(id, t, u, h > 0 ? (id + 1) * 1e5 : NaN, h % 24);
        fresh.add(id, t, u, h > 0 ? (id + 1) * 1e5 : NaN, h % 24);
      }
    }
    const t = 3 * MIN_MODEL_POINTS * HOUR;
    for (let id = 0; id < 6; id++) {
      for (const phase of [0, 5, -1]) {
        const want = { ...fresh.params(id, t, phase) };
        expect({ ...groups.params(id, t, phase) }).toEqual(want);
      }
    }
    // After a learned point, the answer changes as the models' do.
    const m = groups.comp[5]!;
    const before = { ...groups.params(5, t, -1) };
    groups.add(5, t, 5e9, NaN, 0);
    expect(groups.params(5, t, -1).mu1).toBeGreaterThan(before.mu1);
    expect(groups.params(5, t, -1).mu1).toBe(groups.models.params(m, t, -1, emptyParams()).mu1);
  });
});
