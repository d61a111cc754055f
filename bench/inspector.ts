import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CdpConnection } from '../connectors/profilers/node/cdp.js';
import { debuggerUrl } from '../connectors/profilers/node/inspectorPort.js';
import { NodeProfiler } from '../connectors/profilers/node/node-profiler.js';
import { closeInspector } from '../connectors/profilers/node/targetScripts.js';
import { listeningPorts } from '../connectors/profilers/proc.js';
import { sleep } from '../engine/sleep.js';
import { freePort, FIXTURES, startTarget } from '../test/connectors/profilers/harness.js';
import { flag, quantile, saveResults } from './lib.js';

/**
 * Does profiling leave the target alive? Each round starts a fresh Node.js service (the
 * live tests' leaky-service.cjs), profiles it once, closes the inspector and watches the service
 * for a few seconds. Two ways of closing:
 *   - resin: the Node.js profiler as `diagnose` runs it (NodeProfiler: open, two
 *     sampling snapshots, close, which closes the inspector a second after the
 *     disconnect and waits for the port to go);
 *   - next tick: the same commands over a bare DevTools connection, but the inspector is
 *     closed on the target's next tick, while the session is still attached.
 * Prints, per way, the targets that died (exit code or signal) and the time to attach,
 * snapshot and close (median and p90).
 *
 *   npm run bench:inspector -- [--targets 20] [--watch 3000]
 */
const targets = flag('targets', 20);
const watchMs = flag('watch', 3000);

// The live tests' service: five handlers allocate and free, one of them leaks.
const SERVICE = join(FIXTURES, 'leaky-service.cjs');

interface Round { died: string | null; attachMs: number; snapshotMs: number; closeMs: number }



async function waitForPort(pid: number, port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!listeningPorts(pid).some((l) => l.port === port)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} did not open its inspector on ${port}`);
    await sleep(20);
  }
}

/** What ended the service within `ms`, or null if it still runs. */
async function fate(child: ChildProcess, ms: number): Promise<string | null> {
  if (child.exitCode === null && child.signalCode === null) {
    await Promise.race([once(child, 'exit'), sleep(ms)]);
  }
  if (child.signalCode) return `signal ${child.signalCode}`;
  if (child.exitCode !== null) return `exit ${child.exitCode}`;
  return null;
}

async function viaProfiler(child: ChildProcess): Promise<Omit<Round, 'died'>> {
  const t0 = performance.now();
  const session = await new NodeProfiler().open({ host: hostname(), component: 'service', process: 'node', pid: child.pid! }, new AbortController().signal);
  const t1 = performance.now();
  await session.snapshot();
  await session.snapshot();
  const t2 = performance.now();
  await session.close();
  return { attachMs: t1 - t0, snapshotMs: (t2 - t1) / 2, closeMs: performance.now() - t2 };
}

async function nextTick(child: ChildProcess, port: number): Promise<Omit<Round, 'died'>> {
  const t0 = performance.now();
  (process as unknown as { _debugProcess(pid: number): void })._debugProcess(child.pid!);
  await waitForPort(child.pid!, port, 5_000);
  const cdp = await CdpConnection.connect(await debuggerUrl(port, 5_000), 5_000);
  await cdp.send('HeapProfiler.startSampling', { samplingInterval: 32_768 });
  const t1 = performance.now();
  await cdp.send('HeapProfiler.getSamplingProfile');
  await cdp.send('HeapProfiler.getSamplingProfile');
  const t2 = performance.now();
  await cdp.send('HeapProfiler.stopSampling').catch(() => {});
  await cdp.send('Runtime.evaluate', { expression: closeInspector(0), includeCommandLineAPI: true, returnByValue: true }).catch(() => {});
  await cdp.close();
  return { attachMs: t1 - t0, snapshotMs: (t2 - t1) / 2, closeMs: performance.now() - t2 };
}

const ways = { resin: viaProfiler, 'next tick': nextTick } as const;
const results: Record<string, { targets: number; died: number; causes: string[]; attach_ms: number[]; snapshot_ms: number[]; close_ms: number[] }> = {};
for (const [way, run] of Object.entries(ways)) {
  const rounds: Round[] = [];
  for (let i = 0; i < targets; i++) {
    const port = await freePort();
    const child = (await startTarget(process.execPath, [`--inspect-port=127.0.0.1:${port}`, SERVICE])).proc;
    let died: string | null = null;
    let times = { attachMs: NaN, snapshotMs: NaN, closeMs: NaN };
    try {
      times = await run(child, port);
    } catch (err) {
      died = await fate(child, 500);
      if (died === null) throw err;
    }
    died ??= await fate(child, watchMs);
    rounds.push({ died, ...times });
    child.kill('SIGKILL');
    if (process.stderr.isTTY) process.stderr.write(`\r${way}: ${i + 1}/${targets}`);
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  const ok = rounds.filter((r) => Number.isFinite(r.attachMs));
  results[way] = {
    targets,
    died: rounds.filter((r) => r.died !== null).length,
    causes: rounds.flatMap((r) => (r.died ? [r.died] : [])),
    attach_ms: [quantile(ok.map((r) => r.attachMs), 0.5), quantile(ok.map((r) => r.attachMs), 0.9)],
    snapshot_ms: [quantile(ok.map((r) => r.snapshotMs), 0.5), quantile(ok.map((r) => r.snapshotMs), 0.9)],
    close_ms: [quantile(ok.map((r) => r.closeMs), 0.5), quantile(ok.map((r) => r.closeMs), 0.9)],
  };
}

const ms = ([p50, p90]: number[]) => `${p50!.toFixed(0).padStart(5)} / ${p90!.toFixed(0).padStart(5)}`;
console.log(`\nInspector open and close on fresh Node.js ${process.version} services (${targets} each, watched ${watchMs} ms after closing)\n`);
console.log(`${'close'.padEnd(10)} ${'died'.padStart(8)}   attach ms p50 / p90   snapshot ms p50 / p90   close ms p50 / p90`);
for (const [way, r] of Object.entries(results)) {
  console.log(`${way.padEnd(10)} ${`${r.died}/${r.targets}`.padStart(8)}   ${ms(r.attach_ms).padStart(19)}   ${ms(r.snapshot_ms).padStart(21)}   ${ms(r.close_ms).padStart(18)}`
    + (r.causes.length ? `   (${[...new Set(r.causes)].join(', ')})` : ''));
}
console.log(`\nresults: ${saveResults('inspector', results)}`);
