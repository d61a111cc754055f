/**
 * Accuracy of the default pipeline against the simulator's ground truth, beside three
 * baselines on the same fleets: precision, recall, F1 and detection latency of
 * process-level alerts per scenario and leak pattern, component-level alerts, and what
 * the simulator says was going on where the engine raised a false alarm.
 *
 *   npm run bench:accuracy [-- --quick] [-- --scenario NAME[,NAME]] [-- --pipeline PATH] [-- --engine-only]
 *     [-- --baselines NAME[,NAME]]
 *
 * --scenario also takes the extra scenarios below, which the default run leaves out;
 * `--scenario holdout` runs the held-out ones.
 * --engine-only skips the baselines: Mann-Kendall's O(n^2) slope takes most of a full
 * run (15 of 20 minutes), and tuning the engine does not change them. --baselines runs
 * only the ones named (static, predict_linear, mann_kendall).
 *
 * The engine runs the whole pipeline file (simulator options replaced per scenario,
 * DuckDB state in a temporary file); the baselines read plain hourly means computed
 * from the same simulated stream. Scoring rules: bench/accuracy/score.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FleetSimulator } from '../connectors/simulator/simulator.js';
import type { SimulatorOptions } from '../connectors/simulator/options.js';
import type { FleetTruth } from '../connectors/simulator/truth.js';
import type { Alert } from '../engine/alert.js';
import { DEFAULT_PIPELINE, pipelinePath } from '../engine/cli/paths.js';
import { runSession } from '../engine/cli/session.js';
import { table } from '../engine/cli/format.js';
import { createLogger } from '../engine/log.js';
import type { PipelineDefinition } from '../engine/pipeline/definition.js';
import { Worker } from 'node:worker_threads';
import { BASELINES } from './accuracy/baselines.js';
import type { BaselineJob, BaselineResult } from './accuracy/baselineWorker.js';
import {
  distinctAlerts, falsePositiveCauses, scoreComponents, scoreProcesses,
  type ComponentScore, type FalseCauses, type LeakTruth, type ProcessScore, type RaisedAlert,
} from './accuracy/score.js';
import { addDiagnosis, diagnosisTable, readDiagnosis, scoreDiagnosis, type DiagnosisAccuracy } from './accuracy/diagnosis.js';
import { saveResults } from './lib.js';

interface Scenario {
  name: string;
  /** What the scenario varies, for the reader of the table. */
  about: string;
  sim: Partial<SimulatorOptions>;
}

const SCENARIOS: Scenario[] = [
  { name: 'fleet300-s1', about: '300 hosts x 6 components x 21 d, seed 1', sim: { hosts: 300, components: 6, days: 21, seed: 1 } },
  { name: 'fleet300-s2', about: '300 hosts x 6 components x 21 d, seed 2', sim: { hosts: 300, components: 6, days: 21, seed: 2 } },
  { name: 'fleet1000-s3', about: '1000 hosts x 6 components x 28 d, seed 3', sim: { hosts: 1000, components: 6, days: 28, seed: 3 } },
  {
    name: 'leaky-1m-s4', about: '150 hosts x 6 components x 14 d, seed 4, 10% of pairs leak, 1-minute samples',
    sim: { hosts: 150, components: 6, days: 14, seed: 4, leak_fraction: 0.1, interval: '1m' },
  },
];

/** Run only when named: each varies one thing of a default scenario, to tell effects apart. */
const EXTRA: Scenario[] = [
  {
    name: 'leaky-5m-s4', about: 'leaky-1m-s4 with 5-minute samples',
    sim: { hosts: 150, components: 6, days: 14, seed: 4, leak_fraction: 0.1, interval: '5m' },
  },
  { name: 'fleet300-12c-s5', about: '300 hosts x 12 components x 21 d, seed 5', sim: { hosts: 300, components: 12, days: 21, seed: 5 } },
  // Held out: seeds and sizes that no detection default was tuned on (`--scenario holdout`).
  { name: 'holdout-300-s7', about: 'held out: 300 hosts x 6 components x 21 d, seed 7', sim: { hosts: 300, components: 6, days: 21, seed: 7 } },
  { name: 'holdout-600-12c-s11', about: 'held out: 600 hosts x 12 components x 21 d, seed 11', sim: { hosts: 600, components: 12, days: 21, seed: 11 } },
  { name: 'holdout-400-28d-s12', about: 'held out: 400 hosts x 6 components x 28 d, seed 12', sim: { hosts: 400, components: 6, days: 28, seed: 12 } },
  {
    name: 'holdout-leaky-s13', about: 'held out: 200 hosts x 6 components x 14 d, seed 13, 10% of pairs leak',
    sim: { hosts: 200, components: 6, days: 14, seed: 13, leak_fraction: 0.1 },
  },
];
const HOLDOUT = EXTRA.filter((s) => s.name.startsWith('holdout-'));

