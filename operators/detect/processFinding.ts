import type { LeakPattern } from '../../engine/alert.js';
import type { Finding } from '../../engine/alertBook.js';
import type { SeriesCatalog } from '../../engine/telemetry/series.js';
import { growthReason } from './alertText.js';
import type { ModelParams } from './gaussianModels.js';
import { classifyGrowth, withoutCycle, type PatternParams } from './growthPattern.js';
import type { PeriodRing } from './periodRing.js';
import { severity, type IntervalState } from './suspiciousInterval.js';

const HOUR = 3_600_000;

/** The stable key of series `id`'s process alert: host|component|process. */
export function seriesKey(cat: SeriesCatalog, id: number): string {
  return `${cat.hosts.name(cat.seriesHost[id]!)}|${cat.components.name(cat.seriesComponent[id]!)}|${cat.processes.name(cat.seriesProcess[id]!)}`;
}

/** What a finding is built from besides the series: its state, its means, and the pattern's settings. */
export interface FindingContext {
  readonly catalog: SeriesCatalog;
  readonly state: IntervalState;
  readonly ring: PeriodRing;
  readonly period: number;
  readonly cycle: number;
  readonly pattern: PatternParams;
  /** Room for the ring's slots. */
  readonly scratch: Float64Array;
}

/** The method's severity of series `id`'s interval, judged against `model` (a finding's `severity`). */
export function severityOf(s: IntervalState, id: number, model: ModelParams): number {
  const u1 = s.u1[id]!;
  return severity(u1 - s.firstU[id]!, model.sigma1, s.nInc[id]!, s.n[id]!, s.t1[id]! - s.t0[id]!, u1, model.mu1);
}

/** What is known about series `id`'s leak, judged against `model`, as the fields of an alert. */
export function findingOf(fc: FindingContext, id: number, pid: number, model: ModelParams): Finding {
  const s = fc.state;
  const t0 = s.t0[id]!, t1 = s.t1[id]!, u0 = s.u0[id]!, u1 = s.u1[id]!;
  const n = s.n[id]!, nInc = s.nInc[id]!;
  const span = t1 - t0;
  const pattern = patternOf(fc, id, t0);
  const rate = span > 0 ? ((u1 - u0) / span) * HOUR : 0;
  const d = fc.catalog.describe(id);
  return {
    component: d.component, host: d.host, process: d.process, pid: pid >= 0 ? pid : null,
    region: d.region, cluster: d.cluster, start: t0, end: t1,
    severity: severityOf(s, id, model),
    pattern, rss: u1, rate, bucket_mb: null, hosts: null,
    reason: growthReason(u1 - u0, span, rate, pattern, n > 1 ? Math.round((100 * nInc) / (n - 1)) : 0),
  };
}

/**
 * Growth pattern of series `id` over what the ring holds since its anchor (or T0, if
 * earlier), its daily cycle taken out as seen over the whole ring: a week shows the
 * cycle even when the stretch since the anchor is too short to.
 */
function patternOf(fc: FindingContext, id: number, t0: number): LeakPattern {
  const ring = fc.ring, sc = fc.scratch;
  const anchor = fc.state.anchor[id]!;
  const from = Math.round((anchor === anchor ? Math.min(t0, anchor) : t0) / fc.period);
  const first = ring.newest[id]! - ring.slots + 1;
  const k = ring.read(id, first, sc);
  const skip = Math.max(0, Math.min(k, from - Math.max(first, 0)));
  const flat = withoutCycle(sc, k, fc.cycle);
  return classifyGrowth(flat.subarray(skip), k - skip, fc.pattern).pattern;
}
