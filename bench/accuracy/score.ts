/**
 * Scoring of leak alerts against a simulated fleet's ground truth: pure functions over
 * plain data, shared by the accuracy benchmark's engine run and its baselines so that
 * every method is judged by the same rules.
 *
 * Process level (unit: host x component x process):
 * - Every emission of an alert id (open, update, resolved) is the same page: an id counts
 *   once, raised at its earliest `detected_at`.
 * - A leak is detected by the earliest alert on its unit raised at or after the leak's
 *   start; latency is measured from the start to that `detected_at`.
 * - A unit is a false positive when it has an alert raised while it was not leaking: any
 *   alert on a unit with no leak, or one raised before the unit's leak started (nothing
 *   was there to find yet, so a person paged then was paged for something else). Such a
 *   unit is counted once however many false alerts it had; a leaking unit can be both a
 *   false positive (early alert) and a detection (a later one).
 * - precision = detected / (detected + false units), recall = detected / leaks.
 *
 * Component level (unit: alert id): an alert is a true positive when its component has a
 * leak that started before the alert's `detected_at`; recall is over components with a leak.
 */

const HOUR = 3_600_000;

export interface LeakTruth {
  host: string;
  component: string;
  process: string;
  pattern: string;
  start: number;
  rate_per_day?: number;
}

/** The fields of an Alert that scoring reads (engine/alert.ts). */
export interface AlertLike {
  id: string;
  level: 'component' | 'process';
  component: string;
  host: string | null;
  process: string | null;
  /** Leak start the detector reported (T0); the false-positive breakdown looks back from it. */
  start: number;
  detected_at: number;
  pattern?: string;
}

/** A labelled non-leak behaviour; `component` and `process` are null for a whole-host one. */
export interface BehaviourLike {
  kind: string;
  host: string;
  component: string | null;
  process: string | null;
  start: number;
  end: number;
}

/**
 * One alert id: raised at its earliest `detected_at`, described by its latest emission
 * (the fields of its emissions, with the pattern 'unknown' where none was named).
 */
export type RaisedAlert = Required<AlertLike>;

export const unitKey = (host: string | null, component: string, process: string | null): string =>
  `${host ?? ''}\u0001${component}\u0001${process ?? ''}`;

/** Collapses the emissions of each alert id into one raised alert, in order of first sight. */
export function distinctAlerts(alerts: Iterable<AlertLike>): RaisedAlert[] {
  const byId = new Map<string, RaisedAlert>();
  for (const a of alerts) {
    const seen = byId.get(a.id);
    if (seen === undefined) {
      byId.set(a.id, {
        id: a.id, level: a.level, component: a.component, host: a.host, process: a.process,
        start: a.start, detected_at: a.detected_at, pattern: a.pattern ?? 'unknown',
      });
      continue;
    }
    // A resumed run may replay an id's later emissions first; the earliest detection wins.
    seen.detected_at = Math.min(seen.detected_at, a.detected_at);
    seen.start = a.start;
    if (a.pattern !== undefined) seen.pattern = a.pattern;
  }
  return [...byId.values()];
}

