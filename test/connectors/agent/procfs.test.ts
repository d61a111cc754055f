import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Procfs } from '../../../connectors/agent/procfs.js';
import { ComponentRules } from '../../../connectors/agent/rules.js';
import { HostSampler } from '../../../connectors/agent/sampler.js';
import { rowObject } from '../../../engine/telemetry/schema.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

/** A fake /proc and /sys/fs/cgroup: each entry is a path and its content (a directory when null). */
function tree(files: Record<string, string | null>): { proc: string; cgroupRoot: string } {
  const root = mkdtempSync(join(tmpdir(), 'resin-proc-'));
  dirs.push(root);
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    if (content === null) {
      mkdirSync(full, { recursive: true });
    } else {
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
  }
  return { proc: join(root, 'proc'), cgroupRoot: join(root, 'cgroup') };
}

const status = (name: string, rssKb: number | null, anonKb = 0, ppid = 1) =>
  `Name:\t${name}\nUmask:\t0022\nState:\tS (sleeping)\nPPid:\t${ppid}\n` +
  (rssKb === null ? '' : `VmRSS:\t ${rssKb} kB\nRssAnon:\t ${anonKb} kB\nRssFile:\t 1 kB\n`) + 'Threads:\t1\n';

const rowsOf = (cycle: ReturnType<HostSampler['sample']>) =>
  cycle.components.flatMap((c) => Array.from({ length: c.batch.numRows }, (_, i) => rowObject(c.batch, i)));

describe('host sampler over a fake /proc', () => {
  it('samples live processes and cgroups (v1 and v2), skipping what vanished, is unreadable or has no memory', () => {
    const fs = tree({
      'proc/meminfo': 'MemTotal:       2048 kB\nMemFree: 1 kB\n',
      'proc/100/status': status('a', 1000, 600),
      'proc/100/cmdline': '/usr/bin/api-server\0--port\x008080\0',
      'proc/100/cgroup': '4:memory:/svc/api\n0::/\n',
      'proc/101': null, // exited after /proc was listed
      'proc/102/status': status('b', 50), // exits before its cmdline is read
      'proc/103/status': null, // unreadable (a directory here; EACCES on a real host)
      'proc/104/status': status('kworker/0:1', null), // kernel thread: no VmRSS
      'proc/105/status': status('worker', 3000, 2000),
      'proc/105/cmdline': 'worker: busy\0',
      'proc/105/cgroup': '0::/kube/pod1\n',
      'cgroup/memory/svc/api/memory.usage_in_bytes': '5000000\n',
      'cgroup/unified/kube/pod1/memory.current': '7000000\n',
    });
    const sampler = new HostSampler({
      host: 'h1', rules: new ComponentRules(), memory: 'rss', cgroups: true, cluster: 'c1',
      procfs: new Procfs(fs),
    });
    const cycle = sampler.sample(60_000);
    expect({ vanished: cycle.vanished, unreadable: cycle.unreadable, skipped: cycle.skipped, processes: cycle.processes }).toEqual({
      vanished: 2, unreadable: 1, skipped: 1, processes: 2,
    });
    expect(cycle.components.map((c) => c.component).sort()).toEqual(['api-server', 'worker']);
    expect(rowsOf(cycle).sort((x, y) => `${x.component} ${x.process}`.localeCompare(`${y.component} ${y.process}`))).toEqual([
      { ts: 60_000, host: 'h1', component: 'api-server', process: 'api-server', pid: 100, rss: 1000 * 1024, host_mem: 2048 * 1024, cluster: 'c1' },
      { ts: 60_000, host: 'h1', component: 'api-server', process: 'cgroup:/svc/api', rss: 5_000_000, host_mem: 2048 * 1024, cluster: 'c1' },
      { ts: 60_000, host: 'h1', component: 'worker', process: 'cgroup:/kube/pod1', rss: 7_000_000, host_mem: 2048 * 1024, cluster: 'c1' },
      { ts: 60_000, host: 'h1', component: 'worker', process: 'worker', pid: 105, rss: 3000 * 1024, host_mem: 2048 * 1024, cluster: 'c1' },
    ]);
    // Only processes alive at the last cycle are remembered.
    expect(sampler.knownProcesses).toBe(2);
  });

  it('reports RssAnon with memory: anon, and appends pids to labels used twice in a component', () => {
    const fs = tree({
      'proc/meminfo': 'MemTotal: 1 kB\n',
      'proc/7/status': status('nginx', 100, 10),
      'proc/7/cmdline': 'nginx: worker process\0',
      'proc/8/status': status('nginx', 200, 20),
      'proc/8/cmdline': 'nginx: worker process\0',
      'proc/9/status': status('sh', 5, 1),
      'proc/9/cmdline': '/bin/sh\0',
    });
    const rules = new ComponentRules({ rules: [{ exe: 'sh', ignore: true }, { exe: 'nginx', component: 'web' }] });
    const cycle = new HostSampler({ host: 'h', rules, memory: 'anon', cgroups: false, procfs: new Procfs(fs) }).sample(1);
    expect(rowsOf(cycle).map((r) => [r.component, r.process, r.rss])).toEqual([
      ['web', 'nginx:7', 10 * 1024], ['web', 'nginx:8', 20 * 1024],
    ]);
  });

  it('reads a known process\'s command line again only every refreshEvery cycles, a reused pid at once', () => {
    const fs = tree({
      'proc/meminfo': 'MemTotal: 1 kB\n',
      'proc/51/status': status('old', 10),
      'proc/51/cmdline': '/bin/old\0',
    });
    const sampler = new HostSampler({ host: 'h', rules: new ComponentRules(), memory: 'rss', cgroups: false, procfs: new Procfs(fs), refreshEvery: 3 });
    const component = (ts: number) => rowsOf(sampler.sample(ts))[0]!.component;
    expect(component(1)).toBe('old');
    writeFileSync(join(fs.proc, '51/cmdline'), '/bin/renamed\0');
    expect([component(2), component(3), component(4)]).toEqual(['old', 'old', 'renamed']);
    writeFileSync(join(fs.proc, '51/status'), status('new', 10, 0, 77));
    writeFileSync(join(fs.proc, '51/cmdline'), '/bin/new\0');
    expect(component(5)).toBe('new'); // another program under the same pid: other name and parent
  });
});

