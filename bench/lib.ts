import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { PACKAGE_ROOT } from '../engine/cli/paths.js';

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
  ceiling: string | null;
  ratio_to_ceiling: number | null;
  iterations: number;
}

/**
 * Runs tasks with tinybench and reports each one's median time, samples/s, and its
 * ratio to its ceiling task measured in the same process (so machine noise hits both).
 */
export async function measureRows(suite: string, tasks: RowTask[], opts: { iterations?: number } = {}): Promise<RowResult[]> {
  const bench = new Bench({ name: suite, iterations: opts.iterations ?? 5, time: 0, warmupIterations: 1, warmupTime: 0 });
  for (const t of tasks) {
    bench.add(t.name, t.fn, {
      // Declared, so that tinybench does not call fn once outside the hooks to find out.
      ...(t.beforeEach || t.afterEach ? { async: true } : {}),
      ...(t.beforeEach ? { beforeEach: async () => { await t.beforeEach!(); } } : {}),
      ...(t.afterEach ? { afterEach: async () => { await t.afterEach!(); } } : {}),
    });
  }
  await bench.run();
  const medians = new Map<string, number>();
  for (const task of bench.tasks) {
    const r = task.result;
    if (r.state === 'errored') throw new Error(`benchmark "${task.name}" failed: ${r.error.message}`, { cause: r.error });
    if (r.state !== 'completed') throw new Error(`benchmark "${task.name}" did not complete (${r.state})`);
    medians.set(task.name, r.latency.p50);
  }
  return tasks.map((t) => {
    const median = medians.get(t.name)!;
    const sps = t.rows / (median / 1000);
    const ceil = t.ceiling ? medians.get(t.ceiling) : undefined;
    return {
      name: t.name, rows: t.rows, median_ms: median, samples_per_s: sps,
      ceiling: t.ceiling ?? null,
      ratio_to_ceiling: ceil === undefined ? null : sps / (t.rows / (ceil / 1000)),
      iterations: bench.tasks.find((x) => x.name === t.name)!.runs,
    };
  });
}

export function printRows(title: string, results: RowResult[]): void {
  const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));
  const rows = results.map((r) => [r.name, `${r.median_ms.toFixed(1)} ms`, `${fmt(r.samples_per_s)}/s`,
    r.ratio_to_ceiling === null ? '' : `${(r.ratio_to_ceiling * 100).toFixed(0)}% of "${r.ceiling}"`]);
  const header = ['task', 'median', 'samples/s', 'vs ceiling'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 || c === 3 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  console.log(`\n${title}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(line).join('\n')}`);
}

/** Results go to bench/results/<suite>.json so that runs can be compared. */
export function saveResults(suite: string, results: unknown): string {
  const dir = join(PACKAGE_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${suite}.json`);
  writeFileSync(path, JSON.stringify({ suite, at: new Date().toISOString(), node: process.version, results }, null, 2) + '\n');
  return path;
}

/** `--name value` from argv, or a default. */
export function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}
