import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryDeadLetter } from '../../../engine/deadLetter.js';
import { silentLogger } from '../../../engine/log.js';
import { MemoryStore } from '../../../engine/memoryStore.js';
import { Metrics } from '../../../engine/metrics.js';
import { startOpsServer, type OpsServer } from '../../../engine/ops/server.js';
import { runPipeline, type RunnableNode } from '../../../engine/runtime.js';
import { RunStatus } from '../../../engine/runStatus.js';
import type { NodeSpec, SourceInstance } from '../../../engine/spec.js';
import type { SampleBatch } from '../../../engine/telemetry/schema.js';
import { discardSpec } from '../../../connectors/discard/discard.js';
import { watermarkSpec } from '../../../operators/time/watermark.js';
import { batchOf } from '../../helpers/samples.js';
import { parsePrometheusText, sampleValue } from './promText.js';

interface Reply {
  status: number;
  type: string | undefined;
  body: string;
}

function get(url: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let server: OpsServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function serve(status: RunStatus, metrics = new Metrics()): Promise<OpsServer> {
  server = await startOpsServer({ address: { host: '127.0.0.1', port: 0 }, status, metrics, log: silentLogger });
  return server;
}

describe('ops server', () => {
  it('answers /healthz always, /readyz by the run status, and nothing else', async () => {
    const status = new RunStatus();
    let connected = false;
    status.watchSource('telemetry', () => connected);
    const { url } = await serve(status);

    expect(await get(`${url}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    let r = await get(`${url}/readyz`);
    expect(r.status).toBe(503);
    expect(r.type).toBe('application/json');
    expect(JSON.parse(r.body)).toEqual({
      ready: false, phase: 'starting',
      reason: 'pipeline is starting; state store is not open; source "telemetry" is not connected',
      reasons: ['pipeline is starting', 'state store is not open', 'source "telemetry" is not connected'],
    });

    status.phase = 'running';
    status.storeOpen = true;
    expect(JSON.parse((await get(`${url}/readyz`)).body).reasons).toEqual(['source "telemetry" is not connected']);
    connected = true;
    r = await get(`${url}/readyz`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ready: true, phase: 'running' });
    status.phase = 'draining';
    expect((await get(`${url}/readyz`)).status).toBe(503);

    expect((await get(`${url}/nope`)).status).toBe(404);
    expect((await get(`${url}/metrics`, 'POST')).status).toBe(405);
    expect(await get(`${url}/healthz`, 'HEAD')).toMatchObject({ status: 200, body: '' });
  });

  it('refuses an address in use, naming it', async () => {
    const first = await serve(new RunStatus());
    await expect(startOpsServer({ address: first.address, status: new RunStatus(), metrics: new Metrics(), log: silentLogger }))
      .rejects.toThrow(`cannot listen on 127.0.0.1:${first.address.port}`);
  });

  it('serves the live counters, node timings and lag of a running pipeline, then readiness follows it to the end', async () => {
    const metrics = new Metrics();
    const status = new RunStatus();
    status.storeOpen = true;
    const { url } = await serve(status, metrics);

    // A source that emits three batches, then waits until the test lets it finish.
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    let emitted = 0;
    const source: NodeSpec = {
      type: 'held', kind: 'source', output: 'samples', summary: '', options: {},
      create: (): SourceInstance<SampleBatch> => ({
        async *read() {
          for (let b = 0; b < 3; b++) {
            yield batchOf(Array.from({ length: 100 }, (_, i) => ({ ts: 1_000_000 + b * 60_000 + i, host: `h${i % 5}`, component: 'c', rss: 1e6 + i })));
            emitted++;
          }
          await held;
        },
        ready: () => emitted > 0,
      }),
    };
    const specs = new Map<string, NodeSpec>([['held', source], ['watermark', watermarkSpec], ['discard', discardSpec]]);
    const nodes: RunnableNode[] = [
      { id: 'src', type: 'held', kind: 'source', inputs: [], output: 'samples', options: {} },
      { id: 'ordered', type: 'watermark', kind: 'operator', inputs: ['src'], output: 'samples', options: { lateness: '10m', dedupe: true } },
      { id: 'sink', type: 'discard', kind: 'sink', inputs: ['ordered'], output: null, options: {} },
    ];
    const run = runPipeline({
      nodes, specs: { get: (t) => specs.get(t) }, metrics, deadLetter: new MemoryDeadLetter(metrics), log: silentLogger,
      store: new MemoryStore(), status, checkpointEvery: 0,
    });
    while (metrics.total('rows_in') < 300) await new Promise((r) => setTimeout(r, 5));

    expect((await get(`${url}/readyz`)).status).toBe(200);
    const page = await get(`${url}/metrics`);
    expect(page.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const families = parsePrometheusText(page.body);
    expect(sampleValue(families, 'resin_rows_out_total', { node: 'src' })).toBe(300);
    expect(sampleValue(families, 'resin_items_out_total', { node: 'src' })).toBe(3);
    expect(sampleValue(families, 'resin_rows_in_total', { node: 'sink' })).toBe(300);
    expect(sampleValue(families, 'resin_node_seconds_count', { node: 'ordered', type: 'watermark' })).toBe(3);
    expect(sampleValue(families, 'resin_node_seconds_count', { node: 'sink', type: 'discard' })).toBe(3);
    expect(sampleValue(families, 'resin_newest_event_timestamp_seconds')).toBe((1_000_000 + 2 * 60_000 + 99) / 1000);
    expect(sampleValue(families, 'resin_watermark_timestamp_seconds', { node: 'ordered' })).toBe((1_000_000 + 2 * 60_000 + 99 - 600_000) / 1000);
    expect(sampleValue(families, 'resin_event_lag_seconds')).toBeGreaterThan(1e9);
    expect(sampleValue(families, 'resin_phase', { phase: 'running' })).toBe(1);

    release();
    await run;
    const r = await get(`${url}/readyz`);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).reasons).toEqual(['pipeline is stopped']);
    const after = parsePrometheusText((await get(`${url}/metrics`)).body);
    expect(sampleValue(after, 'resin_checkpoint_bytes', { part: 'ordered' })).toBeGreaterThan(0);
    // The watermark's per-series rings of recent samples, in memory.
    expect(sampleValue(after, 'resin_state_bytes', { part: 'ordered' })).toBeGreaterThan(0);
    expect(sampleValue(after, 'resin_checkpoints_total')).toBe(1);
  });
});
