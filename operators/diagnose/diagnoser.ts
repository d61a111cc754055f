import type { Alert } from '../../engine/alert.js';
import { formatMs } from '../../engine/duration.js';
import { ProfileError, type DiagnosisOutcome, type DiagnosisReport } from '../../engine/diagnosis.js';
import type { HostActivity } from '../../engine/hostActivity.js';
import type { Logger } from '../../engine/log.js';
import type { Metrics } from '../../engine/metrics.js';
import type { Fingerprint, ReferenceSet, ReferenceStore } from '../../engine/references.js';
import type { SeriesCatalog } from '../../engine/telemetry/series.js';
import { ProfilingBudget } from './budget.js';
import type { DiagnosisClock } from './clock.js';
import { localise } from './localise.js';
import type { DiagnoseOptions, Resolved } from './options.js';
import { rankSuspects, type Suspect } from './rank.js';
import { attrsOf, fingerprintKey, fingerprintOf, growingStacks, leaksDuringTrace, pickCandidates } from './references.js';
import { asProfileError, Trace, type NamedProfiler } from './trace.js';
import { completionTrigger } from './triggers.js';

const HOUR = 3_600_000;
const NO_CLUSTER = '(no cluster)';

/** What the diagnoser needs from its node: the engine's services, never globals. */
export interface DiagnoserDeps {
  readonly id: string;
  readonly clock: DiagnosisClock;
  readonly profilers: readonly NamedProfiler[];
  readonly hosts: HostActivity;
  readonly catalog: SeriesCatalog;
  readonly references: ReferenceStore;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly emit: (report: DiagnosisReport) => void;
}

interface Diagnosis {
  suspect: Suspect;
  trace: Trace;
  nextAt: number;
  deadline: number;
  fingerprint: Fingerprint | null;
  /** A trigger that fired while the references this diagnosis asked for were still being traced. */
  held: string | null;
}

interface ReferenceTrace {
  trace: Trace;
  fingerprint: Fingerprint;
  /** Fingerprint key of the diagnosis that asked for it, cleared when it ends. */
  askedFor: string;
  nextAt: number;
  endAt: number;
}

/**
 * The diagnosis stage's state machine, independent of RxJS and of where time comes
 * from: suspects from process-level alerts, the traces open on them, reference traces
 * of healthy processes, the per-cluster budget. The node (diagnose.ts) calls it one
 * operation at a time: `onAlert`, `advance` (do what fell due up to a time, in time
 * order), `finishAll`.
 */
export class Diagnoser {
  private readonly suspects = new Map<string, Suspect>();
  private readonly diagnosing = new Map<string, Diagnosis>();
  private readonly referencing = new Map<string, ReferenceTrace>();
  private readonly sampling = new Set<string>();
  /** Alerts already diagnosed, with the event time last heard of, so an update does not start another trace. */
  private readonly diagnosed = new Map<string, number>();
  private readonly budget: ProfilingBudget;
  private readonly maxPoints: number;
  private traces = 0;
  private lastExpiry = -Infinity;

  constructor(private readonly o: DiagnoseOptions, private readonly r: Resolved, private readonly d: DiagnoserDeps) {
    this.budget = new ProfilingBudget(o.per_cluster_hour);
    this.maxPoints = Math.ceil(r.timeLimit / r.period) + 2;
  }

  /** Traces open now (diagnoses and references). */
  get open(): number {
    return this.diagnosing.size + this.referencing.size;
  }

  private count(name: string, labels: Record<string, string> = {}): void {
    this.d.metrics.inc(name, { node: this.d.id, ...labels });
  }

  /** Takes a process-level alert in: a new or updated suspect, or a resolved one. */
  async onAlert(alert: Alert): Promise<void> {
    const now = this.d.clock.now();
    if (alert.level !== 'process' || alert.host === null || alert.process === null) {
      this.count('diagnose_alerts', { taken: 'no', why: 'not process level' });
      return;
    }
    this.count('diagnose_alerts', { taken: 'yes', state: alert.state });
    this.forget(now);
    const running = this.diagnosing.get(alert.id);
    if (alert.state === 'resolved') {
      this.suspects.delete(alert.id);
      // A held diagnosis had its trigger: it localises with what it has rather than being dropped.
      if (running) await (running.held !== null ? this.complete(running, running.held) : this.complete(running, 'alert resolved before a trigger', 'inconclusive'));
      this.diagnosed.delete(alert.id);
      return;
    }
    if (running) {
      running.suspect.alert = alert;
      return;
    }
    if (this.diagnosed.has(alert.id)) {
      this.diagnosed.set(alert.id, now);
      return;
    }
    this.suspects.set(alert.id, { alert, impact: this.impactOf(alert) });
  }

