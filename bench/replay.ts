import { join } from 'node:path';
import { PACKAGE_ROOT } from '../engine/cli/paths.js';
import { replayEdit } from '../engine/cli/replay.js';
import { runSession } from '../engine/cli/session.js';
import { silentLogger } from '../engine/log.js';
import { writeFixture } from './fixtures.js';
import { runSuite, type RowTask } from './lib.js';
import { arrowSumRss, parseEveryLine } from './readers.js';

/**
 * End-to-end replay throughput: a file through the CLI's own session code, pass-through
 * and with the default detection pipeline, beside the plain-loop ceiling of each format.
 *
 *   npm run bench:replay -- --rows 1000000
 */
const PASS = join(PACKAGE_ROOT, 'pipelines', 'passthrough.yaml');
const FULL = join(PACKAGE_ROOT, 'pipelines', 'resin.yaml');

/** Writes an NDJSON and an Arrow fixture of `rows` samples into `dir`; the replay tasks over them. */
export async function replayTasks(dir: string, rows: number): Promise<RowTask[]> {
  const replay = async (pipeline: string, file: string): Promise<number> => {
    const r = await runSession({
      pipeline, edit: replayEdit(file, {}), deadLetter: join(dir, 'rejected.ndjson'), log: silentLogger, checkpointEvery: 0,
    });
    if (r.samplesRead !== rows) throw new Error(`${file}: read ${r.samplesRead} samples, expected ${rows}`);
    return r.samplesRead;
  };
  const ndjson = join(dir, 'fleet.ndjson');
  const arrow = join(dir, 'fleet.arrows');
  // 2,000 hosts x 4 components at 5-minute intervals: a day of a mid-sized fleet per 2.3M rows.
  await writeFixture({ rows, format: 'ndjson', out: ndjson, hosts: 2000, truthFile: false });
  await writeFixture({ rows, format: 'arrow', out: arrow, hosts: 2000, truthFile: false });
  return [
    { name: 'ndjson: JSON.parse per line (ceiling)', rows, fn: () => parseEveryLine(ndjson) },
    { name: 'ndjson: replay, pass-through', rows, fn: () => replay(PASS, ndjson), ceiling: 'ndjson: JSON.parse per line (ceiling)' },
    { name: 'ndjson: replay, default pipeline', rows, fn: () => replay(FULL, ndjson), ceiling: 'ndjson: replay, pass-through' },
    { name: 'arrow: typed-array sum of rss (ceiling)', rows, fn: () => arrowSumRss(arrow) },
    { name: 'arrow: replay, pass-through', rows, fn: () => replay(PASS, arrow), ceiling: 'arrow: typed-array sum of rss (ceiling)' },
    { name: 'arrow: replay, default pipeline', rows, fn: () => replay(FULL, arrow), ceiling: 'arrow: replay, pass-through' },
  ];
}

if (process.argv[1]?.endsWith('replay.js')) await runSuite('replay', 'Replay', replayTasks);
