import { describe, expect, it } from 'vitest';
import { parseExposition, type ExpositionSample } from '../../../connectors/prometheus/exposition.js';
import { compileMappings } from '../../../connectors/prometheus/mapping.js';

function parse(text: string, wanted: (n: string) => boolean = () => true) {
  const samples: [ExpositionSample, number][] = [];
  const errors: [string, string, number][] = [];
  parseExposition(text, wanted, (s, line) => samples.push([s, line]), (m, raw, line) => errors.push([m, raw, line]));
  return { samples, errors };
}

describe('Prometheus text exposition', () => {
  it('reads names, labels with escapes, special values and timestamps; skips comments and blanks', () => {
    const { samples, errors } = parse([
      '# HELP x_bytes Memory.',
      '# TYPE x_bytes gauge',
      'x_bytes{a="1",b="say \\"hi\\"\\n",c="back\\\\slash"} 1.5e+06 1767225600000',
      '',
      'x_bytes 42',
      '  x_bytes{ a = "2" , } -Inf',
      'x_bytes{a="3"} NaN',
      'up:ratio{job="a"}\t+Inf\r',
    ].join('\n'));
    expect(errors).toEqual([]);
    expect(samples.map(([s, line]) => [s.name, Object.fromEntries(s.labels), s.value, s.timestamp, line])).toEqual([
      ['x_bytes', { a: '1', b: 'say "hi"\n', c: 'back\\slash' }, 1.5e6, 1767225600000, 3],
      ['x_bytes', {}, 42, null, 5],
      ['x_bytes', { a: '2' }, -Infinity, null, 6],
      ['x_bytes', { a: '3' }, NaN, null, 7],
      ['up:ratio', { job: 'a' }, Infinity, null, 8],
    ]);
  });

  it('refuses broken lines one by one, with their line numbers, and keeps the rest', () => {
    const { samples, errors } = parse([
      'ok 1',
      '9starts_with_digit 1',
      'x{a="1"',
      'x{a=1} 2',
      'x{a="1",a="2"} 3',
      'x{a="\\t"} 4',
      'x abc',
      'x 1 1.5',
      'x',
      'x 1 2 3',
      'ok 2',
    ].join('\n'));
    expect(samples.map(([s]) => s.value)).toEqual([1, 2]);
    expect(errors.map(([, , line]) => line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(errors[0]![0]).toMatch(/cannot start with "9"/);
    expect(errors[2]![0]).toMatch(/quoted value/);
    expect(errors[3]![0]).toMatch(/given twice/);
    expect(errors[5]![0]).toMatch(/not a number/);
  });

  it('does not parse the labels of metrics it does not want', () => {
    const { samples, errors } = parse('other{broken 1\nwanted 2\n', (n) => n === 'wanted');
    expect(errors).toEqual([]);
    expect(samples.map(([s]) => s.name)).toEqual(['wanted']);
  });
});

describe('metric mappings', () => {
  it('presets map process-exporter, node_exporter and cAdvisor series', () => {
    const m = compileMappings(['process-exporter', 'node-exporter', 'cadvisor'], []);
    const labels = (o: Record<string, string>) => new Map(Object.entries(o));
    const pe = m.get('namedprocess_namegroup_memory_bytes')![0]!;
    expect(pe.matches(labels({ groupname: 'nginx', memtype: 'resident' }))).toBe(true);
    expect(pe.matches(labels({ groupname: 'nginx', memtype: 'virtual' }))).toBe(false);
    expect(pe.componentOf(labels({ groupname: 'nginx' }))).toBe('nginx');
    const sr = m.get('node_memory_SReclaimable_bytes')![0]!;
    expect([sr.componentOf(new Map()), sr.processOf(new Map())]).toEqual(['kernel.meminfo.reclaimable', 'SReclaimable']);
    expect(m.get('node_memory_SUnreclaim_bytes')![0]!.componentOf(new Map())).toBe('kernel.meminfo');
    const ca = m.get('container_memory_working_set_bytes')![0]!;
    expect(ca.matches(labels({ container: 'api', pod: 'api-7d9', namespace: 'prod' }))).toBe(true);
    expect(ca.matches(labels({ container: 'POD', pod: 'api-7d9' }))).toBe(false);
    expect(ca.matches(labels({ container: '', pod: 'api-7d9' }))).toBe(false);
    expect(ca.processOf(labels({ container: 'api', pod: 'api-7d9', namespace: 'prod' }))).toBe('prod/api-7d9');
  });

  it('refuses an unknown preset, a bad pattern and an empty mapping, naming them', () => {
    expect(() => compileMappings(['prometheus'], [])).toThrow(/unknown preset "prometheus"/);
    expect(() => compileMappings([], [{ metric: 'x', match: { a: '(' }, component: 'c' }])).toThrow(/"mappings"\[0\]\.match\.a: not a regular expression/);
    expect(() => compileMappings([], [])).toThrow(/at least one metric/);
  });
});
