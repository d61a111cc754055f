/**
 * Accuracy of level-2 detection (process-detect) and of the baselines on the simulated
 * fleet with ground truth: false alarms among healthy processes, precision, recall and
 * latency by leak pattern and rate. docs/detection.md quotes its output.
 *
 *   npm run build && node dist/bench/detect/level2.js --hosts 2000 --days 21 --seed 1
 *     [--opts '{"min_growth":0.03}'] [--baselines 2000] [--examples 10] [--json]
 *
 * Samples go through the real rollup operator; the hourly means are cached under
 * $TMPDIR/resin-level2/ so that trying detection options does not simulate again.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from } from 'rxjs';
import { FleetSimulator } from '../../connectors/simulator/simulator.js';
import type { TruthBehaviour } from '../../connectors/simulator/truth.js';
import type { Alert } from '../../engine/alert.js';
import { MemoryDeadLetter } from '../../engine/deadLetter.js';
import { Flow } from '../../engine/flow.js';
import { silentLogger } from '../../engine/log.js';
import { Metrics } from '../../engine/metrics.js';
import type { NodeContext } from '../../engine/spec.js';
import type { StateStore } from '../../engine/state.js';
import type { RollupBatch } from '../../engine/telemetry/rollup.js';
import { SeriesCatalog } from '../../engine/telemetry/series.js';
import { ProcessDetector, PROCESS_DETECT_DEFAULTS, type ProcessDetectOptions } from '../../operators/detect/process-detect.js';
import { rollup } from '../../operators/rollup/rollup.js';
import { mannKendall } from '../baselines/mannKendall.js';
import { predictLinear } from '../baselines/predictLinear.js';
import { staticThreshold } from '../baselines/staticThreshold.js';
import { HostActivity } from '../../engine/hostActivity.js';

const HOUR = 3_600_000;

/** Hourly means of a simulated fleet, hour-major, with what the truth says about each series. */
export interface HourlyFleet {
  series: number;
  hours: number;
  startMs: number;
  period: number;
  /** mean[h * series + id], NaN where the series had no samples. */
  mean: Float32Array;
  restarted: Uint8Array;
  /** host, component, process, region, cluster of each catalog id. */
  names: [string, string, string, string | null, string | null][];
  /** Per catalog id: leak start (ms) or NaN, pattern and rate per day. */
  leakStart: Float64Array;
  leakPattern: string[];
  leakRate: Float64Array;
  behaviours: Map<number, TruthBehaviour[]>;
}

const nullStore: StateStore = {
  location: '(none)',
  appendRollups: async () => {},
  appendBuckets: async () => {},
  expire: async () => {},
  recordDecisions: async () => {},
  expireDecisions: async () => {},
  loadCheckpoint: async () => null,
  saveCheckpoint: async () => {},
  query: async () => [],
  close: async () => {},
};

function context(catalog: SeriesCatalog): NodeContext {
  const metrics = new Metrics();
  return {
    id: 'bench', metrics, deadLetter: new MemoryDeadLetter(metrics), flow: new Flow(), log: silentLogger,
    catalog, store: nullStore, signal: new AbortController().signal, hosts: new HostActivity(),
  };
}

export function simulate(opts: { hosts: number; days: number; seed: number; components?: number }): { fleet: HourlyFleet; catalog: SeriesCatalog } {
  const sim = new FleetSimulator({ hosts: opts.hosts, days: opts.days, seed: opts.seed, components: opts.components ?? 12 });
  const catalog = new SeriesCatalog();
  const ctx = context(catalog);
  const period = HOUR;
  const startMs = sim.options.startMs;
  const hours = Math.ceil((sim.options.endMs - startMs) / period);
  const cap = sim.plan.seriesCount;
  const mean = new Float32Array(hours * cap).fill(NaN);
  const restarted = new Uint8Array(hours * cap);
  const batches = (function* () {
    for (const b of sim.batches()) yield { data: b.data, source: 'simulator', records: b.records, watermark: b.watermark };
  })();
  rollup({ period: '1h' }, ctx).apply(from(batches)).subscribe((r: RollupBatch) => {
    const h = Math.round((r.start - startMs) / period);
    if (h < 0 || h >= hours) return;
    for (let i = 0; i < r.length; i++) {
      const id = r.series[i]!;
      if (id >= cap) throw new Error('more series than the plan has');
      mean[h * cap + id] = r.mean[i]!;
      restarted[h * cap + id] = r.restarted[i]!;
    }
  });
  const truth = sim.truth();
  const byName = new Map<string, number>();
  const names: HourlyFleet['names'] = [];
  for (let id = 0; id < catalog.size; id++) {
    const d = catalog.describe(id);
    names.push([d.host, d.component, d.process, d.region, d.cluster]);
    byName.set(`${d.host}|${d.component}|${d.process}`, id);
  }
  const leakStart = new Float64Array(cap).fill(NaN);
  const leakRate = new Float64Array(cap);
  const leakPattern: string[] = new Array(cap).fill('');
  for (const l of truth.leaks) {
    const id = byName.get(`${l.host}|${l.component}|${l.process}`);
    if (id === undefined) continue;
    leakStart[id] = l.start;
    leakRate[id] = l.rate_per_day;
    leakPattern[id] = l.pattern;
  }
  const behaviours = new Map<number, TruthBehaviour[]>();
  for (const b of truth.behaviours) {
    if (b.component === null || b.process === null) continue;
    const id = byName.get(`${b.host}|${b.component}|${b.process}`);
    if (id === undefined) continue;
    let list = behaviours.get(id);
    if (!list) behaviours.set(id, (list = []));
    list.push(b);
  }
  return {
    fleet: { series: cap, hours, startMs, period, mean, restarted, names, leakStart, leakPattern, leakRate, behaviours },
    catalog,
  };
}

