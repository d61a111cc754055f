/**
 * Level-2 detection pooled over the tuning and the held-out fleets that docs/detection.md
 * weighs every choice on: false alarms and leaks found per fleet, then precision, recall
 * and latency over each set, and with `--latency` where the latency goes (leaks whose
 * process restarted between the leak's start and its detection, and those whose did not).
 * With `--why`, the report rule's judgements of leaking processes from the leak's start
 * to its detection (or the end), counted by the first test each failed (Held in
 * operators/detect/reportRule.ts), for the leaks found and those missed.
 *
 *   npm run build && node dist/bench/detect/pool.js [--set tuning|holdout|all] [--opts '{"growth_z":4.5}'] [--latency] [--why]
 *
 * Fleets are simulated once through the real rollup and cached (cache.ts); each set takes
 * 10-30 s of detection after that.
 */
import { option } from '../lib.js';
import { hourlyFleet, type FleetSpec } from './cache.js';
import { detect } from './detection.js';
import { HOUR, restartAt } from './hourly.js';
import { pct, score } from './score.js';
import { traced } from './traced.js';
import type { ProcessDetectOptions } from '../../operators/detect/process-detect.js';

/** The fleets of `npm run bench:accuracy`'s default and held-out scenarios, at level 2. */
export const SETS: Record<string, FleetSpec[]> = {
  tuning: [
    { hosts: 300, days: 21, seed: 1, components: 6 },
    { hosts: 300, days: 21, seed: 2, components: 6 },
    { hosts: 1000, days: 28, seed: 3, components: 6 },
    { hosts: 150, days: 14, seed: 4, components: 6, leakFraction: 0.1, interval: '1m' },
  ],
  holdout: [
    { hosts: 300, days: 21, seed: 7, components: 6 },
    { hosts: 600, days: 21, seed: 11, components: 12 },
    { hosts: 400, days: 28, seed: 12, components: 6 },
    { hosts: 200, days: 14, seed: 13, components: 6, leakFraction: 0.1 },
  ],
};

interface Tally { falseAlarms: number; leaks: number; found: number; latency: number[] }

/** Counts per reason, as `reason n` sorted by count. */
function counts(c: Map<string, number>): string {
  return [...c].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
}

const fixed = (v: number, d = 1) => (v === v ? v.toFixed(d) : '-');

/** Found, recall and latency of a tally; with `perFleet`, false alarms and precision first. */
function line(name: string, t: Tally, perFleet?: string): string {
  const lat = [...t.latency].sort((a, b) => a - b);
  const precision = t.found + t.falseAlarms ? t.found / (t.found + t.falseAlarms) : 1;
  return `${name}: ${perFleet === undefined ? '' : `false alarms ${t.falseAlarms}, precision ${fixed(precision, 3)}, `}found ${t.found} / ${t.leaks},`
    + ` recall ${fixed(t.found / t.leaks, 3)}, latency p50 ${fixed(pct(lat, 0.5))} h p90 ${fixed(pct(lat, 0.9))} h mean ${fixed(lat.reduce((a, b) => a + b, 0) / lat.length)} h,`
    + ` within 24 h ${lat.filter((l) => l <= 24).length}${perFleet === undefined ? '' : ` [false/found: ${perFleet}]`}`;
}

async function main(): Promise<void> {
  const set = option('set') ?? 'all';
  const options = JSON.parse(option('opts') ?? '{}') as Partial<ProcessDetectOptions>;
  const names = set === 'all' ? Object.keys(SETS) : [set];
  for (const name of names) {
    const specs = SETS[name];
    if (!specs) throw new Error(`--set must be tuning, holdout or all, got ${set}`);
    const all: Tally = { falseAlarms: 0, leaks: 0, found: 0, latency: [] };
    const steady: Tally = { falseAlarms: 0, leaks: 0, found: 0, latency: [] };
    const restarted: Tally = { falseAlarms: 0, leaks: 0, found: 0, latency: [] };
    const withRestart: Tally = { falseAlarms: 0, leaks: 0, found: 0, latency: [] };
    const perFleet: string[] = [];
    const whyFound = new Map<string, number>(), whyMissed = new Map<string, number>();
    for (const spec of specs) {
      const { key, fleet } = hourlyFleet(spec);
      const judged: { id: number; p: number; why: string }[] = [];
      // Only the leaking series' judgements are kept: a fleet judges millions.
      const seen = (id: number, p: number, _from: number, why: string) => {
        if (fleet.leakStart[id] === fleet.leakStart[id]) judged.push({ id, p, why });
      };
      const d = process.argv.includes('--why') ? traced(seen, () => detect(fleet, options)) : detect(fleet, options);
      for (const { id, p, why } of judged) {
        const start = fleet.leakStart[id]!, after = d.firstOpenAfterLeak[id]!, t = p * fleet.period;
        if (!(t >= start) || t >= after) continue;
        const into = after === after ? whyFound : whyMissed;
        into.set(why, (into.get(why) ?? 0) + 1);
      }
      // False alarms and leaks found as level2.js scores them (score.ts); the loop below splits the leaks.
      const { falseSeries, detected } = score(fleet, d.firstOpen, d.firstOpenAfterLeak);
      for (let id = 0; id < fleet.series; id++) {
        const start = fleet.leakStart[id]!, after = d.firstOpenAfterLeak[id]!;
        if (start !== start) continue;
        // Restarted: any restart from the leak's start to its detection (or the end of the fleet).
        const from = Math.floor((start - fleet.startMs) / HOUR), to = after === after ? Math.floor((after - fleet.startMs) / HOUR) : fleet.hours - 1;
        const groups = [all, restartAt(fleet, id, from, to) >= 0 ? restarted : steady];
        // A rollout of a leaking version starts the leak with a restart (within the hour either side).
        if (restartAt(fleet, id, from - 1, from + 1) >= 0) groups.push(withRestart);
        for (const g of groups) {
          g.leaks++;
          if (after === after) {
            g.found++;
            g.latency.push((after - start) / HOUR);
          }
        }
      }
      all.falseAlarms += falseSeries;
      perFleet.push(`${key} ${falseSeries}/${detected}`);
    }
    console.log(line(name, all, perFleet.join(', ')));
    if (process.argv.includes('--latency')) {
      console.log(line('  leaks whose process did not restart before detection', steady));
      console.log(line('  leaks whose process restarted (at the start or later)', restarted));
      console.log(line('    of which starting with a restart', withRestart));
    }
    if (process.argv.includes('--why')) {
      console.log(`  judgements of leaks before they were found, by the first test failed: ${counts(whyFound)}`);
      console.log(`  judgements of leaks never found: ${counts(whyMissed)}`);
    }
  }
}

if (process.argv[1]?.endsWith('pool.js')) await main();
