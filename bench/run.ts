import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mainThreadRunMs } from './cpu.js';
import { flag, measureRows, saveResults, type RowResult, type RowTask } from './lib.js';
import { DEFAULT_SIZES, operatorTasks, type OperatorSizes } from './operators.js';
import { readerTasks } from './readers.js';
import { replayTasks } from './replay.js';

/**
 * The throughput table: every operator of the default pipeline and every file reader
 * on one core, then the end-to-end replay of a file through the CLI's session code,
 * each with its median time, samples/s, and ratio to a plain typed-array loop (or the
 * plainest parse) doing the same work in the same run. One table on stdout, all of it
 * in bench/results/bench.json so that runs can be compared. Beside the wall-clock
 * median, the median CPU time of the main thread per run: on a shared machine, wall
 * time also measures the neighbours.
 *
 *   npm run bench [-- --quick] [--iterations N]
 */
const quick = process.argv.includes('--quick');
const iterations = flag('iterations', quick ? 3 : 5);
const sizes: OperatorSizes = quick
  ? { samples: 250_000, series: 4_000, hours: 168, bucketSeries: 1_000, bucketDays: 20 }
  : DEFAULT_SIZES;
const fileRows = quick ? 200_000 : 500_000;

const rate = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));

/** CPU time of each call of each task, ms. */
const cpuCalls = new Map<string, number[]>();

function withCpu(suite: string, t: RowTask): RowTask {
  const calls: number[] = [];
  cpuCalls.set(`${suite}\0${t.name}`, calls);
  return {
    ...t,
    fn: async () => {
      const c0 = mainThreadRunMs();
      const r = await t.fn();
      calls.push(mainThreadRunMs() - c0);
      return r;
    },
  };
}

interface Measured extends RowResult {
  cpu_median_ms: number;
  samples_per_cpu_s: number;
}

function withCpuFigures(suite: string, results: RowResult[]): Measured[] {
  return results.map((r) => {
    // The timed runs are the last ones; warm-up calls come first.
    const calls = cpuCalls.get(`${suite}\0${r.name}`)!.slice(-r.iterations).sort((a, b) => a - b);
    const cpu = calls[Math.floor(calls.length / 2)]!;
    return { ...r, cpu_median_ms: cpu, samples_per_cpu_s: r.rows / (cpu / 1000) };
  });
}

/** One table: a ceiling's row comes before the rows measured against it, each ratio names its ceiling's row number. */
function printTable(title: string, groups: [string, Measured[]][]): void {
  const rows: string[][] = [];
  for (const [suite, results] of groups) {
    const number = new Map<string, number>();
    for (const r of results) {
      number.set(r.name, rows.length + 1);
      const ratio = r.ratio_to_ceiling === null ? '' : `${(r.ratio_to_ceiling * 100).toFixed(r.ratio_to_ceiling < 0.1 ? 1 : 0)}% of #${number.get(r.ceiling!)}`;
      rows.push([String(rows.length + 1), suite, r.name, `${r.median_ms.toFixed(1)} ms`, `${rate(r.samples_per_s)}/s`,
        `${rate(r.samples_per_cpu_s)}/s`, ratio]);
    }
  }
  const header = ['#', 'group', 'task', 'median', 'samples/s', 'per cpu-s', 'vs ceiling'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c >= 3 && c <= 5 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  console.log(`\n${title}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(line).join('\n')}`);
}

const dir = mkdtempSync(join(tmpdir(), 'resin-bench-'));
try {
  const started = performance.now();
  const groups: [string, Measured[]][] = [];
  for (const [suite, make] of [
    ['operators', () => operatorTasks(sizes)],
    ['readers', () => readerTasks(dir, fileRows)],
    ['replay', () => replayTasks(dir, fileRows)],
  ] as const) {
    process.stderr.write(`measuring ${suite}...\n`);
    const tasks = (await make()).map((t) => withCpu(suite, t));
    groups.push([suite, withCpuFigures(suite, await measureRows(suite, tasks, { iterations }))]);
  }
  const seconds = (performance.now() - started) / 1000;
  printTable(`resin throughput, one core (median of ${iterations} runs${quick ? ', --quick' : ''}; ${seconds.toFixed(0)} s)`, groups);
  const path = saveResults('bench', {
    quick, iterations, sizes, file_rows: fileRows, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, seconds,
    results: Object.fromEntries(groups),
  });
  console.log(`\nresults: ${path}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
