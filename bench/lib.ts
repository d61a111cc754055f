import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { PACKAGE_ROOT } from '../engine/cli/paths.js';
import { mainThreadRunMs } from './cpu.js';

/** A measured task: `rows` samples go through `fn` once per iteration. */
export interface RowTask {
  name: string;
  rows: number;
  fn: () => unknown | Promise<unknown>;
  /** Name of the task that is this one's ceiling (a plain loop doing the same work) in the same run. */
  ceiling?: string;
  /** Untimed work around each iteration (start a server or an engine, then stop it). */
  beforeEach?: () => unknown | Promise<unknown>;
  afterEach?: () => unknown | Promise<unknown>;
}

export interface RowResult {
  name: string;
  rows: number;
  median_ms: number;
  samples_per_s: number;
  /** Median CPU time of the main thread per timed run (bench/cpu.ts), and the rate it gives. */
  cpu_median_ms: number;
  samples_per_cpu_s: number;
  /** Median CPU time of every thread of the process per timed run (DuckDB's and GC threads too). */
  process_cpu_median_ms: number;
  ceiling: string | null;
  /** Wall-clock rate over the ceiling's. */
  ratio_to_ceiling: number | null;
  /** Main-thread CPU rate over the ceiling's: on a shared machine, the one that waiting for a core does not move. */
  cpu_ratio_to_ceiling: number | null;
  iterations: number;
}

/**
 * Runs tasks with tinybench and reports each one's median time (wall, and CPU of the
 * main thread and of the whole process), samples/s, and its ratio to its ceiling task
 * measured in the same process (so machine noise hits both).
 */
export async function measureRows(suite: string, tasks: RowTask[], opts: { iterations?: number } = {}): Promise<RowResult[]> {
  const bench = new Bench({ name: suite, iterations: opts.iterations ?? 5, time: 0, warmupIterations: 1, warmupTime: 0 });
  const cpu = new Map<string, { main: number[]; all: number[] }>();
  for (const t of tasks) {
    const calls = { main: [] as number[], all: [] as number[] };
    cpu.set(t.name, calls);
    bench.add(t.name, async () => {
      const main0 = mainThreadRunMs(), all0 = process.cpuUsage();
      const r = await t.fn();
      const all = process.cpuUsage(all0);
      calls.main.push(mainThreadRunMs() - main0);
      calls.all.push((all.user + all.system) / 1000);
      return r;
    }, {
      // Declared, so that tinybench does not call fn once outside the hooks to find out.
      async: true,
      ...(t.beforeEach ? { beforeEach: async () => { await t.beforeEach!(); } } : {}),
      ...(t.afterEach ? { afterEach: async () => { await t.afterEach!(); } } : {}),
    });
  }
  await bench.run();
  const measured = new Map<string, { wall: number; main: number; all: number; runs: number }>();
  for (const task of bench.tasks) {
    const r = task.result;
    if (r.state === 'errored') throw new Error(`benchmark "${task.name}" failed: ${r.error.message}`, { cause: r.error });
    if (r.state !== 'completed') throw new Error(`benchmark "${task.name}" did not complete (${r.state})`);
    // The timed runs are the last ones; warm-up calls come first.
    const calls = cpu.get(task.name)!;
    measured.set(task.name, {
      wall: r.latency.p50, main: median(calls.main.slice(-task.runs)), all: median(calls.all.slice(-task.runs)), runs: task.runs,
    });
  }
  return tasks.map((t) => {
    const m = measured.get(t.name)!;
    const ceil = t.ceiling ? measured.get(t.ceiling) : undefined;
    return {
      name: t.name, rows: t.rows, median_ms: m.wall, samples_per_s: t.rows / (m.wall / 1000),
      cpu_median_ms: m.main, samples_per_cpu_s: t.rows / (m.main / 1000), process_cpu_median_ms: m.all,
      ceiling: t.ceiling ?? null,
      ratio_to_ceiling: ceil === undefined ? null : ceil.wall / m.wall,
      cpu_ratio_to_ceiling: ceil === undefined ? null : ceil.main / m.main,
      iterations: m.runs,
    };
  });
}

const rate = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));
const share = (r: number) => `${(r * 100).toFixed(r < 0.1 ? 1 : 0)}%`;

/**
 * One table; a ceiling's row comes before the rows measured against it, and each
 * ratio names its ceiling's row number. Rates per wall second, then per CPU second of
 * the main thread; ratios to the ceiling by each.
 */
export function printRows(title: string, groups: [string, RowResult[]][]): void {
  const rows: string[][] = [];
  for (const [suite, results] of groups) {
    const number = new Map<string, number>();
    for (const r of results) {
      number.set(r.name, rows.length + 1);
      const of = r.ceiling === null ? '' : ` of #${number.get(r.ceiling)}`;
      rows.push([String(rows.length + 1), suite, r.name, `${r.median_ms.toFixed(1)} ms`, `${rate(r.samples_per_s)}/s`,
        `${rate(r.samples_per_cpu_s)}/s`, r.ratio_to_ceiling === null ? '' : share(r.ratio_to_ceiling),
        r.cpu_ratio_to_ceiling === null ? '' : `${share(r.cpu_ratio_to_ceiling)}${of}`]);
    }
  }
  const header = ['#', 'group', 'task', 'median', 'samples/s', 'per cpu-s', 'wall ratio', 'cpu ratio to ceiling'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c >= 3 && c <= 6 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  console.log(`\n${title}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(line).join('\n')}`);
}

/** The nearest-rank `q` quantile of `xs` (any order; not modified), NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** Results go to bench/results/<suite>.json so that runs can be compared. */
export function saveResults(suite: string, results: unknown): string {
  const dir = join(PACKAGE_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${suite}.json`);
  writeFileSync(path, JSON.stringify({ suite, at: new Date().toISOString(), node: process.version, results }, null, 2) + '\n');
  return path;
}

/** `--name value` from argv as text, or undefined when absent. */
export function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : undefined;
}

/** The last argument that is neither an option (`--name`) nor an option's value: a file to replay, or undefined. */
export function positional(): string | undefined {
  return process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--')).pop();
}

/** The median of `values` (the upper middle one of an even count; any order, not modified), NaN when empty. */
export function median(values: readonly number[]): number {
  return values.length === 0 ? NaN : [...values].sort((a, b) => a - b)[values.length >> 1]!;
}

/** `--name value` from argv, or a default. */
export function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

/**
 * One suite on its own from the command line (`--rows N --iterations K`): its tasks
 * over files made in a temporary folder, the table, and bench/results/<suite>.json.
 */
export async function runSuite(suite: string, what: string, make: (dir: string, rows: number) => Promise<RowTask[]>): Promise<void> {
  const rows = flag('rows', 1_000_000);
  const iterations = flag('iterations', 5);
  const dir = mkdtempSync(join(tmpdir(), `resin-${suite}-`));
  try {
    const results = await measureRows(suite, await make(dir, rows), { iterations });
    printRows(`${what}, ${rows.toLocaleString('en-US')} samples (median of ${iterations} runs; one core)`, [[suite, results]]);
    console.log(`\nresults: ${saveResults(suite, results)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
