import type { RecordBatch } from 'apache-arrow';
import { makeSampleBatch, utf8Data } from '../../engine/telemetry/arrowData.js';
import type { SampleColumns } from '../../engine/telemetry/schema.js';
import type { KernelSampler } from './kernel.js';
import { Procfs, ProcStatus } from './procfs.js';
import { ComponentRules, executableName, type Placement } from './rules.js';

export interface SamplerOptions {
  /** Host name recorded in every sample. */
  readonly host: string;
  readonly rules: ComponentRules;
  /** Which status figure goes into `rss`: VmRSS (resident) or RssAnon (anonymous resident, no file cache). */
  readonly memory: 'rss' | 'anon';
  /** Also sample each memory cgroup holding sampled processes (one row per cgroup). */
  readonly cgroups: boolean;
  readonly region?: string;
  readonly cluster?: string;
  readonly procfs?: Procfs;
  /** Also report kernel memory (slab caches, meminfo counters) as `kernel.*` components. */
  readonly kernel?: KernelSampler;
  /** Cycles after which a known process's command line and cgroup are read again (default 10). */
  readonly refreshEvery?: number;
}

/** One component's samples of one cycle. */
export interface ComponentSamples {
  readonly component: string;
  readonly batch: RecordBatch<SampleColumns>;
}

export interface Cycle {
  /** Sample time, ms since the epoch. */
  readonly ts: number;
  readonly components: ComponentSamples[];
  /** Processes sampled (rows, without cgroup rows). */
  readonly processes: number;
  readonly cgroupRows: number;
  /** Processes that exited between listing /proc and reading them. */
  readonly vanished: number;
  /** /proc entries that could not be read (permissions, hidepid). */
  readonly unreadable: number;
  /** Kernel threads and zombies: no resident memory to report. */
  readonly skipped: number;
  /** Kernel memory rows (slab caches, meminfo counters). */
  readonly kernelRows: number;
}

/** What is remembered of a process between cycles; rebuilt when the pid is reused. */
interface Known {
  name: string;
  ppid: number;
  placement: Placement | null;
  cgroupPath: string | null;
  cgroupFile: string | null;
  readAt: number;
  seenAt: number;
}

/**
 * One sample of every process on the host per call. The per-process cost is one read
 * of /proc/<pid>/status; the command line and the cgroup are read when a pid is first
 * seen (or reused by another program, told by its name and parent) and every
 * `refreshEvery` cycles after, and each memory cgroup's usage once per cycle.
 *
 * A process label must be unique within its component on a host (a series is host,
 * component, process): when several processes get the same label in a cycle, each
 * gets its pid appended (`nginx:4121`).
 */
export class HostSampler {
  private readonly procfs: Procfs;
  private readonly known = new Map<number, Known>();
  private readonly status = new ProcStatus();
  private readonly refreshEvery: number;
  private cycle = 0;

  constructor(readonly options: SamplerOptions) {
    this.procfs = options.procfs ?? new Procfs();
    this.refreshEvery = options.refreshEvery ?? 10;
  }

  /** Processes remembered between cycles (bounded by those alive at the last cycle). */
  get knownProcesses(): number {
    return this.known.size;
  }

  sample(ts = Date.now()): Cycle {
    const cycle = ++this.cycle;
    const { procfs, status, options } = this;
    const pids = procfs.pids();
    const n = pids.length;
    const rowPid = new Int32Array(n);
    const rowMem = new Float64Array(n);
    const rowKnown: Known[] = new Array(n);
    let rows = 0;
    let vanished = 0;
    let unreadable = 0;
    let skipped = 0;

    for (let k = 0; k < n; k++) {
      const pid = pids[k]!;
      if (!procfs.status(pid, status)) {
        if (procfs.failure === 'vanished') vanished++;
        else unreadable++;
        continue;
      }
      const mem = options.memory === 'anon' ? status.anon : status.rss;
      if (mem < 0) {
        skipped++;
        continue;
      }
      let known = this.known.get(pid);
      if (known === undefined || known.name !== status.name || known.ppid !== status.ppid || cycle - known.readAt >= this.refreshEvery) {
        const fresh = this.identify(pid, status);
        if (fresh === null) {
          if (procfs.failure === 'vanished') vanished++;
          else unreadable++;
          this.known.delete(pid);
          continue;
        }
        known = fresh;
        this.known.set(pid, known);
      }
      known.seenAt = cycle;
      if (known.placement === null) continue;
      rowPid[rows] = pid;
      rowMem[rows] = mem;
      rowKnown[rows] = known;
      rows++;
    }
    // Forget processes that are gone, so the cache stays as large as the process table.
    for (const [pid, k] of this.known) if (k.seenAt !== cycle) this.known.delete(pid);

    return this.assemble(ts, rows, rowPid, rowMem, rowKnown, { vanished, unreadable, skipped });
  }

  /** Command line, cgroup and placement of a process; null when it vanished meanwhile. */
  private identify(pid: number, status: ProcStatus): Known | null {
    const { procfs, options } = this;
    const cmdline = procfs.cmdline(pid);
    if (cmdline === null && procfs.failure === 'vanished') return null;
    const exe = executableName(cmdline ?? '', status.name);
    const cgroup = options.cgroups ? procfs.memoryCgroup(pid) : null;
    const placement = options.rules.place({ pid, exe, cmdline: cmdline ?? '', cgroup: cgroup?.path ?? '' });
    return {
      name: status.name, ppid: status.ppid, placement,
      cgroupPath: cgroup?.path ?? null, cgroupFile: cgroup?.file ?? null,
      // Staggered by pid, so that refreshes spread over cycles instead of all landing on one.
      readAt: this.cycle - (pid % this.refreshEvery), seenAt: this.cycle,
    };
  }

