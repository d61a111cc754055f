import { readFileSync } from 'node:fs';
import { makeSampleBatch, utf8Data } from '../../engine/telemetry/arrowData.js';
import type { Logger } from '../../engine/log.js';
import { KERNEL_MEMINFO, KERNEL_SLAB, RECLAIMABLE_SUFFIX } from '../../engine/telemetry/kernel.js';
import { MEMINFO_COUNTERS, parseMeminfo, RECLAIMABLE_COUNTERS } from './meminfo.js';
import type { ComponentSamples } from './sampler.js';
import { parseSlabinfo, Reclaimability } from './slabinfo.js';

/**
 * Kernel memory as components (engine/telemetry/kernel.ts): reclaimability is carried
 * in the component name, which keeps the sample schema as it is and splits what should
 * be compared apart: a dentry cache that grows with the file system is not a leak, and
 * level-1 detection, which is per component, would otherwise count it with the caches
 * that never shrink (RESIN's kernel components are likewise pool tag x pool type).
 */
export { KERNEL_MEMINFO, KERNEL_SLAB, RECLAIMABLE_SUFFIX };

export interface KernelSamplerOptions {
  readonly host: string;
  readonly region?: string;
  readonly cluster?: string;
  /** /proc/slabinfo (readable by root only on most kernels). */
  readonly slabinfo?: string;
  readonly meminfo?: string;
  /** /sys/kernel/slab: per-cache `reclaim_account`. */
  readonly sysSlab?: string;
  /** Told once when a file cannot be read (and once when it can again). */
  readonly log?: Logger;
}

/** What one call read. */
export interface KernelCycle {
  readonly components: ComponentSamples[];
  readonly rows: number;
  /** Files that could not be read this cycle. */
  readonly unreadable: number;
}

interface Row {
  component: string;
  process: string;
  bytes: number;
}

/**
 * Per cycle: every slab cache with objects in use (active objects x object size) and
 * the kernel counters of /proc/meminfo, as samples without a pid. Reading either
 * file may fail (slabinfo is mode 0400 unless the agent runs as root): the sampler
 * says so once, goes on with what it can read, and says so again if it recovers.
 */
export class KernelSampler {
  private readonly slabinfo: string;
  private readonly meminfo: string;
  private readonly reclaim: Reclaimability;
  private readonly failing = new Set<string>();

  constructor(readonly options: KernelSamplerOptions) {
    this.slabinfo = options.slabinfo ?? '/proc/slabinfo';
    this.meminfo = options.meminfo ?? '/proc/meminfo';
    this.reclaim = new Reclaimability(options.sysSlab ?? '/sys/kernel/slab');
  }

  /** Whether /proc/slabinfo could not be read at the last cycle. */
  get slabUnreadable(): boolean {
    return this.failing.has(this.slabinfo);
  }

  sample(ts: number): KernelCycle {
    const rows: Row[] = [];
    let unreadable = 0;
    const slab = this.read(this.slabinfo);
    if (slab === null) unreadable++;
    else {
      for (const c of parseSlabinfo(slab)) {
        const bytes = c.activeObjects * c.objectSize;
        if (bytes === 0) continue;
        rows.push({ component: KERNEL_SLAB + (this.reclaim.reclaimable(c.name) ? RECLAIMABLE_SUFFIX : ''), process: c.name, bytes });
      }
    }
    const mem = this.read(this.meminfo);
    let hostMem = -1;
    if (mem === null) unreadable++;
    else {
      const values = parseMeminfo(mem);
      hostMem = values.get('MemTotal') ?? -1;
      for (const key of MEMINFO_COUNTERS) {
        const v = values.get(key);
        if (v !== undefined) rows.push({ component: KERNEL_MEMINFO + (RECLAIMABLE_COUNTERS.has(key) ? RECLAIMABLE_SUFFIX : ''), process: key, bytes: v });
      }
    }
    return { components: this.assemble(ts, rows, hostMem), rows: rows.length, unreadable };
  }

  private read(path: string): string | null {
    try {
      const text = readFileSync(path, 'latin1');
      if (this.failing.delete(path)) this.options.log?.info('kernel memory file readable again', { path });
      return text;
    } catch (err) {
      if (!this.failing.has(path)) {
        this.failing.add(path);
        this.options.log?.warn('cannot read kernel memory file: going on without it', {
          path, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message,
          ...(path === this.slabinfo ? { hint: 'slab caches need root (or CAP_DAC_READ_SEARCH)' } : {}),
        });
      }
      return null;
    }
  }

  /** One batch per component, rows in file order. */
  private assemble(ts: number, rows: Row[], hostMem: number): ComponentSamples[] {
    const byComponent = new Map<string, Row[]>();
    for (const r of rows) {
      let list = byComponent.get(r.component);
      if (list === undefined) byComponent.set(r.component, list = []);
      list.push(r);
    }
    const { host, region, cluster } = this.options;
    const out: ComponentSamples[] = [];
    for (const [component, list] of byComponent) {
      const n = list.length;
      // Each column its own index array: Arrow's IPC writer miscounts the body of a batch whose columns share one.
      const zeros = () => new Int32Array(n);
      out.push({
        component,
        batch: makeSampleBatch({
          length: n,
          ts: new Float64Array(n).fill(ts),
          rss: Float64Array.from(list, (r) => r.bytes),
          pid: null,
          host_mem: hostMem >= 0 ? new Float64Array(n).fill(hostMem) : null,
          strings: {
            host: { indices: zeros(), dictionary: utf8Data([host]) },
            component: { indices: zeros(), dictionary: utf8Data([component]) },
            process: { indices: Int32Array.from(list, (_, i) => i), dictionary: utf8Data(list.map((r) => r.process)) },
            region: region !== undefined ? { indices: zeros(), dictionary: utf8Data([region]) } : null,
            cluster: cluster !== undefined ? { indices: zeros(), dictionary: utf8Data([cluster]) } : null,
            version: null,
          },
        }),
      });
    }
    return out;
  }
}