function cachePath(key: string): string {
  return join(tmpdir(), 'resin-level2', key);
}

function save(fleet: HourlyFleet, key: string): void {
  const dir = cachePath(key);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'mean.bin'), new Uint8Array(fleet.mean.buffer));
  writeFileSync(join(dir, 'restarted.bin'), fleet.restarted);
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({
    series: fleet.series, hours: fleet.hours, startMs: fleet.startMs, period: fleet.period, names: fleet.names,
    leakStart: [...fleet.leakStart], leakPattern: fleet.leakPattern, leakRate: [...fleet.leakRate],
    behaviours: [...fleet.behaviours.entries()],
  }));
}

function load(key: string): HourlyFleet | null {
  const dir = cachePath(key);
  if (!existsSync(join(dir, 'meta.json'))) return null;
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  const raw = readFileSync(join(dir, 'mean.bin'));
  const mean = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  return {
    series: meta.series, hours: meta.hours, startMs: meta.startMs, period: meta.period, mean,
    restarted: new Uint8Array(readFileSync(join(dir, 'restarted.bin'))), names: meta.names,
    leakStart: Float64Array.from(meta.leakStart, (v: number | null) => (v === null ? NaN : v)),
    leakPattern: meta.leakPattern, leakRate: Float64Array.from(meta.leakRate), behaviours: new Map(meta.behaviours),
  };
}

/** A catalog whose ids are the fleet's ids, with region and cluster recorded. */
export function catalogOf(fleet: HourlyFleet): SeriesCatalog {
  const c = new SeriesCatalog();
  for (const [host, component, proc, region, cluster] of fleet.names) {
    const id = c.seriesId(c.hosts.intern(host), c.components.intern(component), c.processes.intern(proc));
    c.seriesRegion[id] = region === null ? -1 : c.attrs.intern(region);
    c.seriesCluster[id] = cluster === null ? -1 : c.attrs.intern(cluster);
  }
  return c;
}

export interface Detection {
  /** First alert emission (open) time per series, NaN if none; and opens counted. */
  firstOpen: Float64Array;
  /** First open at or after the leak start, for leaking series. */
  firstOpenAfterLeak: Float64Array;
  opens: Int32Array;
  resolves: Int32Array;
  alerts: Alert[];
  ms: number;
}

export function detect(fleet: HourlyFleet, options: Partial<ProcessDetectOptions>): Detection {
  const catalog = catalogOf(fleet);
  const ctx = context(catalog);
  const detector = new ProcessDetector({ ...PROCESS_DETECT_DEFAULTS, ...options }, ctx);
  const S = fleet.series;
  const firstOpen = new Float64Array(S).fill(NaN);
  const firstOpenAfterLeak = new Float64Array(S).fill(NaN);
  const opens = new Int32Array(S);
  const resolves = new Int32Array(S);
  const ids = new Map<string, number>();
  for (let id = 0; id < S; id++) ids.set(fleet.names[id]!.slice(0, 3).join('|'), id);
  const alerts: Alert[] = [];
  const series = new Int32Array(S), mean = new Float64Array(S), max = new Float64Array(S);
  // The simulator always sends pids; the cache keeps only the restart flags the rollup derived from them.
  // A placeholder pid tells detection that they were known.
  const count = new Int32Array(S), pid = new Int32Array(S).fill(1), restarted = new Uint8Array(S);
  const t0 = performance.now();
  for (let h = 0; h < fleet.hours; h++) {
    let n = 0;
    const base = h * S;
    for (let id = 0; id < S; id++) {
      const v = fleet.mean[base + id]!;
      if (v !== v) continue;
      series[n] = id; mean[n] = v; max[n] = v; count[n] = 12; restarted[n] = fleet.restarted[base + id]!;
      n++;
    }
    const start = fleet.startMs + h * fleet.period;
    const batch: RollupBatch = {
      start, period: fleet.period, length: n, series: series.subarray(0, n), mean: mean.subarray(0, n),
      max: max.subarray(0, n), count: count.subarray(0, n), pid: pid.subarray(0, n), restarted: restarted.subarray(0, n),
      watermark: start + fleet.period,
    };
    for (const a of detector.process(batch)) {
      const id = ids.get(`${a.host}|${a.component}|${a.process}`)!;
      if (a.state === 'open') {
        opens[id]!++;
        if (firstOpen[id] !== firstOpen[id]) firstOpen[id] = a.at;
        if (a.at >= fleet.leakStart[id]! && firstOpenAfterLeak[id] !== firstOpenAfterLeak[id]) firstOpenAfterLeak[id] = a.at;
      } else if (a.state === 'resolved') {
        resolves[id]!++;
      }
      alerts.push(a);
    }
  }
  return { firstOpen, firstOpenAfterLeak, opens, resolves, alerts, ms: performance.now() - t0 };
}