  private assemble(
    ts: number, rows: number, rowPid: Int32Array, rowMem: Float64Array, rowKnown: Known[],
    counts: { vanished: number; unreadable: number; skipped: number },
  ): Cycle {
    const { options, procfs } = this;
    // Rows grouped by component: components in order of first sight, rows in /proc order.
    const componentIds = new Map<string, number>();
    const rowComponent = new Int32Array(rows);
    for (let i = 0; i < rows; i++) {
      const name = rowKnown[i]!.placement!.component;
      let c = componentIds.get(name);
      if (c === undefined) {
        c = componentIds.size;
        componentIds.set(name, c);
      }
      rowComponent[i] = c;
    }
    // A label used twice within a component gets pids appended.
    const labels: string[] = new Array(rows);
    const uses = new Map<string, number>();
    for (let i = 0; i < rows; i++) {
      const key = `${rowComponent[i]}\0${rowKnown[i]!.placement!.process}`;
      uses.set(key, (uses.get(key) ?? 0) + 1);
    }
    for (let i = 0; i < rows; i++) {
      const label = rowKnown[i]!.placement!.process;
      labels[i] = uses.get(`${rowComponent[i]}\0${label}`)! > 1 ? `${label}:${rowPid[i]}` : label;
    }

    // Cgroup rows: each cgroup read once, filed under its largest process's component.
    const cgroupOwner = new Map<string, number>();
    if (options.cgroups) {
      for (let i = 0; i < rows; i++) {
        const file = rowKnown[i]!.cgroupFile;
        if (file === null) continue;
        const owner = cgroupOwner.get(file);
        if (owner === undefined || rowMem[i]! > rowMem[owner]!) cgroupOwner.set(file, i);
      }
    }
    const cgroupMem = new Map<string, number>();
    for (const file of cgroupOwner.keys()) {
      const v = procfs.number(file);
      if (v >= 0) cgroupMem.set(file, v);
    }

    const hostMem = procfs.memTotal();
    // Rows ordered by component (a counting sort): component c owns order[start[c], start[c + 1]).
    const start = new Int32Array(componentIds.size + 1);
    for (let i = 0; i < rows; i++) start[rowComponent[i]! + 1]!++;
    for (let c = 0; c < componentIds.size; c++) start[c + 1]! += start[c]!;
    const order = new Int32Array(rows);
    const fillAt = start.slice(0, componentIds.size);
    for (let i = 0; i < rows; i++) order[fillAt[rowComponent[i]!]!++] = i;
    const cgroupsOf: number[][] = Array.from({ length: componentIds.size }, () => []);
    for (const [file, owner] of cgroupOwner) if (cgroupMem.has(file)) cgroupsOf[rowComponent[owner]!]!.push(owner);

    const hostDict = utf8Data([options.host]);
    const regionDict = options.region !== undefined ? utf8Data([options.region]) : null;
    const clusterDict = options.cluster !== undefined ? utf8Data([options.cluster]) : null;
    const components: ComponentSamples[] = [];
    let cgroupRows = 0;
    for (const [component, c] of componentIds) {
      const owners = cgroupsOf[c]!;
      const len = start[c + 1]! - start[c]! + owners.length;
      const tsCol = new Float64Array(len).fill(ts);
      const rss = new Float64Array(len);
      const pid = new Int32Array(len);
      const pidValid = new Uint8Array((len + 7) >> 3);
      const processIdx = new Int32Array(len);
      const names: string[] = [];
      let j = 0;
      for (let k = start[c]!; k < start[c + 1]!; k++) {
        const i = order[k]!;
        rss[j] = rowMem[i]!;
        pid[j] = rowPid[i]!;
        pidValid[j >> 3]! |= 1 << (j & 7);
        processIdx[j] = names.length;
        names.push(labels[i]!);
        j++;
      }
      for (const owner of owners) {
        const known = rowKnown[owner]!;
        rss[j] = cgroupMem.get(known.cgroupFile!)!;
        processIdx[j] = names.length;
        names.push(`cgroup:${known.cgroupPath}`);
        j++;
      }
      cgroupRows += owners.length;
      // Each column its own index array: Arrow's IPC writer miscounts the body of a batch whose columns share one.
      const zeros = () => new Int32Array(len);
      components.push({
        component,
        batch: makeSampleBatch({
          length: len, ts: tsCol, rss, pid, pidValid,
          host_mem: hostMem >= 0 ? new Float64Array(len).fill(hostMem) : null,
          strings: {
            host: { indices: zeros(), dictionary: hostDict },
            component: { indices: zeros(), dictionary: utf8Data([component]) },
            process: { indices: processIdx, dictionary: utf8Data(names) },
            region: regionDict ? { indices: zeros(), dictionary: regionDict } : null,
            cluster: clusterDict ? { indices: zeros(), dictionary: clusterDict } : null,
            version: null,
          },
        }),
      });
    }
    const kernel = options.kernel?.sample(ts);
    if (kernel) components.push(...kernel.components);
    return { ts, components, processes: rows, cgroupRows, kernelRows: kernel?.rows ?? 0, ...counts };
  }
}
