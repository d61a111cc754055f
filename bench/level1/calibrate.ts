import { mulberry32 } from '../../connectors/simulator/random.js';
/**
 * Where level-1 severities fall for noise and for leaks, to choose and check the
 * defaults of `bucket-anomaly` (docs/detection.md quotes the output).
 *
 *   npm run build && node dist/bench/level1/calibrate.js [--seeds 1,2,3,7] [--days 30] [--spread 0.6]
 *     [--no-deploys] [--no-restarts] [--opts '{"score":30}'] [--json]
 *
 * The fleet model is deliberately plain and stated here, so the figures can be read
 * against it. A host's process of a component sits at a base level (log-normal across
 * hosts around the component's median, sd 0.6 in log space unless --spread) times a
 * daily cycle (up to +-10 %), a weekend dip (-5 %), and AR(1) noise (phi 0.9, ~2.3 % sd). Processes restart
 * at random (1 in 300 hours) to half their level and warm up again over ~4 hours, the
 * kind of growth that is not a leak. A "deploy" shifts every host of a component by
 * +-3 % at a random day. Leaks: k hosts of a component grow linearly at r MB/hour from
 * day 20, after the 15-day window is full.
 */
import { BucketCounter, DEFAULT_BUCKETS_MB } from '../../operators/level1/bucketize.js';
import { BucketAnomaly, BUCKET_ANOMALY_DEFAULTS, type BucketAnomalyOptions } from '../../operators/level1/bucket-anomaly.js';
import type { RollupBatch } from '../../engine/telemetry/rollup.js';
import { SeriesCatalog } from '../../engine/telemetry/series.js';

const HOUR = 3_600_000;
const MB = 1024 * 1024;

const rng = mulberry32;

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

export interface ComponentModel {
  name: string;
  hosts: number;
  medianMb: number;
  leakHosts: number;
  leakMbPerHour: number;
  leakStartHour: number;
}

export interface ScenarioResult {
  component: string;
  hosts: number;
  medianMb: number;
  leakHosts: number;
  leakMbPerHour: number;
  /** Highest severity of any bucket >= size_mb before the leak (or over the whole run without one). */
  maxQuietSeverity: number;
  alerts: number;
  /** Hours from leak start to the first alert, null if none. */
  delayHours: number | null;
  bucketMb: number | null;
  falseAlert: boolean;
}

/** Hourly means of every host of each component, fed through bucketize and bucket-anomaly. */
export interface NoiseModel {
  /** Shift every host of a component by +-3 % at a random hour. */
  deploys: boolean;
  /** Random restarts with a warm-up. */
  restarts: boolean;
  /** Spread of base levels across the hosts of a component, sd in log space. */
  spread: number;
}