/** Per-series first detection time of a baseline over the fleet's hourly means (NaN: none). */
export function baseline(fleet: HourlyFleet, fn: (ts: Float64Array, rss: Float64Array) => number | null, limit: number): Float64Array {
  const S = Math.min(fleet.series, limit);
  const out = new Float64Array(S).fill(NaN);
  const ts = new Float64Array(fleet.hours), rss = new Float64Array(fleet.hours);
  for (let id = 0; id < S; id++) {
    let n = 0;
    for (let h = 0; h < fleet.hours; h++) {
      const v = fleet.mean[h * fleet.series + id]!;
      if (v !== v) continue;
      ts[n] = fleet.startMs + h * fleet.period;
      rss[n] = v;
      n++;
    }
    const at = fn(ts.subarray(0, n), rss.subarray(0, n));
    if (at !== null) out[id] = at + fleet.period;
  }
  return out;
}

const BANDS = [[0.015, 0.03], [0.03, 0.06], [0.06, 0.12], [0.12, 0.31]] as const;

export interface Score {
  healthy: number;
  /** Series alerted without a leak: healthy ones and leaking ones before their leak began. */
  falseSeries: number;
  /** Healthy series alerted, and their share of the healthy. */
  falseHealthy: number;
  falseRate: number;
  leaks: number;
  detected: number;
  precision: number;
  recall: number;
  latencyP50: number;
  latencyP90: number;
  byPattern: Record<string, { leaks: number; detected: number; p50: number }>;
  byRate: Record<string, { leaks: number; detected: number; p50: number; p90: number }>;
}

