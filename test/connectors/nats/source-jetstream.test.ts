import { serialize, deserialize } from 'node:v8';
import { expect, it } from 'vitest';
import { natsSourceSpec } from '../../../connectors/nats/nats.js';
import { MemoryDeadLetter } from '../../../engine/deadLetter.js';
import { silentLogger } from '../../../engine/log.js';
import { MemoryStore } from '../../../engine/memoryStore.js';
import { Metrics } from '../../../engine/metrics.js';
import { runPipeline } from '../../../engine/runtime.js';
import type { NodeContext, NodeSpec } from '../../../engine/spec.js';
import type { SampleBatch } from '../../../engine/telemetry/schema.js';
import { describeNats, useNatsClient, useNatsServer } from '../../helpers/nats.js';
import { publishSamples, pullRows, rowsOf, sourceFor } from './fixtures.js';

describeNats('nats source (JetStream durable pull consumer)', () => {
  const server = useNatsServer();
  const client = useNatsClient(server);

  const publish = (subject: string, values: number[]) => publishSamples(client.nc, subject, values);
  const pending = async (stream: string, durable: string) => (await client.jsm.consumers.info(stream, durable)).num_ack_pending;

  it('creates the stream and consumer when asked, and refuses to start without them otherwise', async () => {
    const missing = sourceFor({ servers: server().url, subject: 'none.>', jetstream: { stream: 'NONE', durable: 'd' } });
    await expect(missing.first).rejects.toThrow(/stream "NONE" does not exist.*create: true/);
    await missing.stopAll();

    const s = sourceFor({
      servers: server().url, subject: 'made.>',
      jetstream: { stream: 'MADE', durable: 'eng', create: true, max_age: '2d', duplicate_window: '10m', ack_wait: '45s' },
    });
    await s.ready;
    const info = await client.jsm.consumers.info('MADE', 'eng');
    expect(info.config.filter_subject).toBe('made.>');
    expect(info.config.ack_policy).toBe('explicit');
    expect(info.config.ack_wait).toBe(45e9);
    const stream = (await client.jsm.streams.info('MADE')).config;
    expect(stream.subjects).toEqual(['made.>']);
    expect([stream.max_age, stream.duplicate_window]).toEqual([2 * 86_400e9, 600e9]);
    await s.stopAll();
  });

  it('acknowledges messages only after the checkpoint that follows their batch', async () => {
    await client.jsm.streams.add({ name: 'ACK', subjects: ['ack.>'] });
    const s = sourceFor({ servers: server().url, subject: 'ack.>', max_wait: '50ms', jetstream: { stream: 'ACK', durable: 'eng', create: true } });
    await s.ready;
    await publish('ack.api', [1, 2, 3]);
    const batches = [(await s.first).value!];
    if (batches[0]!.data.numRows < 3) batches.push(...await pullRows(s.iterator, 3 - batches[0]!.data.numRows));
    expect(rowsOf(batches).map((r) => r.rss)).toEqual([1, 2, 3]);
    // Stream sequences are the records.
    expect(rowsOf(batches).map((r) => r.record)).toEqual([1, 2, 3]);

    expect(s.source.checkpointDue!()).toBe(true);
    expect(await pending('ACK', 'eng')).toBe(3);
    const state = s.source.checkpoint();
    expect(await pending('ACK', 'eng')).toBe(3);
    expect(state).toMatchObject({ stream: 'ACK', durable: 'eng', processed: [1, 2, 3] });
    await s.source.committed!();
    await client.nc.flush();
    await new Promise((r) => setTimeout(r, 50));
    const info = await client.jsm.consumers.info('ACK', 'eng');
    expect(info.num_ack_pending).toBe(0);
    expect(info.ack_floor.stream_seq).toBe(3);
    expect(s.source.checkpointDue!()).toBe(false);
    await s.stopAll();
  });

  it('in a pipeline: the batch is processed, including tracked async work, before its messages are acked', async () => {
    await client.jsm.streams.add({ name: 'RUN', subjects: ['run.>'] });
    await publish('run.api', [1, 2, 3, 4, 5]);
    const seen: { rows: number; pendingDuringWork: number }[] = [];
    const stop = new AbortController();
    const probe: NodeSpec = {
      type: 'probe', kind: 'sink', input: 'samples', summary: '', options: {},
      create: (_o: unknown, ctx: NodeContext) => ({
        write: (b: SampleBatch) => {
          ctx.flow.track((async () => {
            await new Promise((r) => setTimeout(r, 30));
            seen.push({ rows: b.data.numRows, pendingDuringWork: await pending('RUN', 'eng') });
            if (seen.reduce((n, x) => n + x.rows, 0) >= 5) stop.abort();
          })());
        },
        close: async () => {},
      }),
    } as NodeSpec;
    const specs = new Map<string, NodeSpec>([['nats', natsSourceSpec as NodeSpec], ['probe', probe]]);
    const metrics = new Metrics();
    await runPipeline({
      nodes: [
        { id: 'in', type: 'nats', kind: 'source', inputs: [], output: 'samples', options: {
          servers: server().url, subject: 'run.>', batch_size: 2, max_wait: '50ms', max_pending: 1000,
          jetstream: { stream: 'RUN', durable: 'eng', create: true, ack_wait: '30s', max_ack_pending: 1000 },
        } },
        { id: 'out', type: 'probe', kind: 'sink', inputs: ['in'], output: null, options: {} },
      ],
      specs: { get: (t) => specs.get(t) }, metrics, deadLetter: new MemoryDeadLetter(metrics), log: silentLogger,
      store: new MemoryStore(), signal: stop.signal, checkpointEvery: 0,
    });
    expect(seen.map((s) => s.rows)).toEqual([2, 2, 1]);
    // While a batch was being processed, its own messages (and later ones) were still unacknowledged.
    expect(seen.map((s) => s.pendingDuringWork)).toEqual([5, 3, 1]);
    await new Promise((r) => setTimeout(r, 50));
    expect(await pending('RUN', 'eng')).toBe(0);
    expect(metrics.total('nats_messages_acked')).toBe(5);
  });

  it('after a crash between checkpoint and acks, messages delivered again are acked, not processed twice', async () => {
    await client.jsm.streams.add({ name: 'CRASH', subjects: ['crash.>'] });
    const options = { servers: server().url, subject: 'crash.>', max_wait: '50ms', jetstream: { stream: 'CRASH', durable: 'eng', create: true, ack_wait: '1s' } };
    const first = sourceFor(options);
    await first.ready;
    await publish('crash.api', [1, 2, 3]);
    const got = [(await first.first).value!];
    if (got[0]!.data.numRows < 3) got.push(...await pullRows(first.iterator, 3 - got[0]!.data.numRows));
    // The checkpoint is saved; the process dies before acknowledging.
    const saved = serialize(first.source.checkpoint());
    await first.stopAll();
    await publish('crash.api', [4]);

    const second = sourceFor(options);
    second.source.restore(deserialize(saved));
    await second.ready;
    // Redelivery of 1..3 waits for ack_wait (1 s); only 4 is new.
    const after = rowsOf([(await second.first).value!]).map((r) => r.rss);
    expect(after).toEqual([4]);
    second.source.checkpoint();
    await second.source.committed!();
    // The engine asks for more; the redelivered 1..3 (after ack_wait, 1 s) are acked without a batch.
    const more = second.iterator.next();
    more.catch(() => {});
    const deadline = Date.now() + 4000;
    while (second.metrics.total('nats_messages_skipped') < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(second.metrics.total('nats_messages_skipped')).toBe(3);
    await client.nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    expect(await pending('CRASH', 'eng')).toBe(0);
    expect(second.metrics.total('nats_messages_in')).toBe(1);
    await second.stopAll();
  });
});
