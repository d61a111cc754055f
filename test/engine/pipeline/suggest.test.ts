import { describe, expect, it } from 'vitest';
import { closest, didYouMean, editDistance } from '../../../engine/pipeline/suggest.js';

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and adjacent swaps', () => {
    expect(editDistance('bucketize', 'bucketize')).toBe(0);
    expect(editDistance('bukcetize', 'bucketize')).toBe(1);
    expect(editDistance('rollp', 'rollup')).toBe(1);
    expect(editDistance('rollupp', 'rollup')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

describe('closest', () => {
  const types = ['bucketize', 'bucket-detect', 'rollup', 'alert-log'];
  it('picks the nearest candidate within a third of the name', () => {
    expect(closest('bukcetize', types)).toBe('bucketize');
    expect(closest('Rollup', types)).toBe('rollup');
    expect(closest('bucket-detekt', types)).toBe('bucket-detect');
    expect(closest('zzz', types)).toBeUndefined();
    expect(didYouMean('alertlog', types)).toBe(' (did you mean "alert-log"?)');
    expect(didYouMean('sink', types)).toBe('');
  });
});
