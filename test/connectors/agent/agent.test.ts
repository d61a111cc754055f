import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostAgent } from '../../../connectors/agent/agent.js';
import { Procfs } from '../../../connectors/agent/procfs.js';
import { CyclePublisher } from '../../../connectors/agent/publisher.js';
import { ComponentRules } from '../../../connectors/agent/rules.js';
import { HostSampler } from '../../../connectors/agent/sampler.js';
import { connectionOptions } from '../../../connectors/nats/connection.js';
import { silentLogger } from '../../../engine/log.js';
import { Metrics } from '../../../engine/metrics.js';
import { rowObject } from '../../../engine/telemetry/schema.js';
import { describeNats, useNatsServer } from '../../helpers/nats.js';
import { pullRows, rowsOf, sourceFor } from '../nats/fixtures.js';

const MB = 1024 * 1024;

/** A child that allocates (and touches) 40 MB each time it reads a line, and says when it has. */
function allocatingChild(marker: string): { child: ChildProcess; grow: () => Promise<void> } {
  const script = `const kept = []; process.stdin.on('data', () => { kept.push(Buffer.alloc(40 * 1024 * 1024, 7)); process.stdout.write('grown\\n'); }); setInterval(() => {}, 1 << 30);`;
  const child = spawn(process.execPath, ['-e', script, marker], { stdio: ['pipe', 'pipe', 'inherit'] });
  const grow = async () => {
    child.stdin!.write('x\n');
    await once(child.stdout!, 'data');
  };
  return { child, grow };
}

const rulesFor = (marker: string) => new ComponentRules({ rules: [{ component: 'leaky-test', cmdline: marker }] });

function childRow(cycle: ReturnType<HostSampler['sample']>, pid: number) {
  for (const c of cycle.components) {
    for (let i = 0; i < c.batch.numRows; i++) {
      const row = rowObject(c.batch, i);
      if (row.pid === pid) return row;
    }
  }
  return null;
}

