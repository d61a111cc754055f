import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KernelSampler, KERNEL_MEMINFO, KERNEL_SLAB } from '../../../connectors/agent/kernel.js';
import { parseMeminfo } from '../../../connectors/agent/meminfo.js';
import { ComponentRules } from '../../../connectors/agent/rules.js';
import { HostSampler } from '../../../connectors/agent/sampler.js';
import { parseSlabinfo } from '../../../connectors/agent/slabinfo.js';
import { createLogger } from '../../../engine/log.js';
import { isKernelComponent, isReclaimableKernelComponent } from '../../../engine/telemetry/kernel.js';
import { rowObject } from '../../../engine/telemetry/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'resin-kernel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rowsOf = (components: { batch: Parameters<typeof rowObject>[0] }[]) =>
  components.flatMap((c) => Array.from({ length: c.batch.numRows }, (_, i) => rowObject(c.batch, i)));

const SLABINFO = [
  'slabinfo - version: 2.1',
  '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>',
  'kmalloc-256         1893   2048    256   16    1 : tunables    0    0    0 : slabdata    128    128      0',
  'dentry             30000  31000    192   21    1 : tunables    0    0    0 : slabdata   1476   1476      0',
  'btrfs_free_space       0      0    104   39    1 : tunables    0    0    0 : slabdata      0      0      0',
  'garbage line',
  '',
].join('\n');

const MEMINFO = 'MemTotal:       2048000 kB\nSlab:   5000 kB\nSReclaimable:    3000 kB\nSUnreclaim:      2000 kB\nPageTables:  700 kB\nVmallocUsed:  900 kB\nPercpu:  128 kB\nHugePages_Total:  0\n';

/** A fake /proc and /sys/kernel/slab where dentry is reclaimable. */
function fakeKernel(): { slabinfo: string; meminfo: string; sysSlab: string } {
  const root = mkdtempSync(join(dir, 'tree-'));
  writeFileSync(join(root, 'slabinfo'), SLABINFO);
  writeFileSync(join(root, 'meminfo'), MEMINFO);
  for (const [cache, flag] of [['dentry', '1'], ['kmalloc-256', '0']] as const) {
    mkdirSync(join(root, 'slab', cache), { recursive: true });
    writeFileSync(join(root, 'slab', cache, 'reclaim_account'), `${flag}\n`);
  }
  return { slabinfo: join(root, 'slabinfo'), meminfo: join(root, 'meminfo'), sysSlab: join(root, 'slab') };
}

describe('kernel memory parsing', () => {
  it('reads every cache line of slabinfo and skips the headers and broken lines', () => {
    expect(parseSlabinfo(SLABINFO)).toEqual([
      { name: 'kmalloc-256', activeObjects: 1893, objects: 2048, objectSize: 256 },
      { name: 'dentry', activeObjects: 30000, objects: 31000, objectSize: 192 },
      { name: 'btrfs_free_space', activeObjects: 0, objects: 0, objectSize: 104 },
    ]);
  });

  it('reads the meminfo counters in bytes and leaves out the ones not asked for', () => {
    const m = parseMeminfo(MEMINFO);
    expect(Object.fromEntries(m)).toEqual({
      MemTotal: 2048000 * 1024, SReclaimable: 3000 * 1024, SUnreclaim: 2000 * 1024,
      PageTables: 700 * 1024, VmallocUsed: 900 * 1024, Percpu: 128 * 1024,
    });
  });
});

