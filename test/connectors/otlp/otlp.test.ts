import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { afterAll, describe, expect, it } from 'vitest';
import { otlpSource } from '../../../connectors/otlp/otlp.js';
import type { Alert } from '../../../engine/alert.js';
import { PACKAGE_ROOT } from '../../../engine/cli/paths.js';
import { runSession } from '../../../engine/cli/session.js';
import { silentLogger } from '../../../engine/log.js';
import { Metrics } from '../../../engine/metrics.js';
import type { PipelineDefinition } from '../../../engine/pipeline/definition.js';
import { resolveOptions } from '../../../engine/pipeline/options.js';
import { otlpSourceSpec, type OtlpSourceOptions } from '../../../connectors/otlp/otlp.js';
import { rowObject } from '../../../engine/telemetry/schema.js';
import { freePort, until } from '../../helpers/http.js';
import { testContext } from '../../helpers/samples.js';

const MB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'resin-otlp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * One process as the Collector's hostmetrics process scraper describes it: a resource
 * with host.name, process.pid and process.executable.name, and process.memory.usage
 * (an up-down counter of bytes), exported every 200 ms by a real OTLP exporter.
 */
function processMeter(exporter: PushMetricExporter, attrs: Record<string, string | number>, bytes: () => number): MeterProvider {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 200, exportTimeoutMillis: 200 });
  const provider = new MeterProvider({ resource: resourceFromAttributes(attrs), readers: [reader] });
  provider.getMeter('hostmetrics/process').createObservableUpDownCounter('process.memory.usage', { unit: 'By' })
    .addCallback((r) => r.observe(bytes()));
  return provider;
}

function scaledPipeline(port: number, alertsFile: string) {
  return (def: PipelineDefinition) => {
    def.nodes!.telemetry = { type: 'otlp', options: { listen: `127.0.0.1:${port}`, max_wait: '50ms' } };
    def.nodes!.alerts = { type: 'alert-log', inputs: ['fleet', 'processes'], options: { path: alertsFile } };
  };
}

