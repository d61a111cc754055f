import { describe, expect, it } from 'vitest';
import { MAX_STRING_LENGTH } from '../../../engine/telemetry/schema.js';
import {
  emptyRaw, numberFromText, rawFromObject, SampleRow, validateSample, type Invalid,
} from '../../../engine/telemetry/validate.js';

const GOOD = { ts: 1767225600000, host: 'node-1', component: 'vmm', process: 'vmmem', pid: 4312, rss: 231211008, host_mem: 68719476736 };

function check(o: Record<string, unknown>): { problem: Invalid | null; row: SampleRow } {
  const raw = emptyRaw();
  rawFromObject(o, raw);
  const row = new SampleRow();
  return { problem: validateSample(raw, row), row };
}

function verdict(o: Record<string, unknown>): string {
  const { problem } = check(o);
  return problem ? `${problem.reason}:${problem.field}` : 'ok';
}

describe('validateSample', () => {
  it('accepts a full sample and copies every field', () => {
    const { problem, row } = check({ ...GOOD, region: 'eu', cluster: 'c1', version: '1.2', extra: { nested: true } });
    expect(problem).toBeNull();
    expect({ ...row }).toEqual({ ...GOOD, region: 'eu', cluster: 'c1', version: '1.2' });
  });

  it('marks absent optional values as -1 or null', () => {
    const { problem, row } = check({ ts: 0, host: 'h', component: 'c', rss: 0 });
    expect(problem).toBeNull();
    expect([row.process, row.pid, row.host_mem, row.region, row.cluster, row.version]).toEqual([null, -1, -1, null, null, null]);
  });

  it.each(['ts', 'host', 'component', 'rss'])('refuses a sample without %s, absent or null', (field) => {
    const without = { ...GOOD } as Record<string, unknown>;
    delete without[field];
    expect(verdict(without)).toBe(`missing_field:${field}`);
    expect(verdict({ ...GOOD, [field]: null })).toBe(`missing_field:${field}`);
  });

  it('treats an empty string as absent: missing when required, nothing when optional', () => {
    expect(verdict({ ...GOOD, host: '' })).toBe('missing_field:host');
    const { problem, row } = check({ ...GOOD, process: '', region: '' });
    expect(problem).toBeNull();
    expect([row.process, row.region]).toEqual([null, null]);
  });

  it.each([
    ['ts', '1767225600000'], ['ts', 1.5], ['ts', 2 ** 53], ['host', 42], ['component', ['vmm']], ['rss', '231MB'],
    ['rss', true], ['pid', 1.5], ['pid', 2 ** 31], ['pid', 'x'], ['host_mem', {}], ['process', 7], ['region', false],
  ])('refuses %s = %j as wrong_type', (field, value) => {
    expect(verdict({ ...GOOD, [field]: value })).toBe(`wrong_type:${field}`);
  });

  it.each(['ts', 'rss', 'pid', 'host_mem'])('refuses a negative %s', (field) => {
    expect(verdict({ ...GOOD, [field]: -1 })).toBe(`negative_value:${field}`);
  });

  it.each([NaN, Infinity, -Infinity])('refuses rss = %s as not_finite', (value) => {
    expect(verdict({ ...GOOD, rss: value })).toBe('not_finite:rss');
    expect(verdict({ ...GOOD, host_mem: value })).toBe('not_finite:host_mem');
  });

  it('refuses strings over the limit and accepts one at it', () => {
    expect(verdict({ ...GOOD, host: 'h'.repeat(MAX_STRING_LENGTH) })).toBe('ok');
    for (const field of ['host', 'component', 'process', 'region', 'cluster', 'version']) {
      expect(verdict({ ...GOOD, [field]: 'h'.repeat(MAX_STRING_LENGTH + 1) })).toBe(`string_too_long:${field}`);
    }
  });

  it('reports the first broken field in schema order and says what was wrong', () => {
    const { problem } = check({ ...GOOD, ts: -5, rss: 'x' });
    expect(problem).toEqual({ reason: 'negative_value', field: 'ts', detail: '"ts" must be >= 0, got -5' });
    expect(check({ ...GOOD, rss: '231MB' }).problem!.detail).toBe('"rss" must be a number, got "231MB"');
  });

  it('accepts fractional byte counts but not fractional timestamps or pids', () => {
    expect(verdict({ ...GOOD, rss: 1.5, host_mem: 0.25 })).toBe('ok');
    expect(verdict({ ...GOOD, ts: 1767225600000.5 })).toBe('wrong_type:ts');
  });
});

describe('numberFromText', () => {
  it.each([
    ['', undefined], ['  ', undefined], ['12', 12], [' 12 ', 12], ['-3', -3], ['1e3', 1000], ['2.5', 2.5], ['.5', 0.5],
    ['1e999', Infinity], ['-1e999', -Infinity], ['NaN', NaN], ['nan', NaN], ['inf', Infinity], ['-Infinity', -Infinity],
    ['0x10', '0x10'], ['12abc', '12abc'], ['231MB', '231MB'], ['1,000', '1,000'],
  ])('reads %j as %s', (text, value) => {
    expect(numberFromText(text)).toEqual(value);
  });

  it('lets validation refuse non-numeric text as wrong_type and NaN as not_finite', () => {
    expect(verdict({ ...GOOD, rss: numberFromText('abc') })).toBe('wrong_type:rss');
    expect(verdict({ ...GOOD, rss: numberFromText('NaN') })).toBe('not_finite:rss');
    expect(verdict({ ...GOOD, pid: numberFromText('') })).toBe('ok');
  });
});
