/**
 * Diagnosis accuracy on the simulator: for each leak the engine detected, where the
 * diagnose stage ranked the leak's culprit stack (the simulator's ground truth) in the
 * report of that process, with reference snapshots and without.
 *
 * Two diagnose nodes run in the same engine run, fed by the same process-level
 * detector, with the simulated profiler over the scenario's fleet: one with references,
 * one without. Each writes its reports to a scratch NDJSON file.
 *
 * Per variant: detected leaks; diagnosed (a report on the leaking process that began at
 * or after the leak's start); culprit ranked first and within the top 3, as shares of
 * the detected leaks; and, between the variants, on how many leaks references moved
 * the culprit up or down (a culprit missing from a report ranks below every stack).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimulatorOptions } from '../../connectors/simulator/options.js';
import type { TruthLeak } from '../../connectors/simulator/truth.js';
import { table } from '../../engine/cli/format.js';
import type { DiagnosisReport } from '../../engine/diagnosis.js';
import type { PipelineDefinition } from '../../engine/pipeline/definition.js';
import { stackKey } from '../../operators/diagnose/localise.js';
import { unitKey, type Detection } from './score.js';

const VARIANTS = [
  { name: 'references', node: 'diagnosis-references', references: true },
  { name: 'no references', node: 'diagnosis-plain', references: false },
] as const;

type Variant = (typeof VARIANTS)[number]['name'];

/** Adds both diagnose nodes and their report logs after every process-detect node of the definition. */
export function addDiagnosis(def: PipelineDefinition, sim: Partial<SimulatorOptions>, scratch: string): void {
  const detectors = Object.entries(def.nodes).filter(([, n]) => n?.type === 'process-detect').map(([id]) => id);
  if (detectors.length === 0) throw new Error('the pipeline has no process-detect node to diagnose the alerts of');
  for (const v of VARIANTS) {
    def.nodes[v.node] = {
      type: 'diagnose', inputs: detectors,
      options: {
        profilers: ['simulated'], profiler_options: { simulated: { ...sim } }, clock: 'event', on_end: 'drain',
        references: { enabled: v.references },
      },
    };
    def.nodes[`${v.node}-log`] = { type: 'report-log', inputs: [v.node], options: { path: join(scratch, `${v.node}.ndjson`) } };
  }
}

/** The reports each variant wrote. */
export function readDiagnosis(scratch: string): Record<Variant, DiagnosisReport[]> {
  const out = {} as Record<Variant, DiagnosisReport[]>;
  for (const v of VARIANTS) {
    const path = join(scratch, `${v.node}.ndjson`);
    out[v.name] = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DiagnosisReport) : [];
  }
  return out;
}

export interface DiagnosisScore {
  detected: number;
  diagnosed: number;
  localised: number;
  first: number;
  top3: number;
  first_share: number | null;
  top3_share: number | null;
  /** Rank of the culprit (0 first, -1 absent) per detected leak, in detection order. */
  ranks: number[];
  /** Per injected pattern: detected leaks, culprit first, culprit in the top 3. */
  by_pattern: Record<string, { detected: number; first: number; top3: number }>;
}

export interface DiagnosisAccuracy {
  variants: Record<Variant, DiagnosisScore>;
  /** Leaks whose culprit ranked higher with references than without, lower, or the same. */
  improved: number;
  worsened: number;
  same: number;
}

export function scoreDiagnosis(leaks: readonly TruthLeak[], detections: readonly Detection[], reports: Record<Variant, DiagnosisReport[]>): DiagnosisAccuracy {
  const culprit = new Map<string, string>();
  for (const l of [...leaks].sort((a, b) => b.start - a.start)) culprit.set(unitKey(l.host, l.component, l.process), stackKey(l.culprit_stack));
  const variants = {} as Record<Variant, DiagnosisScore>;
  for (const v of VARIANTS) {
    const byUnit = new Map<string, DiagnosisReport[]>();
    for (const r of reports[v.name]) {
      const k = unitKey(r.target.host, r.target.component, r.target.process);
      byUnit.set(k, [...(byUnit.get(k) ?? []), r]);
    }
    const s: DiagnosisScore = { detected: detections.length, diagnosed: 0, localised: 0, first: 0, top3: 0, first_share: null, top3_share: null, ranks: [], by_pattern: {} };
    for (const d of detections) {
      const k = unitKey(d.leak.host, d.leak.component, d.leak.process);
      const report = (byUnit.get(k) ?? []).filter((r) => r.started_at >= d.leak.start).sort((a, b) => a.started_at - b.started_at)[0];
      const rank = report ? report.stacks.findIndex((st) => stackKey(st.frames) === culprit.get(k)) : -1;
      s.ranks.push(rank);
      const p = (s.by_pattern[d.leak.pattern] ??= { detected: 0, first: 0, top3: 0 });
      p.detected++;
      if (rank === 0) p.first++;
      if (rank >= 0 && rank < 3) p.top3++;
      if (!report) continue;
      s.diagnosed++;
      if (report.outcome === 'localised') s.localised++;
      if (rank === 0) s.first++;
      if (rank >= 0 && rank < 3) s.top3++;
    }
    s.first_share = s.detected > 0 ? s.first / s.detected : null;
    s.top3_share = s.detected > 0 ? s.top3 / s.detected : null;
    variants[v.name] = s;
  }
  let improved = 0, worsened = 0, same = 0;
  const rank = (x: number) => (x < 0 ? Infinity : x);
  const a = variants.references.ranks, b = variants['no references'].ranks;
  for (let i = 0; i < a.length; i++) {
    if (rank(a[i]!) < rank(b[i]!)) improved++;
    else if (rank(a[i]!) > rank(b[i]!)) worsened++;
    else same++;
  }
  return { variants, improved, worsened, same };
}

/** One table over all scenarios, two rows each (with and without references). */
export function diagnosisTable(rows: readonly [string, DiagnosisAccuracy][]): string {
  const pct = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(1)}%`);
  const body: string[][] = [];
  for (const [name, acc] of rows) {
    for (const v of VARIANTS) {
      const s = acc.variants[v.name];
      body.push([name, v.name, String(s.detected), String(s.diagnosed), String(s.localised), `${pct(s.first_share)} (${s.first})`,
        `${pct(s.top3_share)} (${s.top3})`, v.references ? `${acc.improved} up, ${acc.worsened} down, ${acc.same} same` : '']);
    }
  }
  const patterns = ['steady', 'stair', 'spike'];
  const cell = (s: DiagnosisScore, p: string) => {
    const x = s.by_pattern[p];
    return x ? `${x.first} / ${x.top3} of ${x.detected}` : '-';
  };
  const perPattern = rows.flatMap(([name, acc]) => VARIANTS.map((v) => [name, v.name, ...patterns.map((p) => cell(acc.variants[v.name], p))]));
  return ['Diagnosis (simulated profiler): culprit stack rank in the report of each detected leak',
    table(['scenario', 'variant', 'detected', 'diagnosed', 'localised', 'culprit 1st', 'culprit top 3', 'references moved the culprit'], body),
    '', 'Diagnosis per leak pattern (culprit first / in the top 3, of detected)',
    table(['scenario', 'variant', ...patterns], perPattern)].join('\n');
}
