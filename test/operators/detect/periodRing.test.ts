import { describe, expect, it } from 'vitest';
import { PeriodRing } from '../../../operators/detect/periodRing.js';

describe('PeriodRing', () => {
  it('keeps the last slots periods of each series; skipped periods read NaN', () => {
    const r = new PeriodRing(4);
    r.ensure(2);
    r.write(1, 10, 100);
    r.write(1, 11, 110);
    r.write(1, 13, 130);
    expect([10, 11, 12, 13].map((p) => r.value(1, p))).toEqual([100, 110, NaN, 130]);
    expect(r.mean(1, 10, 13)).toBeCloseTo(340 / 3, 9);
    r.write(1, 15, 150);
    expect(r.value(1, 11)).toBeNaN(); // out of the ring now
    expect(r.value(1, 14)).toBeNaN();
    expect(r.value(1, 16)).toBeNaN(); // not yet
    r.write(1, 30, 300); // a long gap clears everything
    expect(r.mean(1, 0, 29)).toBeNaN();
    expect(r.value(0, 30)).toBeNaN(); // another series untouched
    r.write(1, 29, 999); // older than the newest: ignored
    expect(r.value(1, 29)).toBeNaN();
  });

  it('compares the same hour on two days: a daily cycle cancels, a spike is trimmed', () => {
    // Values are held to 2^-16 of their size (~0.016 here): 2 digits after the point.
    const r = new PeriodRing(96);
    r.ensure(1);
    // A daily cycle of +-50 around 1000 and 2 a period of growth; a spike of +500 at period 60.
    for (let p = 0; p < 72; p++) r.write(0, p, 1000 + 50 * Math.sin((2 * Math.PI * p) / 24) + 2 * p + (p === 60 ? 500 : 0));
    expect(r.pairedChange(0, 48, 71, 24, 1 / 6, new Float64Array(24))).toBeCloseTo(48, 2);
    expect(r.pairedChange(0, 48, 71, 48, 1 / 6, new Float64Array(24))).toBeCloseTo(96, 2);
    // Without trimming the spike shows.
    expect(r.pairedChange(0, 48, 71, 24, 0, new Float64Array(24))).toBeCloseTo(48 + 500 / 24, 2);
    // Masked periods leave their pairs out.
    r.mask(0, 60, 60);
    expect(r.value(0, 60)).toBeNaN();
    expect(r.pairedChange(0, 48, 71, 24, 0, new Float64Array(24))).toBeCloseTo(48, 2);
  });

  it('takes trimmed means and reads windows oldest first', () => {
    const r = new PeriodRing(8);
    r.ensure(1);
    [5, 1, 9, 3, 7, 100].forEach((v, p) => r.write(0, p, v));
    expect(r.trimmedMean(0, 0, 5, 1 / 6, new Float64Array(8))).toBe((3 + 5 + 7 + 9) / 4);
    const out = new Float64Array(8);
    expect(r.read(0, 2, out)).toBe(4);
    expect(Array.from(out.subarray(0, 4))).toEqual([9, 3, 7, 100]);
  });

  it('holds values to 2^-16 of their size through growth, a restart and the old values leaving', () => {
    const r = new PeriodRing(168);
    r.ensure(1);
    const worst = (from: number, to: number, f: (p: number) => number) => {
      let e = 0;
      for (let p = from; p <= to; p++) e = Math.max(e, Math.abs(r.value(0, p) - f(p)) / f(p));
      return e;
    };
    // A leak of 5% a day with a daily swing of 10%: the grid follows it up.
    const leak = (p: number) => 1e9 * 1.05 ** (p / 24) * (1 + 0.1 * Math.sin((2 * Math.PI * p) / 24)) + 12345.678;
    for (let p = 0; p < 400; p++) r.write(0, p, leak(p));
    expect(worst(400 - 168, 399, leak)).toBeLessThanOrEqual(2 ** -16);
    // A restart from ~4.5 GB to 100 MB: while the old values are held the grid is coarse...
    const after = (p: number) => 1e8 + 5e4 * (p - 400) + 1000 * Math.cos(p);
    for (let p = 400; p < 450; p++) r.write(0, p, after(p));
    expect(worst(400, 449, after)).toBeGreaterThan(2 ** -16);
    expect(worst(400, 449, after)).toBeLessThan(1e-3);
    expect(worst(282, 399, leak)).toBeLessThanOrEqual(2 ** -15);
    // ...and fine again for values written once they have left the ring.
    for (let p = 450; p < 750; p++) r.write(0, p, after(p));
    expect(worst(750 - 168, 749, after)).toBeLessThanOrEqual(2 ** -16);
  });

  it('codes a checkpoint of the earlier Float32 form', () => {
    const r = new PeriodRing(4);
    r.restore({ slots: 4, values: new Float32Array([NaN, NaN, NaN, NaN, 1000, 1500, 2000, NaN]), newest: new Float64Array([-1, 6]) });
    expect([3, 4, 5, 6].map((p) => r.value(1, p))).toEqual([NaN, 1000, 1500, 2000]);
    expect(r.value(0, 0)).toBeNaN();
  });

  it('grows for new series and survives a checkpoint', () => {
    const r = new PeriodRing(3);
    r.ensure(1);
    r.write(0, 5, 1);
    r.ensure(40);
    r.write(39, 7, 2);
    const copy = new PeriodRing(3);
    copy.restore(r.checkpoint(40));
    expect([copy.value(0, 5), copy.value(39, 7), copy.value(20, 7)]).toEqual([1, 2, NaN]);
    expect(() => new PeriodRing(1)).toThrow(/at least 2/);
  });
});

describe('PeriodRing.pairedChange', () => {
  it('pairs the same periods as reading each value, across wrap-around, gaps, masks and lags', () => {
    const w = 20, r = new PeriodRing(w);
    r.ensure(1);
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const sc = new Float64Array(64), naive = new Float64Array(64);
    for (let p = 0; p < 90; p++) {
      if (rand() < 0.2) continue; // a gap
      r.write(0, p, 1e9 + rand() * 1e7);
      if (rand() < 0.05) r.mask(0, p - 3, p - 1);
      for (const lag of [1, 5, 19, 20]) {
        for (const [from, to] of [[p - 10, p], [p - 30, p + 2], [0, p]] as const) {
          let n = 0;
          for (let t = from; t <= to; t++) {
            const d = r.value(0, t) - r.value(0, t - lag);
            if (d === d) naive[n++] = d;
          }
          const want = n === 0 ? NaN : mean(naive.subarray(0, n).sort(), Math.floor(n / 6));
          expect(r.pairedChange(0, from, to, lag, 1 / 6, sc)).toBe(want);
        }
      }
    }
  });
});

function mean(sorted: Float64Array, cut: number): number {
  let sum = 0;
  for (let k = cut; k < sorted.length - cut; k++) sum += sorted[k]!;
  return sum / (sorted.length - 2 * cut);
}
