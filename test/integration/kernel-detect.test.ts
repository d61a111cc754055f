import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KERNEL_SLAB } from '../../connectors/agent/kernel.js';
import { mulberry32 } from '../../connectors/simulator/random.js';
import type { Alert } from '../../engine/alert.js';
import { PACKAGE_ROOT } from '../../engine/cli/paths.js';
import { runSession } from '../../engine/cli/session.js';
import { silentLogger } from '../../engine/log.js';
import type { PipelineDefinition } from '../../engine/pipeline/definition.js';

/**
 * A fleet's unreclaimable slab caches, as the agent reports them (component
 * kernel.slab, process = cache name, no pid), through the default pipeline
 * (pipelines/resin.yaml) at its own hourly periods. On 4 of 40 hosts one cache
 * (kmalloc-64) leaks 20 MB a day from day 5: the kind of kernel leak a driver that
 * forgets to free a small buffer per request makes. Every other cache follows the
 * host's load (a daily cycle) with noise, as slab caches do.
 */

const MB = 1024 * 1024;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.UTC(2026, 0, 5);
const DAYS = 21;
const STEP = 30 * 60_000;
const HOSTS = 40;
const CACHES: readonly [string, number][] = [
  ['kmalloc-64', 8], ['kmalloc-256', 30], ['kmalloc-1k', 45], ['task_struct', 12],
  ['vm_area_struct', 35], ['anon_vma_chain', 10], ['skbuff_head_cache', 8], ['filp', 20],
];
const LEAKING = new Set(['kernel-07', 'kernel-15', 'kernel-22', 'kernel-36']);
const LEAK_CACHE = 'kmalloc-64';
const LEAK_START = START + 5 * DAY;
const LEAK_PER_DAY = 20 * MB;

const dir = mkdtempSync(join(tmpdir(), 'resin-kernel-fleet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function writeFleet(path: string): Promise<number> {
  const next = mulberry32(11);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const hosts = Array.from({ length: HOSTS }, (_, h) => `kernel-${String(h).padStart(2, '0')}`);
  const base = hosts.map(() => CACHES.map(([, mb]) => mb * MB * Math.exp(0.35 * gauss())));
  const out = createWriteStream(path);
  let rows = 0;
  let chunk: string[] = [];
  for (let ts = START; ts < START + DAYS * DAY; ts += STEP) {
    const load = 1 + 0.08 * Math.sin((2 * Math.PI * (ts % DAY)) / DAY);
    hosts.forEach((host, h) => {
      CACHES.forEach(([cache], c) => {
        let bytes = base[h]![c]! * load * (1 + 0.02 * gauss());
        if (LEAKING.has(host) && cache === LEAK_CACHE && ts >= LEAK_START) bytes += (LEAK_PER_DAY * (ts - LEAK_START)) / DAY;
        chunk.push(`{"ts":${ts},"host":"${host}","component":"${KERNEL_SLAB}","process":"${cache}","rss":${Math.round(bytes)},"host_mem":68719476736}`);
        rows++;
      });
    });
    if (chunk.length > 20_000) {
      if (!out.write(chunk.join('\n') + '\n')) await once(out, 'drain');
      chunk = [];
    }
  }
  out.end(chunk.join('\n') + '\n');
  await once(out, 'finish');
  return rows;
}

describe('kernel slab leak on a simulated fleet', () => {
  const alerts: Alert[] = [];
  let samples = 0;
  let rows = 0;

  beforeAll(async () => {
    const file = join(dir, 'slab.ndjson');
    rows = await writeFleet(file);
    const edit = (def: PipelineDefinition) => {
      def.nodes!.telemetry = { type: 'file', options: { path: file } };
      def.nodes!.alerts!.options = { path: join(dir, 'alerts.ndjson') };
    };
    const result = await runSession({
      pipeline: join(PACKAGE_ROOT, 'pipelines', 'resin.yaml'), edit, deadLetter: join(dir, 'rejected.ndjson'),
      log: silentLogger, onAlert: (a) => alerts.push(a),
    });
    samples = result.samplesRead;
  }, 240_000);

  it('reads every sample', () => {
    expect(samples).toBe(rows);
  });

  it('level 1 alerts on kernel.slab once the leaking caches pass the healthy fleet', () => {
    const fleet = alerts.filter((a) => a.level === 'component' && a.state === 'open');
    expect(fleet.map((a) => a.component)).toEqual([KERNEL_SLAB]);
    const open = fleet[0]!;
    expect(open.hosts).toBeGreaterThanOrEqual(2);
    expect(open.hosts).toBeLessThanOrEqual(LEAKING.size);
    expect(open.start).toBeGreaterThan(LEAK_START);
  });

  it('level 2 names the leaking cache on each leaking host, and nothing else', () => {
    const opened = alerts.filter((a) => a.level === 'process' && a.state === 'open');
    const named = new Set(opened.map((a) => `${a.host}/${a.process}`));
    expect(named).toEqual(new Set([...LEAKING].map((h) => `${h}/${LEAK_CACHE}`)));
    for (const a of opened) {
      expect(a.component).toBe(KERNEL_SLAB);
      // T0 may sit on the flat stretch before the leak (flat points do not move it), never days after it.
      expect(a.start).toBeLessThanOrEqual(LEAK_START + DAY);
      // The cache and its growth are the diagnosis of a kernel leak: by the last emission the rate is the leak's own.
      const last = alerts.filter((b) => b.id === a.id).at(-1)!;
      expect(last.rate / MB).toBeGreaterThan((LEAK_PER_DAY / MB / 24) * 0.7);
      expect(last.rate / MB).toBeLessThan((LEAK_PER_DAY / MB / 24) * 1.3);
    }
  });
});