  private impactOf(alert: Alert): number {
    if (this.o.impact === 'rss') return alert.rss;
    if (this.o.impact === 'host') return this.o.impact_by_host[alert.host!] ?? 0;
    return 0;
  }

  /** Bounded memory: diagnosed alerts and waiting suspects quiet for `retention` are forgotten. */
  private forget(now: number): void {
    const before = now - this.r.retention;
    for (const [id, at] of this.diagnosed) if (at < before) this.diagnosed.delete(id);
    for (const [id, s] of this.suspects) if (s.alert.at < before && !this.diagnosing.has(id)) this.suspects.delete(id);
  }

  /** Earliest time something is due (a snapshot, or a budget freeing up for a waiting suspect), or Infinity. */
  nextDue(): number {
    let t = Infinity;
    for (const j of this.diagnosing.values()) t = Math.min(t, j.nextAt);
    for (const j of this.referencing.values()) t = Math.min(t, j.nextAt);
    const now = this.d.clock.now();
    for (const s of this.suspects.values()) {
      const free = this.budget.nextFree(s.alert.cluster ?? NO_CLUSTER, now);
      if (free > now) t = Math.min(t, free);
    }
    return t;
  }

  /**
   * Latest time an open trace can still need (its time limit or end); with none open,
   * when a suspect waiting for the budget can start; -Infinity when nothing is left.
   */
  horizon(): number {
    let t = -Infinity;
    for (const j of this.diagnosing.values()) t = Math.max(t, j.deadline);
    for (const j of this.referencing.values()) t = Math.max(t, j.endAt);
    if (t === -Infinity) {
      const due = this.nextDue();
      if (due < Infinity) t = due;
    }
    return t;
  }

  /**
   * Does everything due up to `to`, in time order, with the clock set to each due time
   * (references before diagnoses at the same instant, so a diagnosis completing then
   * sees them), starting traces on suspects as capacity allows.
   */
  async advance(to: number): Promise<void> {
    const clock = this.d.clock;
    for (;;) {
      await this.select(clock.now());
      let ref: ReferenceTrace | null = null, job: Diagnosis | null = null, at = Infinity;
      for (const j of this.referencing.values()) if (j.nextAt < at) { at = j.nextAt; ref = j; }
      for (const j of this.diagnosing.values()) if (j.nextAt < at) { at = j.nextAt; ref = null; job = j; }
      if (at > to) break;
      clock.set(at);
      if (ref) await this.stepReference(ref);
      else if (job) await this.stepDiagnosis(job);
    }
    clock.set(to);
    await this.select(clock.now());
  }

  /** Starts traces on the most suspect waiting processes of each component, up to `top` at once, within the budget. */
  private async select(now: number): Promise<void> {
    if (this.suspects.size === 0 || this.d.signal.aborted) return;
    const byComponent = new Map<string, Suspect[]>();
    for (const s of this.suspects.values()) {
      if (this.diagnosing.has(s.alert.id)) continue;
      const list = byComponent.get(s.alert.component) ?? [];
      list.push(s);
      byComponent.set(s.alert.component, list);
    }
    for (const [component, waiting] of byComponent) {
      let free = this.o.top;
      for (const j of this.diagnosing.values()) if (j.suspect.alert.component === component) free--;
      for (const s of rankSuspects(waiting, this.o.severity_step)) {
        if (free <= 0) break;
        if (!this.budget.take(s.alert.cluster ?? NO_CLUSTER, now)) {
          this.count('diagnose_budget_denied');
          continue;
        }
        free--;
        await this.start(s, now);
      }
    }
  }

  private async start(s: Suspect, now: number): Promise<void> {
    const a = s.alert;
    this.suspects.delete(a.id);
    const target = { host: a.host!, component: a.component, process: a.process!, pid: a.pid ?? 0 };
    let trace: Trace;
    try {
      trace = await Trace.open(`${this.d.id}#${++this.traces}`, target, this.d.profilers, this.d.hosts, this.d.signal, now, this.o.ring, this.maxPoints);
    } catch (err) {
      const e = asProfileError(err);
      this.diagnosed.set(a.id, now);
      this.count('diagnose_traces', { outcome: 'failed', reason: e.reason });
      this.d.emit(this.report(a, target, '-', 'failed', `failed: ${e.message}`, e.reason, now, now, [], 0, 0, []));
      return;
    }
    const job: Diagnosis = { suspect: s, trace, nextAt: now, deadline: now + this.r.timeLimit, fingerprint: null, held: null };
    this.diagnosing.set(a.id, job);
    if (this.o.references.enabled) await this.askReferences(job, now);
  }

