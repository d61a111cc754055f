import { AckPolicy, connect, nanos, type JsMsg } from 'nats';
import { describe, expect, it } from 'vitest';
import { AckLedger, type CommitPolicy } from '../../../connectors/nats/jetstream.js';
import { describeNats, useNatsClient, useNatsServer } from '../../helpers/nats.js';
import { publishSamples, pullRows, rowsOf, sourceFor } from './fixtures.js';

/** A delivered message as far as the ledger sees it, counting what was sent back for it. */
function msg(seq: number) {
  const sent = { ack: 0, nak: 0, working: 0 };
  const m = { seq, ack: () => { sent.ack++; }, nak: () => { sent.nak++; }, working: () => { sent.working++; } } as unknown as JsMsg;
  return { m, sent };
}

const policy = (p: Partial<CommitPolicy>): CommitPolicy => ({ rows: 0, interval: 1000, maxAckPending: 1000, ...p });

describe('AckLedger', () => {
  it('makes a checkpoint due by rows, by time, when the stream is quiet, or when half the unacknowledged allowance is held', async () => {
    const every = new AckLedger('S', 'd', policy({}));
    expect(every.due(false)).toBe(false);
    every.emit([msg(1).m], 1);
    expect(every.due(false)).toBe(true);

    const rows = new AckLedger('S', 'd', policy({ rows: 100, interval: 60_000 }));
    rows.emit([msg(1).m], 60);
    expect(rows.due(false)).toBe(false);
    expect(rows.due(true)).toBe(true);
    rows.emit([msg(2).m], 40);
    expect(rows.due(false)).toBe(true);
    rows.checkpoint();
    expect(rows.due(true)).toBe(false);

    const time = new AckLedger('S', 'd', policy({ rows: 1e9, interval: 30 }));
    time.emit([msg(1).m], 1);
    expect(time.due(false)).toBe(false);
    await new Promise((r) => setTimeout(r, 40));
    expect(time.due(false)).toBe(true);

    const held = new AckLedger('S', 'd', policy({ rows: 1e9, interval: 60_000, maxAckPending: 6 }));
    held.emit([msg(1).m, msg(2).m], 2);
    expect(held.due(false)).toBe(false);
    held.emit([msg(3).m], 1);
    expect(held.due(false)).toBe(true);
  });

  it('drops a copy delivered just after its message was acknowledged, and forgets beyond its bound', () => {
    const ledger = new AckLedger('S', 'd', policy({ maxAckPending: 2 }));
    const first = [1, 2, 3].map(msg);
    for (const { m } of first) {
      ledger.delivered(m);
      expect(ledger.accept(m)).toBe(true);
    }
    ledger.emit(first.map((x) => x.m), 3);
    ledger.checkpoint();
    expect(ledger.commit()).toBe(3);
    expect(first.map((x) => x.sent.ack)).toEqual([1, 1, 1]);

    const again = msg(3);
    expect(ledger.accept(again.m)).toBe(false);
    expect(again.sent.ack).toBe(1);
    // Two acks are remembered: sequence 1 is no longer recognised.
    expect(ledger.accept(msg(1).m)).toBe(true);
  });

  it('keeps delivered messages alive until acknowledged, and gives back the rest when released', () => {
    const ledger = new AckLedger('S', 'd', policy({}));
    const a = msg(1), b = msg(2);
    ledger.delivered(a.m);
    ledger.delivered(b.m);
    ledger.keepAlive();
    expect([a.sent.working, b.sent.working]).toEqual([1, 1]);
    ledger.accept(a.m);
    ledger.emit([a.m], 1);
    ledger.checkpoint();
    ledger.commit();
    ledger.keepAlive();
    ledger.release(1000);
    expect([a.sent, b.sent]).toEqual([{ ack: 1, nak: 0, working: 1 }, { ack: 0, nak: 1, working: 2 }]);
  });
});

