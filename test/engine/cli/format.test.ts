import { describe, expect, it } from 'vitest';
import { int } from '../../../engine/cli/format.js';

describe('int', () => {
  it('groups digits as en-US does, rounding to a whole number', () => {
    for (const n of [0, 7, 999, 1000, 12345, 999_999.4, 1_000_000, 1_234_567.6, -1, -1234, -999_999.6, 0.4, 2 ** 53, 1e21, -3e22]) {
      expect(int(n), String(n)).toBe(Math.round(n).toLocaleString('en-US'));
    }
    // en-US writes "-0" for what rounds to zero from below; a count of people never reads so.
    expect(int(-0.4)).toBe('0');
  });

  it('says what a number that is not finite is', () => {
    expect(int(NaN)).toBe('NaN');
    expect(int(Infinity)).toBe('Infinity');
  });
});