  /** Looks up references for a diagnosis; when none matches exactly, starts sampling healthy processes of a similar fingerprint. */
  private async askReferences(job: Diagnosis, now: number): Promise<void> {
    const a = job.suspect.alert;
    const attrs = attrsOf(this.d.catalog, a.host!, a.component, a.process!);
    const fp = fingerprintOf(a.component, attrs ?? { cluster: a.cluster, version: null }, now);
    job.fingerprint = fp;
    if (now - this.lastExpiry >= HOUR) {
      this.lastExpiry = now;
      const gone = await this.d.references.expire(now - this.r.refMaxAge);
      if (gone > 0) this.d.metrics.inc('diagnose_references', { node: this.d.id, result: 'expired' }, gone);
    }
    const key = fingerprintKey(fp);
    if (this.sampling.has(key) || (await this.d.references.find(fp, now - this.r.refMaxAge, 'exact')).length > 0) return;
    const excluded = (host: string, proc: string) => this.d.hosts.isProfiling(host) || this.underAlert(host, a.component, proc);
    const self = { host: a.host!, series: attrs?.series ?? -1, region: attrs?.region ?? a.region, cluster: fp.cluster, version: fp.service_version };
    const candidates = pickCandidates(this.d.catalog, a.component, self, this.o.references.hosts, Math.floor(now / HOUR), excluded);
    if (candidates.length === 0) this.count('diagnose_references', { result: 'no candidate' });
    for (const target of candidates) {
      const cand = attrsOf(this.d.catalog, target.host, target.component, target.process);
      if (!this.budget.take(cand?.cluster ?? NO_CLUSTER, now)) {
        this.count('diagnose_budget_denied');
        continue;
      }
      try {
        const trace = await Trace.open(`${this.d.id}#${++this.traces}`, target, this.d.profilers, this.d.hosts, this.d.signal, now, this.o.ring, this.maxPoints);
        const own = fingerprintOf(target.component, cand ?? { cluster: null, version: null }, now);
        this.referencing.set(trace.id, { trace, fingerprint: own, askedFor: key, nextAt: now, endAt: now + this.r.refDuration });
        this.sampling.add(key);
      } catch (err) {
        this.count('diagnose_references', { result: 'failed', reason: asProfileError(err).reason });
      }
    }
  }

  private underAlert(host: string, component: string, proc: string): boolean {
    const is = (x: Alert) => x.host === host && x.component === component && x.process === proc;
    for (const s of this.suspects.values()) if (is(s.alert)) return true;
    for (const j of this.diagnosing.values()) if (is(j.suspect.alert)) return true;
    return false;
  }

  private async stepReference(ref: ReferenceTrace): Promise<void> {
    const now = this.d.clock.now();
    try {
      await ref.trace.snapshot();
    } catch (err) {
      this.count('diagnose_references', { result: 'failed', reason: asProfileError(err).reason });
      await this.endReference(ref);
      return;
    }
    ref.nextAt = now + this.r.period;
    if (ref.nextAt <= ref.endAt) return;
    const held = ref.trace.held();
    if (leaksDuringTrace(ref.trace.memory, this.r.period, this.o.references.max_memory_growth)) {
      this.count('diagnose_references', { result: 'leaking' });
    } else {
      const t = ref.trace.target;
      await this.d.references.save({ fingerprint: ref.fingerprint, host: t.host, process: t.process, taken_at: ref.trace.startedAt, snapshots: held });
      this.count('diagnose_references', { result: 'saved' });
    }
    await this.endReference(ref);
  }

  private async endReference(ref: ReferenceTrace): Promise<void> {
    this.referencing.delete(ref.trace.id);
    let others = false;
    for (const r of this.referencing.values()) if (r.askedFor === ref.askedFor) others = true;
    if (!others) {
      this.sampling.delete(ref.askedFor);
      // Diagnoses held for these references localise now (after this reference, at the same instant).
      const now = this.d.clock.now();
      for (const j of this.diagnosing.values()) if (j.held !== null && this.keyOf(j) === ref.askedFor) j.nextAt = Math.min(j.nextAt, now);
    }
    await ref.trace.close();
  }

  private keyOf(job: Diagnosis): string | null {
    return job.fingerprint ? fingerprintKey(job.fingerprint) : null;
  }