describe('kernel sampler', () => {
  it('reports caches in use by reclaimability, and meminfo counters, as kernel.* components of the host', () => {
    const k = new KernelSampler({ host: 'h1', cluster: 'c1', ...fakeKernel() });
    const cycle = k.sample(60_000);
    const rows = rowsOf(cycle.components);
    expect(cycle.rows).toBe(rows.length);
    expect(cycle.unreadable).toBe(0);
    const by = (component: string) => rows.filter((r) => r.component === component).map((r) => [r.process, r.rss]);
    expect(by(KERNEL_SLAB)).toEqual([['kmalloc-256', 1893 * 256]]);
    expect(by(`${KERNEL_SLAB}.reclaimable`)).toEqual([['dentry', 30000 * 192]]);
    expect(by(KERNEL_MEMINFO)).toEqual([
      ['SUnreclaim', 2000 * 1024], ['VmallocUsed', 900 * 1024], ['Percpu', 128 * 1024], ['PageTables', 700 * 1024],
    ]);
    expect(by(`${KERNEL_MEMINFO}.reclaimable`)).toEqual([['SReclaimable', 3000 * 1024]]);
    expect(rows.every((r) => isKernelComponent(r.component as string))).toBe(true);
    expect(rows.filter((r) => isReclaimableKernelComponent(r.component as string)).map((r) => r.process)).toEqual(['dentry', 'SReclaimable']);
    expect(isKernelComponent('kernelsvc')).toBe(false);
    for (const r of rows) {
      expect(r).toMatchObject({ ts: 60_000, host: 'h1', cluster: 'c1', host_mem: 2048000 * 1024 });
      expect(r.pid).toBeUndefined();
    }
  });

  it('says once that slabinfo is unreadable, goes on with meminfo, and says when it is back', () => {
    const lines: string[] = [];
    const log = createLogger({ format: 'json', level: 'info', write: (l) => lines.push(l) });
    const fake = fakeKernel();
    // A directory: unreadable as a file even for root, who can read a file of any mode.
    const blocked = join(dir, 'blocked');
    mkdirSync(blocked, { recursive: true });
    const k = new KernelSampler({ host: 'h1', log, meminfo: fake.meminfo, sysSlab: fake.sysSlab, slabinfo: blocked });
    for (let i = 0; i < 3; i++) {
      const cycle = k.sample(i);
      expect(cycle.unreadable).toBe(1);
      expect(rowsOf(cycle.components).map((r) => r.component)).not.toContain(KERNEL_SLAB);
      expect(cycle.rows).toBe(5);
    }
    expect(k.slabUnreadable).toBe(true);
    const warnings = lines.filter((l) => l.includes('cannot read kernel memory file'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(blocked);
    expect(warnings[0]).toContain('EISDIR');
    rmSync(blocked, { recursive: true });
    writeFileSync(blocked, SLABINFO);
    expect(k.sample(4).unreadable).toBe(0);
    expect(k.slabUnreadable).toBe(false);
    expect(lines.filter((l) => l.includes('readable again'))).toHaveLength(1);

    const missing = new KernelSampler({ host: 'h1', log, meminfo: fake.meminfo, slabinfo: join(dir, 'no-such-file') });
    expect(missing.sample(0).rows).toBe(5);
    expect(lines.filter((l) => l.includes('ENOENT'))).toHaveLength(1);
  });
});

describe('kernel memory on this machine', () => {
  it('the agent\'s cycle includes slab caches and the meminfo kernel counters', () => {
    const sampler = new HostSampler({
      host: 'me', rules: new ComponentRules(), memory: 'rss', cgroups: false, kernel: new KernelSampler({ host: 'me' }),
    });
    const cycle = sampler.sample(1000);
    const rows = rowsOf(cycle.components);
    expect(cycle.kernelRows).toBe(rows.filter((r) => String(r.component).startsWith('kernel.')).length);
    const slab = rows.filter((r) => r.component === KERNEL_SLAB || r.component === `${KERNEL_SLAB}.reclaimable`);
    // Tests run as root here; every Linux kernel has dozens of caches in use.
    expect(slab.length).toBeGreaterThan(20);
    expect(slab.some((r) => String(r.process).startsWith('kmalloc-'))).toBe(true);
    expect(slab.every((r) => (r.rss as number) > 0)).toBe(true);
    const counters = rows.filter((r) => String(r.component).startsWith(KERNEL_MEMINFO)).map((r) => r.process);
    expect(counters).toEqual(expect.arrayContaining(['SUnreclaim', 'SReclaimable', 'VmallocUsed', 'PageTables']));
    // Processes are still there beside them.
    expect(cycle.processes).toBeGreaterThan(0);
  });
});