const QUICK: Scenario[] = [
  { name: 'quick', about: '60 hosts x 6 components x 10 d, seed 1, 5% of pairs leak', sim: { hosts: 60, components: 6, days: 10, seed: 1, leak_fraction: 0.05 } },
];

let METHODS = ['engine', ...BASELINES.map((b) => b.name)];

interface MethodResult {
  process: ProcessScore;
  seconds: number;
}

interface ScenarioResult {
  scenario: Scenario;
  units: number;
  samples: number;
  methods: Record<string, MethodResult>;
  /** Everything each method raised, for pooling across scenarios. */
  raised: Record<string, RaisedAlert[]>;
  leaks: LeakTruth[];
  components: ComponentScore;
  causes: FalseCauses;
  diagnosis: DiagnosisAccuracy;
}

/** Points the definition's simulator at the scenario and its alert logs at a scratch file. */
function scenarioEdit(sim: Partial<SimulatorOptions>, scratch: string) {
  return (def: PipelineDefinition) => {
    const nodes = Object.values(def.nodes ?? {});
    const source = nodes.find((n) => n?.type === 'simulator');
    if (!source) throw new Error('the pipeline has no simulator source to run scenarios on');
    // Replaced, not merged: the truth is computed from the scenario's options alone.
    source.options = { ...sim };
    for (const n of nodes) if (n?.type === 'alert-log') n.options = { ...n.options, path: join(scratch, 'alerts.ndjson') };
    addDiagnosis(def, sim, scratch);
  };
}

async function runEngine(pipeline: string, sim: Partial<SimulatorOptions>) {
  const scratch = mkdtempSync(join(tmpdir(), 'resin-accuracy-'));
  const alerts: Alert[] = [];
  try {
    const result = await runSession({
      pipeline, edit: scenarioEdit(sim, scratch), deadLetter: join(scratch, 'rejected.ndjson'),
      log: createLogger({ level: 'warn' }), onAlert: (a) => alerts.push(a), checkpointEvery: 0,
    });
    return { alerts, samples: result.samplesRead, seconds: result.elapsedMs / 1000, reports: readDiagnosis(scratch) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The baselines of every scenario, on a worker thread started before the first engine
 * run: on two cores they cost about what the engine does, so they overlap it.
 */
interface Baselines {
  get(scenario: string): Promise<BaselineResult>;
  stop(): Promise<number>;
}

function startBaselines(scenarios: Scenario[], names: string[]): Baselines {
  const job: BaselineJob = { scenarios: scenarios.map((s) => ({ name: s.name, sim: s.sim })), names };
  const worker = new Worker(new URL('./accuracy/baselineWorker.js', import.meta.url), { workerData: job });
  const pending = new Map<string, { resolve: (f: BaselineResult) => void; reject: (e: unknown) => void }>();
  const results = new Map(scenarios.map((s) => [s.name, new Promise<BaselineResult>((resolve, reject) => pending.set(s.name, { resolve, reject }))]));
  // Unawaited until its scenario's engine run ends: a rejection must not count as unhandled meanwhile.
  for (const p of results.values()) p.catch(() => {});
  worker.on('message', (f: BaselineResult) => pending.get(f.scenario)?.resolve(f));
  const fail = (err: unknown) => { for (const p of pending.values()) p.reject(err); };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`baseline worker exited with code ${code} before finishing`)));
  return { get: (name) => results.get(name)!, stop: () => worker.terminate() };
}

