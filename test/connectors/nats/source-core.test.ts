import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNats, useNatsServer } from '../../helpers/nats.js';
import { arrowBytes, arrowHeaders, arrowOf, json, pullRows, rowsOf, sourceFor } from './fixtures.js';

const row = (ts: number, rss: number, component = 'api', host = 'h1') => ({ ts, host, component, rss });

describeNats('nats source (core NATS)', () => {
  const server = useNatsServer();
  let pub: NatsConnection;
  beforeAll(async () => { pub = await connect({ servers: server().url }); });
  afterAll(async () => { await pub.close(); });

  it('turns Arrow IPC and JSON payloads (NDJSON, object, array, pretty object) into batches', async () => {
    const s = sourceFor({ servers: server().url, subject: 'resin.telemetry.>', max_wait: '50ms' });
    await s.ready;
    pub.publish('resin.telemetry.api', arrowBytes([row(1000, 10), row(2000, 20)]), { headers: arrowHeaders() });
    pub.publish('resin.telemetry.api', json(`${JSON.stringify(row(3000, 30))}\n\n${JSON.stringify(row(4000, 40, 'db'))}\n`));
    pub.publish('resin.telemetry.db', json(row(5000, 50, 'db')));
    pub.publish('resin.telemetry.db', json([row(6000, 60, 'db'), row(7000, 70, 'db', 'h2')]));
    pub.publish('resin.telemetry.db', json(JSON.stringify(row(8000, 80, 'web'), null, 2)));
    await pub.flush();
    const batches = [(await s.first).value!, ...await pullRows(s.iterator, 8 - (await s.first).value!.data.numRows)];
    const rows = rowsOf(batches).sort((a, b) => a.ts - b.ts);
    expect(rows.map((r) => [r.ts, r.rss, r.component, r.host])).toEqual([
      [1000, 10, 'api', 'h1'], [2000, 20, 'api', 'h1'], [3000, 30, 'api', 'h1'], [4000, 40, 'db', 'h1'],
      [5000, 50, 'db', 'h1'], [6000, 60, 'db', 'h1'], [7000, 70, 'db', 'h2'], [8000, 80, 'web', 'h1'],
    ]);
    // Records number the messages in arrival order.
    expect(rows.map((r) => r.record)).toEqual([1, 1, 2, 2, 3, 4, 4, 5]);
    // Arrow rows and JSON rows travel in separate batches.
    expect(batches.every((b) => b.source === 'nats:resin.telemetry.>')).toBe(true);
    expect(s.deadLetter.rejections).toEqual([]);
    expect(s.metrics.total('nats_messages_in')).toBe(5);
    await s.stopAll();
  });

  it('dead-letters every kind of malformed payload with its reason, subject and message number, and keeps going', async () => {
    const s = sourceFor({ servers: server().url, subject: 'resin.telemetry.>', max_wait: '50ms' });
    await s.ready;
    const good = arrowBytes([row(1000, 1), row(2000, 2)]);
    const sends: [string, Uint8Array, boolean][] = [
      ['resin.telemetry.a', new TextEncoder().encode('\u0001\u0002 not arrow at all'), true], // 1 garbage bytes
      ['resin.telemetry.a', good.subarray(0, good.length - 60), true], // 2 truncated Arrow
      ['resin.telemetry.a', arrowOf({ ts: Float64Array.of(1), host: ['h'], component: ['c'] }), true], // 3 no rss column
      ['resin.telemetry.a', arrowBytes([row(1000, 5), row(2000, -1)]), true], // 4 one bad row
      ['resin.telemetry.b', json('{"ts": 1, "host": '), false], // 5 not JSON
      ['resin.telemetry.b', json({ ts: 1, host: 'h', component: 'c', rss: 'big' }), false], // 6 wrong type
      ['resin.telemetry.b', json([row(1000, 7), 42]), false], // 7 array element that is no object
      ['resin.telemetry.b', json(`${JSON.stringify(row(1000, 8))}\n{"ts":2,"host":"h","component":"c"}`), false], // 8 missing rss on line 2
      ['resin.telemetry.b', new Uint8Array(0), false], // 9 empty
      ['resin.telemetry.b', json({ ts: -5, host: 'h', component: 'c', rss: 1 }), false], // 10 negative ts
    ];
    for (const [subject, data, arrow] of sends) pub.publish(subject, data, arrow ? { headers: arrowHeaders() } : undefined);
    await pub.flush();
    const got = (await s.first).value!;
    const batches = [got, ...await pullRows(s.iterator, 3 - got.data.numRows)];
    expect(rowsOf(batches).map((r) => r.rss).sort()).toEqual([5, 7, 8]);
    const rejected = s.deadLetter.rejections.map((r) => [r.line, r.reason, r.source, r.field ?? null]);
    expect(rejected).toEqual([
      [1, 'invalid_arrow', 'resin.telemetry.a', null],
      [2, 'invalid_arrow', 'resin.telemetry.a', null],
      [3, 'invalid_arrow', 'resin.telemetry.a', 'rss'],
      [4, 'negative_value', 'resin.telemetry.a', 'rss'],
      [5, 'invalid_json', 'resin.telemetry.b', null],
      [6, 'wrong_type', 'resin.telemetry.b', 'rss'],
      [7, 'invalid_json', 'resin.telemetry.b', null],
      [8, 'missing_field', 'resin.telemetry.b', 'rss'],
      [9, 'invalid_json', 'resin.telemetry.b', null],
      [10, 'negative_value', 'resin.telemetry.b', 'ts'],
    ]);
    const details = s.deadLetter.rejections.map((r) => r.detail);
    expect(details[1]).toMatch(/cannot be decoded|no rows/);
    expect(details[3]).toMatch(/^message 4, row 2: /);
    expect(details[6]).toMatch(/^message 7, element 2: /);
    expect(details[7]).toMatch(/^message 8, line 2: /);
    expect(s.metrics.byLabel('samples_rejected', 'reason')).toEqual({
      invalid_arrow: 3, negative_value: 2, invalid_json: 3, wrong_type: 1, missing_field: 1,
    });
    await s.stopAll();
  });

  it('closes a batch at batch_size rows, and a partial one after max_wait', async () => {
    const s = sourceFor({ servers: server().url, subject: 'sizes', batch_size: 4, max_wait: '150ms' });
    await s.ready;
    for (let i = 0; i < 10; i++) pub.publish('sizes', json(row(i * 1000, i)));
    await pub.flush();
    const started = performance.now();
    const batches = [(await s.first).value!, ...await pullRows(s.iterator, 6)];
    expect(batches.map((b) => b.data.numRows)).toEqual([4, 4, 2]);
    // Full batches go at once; only the remainder waits for max_wait.
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
    await s.stopAll();
  });

  it('delivers rows left over when another batch filled up, without waiting for more messages', async () => {
    const s = sourceFor({ servers: server().url, subject: 'mixed', batch_size: 3, max_wait: '100ms' });
    await s.ready;
    pub.publish('mixed', json(row(1, 1)));
    pub.publish('mixed', arrowBytes([row(2, 2), row(3, 3), row(4, 4)]), { headers: arrowHeaders() });
    await pub.flush();
    // The Arrow batch fills first; the JSON row must still come out, though nothing else arrives.
    const first = (await s.first).value!;
    const rest = await pullRows(s.iterator, 4 - first.data.numRows, 2000);
    expect(rowsOf([first, ...rest]).map((r) => r.rss).sort()).toEqual([1, 2, 3, 4]);
    await s.stopAll();
  });

  it('delivers each message to one member of a queue group', async () => {
    const a = sourceFor({ servers: server().url, subject: 'q.>', queue: 'engines', max_wait: '30ms' }, 'a');
    const b = sourceFor({ servers: server().url, subject: 'q.>', queue: 'engines', max_wait: '30ms' }, 'b');
    await Promise.all([a.ready, b.ready]);
    const N = 200;
    for (let i = 0; i < N; i++) pub.publish(`q.c${i % 3}`, json(row(i, i)));
    await pub.flush();
    await new Promise((r) => setTimeout(r, 300));
    const collect = async (s: typeof a, firstPull: Promise<IteratorResult<unknown>>) => {
      const rows: number[] = [];
      const first = await firstPull as IteratorResult<import('../../../engine/telemetry/schema.js').SampleBatch>;
      rows.push(...rowsOf([first.value!]).map((r) => r.rss));
      for (;;) {
        const more = s.metrics.total('nats_messages_in') - rows.length;
        if (more <= 0) break;
        rows.push(...rowsOf(await pullRows(s.iterator, more)).map((r) => r.rss));
      }
      return rows;
    };
    const ra = await collect(a, a.first);
    const rb = await collect(b, b.first);
    expect(ra.length).toBeGreaterThan(0);
    expect(rb.length).toBeGreaterThan(0);
    expect([...ra, ...rb].sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
    await a.stopAll();
    await b.stopAll();
  });

  it('refuses bad options when built', () => {
    expect(() => sourceFor({ subject: 'a..b' })).toThrow(/not a valid subject/);
    expect(() => sourceFor({ subject: ['a', 'b'], jetstream: { stream: 'S', durable: 'd' } })).toThrow(/one subject/);
    expect(() => sourceFor({ subject: 'a', queue: 'g', jetstream: { stream: 'S', durable: 'd' } })).toThrow(/queue/);
    expect(() => sourceFor({ max_wait: '1x' })).toThrow(/duration/);
    expect(() => sourceFor({ batch_size: 0 })).toThrow(/batch_size/);
  });
});