function pct(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * Series-level score. A healthy series with any alert is a false alarm; so is a leaking
 * series alerted before its leak started. A leak is detected by its first alert at or
 * after its start; latency is measured from the start.
 */
export function score(fleet: HourlyFleet, firstOpen: Float64Array, firstAfter: Float64Array, limit = fleet.series): Score {
  let healthy = 0, falseSeries = 0, falseHealthy = 0, leaks = 0, detected = 0;
  const lat: number[] = [];
  const byPattern: Score['byPattern'] = {};
  const byRate: Score['byRate'] = {};
  const patLat: Record<string, number[]> = {}, rateLat: Record<string, number[]> = {};
  const S = Math.min(limit, fleet.series);
  for (let id = 0; id < S; id++) {
    const start = fleet.leakStart[id]!;
    if (start !== start) {
      healthy++;
      if (firstOpen[id] === firstOpen[id]) { falseSeries++; falseHealthy++; }
      continue;
    }
    if (firstOpen[id]! < start) falseSeries++;
    leaks++;
    const p = fleet.leakPattern[id]!;
    const rate = fleet.leakRate[id]!;
    const band = BANDS.find(([lo, hi]) => rate >= lo && rate < hi) ?? BANDS[BANDS.length - 1]!;
    const bk = `${band[0] * 100}-${band[1] * 100}%/d`;
    byPattern[p] ??= { leaks: 0, detected: 0, p50: NaN };
    byRate[bk] ??= { leaks: 0, detected: 0, p50: NaN, p90: NaN };
    byPattern[p].leaks++;
    byRate[bk].leaks++;
    const at = firstAfter[id]!;
    if (at === at) {
      detected++;
      const l = (at - start) / HOUR;
      lat.push(l);
      byPattern[p].detected++;
      byRate[bk].detected++;
      (patLat[p] ??= []).push(l);
      (rateLat[bk] ??= []).push(l);
    }
  }
  lat.sort((a, b) => a - b);
  for (const [k, v] of Object.entries(patLat)) byPattern[k]!.p50 = pct(v.sort((a, b) => a - b), 0.5);
  for (const [k, v] of Object.entries(rateLat)) {
    v.sort((a, b) => a - b);
    byRate[k]!.p50 = pct(v, 0.5);
    byRate[k]!.p90 = pct(v, 0.9);
  }
  return {
    healthy, falseSeries, falseHealthy, falseRate: healthy ? falseHealthy / healthy : 0, leaks, detected,
    precision: detected + falseSeries ? detected / (detected + falseSeries) : 1, recall: leaks ? detected / leaks : 1,
    latencyP50: pct(lat, 0.5), latencyP90: pct(lat, 0.9), byPattern, byRate,
  };
}

/** What the truth says happened to series `id` in the days before `at`: behaviour kinds. */
function causes(fleet: HourlyFleet, id: number, at: number): string {
  const list = fleet.behaviours.get(id) ?? [];
  const near = list.filter((b) => b.start <= at && b.end >= at - 4 * 24 * HOUR).map((b) => {
    const extra = b.kind === 'workload_shift' ? ` x${b.factor?.toFixed(2)}` : b.kind === 'spike' ? ` +${b.height?.toFixed(2)}`
      : b.kind === 'buffer' ? ` peak ${b.peak?.toFixed(2)}` : b.kind === 'rollout' ? ` x${b.step?.toFixed(2)}` : '';
    return `${b.kind}${extra}@${((at - b.start) / HOUR).toFixed(0)}h`;
  });
  return near.join(', ') || 'none';
}

function fmt(s: Score): string {
  const lines = [
    `healthy ${s.healthy}, false alarms ${s.falseHealthy} (${(100 * s.falseRate).toFixed(3)}%) + ${s.falseSeries - s.falseHealthy} before a leak began; leaks ${s.leaks}, detected ${s.detected}`
      + ` (recall ${(100 * s.recall).toFixed(1)}%), precision ${(100 * s.precision).toFixed(1)}%, latency p50 ${s.latencyP50.toFixed(0)} h p90 ${s.latencyP90.toFixed(0)} h`,
  ];
  for (const [k, v] of Object.entries(s.byPattern)) lines.push(`  ${k.padEnd(7)} ${v.detected}/${v.leaks} p50 ${v.p50.toFixed(0)} h`);
  for (const [k, v] of Object.entries(s.byRate).sort()) lines.push(`  ${k.padEnd(10)} ${v.detected}/${v.leaks} p50 ${v.p50.toFixed(0)} h p90 ${v.p90.toFixed(0)} h`);
  return lines.join('\n');
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const hosts = Number(arg('hosts', '2000'));
  const days = Number(arg('days', '21'));
  const seed = Number(arg('seed', '1'));
  const components = Number(arg('components', '12'));
  const options = JSON.parse(arg('opts', '{}')) as Partial<ProcessDetectOptions>;
  const key = `h${hosts}-d${days}-s${seed}-c${components}`;
  let fleet = load(key);
  if (!fleet) {
    const t = performance.now();
    fleet = simulate({ hosts, days, seed, components }).fleet;
    save(fleet, key);
    console.error(`simulated ${fleet.series} series x ${fleet.hours} h in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
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
  const examples = Number(arg('examples', '0'));
  if (examples > 0) {
    const shown: string[] = [];
    for (let id = 0; id < fleet.series && shown.length < examples; id++) {
      const start = fleet.leakStart[id]!;
      const at = d.firstOpen[id]!;
      if (at !== at || (start === start && at >= start)) continue;
      const first = d.alerts.find((a) => a.state === 'open' && a.at === at && a.host === fleet!.names[id]![0] && a.process === fleet!.names[id]![2])!;
      shown.push(`#${id} ${fleet.names[id]!.slice(0, 3).join('/')}${start === start ? ` (leak at ${((start - fleet.startMs) / HOUR).toFixed(0)} h)` : ''}`
        + ` at ${((at - fleet.startMs) / HOUR).toFixed(0)} h: ${first.reason}; truth: ${causes(fleet, id, at)}`);
    }
    console.log(shown.join('\n'));
  }
  const limit = Number(arg('baselines', '0'));
  if (limit > 0) {
    for (const [name, fn] of [['static 1.5x', staticThreshold], ['predict_linear', predictLinear], ['mann-kendall', mannKendall]] as const) {
      const t = performance.now();
      const first = baseline(fleet, (ts, rss) => fn(ts, rss), limit);
      const after = Float64Array.from(first, (v, id) => (v >= fleet!.leakStart[id]! ? v : NaN));
      const sc = score(fleet, first, after, limit);
      console.log(`${name} (${limit} series, ${((performance.now() - t) / 1000).toFixed(1)} s): ${fmt(sc)}`);
    }
  }
}

if (process.argv[1]?.endsWith('level2.js')) await main();