  /** When the reference traces of a diagnosis's fingerprint end (their last snapshot), or -Infinity when none is open. */
  private referencesEnd(job: Diagnosis): number {
    const key = this.keyOf(job);
    let end = -Infinity;
    if (key !== null) for (const r of this.referencing.values()) if (r.askedFor === key) end = Math.max(end, r.endAt);
    return end;
  }

  private async stepDiagnosis(job: Diagnosis): Promise<void> {
    if (job.held !== null) return this.complete(job, job.held);
    const now = this.d.clock.now();
    try {
      await job.trace.snapshot();
      this.count('diagnose_snapshots');
    } catch (err) {
      const e = asProfileError(err);
      await this.complete(job, `failed: ${e.message}`, 'failed', e.reason);
      return;
    }
    job.nextAt = now + this.r.period;
    const a = job.suspect.alert;
    if (job.trace.snapshots >= this.o.min_snapshots) {
      const hours = Math.max(0, a.end - a.start) / HOUR;
      const trigger = completionTrigger(job.trace.memory, now, { pattern: a.pattern, slopePerHour: a.rate, growth: a.rate * hours }, {
        window: this.r.triggerWindow, period: this.r.period, minPoints: this.o.min_snapshots,
      });
      if (trigger) return this.completeOrHold(job, trigger, now);
    }
    if (job.nextAt > job.deadline) await this.complete(job, `time limit (${formatMs(this.r.timeLimit)}) reached`);
  }

  /**
   * A trigger that fires before the reference traces this diagnosis started have ended
   * (a steady leak can trigger on its third snapshot, an hour in; references take
   * `references.duration`) would localise without them. The ring is kept as the trigger
   * found it, no more snapshots are taken, and localisation waits for the references,
   * within the time limit.
   */
  private async completeOrHold(job: Diagnosis, trigger: string, now: number): Promise<void> {
    const until = Math.min(this.referencesEnd(job), job.deadline);
    if (until <= now) return this.complete(job, trigger);
    job.held = trigger;
    job.nextAt = until;
  }

  /** Ends a diagnosis: localise what the ring holds, close the trace, emit the report. */
  private async complete(job: Diagnosis, trigger: string, outcome?: DiagnosisOutcome, reason: string | null = null): Promise<void> {
    const a = job.suspect.alert;
    const now = this.d.clock.now();
    this.diagnosing.delete(a.id);
    this.diagnosed.set(a.id, now);
    let report: DiagnosisReport;
    try {
      const snapshots = job.trace.held();
      let sets: ReferenceSet[] = [];
      if (this.o.references.enabled && job.fingerprint) {
        const since = now - this.r.refMaxAge;
        sets = await this.d.references.find(job.fingerprint, since, 'exact');
        if (sets.length === 0) sets = await this.d.references.find(job.fingerprint, since, 'similar');
      }
      const loc = localise({
        snapshots, pattern: a.pattern, slopePerHour: a.rate, references: growingStacks(sets, this.o.references.min_growth, this.o.references.quorum), top: this.o.stacks,
      });
      const result: DiagnosisOutcome = outcome ?? (loc.stacks.length > 0 ? 'localised' : 'inconclusive');
      report = this.report(a, job.trace.target, job.trace.profiler, result, trigger, reason, job.trace.startedAt, now,
        job.trace.memory.slice(), job.trace.snapshots, sets.length, loc.stacks);
    } finally {
      await job.trace.close();
    }
    this.count('diagnose_traces', { outcome: report.outcome });
    this.d.emit(report);
  }

  private report(
    a: Alert, target: DiagnosisReport['target'], profiler: string, outcome: DiagnosisOutcome, trigger: string, reason: string | null,
    started: number, ended: number, memory: DiagnosisReport['memory'], snapshots: number, references: number, stacks: DiagnosisReport['stacks'],
  ): DiagnosisReport {
    return {
      id: `${a.id}:${target.pid}`, alert_id: a.id, target, profiler, pattern: a.pattern, outcome, trigger, reason,
      started_at: started, ended_at: ended, memory, snapshots, references, stacks,
    };
  }

  /** Ends every trace now: diagnoses are reported as they stand (`trigger` says why), references are dropped unsaved. */
  async finishAll(trigger: string): Promise<void> {
    const errors: unknown[] = [];
    for (const job of [...this.diagnosing.values()]) {
      await this.complete(job, job.held ?? trigger).catch((err: unknown) => errors.push(err));
    }
    for (const ref of [...this.referencing.values()]) await this.endReference(ref).catch((err: unknown) => errors.push(err));
    this.suspects.clear();
    if (errors.length) throw errors[0] instanceof Error ? errors[0] : new ProfileError('failed', String(errors[0]));
  }
}
