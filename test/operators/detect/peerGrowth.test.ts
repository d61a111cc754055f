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
});
