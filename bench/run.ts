import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { flag, measureRows, printRows, saveResults, type RowResult } from './lib.js';
import { DEFAULT_SIZES, operatorTasks, type OperatorSizes } from './operators.js';
import { readerTasks } from './readers.js';
import { replayTasks } from './replay.js';

/**
 * The throughput table: every operator of the default pipeline and every file reader
 * on one core, then the end-to-end replay of a file through the CLI's session code,
 * each with its median time, samples/s, and ratio to a plain typed-array loop (or the
 * plainest parse) doing the same work in the same run. One table on stdout, all of it
 * in bench/results/bench.json so that runs can be compared. Beside the wall-clock
 * median, the median CPU time of the main thread per run, and the ratios by it: on a
 * shared machine, wall time also measures the neighbours.
 *
 *   npm run bench [-- --quick] [--iterations N] [--rows N]
 */
const quick = process.argv.includes('--quick');
const iterations = flag('iterations', quick ? 3 : 5);
const sizes: OperatorSizes = quick
  ? { samples: 250_000, series: 4_000, hours: 168, bucketSeries: 1_000, bucketDays: 20 }
  : DEFAULT_SIZES;
const fileRows = flag('rows', quick ? 200_000 : 500_000);

const dir = mkdtempSync(join(tmpdir(), 'resin-bench-'));
try {
  const started = performance.now();
  const groups: [string, RowResult[]][] = [];
  for (const [suite, make] of [
    ['operators', () => operatorTasks(sizes)],
    ['readers', () => readerTasks(dir, fileRows)],
    ['replay', () => replayTasks(dir, fileRows)],
  ] as const) {
    process.stderr.write(`measuring ${suite}...\n`);
    groups.push([suite, await measureRows(suite, await make(), { iterations })]);
  }
  const seconds = (performance.now() - started) / 1000;
  printRows(`resin throughput, one core (median of ${iterations} runs${quick ? ', --quick' : ''}; ${seconds.toFixed(0)} s)`, groups);
  const path = saveResults('bench', {
    quick, iterations, sizes, file_rows: fileRows, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, seconds,
    results: Object.fromEntries(groups),
  });
  console.log(`\nresults: ${path}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