/**
 * A baseline's flags as alerts: each flagged series raises one, and a leaking series
 * whose first flag came before its leak raises a second when the rule fires again.
 */
function baselineAlerts(name: string, units: BaselineResult['units'], first: Float64Array, afterLeak: Float64Array): RaisedAlert[] {
  const out: RaisedAlert[] = [];
  const raise = (id: string, s: number, at: number) => {
    const u = units[s]!;
    // A baseline names no leak start: its flag is where a person would start looking.
    out.push({ id, level: 'process', component: u.component, host: u.host, process: u.process, start: at, detected_at: at, pattern: 'unknown' });
  };
  for (let s = 0; s < first.length; s++) {
    if (first[s] === first[s]) raise(`${name}:${s}`, s, first[s]!);
    if (afterLeak[s] === afterLeak[s]) raise(`${name}:${s}:again`, s, afterLeak[s]!);
  }
  return out;
}

const leaksOf = (truth: FleetTruth): LeakTruth[] =>
  truth.leaks.map((l) => ({ host: l.host, component: l.component, process: l.process, pattern: l.pattern, start: l.start, rate_per_day: l.rate_per_day }));

const secondsSince = (t: number) => (performance.now() - t) / 1000;

async function runScenario(pipeline: string, scenario: Scenario, baselines: Baselines | null): Promise<ScenarioResult> {
  const log = (msg: string) => process.stderr.write(`[${scenario.name}] ${msg}\n`);
  const truth = new FleetSimulator(scenario.sim).truth();
  const leaks = leaksOf(truth);
  const units = truth.params.series;
  log(`${units} series, ${truth.params.expected_samples.toLocaleString('en-US')} samples, ${leaks.length} leaks`);

  const engine = await runEngine(pipeline, scenario.sim);
  const raisedEngine = distinctAlerts(engine.alerts);
  const methods: Record<string, MethodResult> = { engine: { process: scoreProcesses(leaks, raisedEngine, units), seconds: engine.seconds } };
  const raised: Record<string, RaisedAlert[]> = { engine: raisedEngine };
  log(`engine: ${engine.alerts.length} emissions, ${raisedEngine.length} alerts in ${engine.seconds.toFixed(1)} s`);

  if (baselines !== null) await scoreBaselines(baselines, scenario, leaks, units, methods, raised, log);
  const engineScore = methods.engine!.process;
  return {
    scenario, units, samples: engine.samples, methods, raised, leaks,
    components: scoreComponents(leaks, raisedEngine),
    causes: falsePositiveCauses(engineScore.false_alarms, truth.behaviours),
    diagnosis: scoreDiagnosis(truth.leaks, engineScore.detections, engine.reports),
  };
}

/** Scores each selected baseline on the scenario's data, adding it to `methods` and `raised`. */
async function scoreBaselines(
  baselines: Baselines, scenario: Scenario, leaks: LeakTruth[], units: number,
  methods: Record<string, MethodResult>, raised: Record<string, RaisedAlert[]>, log: (msg: string) => void,
): Promise<void> {
  const t = performance.now();
  const base = await baselines.get(scenario.name);
  log(`baselines: waited ${secondsSince(t).toFixed(1)} s; hourly means took ${base.meansSeconds.toFixed(1)} s`);
  for (const b of BASELINES) {
    if (!METHODS.includes(b.name)) continue;
    const { first, afterLeak, seconds } = base.flags[b.name]!;
    const alerts = baselineAlerts(b.name, base.units, first, afterLeak);
    raised[b.name] = alerts;
    methods[b.name] = { process: scoreProcesses(leaks, alerts, units), seconds };
    let again = 0;
    for (const v of afterLeak) if (v === v) again++;
    log(`${b.name}: ${alerts.length - again} series flagged, ${again} again after their leak began, in ${seconds.toFixed(1)} s`);
  }
}

