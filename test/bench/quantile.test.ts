import { describe, expect, it } from 'vitest';
import { quantile } from '../../bench/lib.js';

describe('bench quantile', () => {
  it('takes the nearest rank of any ordering, leaving the input as it was', () => {
    const xs = [40, 10, 30, 20, 50];
    expect(quantile(xs, 0.5)).toBe(30);
    expect(quantile(xs, 0.9)).toBe(50);
    expect(quantile(xs, 0)).toBe(10);
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2);
    expect(xs).toEqual([40, 10, 30, 20, 50]);
    expect(quantile([], 0.5)).toBeNaN();
  });
});