describe('otlp source: OpenTelemetry SDK exporters into detection', () => {
  it('alerts the leaking process sent as protobuf and the one sent as JSON, and neither steady one', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/v1/metrics`;
    const alerts: Alert[] = [];
    const stop = new AbortController();
    const metrics = new Metrics();
    const engine = runSession({
      pipeline: join(PACKAGE_ROOT, 'pipelines', 'nats-scaled.yaml'), edit: scaledPipeline(port, join(dir, 'alerts.ndjson')),
      state: join(dir, 'scaled.duckdb'), deadLetter: join(dir, 'rejected.ndjson'), log: silentLogger,
      signal: stop.signal, metrics, onAlert: (a) => alerts.push(a),
    });
    engine.catch(() => {});
    const started = Date.now();
    const leak = () => 200 * MB + ((Date.now() - started) / 1000) * 10 * MB;
    const steady = () => 300 * MB + Math.round(Math.random() * 4) * 4096;
    const providers: MeterProvider[] = [];
    try {
      await until('the receiver to listen', 10_000, async () => fetch(url, { method: 'GET' }).then(() => true, () => false));
      const proc = (host: string, exe: string, pid: number) => ({ 'host.name': host, 'service.name': exe, 'process.executable.name': exe, 'process.pid': pid });
      providers.push(
        processMeter(new ProtoExporter({ url }), proc('host-proto', 'api', 101), leak),
        processMeter(new ProtoExporter({ url }), proc('host-proto', 'db', 102), steady),
        processMeter(new JsonExporter({ url }), proc('host-json', 'cache', 201), leak),
        processMeter(new JsonExporter({ url }), proc('host-json', 'db', 202), steady),
      );
      // Two components: peers of one component growing alike would be a shared event, not a leak.
      const leakAlert = (host: string, component: string) => alerts.some((a) => a.level === 'process' && a.host === host && a.component === component && a.state === 'open');
      await until('alerts for both leaking processes', 60_000, () => leakAlert('host-proto', 'api') && leakAlert('host-json', 'cache'));
      // Time for a steady process to be (wrongly) reported too.
      await new Promise((r) => setTimeout(r, 3000));
    } finally {
      for (const p of providers) await p.shutdown().catch(() => {});
      stop.abort();
      await engine.catch(() => {});
    }
    const opened = alerts.filter((a) => a.level === 'process' && a.state === 'open');
    for (const [host, exe, pid] of [['host-proto', 'api', 101], ['host-json', 'cache', 201]] as const) {
      const a = opened.find((x) => x.host === host && x.component === exe)!;
      expect(a).toMatchObject({ process: exe, pid });
      expect(a.rate / 3600 / MB).toBeGreaterThan(5);
      expect(a.rate / 3600 / MB).toBeLessThan(15);
    }
    expect(opened.filter((a) => a.component === 'db')).toEqual([]);
    expect(metrics.total('otlp_points', { result: 'accepted' })).toBeGreaterThan(40);
    expect(metrics.total('otlp_points', { result: 'rejected' })).toBe(0);
    expect(metrics.total('otlp_requests', { code: '200' })).toBeGreaterThan(40);
  }, 90_000);
});

const otlpJson = (points: { host?: string; value: number; timeMs: number }[]) => JSON.stringify({
  resourceMetrics: points.map((p) => ({
    resource: { attributes: [
      ...(p.host ? [{ key: 'host.name', value: { stringValue: p.host } }] : []),
      { key: 'process.executable.name', value: { stringValue: 'nginx' } },
      { key: 'process.pid', value: { intValue: '4121' } },
    ] },
    scopeMetrics: [{ metrics: [
      { name: 'process.memory.usage', unit: 'By', sum: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: String(BigInt(p.timeMs) * 1_000_000n), asInt: String(p.value) }] } },
      { name: 'process.cpu.time', unit: 's', sum: { dataPoints: [{ timeUnixNano: String(BigInt(p.timeMs) * 1_000_000n), asDouble: 1.5 }] } },
    ] }],
  })),
});

describe('otlp source: bad requests', () => {
  it('answers 400 (413 too large, 415 a wrong type) with the reason, counts and dead-letters each, and reports refused points as partial success', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/v1/metrics`;
    const pipeline = join(dir, 'otlp-min.yaml');
    writeFileSync(pipeline, [
      'name: otlp-min', 'nodes:',
      '  telemetry:', '    type: otlp', `    options: { listen: "127.0.0.1:${port}", max_wait: 20ms, max_body_bytes: 4096 }`,
      '  ordered:', '    type: watermark', '    inputs: [telemetry]',
      '  sink:', '    type: discard', '    inputs: [ordered]',
    ].join('\n'));
    const deadLetter = join(dir, 'bad.ndjson');
    const metrics = new Metrics();
    const stop = new AbortController();
    const engine = runSession({ pipeline, deadLetter, log: silentLogger, signal: stop.signal, metrics });
    engine.catch(() => {});
    const post = (body: string | Uint8Array, headers: Record<string, string>) => fetch(url, { method: 'POST', body, headers });
    const json = { 'content-type': 'application/json' };
    try {
      await until('the receiver to listen', 10_000, async () => fetch(url).then(() => true, () => false));
      const cases: [string, Promise<Response>, number, RegExp][] = [
        ['protobuf that is not OTLP', post(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), { 'content-type': 'application/x-protobuf' }), 400, /protobuf/],
        ['text that is not JSON', post('{"resourceMetrics": [', json), 400, /not JSON/],
        ['JSON of the wrong shape', post('{"resourceMetrics": "all of them"}', json), 400, /array expected/],
        ['a JSON array', post('[1, 2]', json), 400, /not an object/],
        ['gzip that is not', post('plain', { ...json, 'content-encoding': 'gzip' }), 400, /gzip/],
        ['a media type of its own', post('x', { 'content-type': 'text/plain' }), 415, /Content-Type/],
        ['a body over max_body_bytes', post('{"resourceMetrics": []}'.padEnd(10_000), json), 413, /larger than 4096 bytes/],
        ['gzip that inflates past it', post(gzipSync(Buffer.alloc(100_000, 32)), { ...json, 'content-encoding': 'gzip' }), 413, /inflates to more than 4096/],
      ];
      for (const [what, response, status, reason] of cases) {
        const r = await response;
        expect(r.status, what).toBe(status);
        if (r.headers.get('content-type') === 'application/json') expect((await r.json() as { message: string }).message, what).toMatch(reason);
        else expect(Buffer.from(await r.arrayBuffer()).toString('latin1'), what).toMatch(reason);
      }

      // One good point, one without host.name, and a metric that is not taken; gzip as the Collector sends it.
      const now = Date.now();
      const mixed = await post(gzipSync(otlpJson([{ host: 'web-1', value: 50 * MB, timeMs: now }, { value: 60 * MB, timeMs: now }])), { ...json, 'content-encoding': 'gzip' });
      expect(mixed.status).toBe(200);
      const answer = await mixed.json() as { partialSuccess?: { rejectedDataPoints: string; errorMessage: string } };
      expect(answer.partialSuccess?.rejectedDataPoints).toBe('1');
      expect(answer.partialSuccess?.errorMessage).toMatch(/"host" is required/);
    } finally {
      stop.abort();
      await engine.catch(() => {});
    }
    expect(metrics.total('otlp_requests', { code: '400' })).toBe(5);
    expect(metrics.total('otlp_requests', { code: '415' })).toBe(1);
    expect(metrics.total('otlp_requests', { code: '413' })).toBe(2);
    expect(metrics.byLabel('samples_rejected', 'reason')).toEqual({ invalid_otlp: 8, missing_field: 1 });
    expect(metrics.total('otlp_points', { result: 'accepted' })).toBe(1);
    expect(metrics.total('otlp_points', { result: 'ignored' })).toBe(2);
    const letters = readFileSync(deadLetter, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(letters.filter((l) => l.reason === 'invalid_otlp')).toHaveLength(8);
    const missing = letters.find((l) => l.reason === 'missing_field')!;
    expect(missing).toMatchObject({ field: 'host', record: { metric: 'process.memory.usage', value: 60 * MB } });
  }, 60_000);
});