describe('host agent on this host', () => {
  it('sees a child it spawned under the component its rule names, and its rss grow when it allocates', async () => {
    const marker = `resin-agent-test-${process.pid}-a`;
    const { child, grow } = allocatingChild(marker);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const sampler = new HostSampler({ host: 'me', rules: rulesFor(marker), memory: 'rss', cgroups: true });
      const before = childRow(sampler.sample(), child.pid!);
      expect(before).toMatchObject({ component: 'leaky-test', process: 'node', pid: child.pid, host: 'me' });
      await grow();
      const after = childRow(sampler.sample(), child.pid!);
      expect(after!.rss as number).toBeGreaterThanOrEqual((before!.rss as number) + 35 * MB);
      const anon = new HostSampler({ host: 'me', rules: rulesFor(marker), memory: 'anon', cgroups: false });
      const anonRow = childRow(anon.sample(), child.pid!);
      expect(anonRow!.rss as number).toBeGreaterThan(35 * MB);
      expect(anonRow!.rss as number).toBeLessThanOrEqual(after!.rss as number);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('keeps sampling while processes start and exit under it', async () => {
    const sampler = new HostSampler({ host: 'me', rules: new ComponentRules(), memory: 'rss', cgroups: true });
    let running = true;
    const churn = (async () => {
      while (running) {
        const batch = Array.from({ length: 8 }, () => spawn('true'));
        await Promise.all(batch.map((c) => once(c, 'exit')));
      }
    })();
    let processes = 0;
    try {
      for (let i = 0; i < 15; i++) {
        const cycle = sampler.sample();
        processes = Math.max(processes, cycle.processes);
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      running = false;
      await churn;
    }
    expect(processes).toBeGreaterThan(3);
    // Gone processes are forgotten.
    expect(sampler.knownProcesses).toBeLessThanOrEqual(sampler.sample().processes + 16);
  });
});

describeNats('host agent publishing to NATS', () => {
  const server = useNatsServer();
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connect({ servers: server().url });
    await (await nc.jetstreamManager()).streams.add({ name: 'TELEMETRY', subjects: ['resin.telemetry.>'] });
  });
  afterAll(async () => { await nc.close(); });

  const agentFor = (sampler: HostSampler, buffer = 60) => {
    const metrics = new Metrics();
    const publisher = new CyclePublisher({
      connection: { ...connectionOptions({ servers: server().url }, 'agent test'), reconnectTimeWait: 200 },
      mode: 'jetstream', buffer, timeoutMs: 1000, host: 'me', log: silentLogger, metrics,
    });
    return { agent: new HostAgent(sampler, publisher, { host: 'me', prefix: 'resin.telemetry', log: silentLogger, metrics }), publisher, metrics };
  };

  it('publishes Arrow per component that the nats source reads back, the spawned child included', async () => {
    const marker = `resin-agent-test-${process.pid}-b`;
    const { child } = allocatingChild(marker);
    const source = sourceFor({ servers: server().url, subject: 'resin.telemetry.>', max_wait: '50ms', jetstream: { stream: 'TELEMETRY', durable: 'engine', create: true } });
    const { agent, publisher } = agentFor(new HostSampler({ host: 'me', rules: rulesFor(marker), memory: 'rss', cgroups: true }));
    try {
      await new Promise((r) => setTimeout(r, 300));
      const report = await agent.cycle(120_000);
      expect(report.published).toBe(1);
      expect(report.pending).toBe(0);
      const first = (await source.first).value!;
      const expected = report.processes + report.cgroupRows;
      const seen = rowsOf([first, ...(first.data.numRows < expected ? await pullRows(source.iterator, expected - first.data.numRows) : [])]);
      expect(seen).toHaveLength(expected);
      const mine = seen.filter((r) => r.component === 'leaky-test');
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ host: 'me', ts: 120_000 });
      expect(source.deadLetter.rejections).toEqual([]);
      expect(new Set(seen.map((r) => r.ts))).toEqual(new Set([120_000]));
    } finally {
      child.kill('SIGKILL');
      await source.stopAll();
      await publisher.close();
    }
  });

  it('buffers cycles while NATS is down, drops the oldest beyond the bound, and sends the rest in order when it is back', async () => {
    const root = mkdtempSync(join(tmpdir(), 'resin-proc-'));
    try {
      mkdirSync(join(root, 'proc', '42'), { recursive: true });
      writeFileSync(join(root, 'proc', 'meminfo'), 'MemTotal: 1024 kB\n');
      writeFileSync(join(root, 'proc', '42', 'status'), 'Name:\tsvc\nPPid:\t1\nVmRSS:\t100 kB\nRssAnon:\t50 kB\n');
      writeFileSync(join(root, 'proc', '42', 'cmdline'), '/usr/bin/svc\0');
      const sampler = new HostSampler({ host: 'me', rules: new ComponentRules(), memory: 'rss', cgroups: false, procfs: new Procfs({ proc: join(root, 'proc'), cgroupRoot: join(root, 'cg') }) });
      const { agent, publisher, metrics } = agentFor(sampler, 3);
      expect((await agent.cycle(1000)).published).toBe(1);

      await server().pause();
      for (let k = 2; k <= 6; k++) {
        const r = await agent.cycle(k * 1000);
        expect(r.published).toBe(0);
        expect(r.pending).toBe(Math.min(k - 1, 3));
      }
      expect(metrics.total('agent_cycles_dropped')).toBe(2);
      await server().restart();
      // Back: what waited goes out, oldest first, before the next cycle.
      for (let tries = 0; publisher.pending > 0 && tries < 50; tries++) {
        await publisher.flush();
        if (publisher.pending > 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(publisher.pending).toBe(0);
      expect((await agent.cycle(7000)).published).toBe(1);
      const reader = await connect({ servers: server().url });
      const jsm = await reader.jetstreamManager();
      const stored: number[] = [];
      const info = await jsm.streams.info('TELEMETRY');
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage('TELEMETRY', { seq });
        if (m.subject === 'resin.telemetry.svc') stored.push(Number(m.header.get('Nats-Msg-Id').split(':')[2]));
      }
      // Cycles 2 and 3 were dropped (oldest first); 4..6 waited and went out in order before 7.
      expect(stored).toEqual([1000, 4000, 5000, 6000, 7000]);
      await publisher.close();
      await reader.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
