import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDbStore } from '../../connectors/duckdb/store.js';
import { FleetSimulator } from '../../connectors/simulator/simulator.js';
import { PACKAGE_ROOT } from '../../engine/cli/paths.js';
import type { Summary } from '../../engine/cli/summary.js';
import { floatColumn } from '../../engine/telemetry/schema.js';
import { parsePrometheusText, sampleValue } from '../engine/ops/promText.js';

/**
 * `resin run` as an orchestrator sees it: a child process started from the sources
 * (test/helpers/ts-register.mjs), probed over HTTP, stopped with SIGTERM.
 */

const dir = mkdtempSync(join(tmpdir(), 'resin-sidecar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOUR = 3_600_000;
const SIM = { hosts: 300, components: 6, days: 60, seed: 7, batch_size: 16_384 };

interface Child {
  proc: ChildProcess;
  lines: () => Record<string, unknown>[];
  exited: Promise<number | null>;
  /** Resolves with the URL of the ops endpoint once the child logs it. */
  url: Promise<string>;
}

function startRun(args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, ['--import', join(PACKAGE_ROOT, 'test/helpers/ts-register.mjs'), join(PACKAGE_ROOT, 'engine/cli/bin.ts'), 'run', ...args], {
    cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let resolveUrl!: (u: string) => void;
  const url = new Promise<string>((r) => { resolveUrl = r; });
  const parsed = () => err.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    const serving = parsed().find((l) => l.msg === 'serving /healthz, /readyz and /metrics');
    if (serving) resolveUrl(serving.url as string);
  });
  proc.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, lines: parsed, exited, url };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject).end();
  });
}

function pipelineFile(name: string, alerts: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, `name: ${name}
run:
  http: 127.0.0.1:0
  log_format: json
  checkpoint_every: 500ms
nodes:
  telemetry:
    type: simulator
    options: ${JSON.stringify(SIM)}
  ordered:
    type: watermark
    inputs: [telemetry]
  hourly:
    type: rollup
    inputs: [ordered]
    options: { retention: 400d }
  buckets:
    type: bucketize
    inputs: [hourly]
  fleet:
    type: bucket-anomaly
    inputs: [buckets]
  alerts:
    type: alert-log
    inputs: [fleet]
    options: { path: ${JSON.stringify(alerts)} }
`);
  return path;
}

const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).length : 0);

