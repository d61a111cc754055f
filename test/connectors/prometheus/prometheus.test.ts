import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheusSource, prometheusSourceSpec, type PrometheusSourceOptions } from '../../../connectors/prometheus/prometheus.js';
import { resolveOptions } from '../../../engine/pipeline/options.js';
import { rowObject, type SampleBatch } from '../../../engine/telemetry/schema.js';
import { freePort } from '../../helpers/http.js';
import { testContext } from '../../helpers/samples.js';

const MB = 1024 * 1024;
let scrapes = 0;

/** What a host running process-exporter, node_exporter and cAdvisor would serve, nginx growing 1 MB a scrape. */
function page(): string {
  scrapes++;
  return [
    '# HELP namedprocess_namegroup_memory_bytes number of bytes of memory in use',
    '# TYPE namedprocess_namegroup_memory_bytes gauge',
    `namedprocess_namegroup_memory_bytes{groupname="nginx",memtype="resident"} ${(40 + scrapes) * MB}`,
    'namedprocess_namegroup_memory_bytes{groupname="nginx",memtype="virtual"} 4.2e+09',
    `namedprocess_namegroup_memory_bytes{groupname="postgres",memtype="resident"} 2.62144e+08`,
    'namedprocess_namegroup_memory_bytes{groupname="broken",memtype="resident"} NaN',
    'namedprocess_namegroup_num_procs{groupname="nginx"} 5',
    '# TYPE node_memory_SUnreclaim_bytes gauge',
    'node_memory_SUnreclaim_bytes 2.8307456e+07',
    'node_memory_SReclaimable_bytes 1.04677376e+08',
    'node_memory_MemTotal_bytes 6.8719476736e+10',
    'container_memory_working_set_bytes{container="",id="/kubepods/pod1",namespace="prod",pod="api-7d9"} 9e+07',
    'container_memory_working_set_bytes{container="POD",namespace="prod",pod="api-7d9"} 1e+06',
    'container_memory_working_set_bytes{container="api",namespace="prod",pod="api-7d9"} 8.5e+07 1767225600000',
    'node_memory_PageTables_bytes{cut="short 1',
    '',
  ].join('\n');
}

const servers: Server[] = [];
const urls = { good: '', slow: '', failing: '', closed: '' };

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/metrics`;
}

beforeAll(async () => {
  urls.good = await serve((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }); res.end(page()); });
  urls.slow = await serve((_req, res) => { setTimeout(() => { res.writeHead(200); res.end('node_memory_SUnreclaim_bytes 1\n'); }, 6000); });
  urls.failing = await serve((_req, res) => { res.writeHead(500); res.end('exporter broke'); });
  urls.closed = `http://127.0.0.1:${await freePort()}/metrics`;
});
afterAll(() => {
  for (const s of servers) s.closeAllConnections();
  for (const s of servers) s.close();
});

describe('prometheus source', () => {
  it('scrapes a real /metrics page every interval into samples, counting each target\'s failures by reason', async () => {
    const { ctx, metrics, deadLetter } = testContext('scrape');
    const stop = new AbortController();
    const options = resolveOptions<PrometheusSourceOptions>(prometheusSourceSpec, {
      targets: [{ url: urls.good, host: 'node-7', cluster: 'c1' }, urls.slow, urls.failing, urls.closed],
      // Generous for a loaded machine: the page server answers in a millisecond when it gets the CPU.
      interval: '2s', timeout: '1500ms', presets: ['process-exporter', 'node-exporter', 'cadvisor'],
    });
    const source = prometheusSource(options, { ...ctx, signal: stop.signal });
    const it = source.read()[Symbol.asyncIterator]();
    const rows = (b: SampleBatch) => Array.from({ length: b.data.numRows }, (_, i) => rowObject(b.data, i));
    try {
      const first = rows((await it.next()).value!);
      const byProcess = Object.fromEntries(first.map((r) => [`${r.component}/${r.process}`, r]));
      expect(Object.keys(byProcess).sort()).toEqual([
        'api/prod/api-7d9', 'kernel.meminfo.reclaimable/SReclaimable', 'kernel.meminfo/SUnreclaim', 'nginx/nginx', 'postgres/postgres',
      ]);
      expect(byProcess['nginx/nginx']).toMatchObject({ host: 'node-7', cluster: 'c1', rss: 41 * MB });
      expect(byProcess['kernel.meminfo/SUnreclaim']!.rss).toBe(28307456);
      // A sample's own timestamp wins over the scrape time.
      expect(byProcess['api/prod/api-7d9']).toMatchObject({ rss: 8.5e7, ts: 1767225600000 });
      const scrapeTs = byProcess['nginx/nginx']!.ts as number;
      expect(Math.abs(scrapeTs - Date.now())).toBeLessThan(5000);

      const second = rows((await it.next()).value!);
      const nginx = second.find((r) => r.process === 'nginx')!;
      expect(nginx.rss).toBe(42 * MB);
      expect((nginx.ts as number) - scrapeTs).toBeGreaterThanOrEqual(1000);

      const errors = (reason: string, url: string) => metrics.total('prometheus_scrape_errors', { reason, target: url });
      expect(errors('timeout', urls.slow)).toBe(2);
      expect(errors('http_status', urls.failing)).toBe(2);
      expect(errors('connection', urls.closed)).toBe(2);
      expect(metrics.total('prometheus_scrape_errors', { target: urls.good })).toBe(0);
      expect(metrics.total('prometheus_scrapes', { target: urls.good })).toBe(2);
      expect(metrics.gauge('prometheus_target_up', { node: 'scrape', target: urls.good }).value).toBe(1);
      expect(metrics.gauge('prometheus_target_up', { node: 'scrape', target: urls.slow }).value).toBe(0);
      // Per scrape: the NaN sample and the broken line of a wanted metric (lines of other metrics are not read past their name).
      expect(metrics.byLabel('samples_rejected', 'reason')).toEqual({ not_finite: 2, invalid_exposition: 2 });
      const bad = deadLetter.rejections.find((r) => r.reason === 'invalid_exposition')!;
      expect(bad).toMatchObject({ source: `prometheus:${urls.good}`, line: 15, record: 'node_memory_PageTables_bytes{cut="short 1' });
    } finally {
      stop.abort();
      await it.return?.();
    }
  }, 30_000);

  it('refuses targets that are not http URLs and a timeout above the interval, when built', () => {
    const { ctx } = testContext('scrape');
    const build = (o: Record<string, unknown>) => prometheusSource(resolveOptions<PrometheusSourceOptions>(prometheusSourceSpec, { presets: ['node-exporter'], ...o }), ctx);
    expect(() => build({ targets: ['ftp://x/metrics'] })).toThrow(/"targets"\[0\]: "ftp:\/\/x\/metrics" is not an http/);
    expect(() => build({ targets: ['not a url'] })).toThrow(/is not a URL/);
    expect(() => build({ targets: ['http://x/metrics'], interval: '5s', timeout: '10s' })).toThrow(/"timeout" must be/);
  });
});
