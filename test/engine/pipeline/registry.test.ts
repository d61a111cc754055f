import { describe, expect, it } from 'vitest';
import { compile } from '../../../engine/pipeline/compile.js';
import { Registry } from '../../../engine/pipeline/registry.js';
import type { NodeSpec } from '../../../engine/spec.js';
import { alertLog, bucketize, rollup, rollupStore, simulator } from './fakes.js';

describe('Registry', () => {
  it('looks specs up by type and lists them sorted', () => {
    const registry = new Registry([simulator, rollup]).register(bucketize);
    expect(registry.get('rollup')).toBe(rollup);
    expect(registry.get('nope')).toBeUndefined();
    expect(registry.has('bucketize')).toBe(true);
    expect(registry.types()).toEqual(['bucketize', 'rollup', 'simulator']);
    expect(registry.list()).toEqual([bucketize, rollup, simulator]);
  });

  it('refuses a second spec of the same type', () => {
    const registry = new Registry([simulator]);
    expect(() => registry.register({ ...simulator })).toThrow('node type "simulator" is already registered');
    expect(registry.get('simulator')).toBe(simulator);
  });

  it('refuses malformed specs when they are registered', () => {
    const registry = new Registry();
    expect(() => registry.register({ ...simulator, type: '' })).toThrow(/"type" must be a non-empty string/);
    expect(() => registry.register({ ...simulator, kind: 'filter' } as unknown as NodeSpec)).toThrow(/"kind"/);
    expect(() => registry.register({ ...rollup, output: 'rows' } as unknown as NodeSpec)).toThrow(/"output" must be one of samples/);
    expect(() => registry.register({ ...alertLog, input: undefined } as unknown as NodeSpec)).toThrow(/"input"/);
    expect(() => registry.register({ ...rollup, maxInputs: 0 })).toThrow(/"maxInputs"/);
    expect(registry.types()).toEqual([]);
  });

  it('compiles a spec\'s options schema once, however many pipelines use it', () => {
    let reads = 0;
    const schema = rollup.options;
    const counted = Object.defineProperty({ ...rollup, type: 'counted-rollup' }, 'options', {
      get: () => {
        reads++;
        return schema;
      },
    }) as NodeSpec;
    const registry = new Registry([simulator, counted, rollupStore]);
    const readsAtRegistration = reads;
    const def = { name: 'p', nodes: { s: { type: 'simulator' }, r: { type: 'counted-rollup', inputs: ['s'] }, o: { type: 'rollup-store', inputs: ['r'] } } };
    for (let i = 0; i < 5; i++) compile(def, registry);
    expect(reads - readsAtRegistration).toBe(1);
  });
});