/** All scenarios as one fleet: units renamed per scenario so that none collide. */
function pooled(results: ScenarioResult[], method: string): ProcessScore {
  const tag = (r: ScenarioResult, host: string | null) => `${r.scenario.name}/${host ?? ''}`;
  const leaks = results.flatMap((r) => r.leaks.map((l) => ({ ...l, host: tag(r, l.host) })));
  const alerts = results.flatMap((r) => r.raised[method]!.map((a) => ({ ...a, id: `${r.scenario.name}/${a.id}`, host: tag(r, a.host) })));
  return scoreProcesses(leaks, alerts, results.reduce((n, r) => n + r.units, 0));
}

const num = (v: number | null, digits = 3): string => (v === null ? '-' : v.toFixed(digits));
const hours = (v: number | null): string => (v === null ? '-' : v.toFixed(1));

function processRow(name: string, method: string, s: ProcessScore): string[] {
  return [name, method, num(s.precision), num(s.recall), num(s.f1), hours(s.latency_p50_h), hours(s.latency_p90_h),
    String(s.leaks), String(s.detected), String(s.false_units), s.false_alarm_rate === null ? '-' : `${(100 * s.false_alarm_rate).toFixed(3)}%`];
}

function report(results: ScenarioResult[]): string {
  const out: string[] = [];
  const rows: string[][] = [];
  for (const r of results) for (const m of METHODS) rows.push(processRow(r.scenario.name, m, r.methods[m]!.process));
  const all = Object.fromEntries(METHODS.map((m) => [m, pooled(results, m)]));
  if (results.length > 1) for (const m of METHODS) rows.push(processRow('all', m, all[m]!));
  out.push('Process-level alerts (unit: host x component x process)');
  out.push(table(['scenario', 'method', 'precision', 'recall', 'F1', 'p50 h', 'p90 h', 'leaks', 'found', 'false', 'false/healthy'], rows));

  const patterns = ['steady', 'stair', 'spike'];
  const cell = (s: ProcessScore, p: string) => {
    const x = s.by_pattern[p];
    return x ? `${num(x.recall, 2)} (${x.detected}/${x.leaks}, p50 ${hours(x.latency_p50_h)} h)` : '-';
  };
  const patRows = results.map((r) => [r.scenario.name, ...patterns.map((p) => cell(r.methods.engine!.process, p))]);
  if (results.length > 1) patRows.push(['all', ...patterns.map((p) => cell(all.engine!, p))]);
  out.push('', 'Engine recall per leak pattern (detected/leaks, median latency)');
  out.push(table(['scenario', ...patterns], patRows));

  const agree = results.map((r) => {
    const bp = r.methods.engine!.process.by_pattern;
    return [r.scenario.name, ...patterns.map((p) => (bp[p] ? `${bp[p]!.pattern_agrees}/${bp[p]!.detected}` : '-'))];
  });
  out.push('', 'Engine pattern classification (alert pattern = injected pattern, of detected)');
  out.push(table(['scenario', ...patterns], agree));

  out.push('', 'Component-level alerts (engine; true when the component has a leak that started before detected_at)');
  out.push(table(['scenario', 'alerts', 'true', 'false', 'precision', 'leaking', 'detected', 'recall', 'p50 h', 'p90 h'],
    results.map((r) => {
      const c = r.components;
      return [r.scenario.name, String(c.alerts), String(c.true_alerts), String(c.false_alerts), num(c.precision), String(c.leaking),
        String(c.detected), num(c.recall), hours(c.latency_p50_h), hours(c.latency_p90_h)];
    })));

  const kinds = [...new Set(results.flatMap((r) => Object.keys(r.causes.by_kind)))].sort();
  out.push('', 'Engine false alarms by overlapping labelled behaviour (same unit or host, from alert start - 6 h to detected_at; an alarm may count under several)');
  out.push(kinds.length === 0 ? '  no false alarms' : table(['scenario', 'false alarms', ...kinds],
    results.map((r) => [r.scenario.name, String(r.causes.alarms), ...kinds.map((k) => String(r.causes.by_kind[k] ?? 0))])));
  const combos = new Map<string, number>();
  for (const r of results) for (const [k, n] of Object.entries(r.causes.by_combination)) combos.set(k, (combos.get(k) ?? 0) + n);
  if (combos.size > 0) {
    out.push('', 'Engine false alarms by combination of overlapping behaviours (all scenarios)');
    out.push(table(['behaviours', 'false alarms'], [...combos].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)).map(([k, n]) => [k, String(n)])));
  }

  out.push('', diagnosisTable(results.map((r) => [r.scenario.name, r.diagnosis])));

  out.push('', 'Runs');
  for (const r of results) {
    out.push(`  ${r.scenario.name}: ${r.scenario.about}; ${r.units} series, ${r.samples.toLocaleString('en-US')} samples; `
      + `engine ${r.methods.engine!.seconds.toFixed(1)} s, ${METHODS.slice(1).map((m) => `${m} ${r.methods[m]!.seconds.toFixed(1)} s`).join(', ')}`);
  }
  return out.join('\n');
}

