/**
 * CPU of a whole replay in two builds, alternating in one process so that a shared
 * machine's load falls on both alike: what a change did to the pipeline end to end,
 * where the replay benchmark's run-to-run spread is larger than the change.
 *
 *   npm run build && node dist/bench/replayCompare.js --base OTHER_CHECKOUT [FILE]
 *     [--pipeline resin.yaml] [--rounds 9]
 *
 * `--base` is another checkout, built (its dist/ and pipelines/ are used); FILE any
 * telemetry file `resin replay` reads, or none to run the pipeline's own source (a
 * simulator, whose samples include late ones and duplicates). `--pipeline` names a
 * file of each checkout's pipelines/, or is a path to one definition both builds run
 * (bench/pipelines/ has pipelines that time one operator). Prints the median
 * main-thread CPU time of each build's replays (the first round dropped: module
 * loading) and their ratio.
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PACKAGE_ROOT } from '../engine/cli/paths.js';
import { mainThreadRunMs } from './cpu.js';
import { flag, median, option, positional } from './lib.js';

export interface Build {
  name: string;
  root: string;
  /** Runs `pipeline` over `file`, or over its own source when `file` is undefined; the samples read. */
  replay: (file: string | undefined, pipeline: string) => Promise<number>;
  cpu: number[];
}

/** A build's replay: `root` is a checkout whose dist/ is built. */
export async function load(name: string, root: string): Promise<Build> {
  const at = (path: string) => import(pathToFileURL(join(root, 'dist', path)).href);
  const { replayEdit } = await at('engine/cli/replay.js');
  const { runSession } = await at('engine/cli/session.js');
  const { silentLogger } = await at('engine/log.js');
  const replay = async (file: string | undefined, pipeline: string): Promise<number> => {
    const r = await runSession({
      pipeline: pipeline.includes('/') ? resolve(pipeline) : join(root, 'pipelines', pipeline),
      edit: file === undefined ? undefined : replayEdit(file, {}), deadLetter: join(tmpdir(), `resin-compare-${name}-rejected.ndjson`),
      log: silentLogger, checkpointEvery: 0,
    });
    return r.samplesRead as number;
  };
  return { name, root, replay, cpu: [] };
}

async function main(): Promise<void> {
  const base = option('base');
  const file = positional();
  if (!base) throw new Error('usage: replayCompare.js --base OTHER_CHECKOUT [FILE] [--pipeline resin.yaml] [--rounds 9]');
  const pipeline = option('pipeline') ?? 'resin.yaml';
  const rounds = flag('rounds', 9);
  const builds = [await load('base', resolve(base)), await load('this', PACKAGE_ROOT)];
  let samples = -1;
  for (let r = 0; r < rounds; r++) {
    // Alternating which goes first, so that neither always follows the other's garbage.
    for (const b of r % 2 ? [...builds].reverse() : builds) {
      const c0 = mainThreadRunMs();
      const n = await b.replay(file === undefined ? undefined : resolve(file), pipeline);
      if (r > 0) b.cpu.push(mainThreadRunMs() - c0);
      if (samples >= 0 && n !== samples) throw new Error(`${b.name} read ${n} samples, the other ${samples}`);
      samples = n;
    }
    process.stderr.write(`round ${r + 1}/${rounds}\r`);
  }
  process.stderr.write('\n');
  const [b, t] = builds.map((x) => median(x.cpu)) as [number, number];
  console.log(`${pipeline} over ${samples.toLocaleString('en-US')} samples, median main-thread CPU of ${rounds - 1} rounds:`);
  console.log(`  base ${b.toFixed(0)} ms (${(samples / b / 1000).toFixed(2)}M samples/CPU-s)  [${builds[0]!.cpu.map((x) => x.toFixed(0)).join(' ')}]`);
  console.log(`  this ${t.toFixed(0)} ms (${(samples / t / 1000).toFixed(2)}M samples/CPU-s)  [${builds[1]!.cpu.map((x) => x.toFixed(0)).join(' ')}]`);
  console.log(`  base / this: ${(b / t).toFixed(2)}x`);
}

if (process.argv[1]?.endsWith('replayCompare.js')) await main();
