import { hostname } from 'node:os';
import { KernelSampler } from '../../connectors/agent/kernel.js';
import { METRICS_REQUEST } from '../../connectors/otlp/decode.js';
import { otlpSource, otlpSourceSpec, type OtlpSourceOptions } from '../../connectors/otlp/otlp.js';
import { parseExposition } from '../../connectors/prometheus/exposition.js';
import { MemoryDeadLetter } from '../../engine/deadLetter.js';
import { Flow } from '../../engine/flow.js';
import { HostActivity } from '../../engine/hostActivity.js';
import { silentLogger } from '../../engine/log.js';
import { MemoryStore } from '../../engine/memoryStore.js';
import { Metrics } from '../../engine/metrics.js';
import { resolveOptions } from '../../engine/pipeline/options.js';
import type { NodeContext } from '../../engine/spec.js';
import { SeriesCatalog } from '../../engine/telemetry/series.js';
import { flag, quantile } from '../lib.js';

/**
 * What the ingestion paths cost on this machine:
 * - the agent's kernel sampling (slabinfo + meminfo) per cycle, CPU ms;
 * - the otlp source end to end over HTTP on loopback: requests of `--points` data
 *   points (one resource per process, as the hostmetrics scraper sends them),
 *   `--concurrency` in flight, each answered once its batch was taken; points/s,
 *   protobuf and JSON;
 * - the Prometheus exposition parser over a page of 20,000 lines of which 2,000 are
 *   mapped; lines/s.
 *
 *   npm run build && node dist/bench/ingest/ingest.js [--points 1000] [--requests 200] [--concurrency 8]
 */

const POINTS = flag('points', 1000);
const REQUESTS = flag('requests', 200);
/** Requests in flight at once (a Collector's sending queue has 10 consumers by default). */
const CONCURRENCY = flag('concurrency', 8);

const Request = METRICS_REQUEST;

function request(points: number, ts: number): unknown {
  const nanos = String(BigInt(ts) * 1_000_000n);
  return {
    resourceMetrics: Array.from({ length: points }, (_, i) => ({
      resource: { attributes: [
        { key: 'host.name', value: { stringValue: `host-${i % 50}` } },
        { key: 'process.executable.name', value: { stringValue: `svc-${i % 20}` } },
        { key: 'process.pid', value: { intValue: 1000 + i } },
      ] },
      scopeMetrics: [{ metrics: [{ name: 'process.memory.usage', unit: 'By', sum: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: nanos, asInt: 1e8 + i }] } }] }],
    })),
  };
}

function kernel(): Record<string, number> {
  const k = new KernelSampler({ host: hostname() });
  const cpu: number[] = [];
  let rows = 0;
  for (let i = 0; i < 30; i++) {
    const c = process.cpuUsage();
    rows = k.sample(Date.now()).rows;
    const u = process.cpuUsage(c);
    cpu.push((u.user + u.system) / 1000);
  }
  return { kernel_rows: rows, kernel_cycle_cpu_ms_median: Math.round(quantile(cpu, 0.5) * 100) / 100, slabinfo_readable: k.slabUnreadable ? 0 : 1 };
}

async function otlp(encoding: 'protobuf' | 'json'): Promise<number> {
  const metrics = new Metrics();
  const stop = new AbortController();
  const ctx: NodeContext = {
    id: 'otlp', metrics, deadLetter: new MemoryDeadLetter(metrics), flow: new Flow(), log: silentLogger, catalog: new SeriesCatalog(),
    store: new MemoryStore(), signal: stop.signal, hosts: new HostActivity(),
  };
  const port = 20000 + Math.floor(Math.random() * 20000);
  const source = otlpSource(resolveOptions<OtlpSourceOptions>(otlpSourceSpec, { listen: `127.0.0.1:${port}`, max_wait: '1ms' }), ctx);
  const drain = (async () => { for await (const _ of source.read()) { /* the graph takes it at once */ } })();
  const url = `http://127.0.0.1:${port}/v1/metrics`;
  await new Promise((r) => setTimeout(r, 200));
  const msg = Request.fromObject(request(POINTS, Date.now()) as Record<string, unknown>);
  const body = encoding === 'json' ? JSON.stringify(Request.toObject(msg, { longs: String })) : Request.encode(msg).finish();
  const headers = { 'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf' };
  const t0 = performance.now();
  let sent = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (sent++ < REQUESTS) {
      const r = await fetch(url, { method: 'POST', body, headers });
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      await r.arrayBuffer();
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  stop.abort();
  await source.close?.();
  await drain;
  if (metrics.total('otlp_points', { result: 'accepted' }) !== POINTS * REQUESTS) throw new Error('points lost');
  return Math.round((POINTS * REQUESTS) / seconds);
}

function exposition(): number {
  const lines: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    lines.push(i % 10 === 0
      ? `namedprocess_namegroup_memory_bytes{groupname="g${i}",memtype="resident"} ${1e8 + i}`
      : `go_gc_duration_seconds{quantile="0.${i % 10}",instance="x${i}"} 0.00${i}`);
  }
  const page = lines.join('\n');
  let n = 0;
  const t0 = performance.now();
  for (let k = 0; k < 20; k++) parseExposition(page, (name) => name === 'namedprocess_namegroup_memory_bytes', () => { n++; }, () => {});
  const seconds = (performance.now() - t0) / 1000;
  if (n !== 40_000) throw new Error('samples lost');
  return Math.round((20 * lines.length) / seconds);
}

console.log(JSON.stringify({
  ...kernel(),
  otlp_protobuf_points_per_s: await otlp('protobuf'),
  otlp_json_points_per_s: await otlp('json'),
  exposition_lines_per_s: exposition(),
  points_per_request: POINTS,
  requests: REQUESTS,
  concurrency: CONCURRENCY,
}, null, 2));
