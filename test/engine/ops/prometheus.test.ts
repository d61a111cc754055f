import { describe, expect, it } from 'vitest';
import { Metrics } from '../../../engine/metrics.js';
import { renderMetrics } from '../../../engine/ops/metricsPage.js';
import { escapeLabelValue, Exposition, sanitizeName } from '../../../engine/ops/prometheus.js';
import { RunStatus } from '../../../engine/runStatus.js';
import { parsePrometheusText, sampleValue } from './promText.js';

const MEMORY = { rss: 300e6, heapUsed: 80e6, heapTotal: 120e6, external: 20e6, arrayBuffers: 15e6 };

describe('Prometheus text format', () => {
  it('escapes label values so that any string reads back as itself', () => {
    const nasty = 'a\\b "quoted"\nnext line, {x="y"} é';
    const x = new Exposition();
    const f = x.family('t_total', 'counter', 'help with \\ and\nnewline');
    x.sample(f, { path: nasty, 'bad-name': 'v' }, 3);
    const text = x.text();
    expect(text).toContain(`path="${escapeLabelValue(nasty)}"`);
    expect(text.split('\n').filter(Boolean)).toHaveLength(3); // no raw line feed leaked
    const parsed = parsePrometheusText(text);
    const sample = parsed.get('t_total')!.samples[0]!;
    expect(sample.labels).toEqual({ path: nasty, bad_name: 'v' });
    expect(sample.value).toBe(3);
    expect(parsed.get('t_total')!.help).toBe('help with \\\\ and\\nnewline');
  });

  it('makes any counter name a valid metric name, and refuses a family declared twice', () => {
    expect(sanitizeName('rows-out.total')).toBe('rows_out_total');
    expect(sanitizeName('9lives')).toBe('_9lives');
    const x = new Exposition();
    x.family('a', 'gauge', 'h');
    expect(() => x.family('a', 'gauge', 'h')).toThrow(/declared twice/);
  });

  it('the test parser itself refuses what Prometheus refuses', () => {
    const ok = '# HELP a_total x\n# TYPE a_total counter\na_total{k="v"} 1\n';
    expect(() => parsePrometheusText(ok)).not.toThrow();
    expect(() => parsePrometheusText('a_total 1\n')).toThrow(/no TYPE/);
    expect(() => parsePrometheusText(ok + '# TYPE b gauge\nb 1\na_total{k="w"} 2\n')).toThrow(/not next to/);
    expect(() => parsePrometheusText(ok.replace('"v"', '"v\\q"'))).toThrow(/bad escape/);
    expect(() => parsePrometheusText(ok + 'a_total{k="v"} 2\n')).toThrow(/duplicate series/);
    expect(() => parsePrometheusText('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n')).toThrow(/cumulative/);
    expect(() => parsePrometheusText(ok.trimEnd())).toThrow(/line feed/);
  });

  it('renders every counter, gauge and histogram of a run with run status and memory, and it parses strictly', () => {
    const m = new Metrics();
    m.inc('rows_out', { node: 'telemetry' }, 1000);
    m.inc('samples_rejected', { reason: 'late' }, 7);
    m.inc('samples_rejected', { reason: 'invalid_json' }, 2);
    m.inc('alerts', { level: 'process', state: 'open' }, 3);
    m.inc('some_new_counter');
    m.gauge('checkpoint_bytes', { part: 'hourly' }).value = 4096;
    const h = m.histogram('node_seconds', { node: 'hourly', type: 'rollup' });
    for (const v of [0.00005, 0.002, 0.002, 0.3, 20]) h.observe(v);
    const status = new RunStatus();
    status.phase = 'running';
    status.storeOpen = true;
    status.observeEventTime(1_700_000_000_000);
    status.watermarks.set('ordered', 1_699_999_400_000);
    const now = 1_700_000_060_000;

    const families = parsePrometheusText(renderMetrics(m, status, now, MEMORY));
    expect(families.get('resin_rows_out_total')!.type).toBe('counter');
    expect(sampleValue(families, 'resin_rows_out_total', { node: 'telemetry' })).toBe(1000);
    expect(sampleValue(families, 'resin_samples_rejected_total', { reason: 'late' })).toBe(7);
    expect(sampleValue(families, 'resin_samples_rejected_total', { reason: 'invalid_json' })).toBe(2);
    expect(sampleValue(families, 'resin_alerts_total', { level: 'process', state: 'open' })).toBe(3);
    expect(families.get('resin_some_new_counter_total')!.help).toMatch(/some_new_counter/);
    expect(sampleValue(families, 'resin_checkpoint_bytes', { part: 'hourly' })).toBe(4096);
    // 0.00005 <= 0.0001; two at 0.002 <= 0.0025; 0.3 <= 0.5; 20 only in +Inf.
    expect(sampleValue(families, 'resin_node_seconds_bucket', { node: 'hourly', le: '0.0001' })).toBe(1);
    expect(sampleValue(families, 'resin_node_seconds_bucket', { node: 'hourly', le: '0.0025' })).toBe(3);
    expect(sampleValue(families, 'resin_node_seconds_bucket', { node: 'hourly', le: '0.5' })).toBe(4);
    expect(sampleValue(families, 'resin_node_seconds_bucket', { node: 'hourly', le: '10' })).toBe(4);
    expect(sampleValue(families, 'resin_node_seconds_bucket', { node: 'hourly', le: '+Inf' })).toBe(5);
    expect(sampleValue(families, 'resin_node_seconds_sum', { node: 'hourly' })).toBeCloseTo(20.30405, 6);
    expect(sampleValue(families, 'resin_ready')).toBe(1);
    expect(sampleValue(families, 'resin_phase', { phase: 'running' })).toBe(1);
    expect(sampleValue(families, 'resin_phase', { phase: 'draining' })).toBe(0);
    expect(sampleValue(families, 'resin_event_lag_seconds')).toBe(60);
    expect(sampleValue(families, 'resin_watermark_lag_seconds', { node: 'ordered' })).toBe(660);
    expect(sampleValue(families, 'resin_process_resident_memory_bytes')).toBe(300e6);
    expect(sampleValue(families, 'resin_process_heap_used_bytes')).toBe(80e6);
  });

  it('leaves event-time gauges out until an event has been seen, and reports not ready before running', () => {
    const families = parsePrometheusText(renderMetrics(new Metrics(), new RunStatus(), Date.now(), MEMORY));
    expect(families.has('resin_event_lag_seconds')).toBe(false);
    expect(families.has('resin_watermark_lag_seconds')).toBe(false);
    expect(sampleValue(families, 'resin_ready')).toBe(0);
    expect(sampleValue(families, 'resin_phase', { phase: 'starting' })).toBe(1);
  });
});
