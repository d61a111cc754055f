/**
 * Where a replay's CPU goes, stage by stage: the same file through pipelines that each
 * add a stage of the default one, alternating in one process so that a shared machine's
 * load falls on all alike. Prints each pipeline's median main-thread CPU, what its stage
 * added, and every figure as a multiple of pass-through (the replay benchmark's baseline).
 *
 *   npm run build && node dist/bench/replayStages.js FILE [--rounds 7]
 *
 * FILE is any telemetry file `resin replay` reads, e.g. one written by
 * `node dist/bench/fixtures.js --rows 2000000 --format arrow --hosts 2000 --out FILE`
 * (what `npm run bench:replay` measures).
 */
import { join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../engine/cli/paths.js';
import { mainThreadRunMs } from './cpu.js';
import { flag, median, positional } from './lib.js';
import { load } from './replayCompare.js';

const STAGES: { name: string; pipeline: string }[] = [
  { name: 'pass-through (read and decode)', pipeline: join(PACKAGE_ROOT, 'pipelines', 'passthrough.yaml') },
  { name: '+ watermark', pipeline: join(PACKAGE_ROOT, 'bench', 'pipelines', 'watermark.yaml') },
  { name: '+ hourly rollup, state store, level 1', pipeline: join(PACKAGE_ROOT, 'bench', 'pipelines', 'level1.yaml') },
  { name: '+ level 2 (the default pipeline)', pipeline: join(PACKAGE_ROOT, 'pipelines', 'resin.yaml') },
];

async function main(): Promise<void> {
  const file = positional();
  if (!file) throw new Error('usage: replayStages.js FILE [--rounds 7]');
  const rounds = flag('rounds', 7);
  const build = await load('this', PACKAGE_ROOT);
  const cpu = STAGES.map((): number[] => []);
  let samples = -1;
  for (let r = 0; r < rounds; r++) {
    // Each round in a turned order, so that no stage always follows the same one's garbage.
    for (let k = 0; k < STAGES.length; k++) {
      const i = (k + r) % STAGES.length;
      const c0 = mainThreadRunMs();
      const n = await build.replay(resolve(file), STAGES[i]!.pipeline);
      // The first round loads modules and warms the JIT.
      if (r > 0) cpu[i]!.push(mainThreadRunMs() - c0);
      if (samples >= 0 && n !== samples) throw new Error(`${STAGES[i]!.name} read ${n} samples, another stage ${samples}`);
      samples = n;
    }
    process.stderr.write(`round ${r + 1}/${rounds}\r`);
  }
  process.stderr.write('\n');
  const ms = cpu.map((c) => median(c));
  const pass = ms[0]!;
  console.log(`${file}: ${samples.toLocaleString('en-US')} samples, median main-thread CPU of ${rounds - 1} rounds`);
  for (let i = 0; i < STAGES.length; i++) {
    const added = i === 0 ? ms[0]! : ms[i]! - ms[i - 1]!;
    console.log(`  ${STAGES[i]!.name.padEnd(40)} ${ms[i]!.toFixed(0).padStart(5)} ms (${(ms[i]! / pass).toFixed(2)}x pass-through),`
      + ` this stage ${added.toFixed(0).padStart(4)} ms (${(added / pass).toFixed(2)}x), ${(samples / ms[i]! / 1000).toFixed(2)}M samples/CPU-s`);
  }
}

if (process.argv[1]?.endsWith('replayStages.js')) await main();
