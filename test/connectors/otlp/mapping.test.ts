import { describe, expect, it } from 'vitest';
import { decodeMetricsRequest, nanosToMs } from '../../../connectors/otlp/decode.js';
import { MAPPING_DEFAULTS, mapRequest } from '../../../connectors/otlp/mapping.js';
import { SampleRow, validateSample, type RawSample } from '../../../engine/telemetry/validate.js';

const T = 1767225600123;
const attr = (key: string, value: string | number) => ({ key, value: typeof value === 'string' ? { stringValue: value } : { intValue: String(value) } });

function collect(body: unknown, mapping = MAPPING_DEFAULTS) {
  const req = decodeMetricsRequest(Buffer.from(JSON.stringify(body)), 'json');
  const out: { raw: Partial<RawSample>; problem: string | null; record: Record<string, unknown> }[] = [];
  const ignored = mapRequest(req, mapping, new Set(mapping.metrics), (raw, record, problem) => out.push({ raw: { ...raw }, problem, record: record() }));
  return { out, ignored };
}

const usage = (dataPoints: unknown[]) => ({ name: 'process.memory.usage', unit: 'By', sum: { dataPoints } });

describe('OTLP to samples', () => {
  it('takes service.name as the component when present, else the executable; point attributes override the resource', () => {
    const { out, ignored } = collect({
      resourceMetrics: [
        { resource: { attributes: [attr('host.name', 'h1'), attr('service.name', 'checkout'), attr('process.executable.name', 'java'), attr('process.pid', 77), attr('cloud.region', 'eu-west')] },
          scopeMetrics: [{ metrics: [usage([{ timeUnixNano: String(BigInt(T) * 1_000_000n + 456n), asInt: '1048576' }]), { name: 'process.cpu.time', sum: { dataPoints: [{ asDouble: 1 }, { asDouble: 2 }] } }] }] },
        { resource: { attributes: [attr('host.name', 'h1'), attr('process.executable.name', 'nginx')] },
          scopeMetrics: [{ metrics: [usage([{ timeUnixNano: String(T * 1e6), asDouble: 2.5e6, attributes: [attr('host.name', 'h2')] }])] }] },
      ],
    });
    expect(ignored).toBe(2);
    expect(out.map((o) => o.raw)).toEqual([
      expect.objectContaining({ ts: T, host: 'h1', component: 'checkout', process: 'java', pid: 77, rss: 1048576, region: 'eu-west' }),
      expect.objectContaining({ ts: T, host: 'h2', component: 'nginx', process: 'nginx', rss: 2.5e6 }),
    ]);
    const row = new SampleRow();
    for (const o of out) expect(validateSample(o.raw as RawSample, row)).toBeNull();
  });

  it('follows a configured component attribute, and leaves points the rules refuse to be judged', () => {
    const { out } = collect({
      resourceMetrics: [{ resource: { attributes: [attr('k8s.deployment.name', 'api'), attr('process.executable.name', 'node')] },
        scopeMetrics: [{ metrics: [usage([{ timeUnixNano: '0', asDouble: -1 }]), { name: 'process.memory.usage', histogram: { dataPoints: [{}] } }] }] }],
    }, { ...MAPPING_DEFAULTS, component_attributes: ['k8s.deployment.name'] });
    expect(out[0]!.raw).toMatchObject({ component: 'api', ts: undefined, host: undefined, rss: -1 });
    expect(validateSample(out[0]!.raw as RawSample, new SampleRow())).toMatchObject({ reason: 'missing_field', field: 'ts' });
    expect(out[0]!.record).toMatchObject({ metric: 'process.memory.usage', attributes: { 'k8s.deployment.name': 'api' }, value: -1 });
    expect(out[1]!.problem).toMatch(/is a histogram; a gauge or sum is expected/);
  });

  it('converts nanoseconds to whole milliseconds exactly, past 2^53', () => {
    expect(nanosToMs('1767225600123999999')).toBe(1767225600123);
    expect(nanosToMs(1.5e6)).toBe(1);
    expect(nanosToMs('x')).toBeNaN();
  });
});