describe('otlp source: bounded while the graph is busy', () => {
  it('answers 429 beyond max_pending_rows, and 200 to a waiting request only once its batch is processed', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/v1/metrics`;
    const { ctx } = testContext('otlp');
    const stop = new AbortController();
    const options = resolveOptions<OtlpSourceOptions>(otlpSourceSpec, { listen: `127.0.0.1:${port}`, max_wait: '10ms', max_pending_rows: 2 });
    const source = otlpSource(options, { ...ctx, signal: stop.signal });
    const it = source.read()[Symbol.asyncIterator]();
    const first = it.next();
    const post = () => fetch(url, { method: 'POST', body: otlpJson([1, 2, 3].map((i) => ({ host: `h${i}`, value: i * MB, timeMs: Date.now() }))), headers: { 'content-type': 'application/json' } });
    try {
      await until('the receiver to listen', 10_000, async () => fetch(url).then(() => true, () => false));
      let settled = false;
      const waiting = post().then((r) => { settled = true; return r; });
      const batch = (await first).value!;
      expect(batch.data.numRows).toBe(3);
      expect(rowObject(batch.data, 0)).toMatchObject({ host: 'h1', component: 'nginx', process: 'nginx', pid: 4121, rss: MB });
      // The engine holds the batch: its request has no answer yet, and the next is shed.
      await new Promise((r) => setTimeout(r, 100));
      expect(settled).toBe(false);
      const shed = await post();
      expect(shed.status).toBe(429);
      expect(shed.headers.get('retry-after')).toBe('1');
      // Asking for the next batch says the graph is done with this one.
      const second = it.next();
      expect((await waiting).status).toBe(200);
      stop.abort();
      expect((await second).done).toBe(true);
    } finally {
      stop.abort();
      await it.return?.();
      await source.close?.();
    }
  });
});