describe('component rules', () => {
  it('matches exe, cmdline and cgroup together, first rule first, filling placeholders', () => {
    const rules = new ComponentRules({
      rules: [
        { component: 'api', exe: ['node', 'bun'], cmdline: 'server\\.js' },
        { component: 'svc-{1}', process: '{exe}-{pid}', cgroup: '^/system\\.slice/(.+)\\.service$' },
        { component: 'py-{1}', cmdline: 'python3? -m (\\w+)' },
      ],
    });
    const facts = (exe: string, cmdline: string, cgroup = '') => ({ pid: 9, exe, cmdline, cgroup });
    expect(rules.place(facts('node', 'node /srv/server.js'))).toEqual({ component: 'api', process: 'node' });
    expect(rules.place(facts('deno', 'deno /srv/server.js'))).toEqual({ component: 'deno', process: 'deno' });
    expect(rules.place(facts('nginx', 'nginx', '/system.slice/nginx.service'))).toEqual({ component: 'svc-nginx', process: 'nginx-9' });
    expect(rules.place(facts('python3', 'python3 -m celery worker'))).toEqual({ component: 'py-celery', process: 'python3' });
  });

  it('refuses bad rules with every problem named', () => {
    expect(() => new ComponentRules({ rules: [{ component: 'x' }, { exe: 'a' }, { component: 'y', cmdline: '(' }] } as never))
      .toThrow(/rules\[0\]: needs at least one of exe, cmdline, cgroup[\s\S]*rules\[1\]\.component: is required[\s\S]*rules\[2\]\.cmdline: not a regular expression/);
    expect(() => new ComponentRules({ rules: [{ component: 'x', exe: 'a', color: 'red' }] } as never)).toThrow(/unknown field "color"/);
  });
});