describeNats('nats source (JetStream): held messages and stopping', () => {
  const server = useNatsServer();
  const client = useNatsClient(server);

  const publish = (subject: string, values: number[]) => publishSamples(client.nc, subject, values);

  it('does not let a message it holds be redelivered, however long past its ack wait', async () => {
    await client.jsm.streams.add({ name: 'HOLD', subjects: ['hold.>'] });
    const s = sourceFor({ servers: server().url, subject: 'hold.>', batch_size: 1, max_wait: '20ms', jetstream: { stream: 'HOLD', durable: 'eng', create: true, ack_wait: '600ms' } });
    await s.ready;
    await publish('hold.api', [1, 2, 3]);
    expect(rowsOf([(await s.first).value!]).map((r) => r.rss)).toEqual([1]);
    // The engine is busy for three ack waits; 2 and 3 wait in the source, 1 in the engine.
    await new Promise((r) => setTimeout(r, 1800));
    const info = await client.jsm.consumers.info('HOLD', 'eng');
    expect(info.num_redelivered).toBe(0);
    expect(info.num_ack_pending).toBe(3);
    expect(rowsOf(await pullRows(s.iterator, 2)).map((r) => r.rss)).toEqual([2, 3]);
    expect(s.metrics.total('nats_messages_skipped')).toBe(0);
    await s.stopAll();
  });

  it('with commit_rows, checkpoints by size while busy, and by commit_interval once the stream goes quiet', async () => {
    await client.jsm.streams.add({ name: 'LAZY', subjects: ['lazy.>'] });
    const s = sourceFor({
      servers: server().url, subject: 'lazy.>', batch_size: 1, max_wait: '20ms',
      jetstream: { stream: 'LAZY', durable: 'eng', create: true, commit_rows: 3, commit_interval: '1s' },
    });
    await s.ready;
    await publish('lazy.api', [1, 2, 3, 4]);
    // Batches closed by size: no checkpoint before three rows.
    expect(rowsOf([(await s.first).value!]).map((r) => r.rss)).toEqual([1]);
    expect(s.source.checkpointDue!()).toBe(false);
    expect(rowsOf(await pullRows(s.iterator, 1)).map((r) => r.rss)).toEqual([2]);
    expect(s.source.checkpointDue!()).toBe(false);
    expect(rowsOf(await pullRows(s.iterator, 1)).map((r) => r.rss)).toEqual([3]);
    expect(s.source.checkpointDue!()).toBe(true);
    s.source.checkpoint();
    await s.source.committed!();
    expect(rowsOf(await pullRows(s.iterator, 1)).map((r) => r.rss)).toEqual([4]);
    expect(s.source.checkpointDue!()).toBe(false);
    // Nothing more arrives: an empty batch comes once row 4 has waited commit_interval.
    const started = Date.now();
    const next = await s.iterator.next();
    expect(next.value!.data.numRows).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(s.source.checkpointDue!()).toBe(true);
    s.source.checkpoint();
    await s.source.committed!();
    await client.nc.flush();
    await new Promise((r) => setTimeout(r, 50));
    expect((await client.jsm.consumers.info('LAZY', 'eng')).num_ack_pending).toBe(0);
    await s.stopAll();
  });

  it('after a crash, reads what the dead run held before anything newer, in stream order', async () => {
    await client.jsm.streams.add({ name: 'ORDER', subjects: ['order.>'] });
    const jetstream = { stream: 'ORDER', durable: 'eng', create: true, ack_wait: '1s' };
    await client.jsm.consumers.add('ORDER', { durable_name: 'eng', ack_policy: AckPolicy.Explicit, filter_subject: 'order.>', ack_wait: nanos(1000) });
    // The run that dies: takes 1..5 and is gone without acknowledging or giving back anything.
    await publish('order.api', [1, 2, 3, 4, 5]);
    const dead = await connect({ servers: server().url });
    const taken = await (await dead.jetstream().consumers.get('ORDER', 'eng')).fetch({ max_messages: 5, expires: 2000 });
    let held = 0;
    for await (const _ of taken) if (++held === 5) break;
    await dead.close();
    await publish('order.api', [6, 7, 8]);

    const next = sourceFor({ servers: server().url, subject: 'order.>', batch_size: 100, max_wait: '50ms', jetstream });
    const got = rowsOf([(await next.first).value!]);
    if (got.length < 8) got.push(...rowsOf(await pullRows(next.iterator, 8 - got.length)));
    expect(got.map((r) => r.rss)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(got.map((r) => r.record)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await next.stopAll();
  });

  it('gives back what it did not process when it stops, so the next run gets it at once', async () => {
    await client.jsm.streams.add({ name: 'BACK', subjects: ['back.>'] });
    const options = { servers: server().url, subject: 'back.>', batch_size: 1, max_wait: '20ms', jetstream: { stream: 'BACK', durable: 'eng', create: true, ack_wait: '30s' } };
    const first = sourceFor(options);
    await first.ready;
    await publish('back.api', [1, 2, 3, 4]);
    expect(rowsOf([(await first.first).value!]).map((r) => r.rss)).toEqual([1]);
    // Every message has left the server for the first run (which gives back what it has when it stops).
    while ((await client.jsm.consumers.info('BACK', 'eng')).delivered.stream_seq < 4) await new Promise((r) => setTimeout(r, 10));
    first.source.checkpoint();
    await first.source.committed!();
    await first.stopAll();

    const second = sourceFor(options);
    const started = Date.now();
    expect(rowsOf([(await second.first).value!, ...await pullRows(second.iterator, 2)]).map((r) => r.rss)).toEqual([2, 3, 4]);
    // Far sooner than the 30 s ack wait a message that was not given back would have taken.
    expect(Date.now() - started).toBeLessThan(5000);
    await second.stopAll();
  });
});
