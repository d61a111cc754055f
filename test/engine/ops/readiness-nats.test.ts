import { expect, it } from 'vitest';
import { discardSpec } from '../../../connectors/discard/discard.js';
import { natsSourceSpec } from '../../../connectors/nats/nats.js';
import { MemoryDeadLetter } from '../../../engine/deadLetter.js';
import { silentLogger } from '../../../engine/log.js';
import { MemoryStore } from '../../../engine/memoryStore.js';
import { Metrics } from '../../../engine/metrics.js';
import { resolveOptions } from '../../../engine/pipeline/options.js';
import { runPipeline, type RunnableNode } from '../../../engine/runtime.js';
import { RunStatus, type Readiness } from '../../../engine/runStatus.js';
import type { NodeSpec } from '../../../engine/spec.js';
import { describeNats, useNatsServer } from '../../helpers/nats.js';

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describeNats('readiness with a NATS source', () => {
  const server = useNatsServer();

  it('is ready only while the source is connected: not before, not during an outage, again after reconnecting, not after the stop', async () => {
    const metrics = new Metrics();
    const status = new RunStatus();
    status.storeOpen = true;
    const specs = new Map<string, NodeSpec>([['nats', natsSourceSpec], ['discard', discardSpec]]);
    const nodes: RunnableNode[] = [
      { id: 'telemetry', type: 'nats', kind: 'source', inputs: [], output: 'samples', options: resolveOptions(natsSourceSpec, { servers: server().url, subject: 'ready.>' }) },
      { id: 'sink', type: 'discard', kind: 'sink', inputs: ['telemetry'], output: null, options: {} },
    ];
    const stop = new AbortController();
    const seen: Readiness[] = [];
    const note = () => { seen.push(status.readiness()); return seen[seen.length - 1]!; };
    expect(note().ready).toBe(false); // before the run: starting, source not connected

    const run = runPipeline({
      nodes, specs: { get: (t) => specs.get(t) }, metrics, deadLetter: new MemoryDeadLetter(metrics), log: silentLogger,
      store: new MemoryStore(), status, signal: stop.signal, checkpointEvery: 0,
    });
    await until('ready', () => note().ready);

    await server().pause();
    await until('not ready during the outage', () => !note().ready);
    expect(seen[seen.length - 1]!.reasons).toEqual(['source "telemetry" is not connected']);

    await server().restart();
    await until('ready after reconnecting', () => note().ready);

    stop.abort();
    await run;
    const last = note();
    expect(last.ready).toBe(false);
    expect(last.reasons).toEqual(['pipeline is stopped', 'source "telemetry" is not connected']);
  });
});
