import { describe, expect, it } from 'vitest';
import { serialize, deserialize } from 'node:v8';
import { PeerIndex, stitchedGrowth } from '../../../operators/detect/peerGrowth.js';
import { PeriodRing } from '../../../operators/detect/periodRing.js';

describe('peers', () => {
  it('gives the median over host-mates or group peers, never the process itself', () => {
    const peers = new PeerIndex();
    // Series 0..5: hosts 0,0,0,1,1,2; groups 7,8,7,7,8,7.
    [[0, 7], [0, 8], [0, 7], [1, 7], [1, 8], [2, 7]].forEach(([h, g], id) => peers.join(id, h!, g!));
    const growth = (q: number) => [10, 20, 30, 40, 50, NaN][q]!;
    const sc = new Float64Array(16);
    expect(peers.medianGrowth(0, true, growth, sc)).toBe(25); // 1 and 2
    expect(peers.medianGrowth(0, false, growth, sc)).toBe(35); // 2 and 3 (5 has no value)
    expect(peers.medianGrowth(5, true, growth, sc)).toBeNaN(); // alone on its host
    expect(peers.medianGrowth(9, true, growth, sc)).toBeNaN(); // never joined
    // Joining again with another group changes nothing.
    peers.join(0, 3, 9);
    expect(peers.medianGrowth(0, true, growth, sc)).toBe(25);
    // A restored index walks its lists in the same order.
    const copy = new PeerIndex();
    copy.restore(deserialize(serialize(peers.checkpoint())));
    const order: number[] = [];
    copy.medianGrowth(3, false, (q) => { order.push(q); return 1; }, sc);
    const original: number[] = [];
    peers.medianGrowth(3, false, (q) => { original.push(q); return 1; }, sc);
    expect(order).toEqual(original);
  });

  it('measures log growth between two day-long windows, stitched across a restart', () => {
    const r = new PeriodRing(96);
    r.ensure(2);
    // Series 0 grows 10% at period 40 and stays; series 1 does the same but restarts at 30
    // (drops to half) and warms up until period 34.
    for (let p = 0; p < 72; p++) {
      const load = p >= 40 ? 1.1 : 1;
      r.write(0, p, 1000 * load);
      const warm = p < 30 ? 1 : p < 34 ? 0.5 + (p - 30) * 0.125 : 1;
      r.write(1, p, 1000 * load * warm);
    }
    // Level log 1.1 from period 40: over the later day [48, 71] always, over the earlier [24, 47] for 8 periods.
    const g0 = stitchedGrowth(r, 0, 71, 24, 24, 0, 0);
    expect(g0).toBeCloseTo(Math.log(1.1) * (1 - 8 / 24), 9);
    // Windows 12 periods apart ([36, 59] and [48, 71]): level there 20 of 24 periods and 24 of 24.
    expect(stitchedGrowth(r, 0, 71, 24, 12, 0, 0)).toBeCloseTo(Math.log(1.1) * (1 - 20 / 24), 9);
    expect(stitchedGrowth(r, 1, 71, 24, 24, 30, 35)).toBeCloseTo(g0, 6);
    // Counting the restart's fall and its warm-up would have told something else.
    expect(Math.abs(stitchedGrowth(r, 1, 71, 24, 24, 0, 0) - g0)).toBeGreaterThan(0.05);
    expect(stitchedGrowth(r, 0, 20, 24, 24, 0, 0)).toBeNaN(); // no earlier day held
  });

  it('reads the same values as the ring does one period at a time, across wrap-around, gaps and masks', () => {
    const w = 30, r = new PeriodRing(w);
    r.ensure(1);
    let seed = 11;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let p = 0; p < 120; p++) {
      if (rand() < 0.2) continue;
      r.write(0, p, 5e8 * (1 + 0.002 * p) + rand() * 1e7);
      if (rand() < 0.05) r.mask(0, p - 2, p - 1);
      for (const [d, shift, from, to] of [[12, 12, 0, 0], [12, 6, p - 8, p - 5], [6, 3, 0, 0], [24, 12, p - 30, p - 20]] as const) {
        expect(stitchedGrowth(r, 0, p, d, shift, from, to)).toBe(naiveGrowth(r, p, d, shift, from, to));
      }
    }
  });
});

/** stitchedGrowth as first written: one ring.value per period. */
function naiveGrowth(ring: PeriodRing, p: number, d: number, shift: number, restartFrom: number, restartTo: number): number {
  let level = 0, early = 0, late = 0, nEarly = 0, nLate = 0;
  const from = p - d - shift + 1;
  let before = ring.value(0, from - 1);
  for (let t = from; t <= p; t++) {
    const v = ring.value(0, t);
    if (v !== v) continue;
    if (before === before && before > 0 && v > 0 && !(t >= restartFrom && t < restartTo)) {
      const r = Math.log(v / before);
      level += r > 0.25 ? 0.25 : r < -0.25 ? -0.25 : r;
    }
    before = v;
    if (t <= p - shift) { early += level; nEarly++; }
    if (t > p - d) { late += level; nLate++; }
  }
  return nEarly > 0 && nLate > 0 ? late / nLate - early / nEarly : NaN;
}
