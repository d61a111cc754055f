import { describe, expect, it } from 'vitest';
import type { HeapSnapshot } from '../../../engine/diagnosis.js';
import type { ReferenceSet } from '../../../engine/references.js';
import { SeriesCatalog } from '../../../engine/telemetry/series.js';
import { stackKey } from '../../../operators/diagnose/localise.js';
import { attrsOf, growingStacks, leaksDuringTrace, pickCandidates } from '../../../operators/diagnose/references.js';

const HOUR = 3_600_000;
const frames = (fn: string) => [{ function: fn, file: 'x.cc', line: 1 }];
const snap = (at: number, rss: number, sizes: Record<string, number>): HeapSnapshot => ({
  at, memory: { rss, heap_used: null, external: null, array_buffers: null },
  stacks: Object.entries(sizes).map(([fn, live]) => ({ frames: frames(fn), live_bytes: live, count: 1 })),
});
const set = (host: string, before: Record<string, number>, after: Record<string, number>): ReferenceSet => ({
  fingerprint: { component: 'svc', cluster: 'c1', os_version: null, service_version: '1', day: '2026-01-01' },
  host, process: 'svc', taken_at: 0, snapshots: [snap(0, 1e6, before), snap(2 * HOUR, 1e6, after)],
});

describe('reference analysis', () => {
  it('drops a stack only when it grew on more than the quorum of references', () => {
    const sets = [
      set('a', { pool: 1000, bug: 500, noise: 100 }, { pool: 9000, bug: 9000, noise: 1050 }),
      set('b', { pool: 1000, bug: 500 }, { pool: 8000, bug: 500 }),
      set('c', { pool: 1000, bug: 500 }, { pool: 7000, bug: 520 }),
    ];
    const grown = growingStacks(sets, 0.001);
    // pool grew on all three; bug on one (a reference leaking through it); noise by less than 0.1 % of memory.
    expect(grown).toEqual(new Set([stackKey(frames('pool'))]));
    expect(growingStacks(sets, 0.001, 0)).toEqual(new Set([stackKey(frames('pool')), stackKey(frames('bug'))]));
    expect(growingStacks([], 0.001).size).toBe(0);
  });

  it('tells a reference that leaks during its trace by the pattern analysis', () => {
    const mem = (f: (i: number) => number) => Array.from({ length: 5 }, (_, i) => ({ at: i * 30 * 60_000, rss: f(i) }));
    expect(leaksDuringTrace(mem((i) => 1e9 + [0, 3, -2, 4, -1][i]! * 1e6), 30 * 60_000, 0.02)).toBe(false);
    expect(leaksDuringTrace(mem((i) => 1e9 + i * 1e7), 30 * 60_000, 0.02)).toBe(true);
    // Growing, but by less than 2 %: not called a leak on a short trace.
    expect(leaksDuringTrace(mem((i) => 1e9 + i * 1e6), 30 * 60_000, 0.02)).toBe(false);
  });

  it('picks healthy processes of the same component and version, same cluster first', () => {
    const cat = new SeriesCatalog();
    const add = (host: string, component: string, cluster: string, region: string, version: string) => {
      const id = cat.seriesId(cat.hosts.intern(host), cat.components.intern(component), cat.processes.intern(component));
      cat.seriesCluster[id] = cat.attrs.intern(cluster);
      cat.seriesRegion[id] = cat.attrs.intern(region);
      cat.seriesVersion[id] = cat.attrs.intern(version);
    };
    add('t', 'svc', 'c1', 'r1', '1');
    add('same-cluster', 'svc', 'c1', 'r1', '1');
    add('same-region', 'svc', 'c2', 'r1', '1');
    add('elsewhere', 'svc', 'c9', 'r9', '1');
    add('other-version', 'svc', 'c1', 'r1', '2');
    add('other-component', 'db', 'c1', 'r1', '1');
    add('alerted', 'svc', 'c1', 'r1', '1');
    const target = { host: 't', ...attrsOf(cat, 't', 'svc', 'svc')! };
    const picked = pickCandidates(cat, 'svc', target, 3, 7, (host) => host === 'alerted');
    expect(picked.map((p) => p.host)).toEqual(['same-cluster', 'same-region', 'elsewhere']);
    expect(picked[0]).toEqual({ host: 'same-cluster', component: 'svc', process: 'svc', pid: 0 });
    expect(pickCandidates(cat, 'nope', target, 3, 7, () => false)).toEqual([]);
  });
});
