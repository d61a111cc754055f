import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { encodeCycle } from '../../connectors/agent/publisher.js';
import { ComponentRules } from '../../connectors/agent/rules.js';
import { HostSampler } from '../../connectors/agent/sampler.js';
import { quantile } from '../lib.js';

/**
 * CPU time of one `resin agent` sampling cycle (read /proc for every process, place
 * each in its component, build the Arrow batches and encode them as IPC messages)
 * with `--processes` extra processes on the host: that many `sleep` children are
 * started first. CPU is user + system time of this process (process.cpuUsage), so
 * kernel time spent generating /proc files counts. The first cycle, which reads every
 * command line and cgroup, is reported apart from the steady state.
 *
 *   node dist/bench/agent/cycle.js [--processes 1000] [--cycles 30]
 */

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const extra = arg('processes', 1000);
const cycles = arg('cycles', 30);

function processCount(): number {
  return readdirSync('/proc').filter((n) => n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57).length;
}

async function startSleepers(n: number): Promise<ChildProcess[]> {
  const children: ChildProcess[] = [];
  const started: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    started.push(new Promise((resolve, reject) => { child.once('spawn', resolve); child.once('error', reject); }));
    children.push(child);
    // Let the event loop breathe so that it does not queue 1,000 forks at once.
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(started);
  return children;
}

async function main(): Promise<void> {
  const children = await startSleepers(extra);
  const cleanup = () => { for (const c of children) c.kill('SIGKILL'); };
  process.once('exit', cleanup);
  try {
    const host = hostname();
    const sampler = new HostSampler({ host, rules: new ComponentRules(), memory: 'rss', cgroups: true });
    const measure = () => {
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      const cycle = sampler.sample();
      const messages = encodeCycle(cycle, host, 'resin.telemetry');
      const wall = performance.now() - t0;
      const used = process.cpuUsage(cpu);
      return { cpuMs: (used.user + used.system) / 1000, wallMs: wall, cycle, bytes: messages.reduce((s, m) => s + m.data.byteLength, 0), messages: messages.length };
    };
    const first = measure();
    const cpu: number[] = [];
    const wall: number[] = [];
    let last = first;
    for (let i = 0; i < cycles; i++) {
      // Agents sleep between cycles; so does this loop, which also lets GC run outside the measured span.
      await new Promise((r) => setTimeout(r, 20));
      last = measure();
      cpu.push(last.cpuMs);
      wall.push(last.wallMs);
    }
    cpu.sort((a, b) => a - b);
    wall.sort((a, b) => a - b);
    const result = {
      processes_on_host: processCount(),
      sampled: last.cycle.processes,
      cgroup_rows: last.cycle.cgroupRows,
      components: last.cycle.components.length,
      messages: last.messages,
      bytes_per_cycle: last.bytes,
      first_cycle_cpu_ms: Math.round(first.cpuMs * 10) / 10,
      cpu_ms_median: Math.round(quantile(cpu, 0.5) * 10) / 10,
      cpu_ms_p90: Math.round(quantile(cpu, 0.9) * 10) / 10,
      cpu_ms_max: Math.round(cpu[cpu.length - 1]! * 10) / 10,
      wall_ms_median: Math.round(quantile(wall, 0.5) * 10) / 10,
      cycles,
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    cleanup();
  }
}

await main();
