import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PartitionLeases, type PartitionWork } from '../../../connectors/nats/leases.js';
import type { PartitionPlan } from '../../../connectors/nats/partitions.js';
import { SourceError } from '../../../engine/errors.js';
import { silentLogger } from '../../../engine/log.js';
import { Metrics } from '../../../engine/metrics.js';
import { describeNats, useNatsServer } from '../../helpers/nats.js';
import { until } from '../../helpers/until.js';

/** What one instance did with its partitions, in order. */
class Recorder implements PartitionWork {
  readonly events: string[] = [];
  readonly running = new Set<number>();
  start(p: number): void {
    this.events.push(`start ${p}`);
    this.running.add(p);
  }
  async stop(p: number): Promise<void> {
    // A pipeline takes a moment to drain and checkpoint.
    await new Promise((r) => setTimeout(r, 50));
    this.running.delete(p);
    this.events.push(`stop ${p}`);
  }
}


describeNats('partition leases in a KV bucket', () => {
  const server = useNatsServer();
  let nc: NatsConnection;
  const plan = (bucket: string, leaseMs = 1500, count = 6): PartitionPlan => ({
    node: 'telemetry', count, leaseMs, bucket, connection: { servers: server().url }, graphFor: () => { throw new Error('unused'); },
  });
  beforeAll(async () => { nc = await connect({ servers: server().url }); });
  afterAll(async () => { await nc?.close(); });

  it('splits the partitions between instances, and hands a leaving instance\'s over at once', { timeout: 30_000 }, async () => {
    const metrics = new Metrics();
    const [x, y] = await Promise.all(['x', 'y'].map((i) => PartitionLeases.open(plan('SPLIT'), i, silentLogger, metrics)));
    const [wx, wy] = [new Recorder(), new Recorder()];
    const [sx, sy] = [new AbortController(), new AbortController()];
    const runs = [x!.run(wx, sx.signal), y!.run(wy, sy.signal)];
    await until('both instances to hold three partitions', 10_000, () => wx.running.size === 3 && wy.running.size === 3);
    // Started together, they waited to see each other: nothing was handed back and forth.
    expect([...wx.events, ...wy.events].filter((e) => e.startsWith('stop'))).toEqual([]);
    expect(new Set([...wx.running, ...wy.running]).size).toBe(6);
    const kv = await nc.jetstream().views.kv('SPLIT', { bindOnly: true });
    for (const p of wx.running) expect((await kv.get(`partition.${p}`))!.string()).toBe('x');

    // x leaves: it stops its partitions, then deletes their leases, and y takes them well before they would expire.
    const leaving = [...wx.running];
    const t0 = Date.now();
    sx.abort();
    await runs[0];
    expect(wx.running.size).toBe(0);
    expect(wx.events.slice(-3).every((e) => e.startsWith('stop'))).toBe(true);
    await until('y to hold every partition', 5_000, () => wy.running.size === 6);
    expect(Date.now() - t0).toBeLessThan(1500);
    for (const p of leaving) expect((await kv.get(`partition.${p}`))!.string()).toBe('y');
    expect(metrics.total('partition_leases', { instance: 'x', event: 'released' })).toBe(3);
    sy.abort();
    await runs[1];
    expect(wy.running.size).toBe(0);
  });

  it('stops a partition as soon as its lease turns out to be someone else\'s', { timeout: 30_000 }, async () => {
    const metrics = new Metrics();
    const leases = await PartitionLeases.open(plan('LOST', 1500, 2), 'x', silentLogger, metrics);
    const work = new Recorder();
    const stop = new AbortController();
    const run = leases.run(work, stop.signal);
    await until('x to hold both partitions', 10_000, () => work.running.size === 2);
    // Another writer took partition 1 (as after a pause longer than the lease).
    const kv = await nc.jetstream().views.kv('LOST', { bindOnly: true });
    await kv.put('partition.1', new TextEncoder().encode('z'));
    await until('x to stop partition 1', 5_000, () => !work.running.has(1));
    expect(work.running.has(0)).toBe(true);
    expect(metrics.total('partition_leases', { instance: 'x', event: 'lost' })).toBe(1);
    // ... and it does not take it back while z's lease lives.
    expect((await kv.get('partition.1'))!.string()).toBe('z');
    stop.abort();
    await run;
  });

  it('refuses to join instances that disagree on the lease or the partition count', async () => {
    const first = await PartitionLeases.open(plan('AGREE', 2000, 6), 'x', silentLogger, new Metrics());
    await first.run(new Recorder(), AbortSignal.abort());
    await expect(PartitionLeases.open(plan('AGREE', 3000, 6), 'y', silentLogger, new Metrics())).rejects.toThrow(SourceError);
    await expect(PartitionLeases.open(plan('AGREE', 3000, 6), 'y', silentLogger, new Metrics())).rejects.toThrow(/"lease" is 3000 ms but the bucket AGREE expires leases after 2000 ms/);
    await expect(PartitionLeases.open(plan('AGREE', 2000, 12), 'y', silentLogger, new Metrics())).rejects.toThrow(/"partitions" is 12 but the bucket AGREE was created for 6/);
  });
});