describe('resin run as a sidecar', () => {
  it('serves parseable /metrics mid-run; SIGTERM drains and exits 0 with every emitted sample accounted for', async () => {
    const state = join(dir, 'state.duckdb');
    const alerts = join(dir, 'alerts.ndjson');
    const deadLetter = join(dir, 'rejected.ndjson');
    const child = startRun(['--pipeline', pipelineFile('sigterm', alerts), '--state', state, '--dead-letter', deadLetter]);
    const url = await child.url;

    // Mid-run: several batches in, far from the simulator's end.
    let families = parsePrometheusText((await get(`${url}/metrics`)).body);
    while ((sampleValue(families, 'resin_items_out_total', { node: 'telemetry' }) ?? 0) < 8) {
      await new Promise((r) => setTimeout(r, 50));
      families = parsePrometheusText((await get(`${url}/metrics`)).body);
    }
    expect((await get(`${url}/healthz`)).status).toBe(200);
    expect((await get(`${url}/readyz`)).status).toBe(200);
    const rowsOut = sampleValue(families, 'resin_rows_out_total', { node: 'telemetry' })!;
    expect(rowsOut).toBeGreaterThan(0);
    expect(sampleValue(families, 'resin_simulator_samples_total', { fate: 'sent' })).toBeGreaterThanOrEqual(rowsOut);
    for (const [node, type] of [['ordered', 'watermark'], ['hourly', 'rollup'], ['buckets', 'bucketize']]) {
      expect(sampleValue(families, 'resin_node_seconds_count', { node, type }), node).toBeGreaterThan(0);
    }
    expect(sampleValue(families, 'resin_node_seconds_count', { node: 'alerts', type: 'alert-log' })).toBeGreaterThanOrEqual(0);
    expect(families.get('resin_node_seconds')!.type).toBe('histogram');
    expect(sampleValue(families, 'resin_ready')).toBe(1);
    expect(sampleValue(families, 'resin_event_lag_seconds')).toBeGreaterThan(0);
    expect(sampleValue(families, 'resin_watermark_timestamp_seconds', { node: 'ordered' })).toBeGreaterThan(0);
    expect(sampleValue(families, 'resin_process_resident_memory_bytes')).toBeGreaterThan(10e6);
    expect(sampleValue(families, 'resin_process_heap_used_bytes')).toBeGreaterThan(1e6);

    child.proc.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    const log = child.lines();
    expect(log.find((l) => l.msg === 'stopping: draining in-flight batches')).toMatchObject({ level: 'info', signal: 'SIGTERM' });
    const stopped = log.find((l) => l.msg === 'stopped')!;
    expect(stopped.reason).toBe('signal');
    const summary = stopped.summary as Summary;

    // "Nothing lost": the source emitted a whole number of its batches before it stopped
    // (regenerated here, independently of the engine's counters); every sample of them is
    // either in an hourly rollup row in DuckDB (column n), or dropped as an exact duplicate,
    // or dead-lettered with a reason; the rollups cover every hour from the first sample to
    // the newest one emitted; operator checkpoints are saved; every alert is in the file.
    const total = new FleetSimulator(SIM).plan.seriesCount * new FleetSimulator(SIM).options.ticks;
    expect(summary.samples_read).toBeLessThan(total / 2); // stopped mid-run
    let emitted = 0, newest = -Infinity, first = Infinity;
    for (const b of new FleetSimulator(SIM).batches()) {
      if (emitted >= summary.samples_read) break;
      emitted += b.data.numRows;
      for (const t of floatColumn(b.data, 'ts')) { if (t > newest) newest = t; if (t < first) first = t; }
    }
    expect(emitted).toBe(summary.samples_read);
    const rejected = Object.values(summary.rejected).reduce((a, b) => a + b, 0);
    expect(summary.samples_accepted + summary.duplicates_dropped + rejected).toBe(summary.samples_read);
    expect(lines(deadLetter)).toBe(rejected);
    expect(lines(alerts)).toBe(Object.values(summary.alerts).reduce((a, b) => a + b, 0));

    const store = await DuckDbStore.open(state);
    try {
      const [r] = await store.query('SELECT sum(n)::BIGINT AS n, count(DISTINCT start) AS periods, min(start) AS lo, max(start) AS hi FROM rollups');
      expect(r!.n).toBe(summary.samples_accepted);
      expect(r!.lo).toBe(Math.floor(first / HOUR) * HOUR);
      expect(r!.hi).toBe(Math.floor(newest / HOUR) * HOUR);
      expect(r!.periods).toBe(((r!.hi as number) - (r!.lo as number)) / HOUR + 1);
      const keys = (await store.query('SELECT key FROM checkpoints ORDER BY key')).map((k) => k.key);
      expect(keys).toEqual(['catalog', 'node/fleet/bucket-anomaly', 'node/hourly/rollup', 'node/ordered/watermark']);
    } finally {
      await store.close();
    }
  });

  it('exits 1 after the drain timeout, logging what was still in flight', async () => {
    const child = startRun(['--pipeline', pipelineFile('slow', join(dir, 'slow-alerts.ndjson')), '--state', join(dir, 'slow.duckdb'),
      '--dead-letter', join(dir, 'slow-rejected.ndjson')], { RESIN_DRAIN_TIMEOUT: '1ms' });
    const url = await child.url;
    while ((sampleValue(parsePrometheusText((await get(`${url}/metrics`)).body), 'resin_items_out_total', { node: 'telemetry' }) ?? 0) < 2) {
      await new Promise((r) => setTimeout(r, 50));
    }
    child.proc.kill('SIGTERM');
    expect(await child.exited).toBe(1);
    const timedOut = child.lines().find((l) => l.msg === 'drain timed out: exiting with work still in flight')!;
    expect(timedOut).toMatchObject({ level: 'error', drain_timeout: '1ms' });
    const inFlight = timedOut.in_flight as { phase: string; step: string; sources_reading: string[]; async_work: number };
    expect(['draining', 'stopped']).toContain(inFlight.phase);
    expect(inFlight.step).toMatch(/\w/);
    expect(child.lines().some((l) => l.msg === 'stopped')).toBe(false);
  });

  it('logs a failure to start as a JSON error line and exits 1', async () => {
    const path = join(dir, 'nats-down.yaml');
    writeFileSync(path, `name: down
nodes:
  telemetry: { type: nats, options: { servers: "nats://127.0.0.1:1", subject: "x.>" } }
  sink: { type: discard, inputs: [telemetry] }
`);
    const child = startRun(['--pipeline', path, '--state', join(dir, 'down.duckdb'), '--http', 'off', '--log-format', 'json']);
    expect(await child.exited).toBe(1);
    const failed = child.lines().find((l) => l.msg === 'run failed')!;
    expect(failed.level).toBe('error');
    expect(failed.error).toMatch(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
    expect(child.lines().find((l) => l.msg === 'starting')).toMatchObject({ http: 'off' });
  });
});