/** Percentile with linear interpolation between ranks (q in [0, 1]) of an ascending array; null when empty. */
export function percentile(sorted: readonly number[], q: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const pos = q * (n - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

function f1(precision: number | null, recall: number | null): number | null {
  if (precision === null || recall === null) return null;
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

export interface PatternScore {
  leaks: number;
  detected: number;
  recall: number | null;
  latency_p50_h: number | null;
  latency_p90_h: number | null;
  /** Detected leaks whose alert named the injected pattern. */
  pattern_agrees: number;
}

export interface Detection {
  leak: LeakTruth;
  alert: RaisedAlert;
  latency_h: number;
}

export interface FalseAlarm {
  alert: RaisedAlert;
  /** The unit leaks, but only from this time on (after the alert was raised). */
  leak_start: number | null;
}

/** What both levels report: precision, recall, their F1, and detection latency in hours. */
export interface Quality {
  precision: number | null;
  recall: number | null;
  f1: number | null;
  latency_p50_h: number | null;
  latency_p90_h: number | null;
}

export interface ProcessScore extends Quality {
  leaks: number;
  detected: number;
  /** Units with at least one false alert (see the module comment). */
  false_units: number;
  /** Of those, units whose leak started later. */
  false_units_early: number;
  /** Distinct false alert ids (pages), possibly several per unit. */
  false_alerts: number;
  /** Healthy units (when the fleet's unit count is given) and the share of them alerted. */
  healthy_units: number | null;
  false_alarm_rate: number | null;
  by_pattern: Record<string, PatternScore>;
  detections: Detection[];
  missed: LeakTruth[];
  false_alarms: FalseAlarm[];
}

/**
 * Process-level score of `alerts` (component-level ones are ignored) against `leaks`.
 * `units`, the fleet's count of host x component x process series, gives the healthy
 * denominator of the false-alarm rate. A unit with several leaks is judged by its earliest.
 */
export function scoreProcesses(leaks: readonly LeakTruth[], alerts: readonly RaisedAlert[], units?: number): ProcessScore {
  const leakOf = new Map<string, LeakTruth>();
  for (const l of leaks) {
    const k = unitKey(l.host, l.component, l.process);
    const had = leakOf.get(k);
    if (had === undefined || l.start < had.start) leakOf.set(k, l);
  }
  const first = new Map<string, RaisedAlert>();
  const falseUnits = new Set<string>();
  let falseEarly = 0;
  const falseAlarms: FalseAlarm[] = [];
  for (const a of alerts) {
    if (a.level !== 'process') continue;
    const k = unitKey(a.host, a.component, a.process);
    const leak = leakOf.get(k);
    if (leak !== undefined && a.detected_at >= leak.start) {
      const had = first.get(k);
      if (had === undefined || a.detected_at < had.detected_at) first.set(k, a);
      continue;
    }
    falseAlarms.push({ alert: a, leak_start: leak?.start ?? null });
    if (!falseUnits.has(k)) {
      falseUnits.add(k);
      if (leak !== undefined) falseEarly++;
    }
  }
  const detections: Detection[] = [];
  const missed: LeakTruth[] = [];
  const latencies: number[] = [];
  const perPattern = new Map<string, { leaks: number; lat: number[]; agrees: number }>();
  for (const [k, leak] of leakOf) {
    let p = perPattern.get(leak.pattern);
    if (p === undefined) perPattern.set(leak.pattern, (p = { leaks: 0, lat: [], agrees: 0 }));
    p.leaks++;
    const a = first.get(k);
    if (a === undefined) {
      missed.push(leak);
      continue;
    }
    const latency = (a.detected_at - leak.start) / HOUR;
    detections.push({ leak, alert: a, latency_h: latency });
    latencies.push(latency);
    p.lat.push(latency);
    if (a.pattern === leak.pattern) p.agrees++;
  }
  const byNumber = (x: number, y: number) => x - y;
  latencies.sort(byNumber);
  const by_pattern: Record<string, PatternScore> = {};
  for (const [name, p] of [...perPattern].sort(([x], [y]) => x.localeCompare(y))) {
    p.lat.sort(byNumber);
    by_pattern[name] = {
      leaks: p.leaks, detected: p.lat.length, recall: ratio(p.lat.length, p.leaks),
      latency_p50_h: percentile(p.lat, 0.5), latency_p90_h: percentile(p.lat, 0.9), pattern_agrees: p.agrees,
    };
  }
  const detected = detections.length;
  const precision = ratio(detected, detected + falseUnits.size);
  const recall = ratio(detected, leakOf.size);
  const healthy = units === undefined ? null : units - leakOf.size;
  return {
    leaks: leakOf.size, detected, false_units: falseUnits.size, false_units_early: falseEarly, false_alerts: falseAlarms.length,
    precision, recall, f1: f1(precision, recall),
    latency_p50_h: percentile(latencies, 0.5), latency_p90_h: percentile(latencies, 0.9),
    healthy_units: healthy, false_alarm_rate: healthy === null ? null : ratio(falseUnits.size - falseEarly, healthy),
    by_pattern, detections, missed, false_alarms: falseAlarms,
  };
}

/** Latency is from the component's first leak start to its first true alert. */
export interface ComponentScore extends Quality {
  /** Components with at least one leak. */
  leaking: number;
  detected: number;
  alerts: number;
  true_alerts: number;
  false_alerts: number;
  false_components: string[];
}

/** Component-level score of `alerts` (process-level ones are ignored) against `leaks`. */
export function scoreComponents(leaks: readonly LeakTruth[], alerts: readonly RaisedAlert[]): ComponentScore {
  const firstLeak = new Map<string, number>();
  for (const l of leaks) firstLeak.set(l.component, Math.min(firstLeak.get(l.component) ?? Infinity, l.start));
  const firstTrue = new Map<string, number>();
  const falseComponents = new Set<string>();
  let total = 0, trueAlerts = 0;
  for (const a of alerts) {
    if (a.level !== 'component') continue;
    total++;
    const leakStart = firstLeak.get(a.component);
    if (leakStart !== undefined && leakStart < a.detected_at) {
      trueAlerts++;
      firstTrue.set(a.component, Math.min(firstTrue.get(a.component) ?? Infinity, a.detected_at));
    } else {
      falseComponents.add(a.component);
    }
  }
  const latencies = [...firstTrue].map(([c, at]) => (at - firstLeak.get(c)!) / HOUR).sort((x, y) => x - y);
  const precision = ratio(trueAlerts, total);
  const recall = ratio(firstTrue.size, firstLeak.size);
  return {
    leaking: firstLeak.size, detected: firstTrue.size, alerts: total, true_alerts: trueAlerts, false_alerts: total - trueAlerts,
    precision, recall, f1: f1(precision, recall),
    latency_p50_h: percentile(latencies, 0.5), latency_p90_h: percentile(latencies, 0.9),
    false_components: [...falseComponents].sort(),
  };
}

export interface FalseCauses {
  /** False alarms counted. */
  alarms: number;
  /** Per behaviour kind: false alarms it overlapped (an alarm may count under several kinds). */
  by_kind: Record<string, number>;
  /** Per set of overlapping kinds ("restart+warmup"), most frequent first. */
  by_combination: Record<string, number>;
}

/**
 * What the truth says was happening on each falsely alerted unit: the behaviours of that
 * unit (or of its whole host) that overlap [alert start - lookback, detected_at]. The
 * alert's start is where the detector thought the growth began, so that is where the
 * behaviour that fooled it is found. Alarms on a unit whose leak began later also count
 * under `leak_later`; alarms with nothing overlapping under `none`.
 */
export function falsePositiveCauses(alarms: readonly FalseAlarm[], behaviours: Iterable<BehaviourLike>, lookbackMs = 6 * HOUR): FalseCauses {
  const wanted = new Set<string>();
  const wantedHosts = new Set<string>();
  for (const { alert } of alarms) {
    wanted.add(unitKey(alert.host, alert.component, alert.process));
    if (alert.host !== null) wantedHosts.add(alert.host);
  }
  const ofUnit = new Map<string, BehaviourLike[]>();
  for (const b of behaviours) {
    const k = b.component === null ? `host\u0001${b.host}` : unitKey(b.host, b.component, b.process);
    if (b.component === null ? !wantedHosts.has(b.host) : !wanted.has(k)) continue;
    let list = ofUnit.get(k);
    if (list === undefined) ofUnit.set(k, (list = []));
    list.push(b);
  }
  const byKind: Record<string, number> = {};
  const combos = new Map<string, number>();
  for (const { alert, leak_start } of alarms) {
    const from = Math.min(alert.start, alert.detected_at) - lookbackMs;
    const kinds = new Set<string>();
    const candidates = [
      ...(ofUnit.get(unitKey(alert.host, alert.component, alert.process)) ?? []),
      ...(ofUnit.get(`host\u0001${alert.host}`) ?? []),
    ];
    // `end` is exclusive, but an instant (a restart) has end == start and still happened.
    for (const b of candidates) if (b.start <= alert.detected_at && (b.end > from || b.start >= from)) kinds.add(b.kind);
    if (leak_start !== null) kinds.add('leak_later');
    if (kinds.size === 0) kinds.add('none');
    for (const k of kinds) byKind[k] = (byKind[k] ?? 0) + 1;
    const combo = [...kinds].sort().join('+');
    combos.set(combo, (combos.get(combo) ?? 0) + 1);
  }
  const sortedKinds = Object.fromEntries(Object.entries(byKind).sort(([a, x], [b, y]) => y - x || a.localeCompare(b)));
  const byCombination = Object.fromEntries([...combos].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)));
  return { alarms: alarms.length, by_kind: sortedKinds, by_combination: byCombination };
}