/** The JSON kept per scenario: scores and the engine's misses and false alarms, not every baseline flag. */
function saved(results: ScenarioResult[], pipeline: string) {
  const trim = (s: ProcessScore, detail: boolean) => {
    const { detections, missed, false_alarms, ...rest } = s;
    if (!detail) return rest;
    return {
      ...rest,
      detections: detections.map((d) => ({ host: d.leak.host, component: d.leak.component, process: d.leak.process, pattern: d.leak.pattern,
        rate_per_day: d.leak.rate_per_day, latency_h: d.latency_h, alert_pattern: d.alert.pattern })),
      missed,
      false_alarms: false_alarms.map((f) => ({ ...f.alert, leak_start: f.leak_start })),
    };
  };
  return {
    pipeline,
    scenarios: results.map((r) => ({
      name: r.scenario.name, about: r.scenario.about, simulator: r.scenario.sim, series: r.units, samples: r.samples,
      methods: Object.fromEntries(METHODS.map((m) => [m, { seconds: r.methods[m]!.seconds, process: trim(r.methods[m]!.process, m === 'engine') }])),
      components: r.components,
      engine_false_alarm_causes: r.causes,
      diagnosis: r.diagnosis,
    })),
    all: results.length > 1 ? Object.fromEntries(METHODS.map((m) => [m, trim(pooled(results, m), false)])) : null,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2), strict: true,
    options: {
      quick: { type: 'boolean', default: false }, scenario: { type: 'string' }, pipeline: { type: 'string' },
      'engine-only': { type: 'boolean', default: false }, baselines: { type: 'string' },
    },
  });
  const pool = values.quick ? QUICK : SCENARIOS;
  let chosen = pool;
  if (values.scenario !== undefined) {
    const names = values.scenario.split(',').flatMap((n) => (n === 'holdout' ? HOLDOUT.map((s) => s.name) : [n]));
    const known = [...SCENARIOS, ...EXTRA, ...QUICK];
    const unknown = names.filter((n) => !known.some((s) => s.name === n));
    if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${known.map((s) => s.name).join(', ')}`);
    chosen = known.filter((s) => names.includes(s.name));
  }
  const pipeline = values.pipeline === undefined ? DEFAULT_PIPELINE : pipelinePath(values.pipeline);
  const t = performance.now();
  if (values.baselines !== undefined) {
    const names = values.baselines.split(',');
    const unknown = names.filter((n) => !BASELINES.some((b) => b.name === n));
    if (unknown.length) throw new Error(`unknown baseline ${unknown.join(', ')}; known: ${BASELINES.map((b) => b.name).join(', ')}`);
    METHODS = ['engine', ...names];
  }
  if (values['engine-only']) METHODS = ['engine'];
  const baselines = METHODS.length > 1 ? startBaselines(chosen, METHODS.slice(1)) : null;
  const results: ScenarioResult[] = [];
  try {
    for (const s of chosen) results.push(await runScenario(pipeline, s, baselines));
  } finally {
    await baselines?.stop();
  }
  console.log(report(results));
  const suite = values.scenario !== undefined ? `accuracy-${chosen.map((s) => s.name).join('+')}` : values.quick ? 'accuracy-quick' : 'accuracy';
  const path = saveResults(suite, saved(results, pipeline));
  console.log(`\n${(secondsSince(t) / 60).toFixed(1)} min; results in ${path}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:accuracy failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
