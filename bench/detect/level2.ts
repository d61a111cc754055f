/**
 * Accuracy of level-2 detection (process-detect) and of the baselines on the simulated
 * fleet with ground truth: false alarms among healthy processes, precision, recall and
 * latency by leak pattern and rate. docs/detection.md quotes its output.
 *
 *   npm run build && node dist/bench/detect/level2.js --hosts 2000 --days 21 --seed 1
 *     [--leak-fraction 0.1] [--interval 1m] [--opts '{"min_growth":0.03}'] [--baselines 2000] [--examples 10] [--json]
 *
 * Samples go through the real rollup operator; the hourly means are cached under
 * $TMPDIR/resin-level2/ so that trying detection options does not simulate again.
 */
import { option } from '../lib.js';
import { hourlyFleet } from './cache.js';
import { baseline, detect } from './detection.js';
import { HOUR } from './hourly.js';
import { causes, fmt, score } from './score.js';
import type { ProcessDetectOptions } from '../../operators/detect/process-detect.js';
import { mannKendall } from '../baselines/mannKendall.js';
import { predictLinear } from '../baselines/predictLinear.js';
import { staticThreshold } from '../baselines/staticThreshold.js';

async function main(): Promise<void> {
  const hosts = Number(option('hosts') ?? 2000);
  const days = Number(option('days') ?? 21);
  const seed = Number(option('seed') ?? 1);
  const components = Number(option('components') ?? 12);
  const options = JSON.parse(option('opts') ?? '{}') as Partial<ProcessDetectOptions>;
  const fraction = option('leak-fraction');
  const leakFraction = fraction === undefined ? undefined : Number(fraction);
  const interval = option('interval');
  const { key, fleet } = hourlyFleet({ hosts, days, seed, components, leakFraction, interval });
  const d = detect(fleet, options);
  const s = score(fleet, d.firstOpen, d.firstOpenAfterLeak);
  const json = process.argv.includes('--json');
  if (json) {
    console.log(JSON.stringify({ key, options, detectMs: Math.round(d.ms), score: s }));
  } else {
    console.log(`process-detect ${JSON.stringify(options)} on ${key}: ${fleet.series} series x ${fleet.hours} h, ${(d.ms / 1000).toFixed(1)} s`
      + ` (${((fleet.series * fleet.hours) / d.ms / 1000).toFixed(2)}M points/s)`);
    console.log(fmt(s));
    let opens = 0, resolves = 0, reopened = 0;
    for (let id = 0; id < fleet.series; id++) {
      opens += d.opens[id]!;
      resolves += d.resolves[id]!;
      if (d.opens[id]! > 1) reopened++;
    }
    console.log(`alerts: ${opens} opened, ${resolves} resolved, ${reopened} series opened more than once`);
  }
  // Pattern at the first alert of each detected leak against the injected one.
  const confusion: Record<string, Record<string, number>> = {};
  const idOf = new Map<string, number>();
  for (let id = 0; id < fleet.series; id++) idOf.set(fleet.names[id]!.slice(0, 3).join('|'), id);
  const seen = new Set<number>();
  for (const a of d.alerts) {
    if (a.state !== 'open') continue;
    const id = idOf.get(`${a.host}|${a.component}|${a.process}`)!;
    if (seen.has(id) || !(a.at >= fleet.leakStart[id]!)) continue;
    seen.add(id);
    const row = (confusion[fleet.leakPattern[id]!] ??= {});
    row[a.pattern] = (row[a.pattern] ?? 0) + 1;
  }
  if (!json) console.log(`pattern at first alert (truth -> found): ${JSON.stringify(confusion)}`);
  const last = new Map<number, string>();
  for (const a of d.alerts) {
    if (a.state === 'resolved') continue;
    const id = idOf.get(`${a.host}|${a.component}|${a.process}`)!;
    if (a.at >= fleet.leakStart[id]!) last.set(id, a.pattern);
  }
  const lastConfusion: Record<string, Record<string, number>> = {};
  for (const [id, pattern] of last) {
    const row = (lastConfusion[fleet.leakPattern[id]!] ??= {});
    row[pattern] = (row[pattern] ?? 0) + 1;
  }
  if (!json) console.log(`pattern at last alert (truth -> found): ${JSON.stringify(lastConfusion)}`);
  // What the truth says preceded each false alarm, so that tuning knows what fooled detection.
  const kinds: Record<string, number> = {};
  for (let id = 0; id < fleet.series; id++) {
    const start = fleet.leakStart[id]!, at = d.firstOpen[id]!;
    if (at !== at || (start === start && at >= start)) continue;
    const seen = new Set((fleet.behaviours.get(id) ?? []).filter((b) => b.start <= at && b.end >= at - 3 * 24 * HOUR).map((b) => b.kind));
    for (const k of seen.size ? seen : ['none']) kinds[k] = (kinds[k] ?? 0) + 1;
  }
  if (!json) console.log(`false alarms preceded (3 days) by: ${JSON.stringify(kinds)}`);
  const examples = Number(option('examples') ?? 0);
  if (examples > 0) {
    const shown: string[] = [];
    for (let id = 0; id < fleet.series && shown.length < examples; id++) {
      const start = fleet.leakStart[id]!;
      const at = d.firstOpen[id]!;
      if (at !== at || (start === start && at >= start)) continue;
      const first = d.alerts.find((a) => a.state === 'open' && a.at === at && a.host === fleet.names[id]![0] && a.process === fleet.names[id]![2])!;
      shown.push(`#${id} ${fleet.names[id]!.slice(0, 3).join('/')}${start === start ? ` (leak at ${((start - fleet.startMs) / HOUR).toFixed(0)} h)` : ''}`
        + ` at ${((at - fleet.startMs) / HOUR).toFixed(0)} h: ${first.reason}; truth: ${causes(fleet, id, at)}`);
    }
    console.log(shown.join('\n'));
  }
  const limit = Number(option('baselines') ?? 0);
  if (limit > 0) {
    for (const [name, fn] of [['static 1.5x', staticThreshold], ['predict_linear', predictLinear], ['mann-kendall', mannKendall]] as const) {
      const t = performance.now();
      const first = baseline(fleet, (ts, rss) => fn(ts, rss), limit);
      const after = Float64Array.from(first, (v, id) => (v >= fleet.leakStart[id]! ? v : NaN));
      const sc = score(fleet, first, after, limit);
      console.log(`${name} (${limit} series, ${((performance.now() - t) / 1000).toFixed(1)} s): ${fmt(sc)}`);
    }
  }
}

if (process.argv[1]?.endsWith('level2.js')) await main();
