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
    const r = new PeriodRing(96);
    r.ensure(1);
    // A daily cycle of +-50 around 1000 and 2 a period of growth; a spike of +500 at period 60.
    for (let p = 0; p < 72; p++) r.write(0, p, 1000 + 50 * Math.sin((2 * Math.PI * p) / 24) + 2 * p + (p === 60 ? 500 : 0));
    expect(r.pairedChange(0, 48, 71, 24, 1 / 6, new Float64Array(24))).toBeCloseTo(48, 6);
    expect(r.pairedChange(0, 48, 71, 48, 1 / 6, new Float64Array(24))).toBeCloseTo(96, 6);
    // Without trimming the spike shows.
    expect(r.pairedChange(0, 48, 71, 24, 0, new Float64Array(24))).toBeCloseTo(48 + 500 / 24, 6);
    // Masked periods leave their pairs out.
    r.mask(0, 60, 60);
    expect(r.value(0, 60)).toBeNaN();
    expect(r.pairedChange(0, 48, 71, 24, 0, new Float64Array(24))).toBeCloseTo(48, 6);
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
