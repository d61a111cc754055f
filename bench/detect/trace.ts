/**
 * The report rule's judgements of one process, hour by hour: what held it back, and the
 * anchor growth was measured from, in runs, in hours from its leak's start (from the
 * fleet's start for a healthy one), and when it was first alerted. Reads one of the
 * fleets pool.js runs (cache.ts caches them).
 *
 *   npm run build && node dist/bench/detect/trace.js --fleet h300-d21-s1-c6 --series 'host-00088|cache-server|cache-server' [--opts '{...}']
 */
import { option } from '../lib.js';
import { fleetKey, hourlyFleet } from './cache.js';
import { detect } from './detection.js';
import { HOUR } from './hourly.js';
import { SETS } from './pool.js';
import { traced } from './traced.js';
import type { ProcessDetectOptions } from '../../operators/detect/process-detect.js';

function main(): void {
  const key = option('fleet'), series = option('series');
  const spec = Object.values(SETS).flat().find((f) => fleetKey(f) === key);
  if (!spec || !series) {
    throw new Error(`usage: trace.js --fleet KEY --series 'host|component|process'; fleets: ${Object.values(SETS).flat().map(fleetKey).join(', ')}`);
  }
  const { fleet } = hourlyFleet(spec);
  const id = fleet.names.findIndex((n) => n.slice(0, 3).join('|') === series);
  if (id < 0) throw new Error(`no series ${series} in ${key}`);
  const leak = fleet.leakStart[id]!;
  const zero = leak === leak ? leak : fleet.startMs;
  const hour = (period: number) => Math.round((period * fleet.period - zero) / HOUR);
  // Runs of the same verdict from the same anchor, as "from..to: why (anchor at h)".
  const runs: { from: number; to: number; what: string }[] = [];
  const seen = (s: number, p: number, anchor: number, why: string) => {
    if (s !== id) return;
    const what = `${why} (anchor at ${hour(anchor)} h)`, last = runs[runs.length - 1];
    if (last && last.what === what) last.to = hour(p);
    else runs.push({ from: hour(p), to: hour(p), what });
  };
  const d = traced(seen, () => detect(fleet, JSON.parse(option('opts') ?? '{}') as Partial<ProcessDetectOptions>));
  const rate = fleet.leakRate[id]!;
  console.log(`${series} in ${key}: ${leak === leak ? `${fleet.leakPattern[id]} leak of ${(100 * rate).toFixed(1)} %/day; hours from its start` : 'healthy; hours from the fleet\'s start'}`);
  for (const r of runs) console.log(`  ${r.from === r.to ? r.from : `${r.from}..${r.to}`}: ${r.what}`);
  const at = leak === leak ? d.firstOpenAfterLeak[id]! : d.firstOpen[id]!;
  console.log(at === at ? `first alerted ${((at - zero) / HOUR).toFixed(1)} h in` : 'never alerted');
}

if (process.argv[1]?.endsWith('trace.js')) main();