export function simulate(
  models: ComponentModel[], days: number, seed: number, options: Partial<BucketAnomalyOptions> = {},
  noise: NoiseModel = { deploys: true, restarts: true, spread: 0.6 }, onFalse?: (text: string) => void,
): ScenarioResult[] {
  const rand = rng(seed);
  const catalog = new SeriesCatalog();
  const hours = Math.round(days * 24);
  const t0 = Date.UTC(2026, 0, 5);
  interface HostState { series: number; base: number; ar: number; warm: number; cycle: number; phase: number }
  const hosts: HostState[][] = models.map((m) => {
    const c = catalog.components.intern(m.name);
    const p = catalog.processes.intern(m.name);
    return Array.from({ length: m.hosts }, (_, h) => ({
      series: catalog.seriesId(catalog.hosts.intern(`host-${h}`), c, p),
      base: m.medianMb * Math.exp(noise.spread * gaussian(rand)),
      ar: 0, warm: 1, cycle: 0.1 * rand(), phase: 24 * rand(),
    }));
  });
  const deployHour = models.map(() => Math.floor(rand() * hours));
  const deployShift = models.map(() => (rand() < 0.5 ? -0.03 : 0.03));
  const total = models.reduce((s, m) => s + m.hosts, 0);
  const counter = new BucketCounter(Float64Array.from(DEFAULT_BUCKETS_MB));
  const detector = new BucketAnomaly(options, catalog.components);
  const results: ScenarioResult[] = models.map((m) => ({
    component: m.name, hosts: m.hosts, medianMb: m.medianMb, leakHosts: m.leakHosts, leakMbPerHour: m.leakMbPerHour,
    maxQuietSeverity: 0, alerts: 0, delayHours: null, bucketMb: null, falseAlert: false,
  }));
  const byName = new Map(models.map((m, i) => [m.name, i]));
  const size = options.size_mb ?? BUCKET_ANOMALY_DEFAULTS.size_mb;

  for (let hour = 0; hour < hours; hour++) {
    const batch = {
      start: t0 + hour * HOUR, period: HOUR, length: total, series: new Int32Array(total), mean: new Float64Array(total),
      max: new Float64Array(total), count: new Int32Array(total).fill(12), pid: new Int32Array(total).fill(-1),
      restarted: new Uint8Array(total), watermark: t0 + (hour + 1) * HOUR,
    } satisfies RollupBatch;
    const weekend = Math.floor((hour / 24 + 0) % 7) >= 5 ? 0.95 : 1;
    let row = 0;
    models.forEach((m, i) => {
      const shift = noise.deploys && hour >= deployHour[i]! ? 1 + deployShift[i]! : 1;
      hosts[i]!.forEach((h, k) => {
        h.ar = 0.9 * h.ar + 0.01 * gaussian(rand);
        if (noise.restarts && rand() < 1 / 300) h.warm = 0.5;
        else h.warm = 1 - (1 - h.warm) * Math.exp(-1 / 4);
        let mb = h.base * shift * weekend * h.warm * (1 + h.cycle * Math.sin((2 * Math.PI * (hour + h.phase)) / 24)) * (1 + h.ar);
        if (k < m.leakHosts && hour >= m.leakStartHour) mb += m.leakMbPerHour * (hour - m.leakStartHour);
        batch.series[row] = h.series;
        batch.mean[row] = mb * MB;
        batch.max[row] = mb * MB;
        row++;
      });
    });
    const buckets = counter.count(batch, catalog);
    for (let r = 0; r < buckets.components.length; r++) {
      const c = buckets.components[r]!;
      const res = results[byName.get(catalog.components.name(c))!]!;
      const model = models[byName.get(res.component)!]!;
      detector.observe({ ...buckets, components: buckets.components.subarray(r, r + 1), hosts: buckets.hosts.subarray(r * buckets.bucketMb.length, (r + 1) * buckets.bucketMb.length) })
        .forEach((alert) => {
          if (alert.state !== 'open') return;
          res.alerts++;
          const leaking = model.leakHosts > 0 && hour >= model.leakStartHour;
          if (!leaking) {
            res.falseAlert = true;
            onFalse?.(`${res.component} (${model.hosts} hosts, median ${model.medianMb} MB) hour ${hour}: ${alert.reason}`);
          }
          else if (res.delayHours === null) {
            res.delayHours = hour + 1 - model.leakStartHour;
            res.bucketMb = alert.bucket_mb;
          }
        });
      const leaking = model.leakHosts > 0 && hour >= model.leakStartHour;
      if (!leaking) {
        for (const v of detector.verdicts(c, hour + Math.round(t0 / HOUR)) ?? []) {
          if (DEFAULT_BUCKETS_MB[v.bucket]! >= size) res.maxQuietSeverity = Math.max(res.maxQuietSeverity, v.severity);
        }
      }
    }
  }
  return results;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Quiet components at every size and median (twice), and leaks of k hosts at two rates from day 20. */
export function scenario(): ComponentModel[] {
  const models: ComponentModel[] = [];
  let n = 0;
  for (const hosts of [20, 100, 500, 2000]) for (const medianMb of [120, 600, 2500]) for (let r = 0; r < 2; r++) {
    models.push({ name: `quiet-${n++}`, hosts, medianMb, leakHosts: 0, leakMbPerHour: 0, leakStartHour: Infinity });
  }
  for (const hosts of [20, 100, 500, 2000]) for (const k of [1, 2, 3, 5, 10]) for (const rate of [10, 50]) {
    if (k <= hosts) models.push({ name: `leak-${n++}`, hosts, medianMb: 600, leakHosts: k, leakMbPerHour: rate, leakStartHour: 20 * 24 });
  }
  return models;
}

if (process.argv[1]?.endsWith('calibrate.js')) {
  const days = arg('days', 30);
  const seedsAt = process.argv.indexOf('--seeds');
  const seeds = seedsAt >= 0 ? process.argv[seedsAt + 1]!.split(',').map(Number) : [1, 2, 3, 7];
  const noise = { deploys: !process.argv.includes('--no-deploys'), restarts: !process.argv.includes('--no-restarts'), spread: arg('spread', 0.6) };
  const opts = process.argv.includes('--opts') ? JSON.parse(process.argv[process.argv.indexOf('--opts') + 1]!) : {};
  const models = scenario();
  const started = performance.now();
  const results: ScenarioResult[] = [];
  const falses: string[] = [];
  for (const seed of seeds) results.push(...simulate(models, days, seed, opts, noise, (t) => falses.push(`seed ${seed}: ${t}`)));
  const quiet = results.map((r) => r.maxQuietSeverity).sort((a, b) => a - b);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(results, null, 1));
  } else {
    console.log(`${models.length} components x seeds ${seeds.join(',')}, ${days} days, spread ${noise.spread}, deploys ${noise.deploys}, `
      + `restarts ${noise.restarts}, ${((performance.now() - started) / 1000).toFixed(1)} s`);
    console.log(`highest severity before any leak: max ${quiet[quiet.length - 1]!.toFixed(1)}, p99 ${quiet[Math.floor(quiet.length * 0.99)]!.toFixed(1)} `
      + `(alerting above ${opts.score ?? BUCKET_ANOMALY_DEFAULTS.score}); false alerts: ${falses.length}`);
    for (const f of falses.slice(0, arg('examples', 3))) console.log(`  false: ${f}`);
    console.log('leaking hosts @ MB/h: median hours from leak start to alert [missed of runs]');
    const groups = new Map<string, (number | null)[]>();
    for (const r of results.filter((x) => x.leakHosts > 0)) {
      const key = `${r.leakHosts} @ ${r.leakMbPerHour}`;
      groups.set(key, [...(groups.get(key) ?? []), r.delayHours]);
    }
    for (const [key, delays] of groups) {
      const hit = delays.filter((d): d is number => d !== null).sort((a, b) => a - b);
      const missed = delays.length - hit.length;
      const median = hit.length > delays.length / 2 ? `${hit[Math.floor(delays.length / 2)]} h` : 'none (most missed)';
      console.log(`  ${key.padEnd(8)} ${median}${missed ? ` [${missed} of ${delays.length} missed in the 10 days]` : ''}`);
    }
  }
}
