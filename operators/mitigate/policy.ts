import type { Alert } from '../../engine/alert.js';
import { formatMs } from '../../engine/duration.js';
import type { HostActivity } from '../../engine/hostActivity.js';
import type { ActionKind, ActionResult, ActionTarget, Executor, MitigationDecision } from '../../engine/mitigation.js';
import { BlastRadius } from './blastRadius.js';
import { decisionOf, targetKey, targetOf } from './decision.js';
import type { MitigateSettings } from './options.js';
import { protectedHostReason, protectedReason, type SelfIdentity } from './protect.js';
import { RateLimit } from './rateLimit.js';
import { SlowStart } from './slowStart.js';
import { TargetBook } from './targets.js';
import type { DecisionTree } from './tree.js';

/** An action to carry out once the decision to take it has been emitted. */
export interface Job {
  readonly key: string;
  readonly alert: Alert;
  readonly target: ActionTarget;
  readonly executor: Executor;
  readonly attempt: number;
}

export interface Outcome {
  readonly decisions: MitigationDecision[];
  readonly job: Job | null;
}

const GLOBAL = '*';

export interface PolicyState {
  /** Whether the state was built by a dry run. */
  dryRun: boolean;
  targets: ReturnType<TargetBook['checkpoint']>;
  global: ReturnType<RateLimit['checkpoint']>;
  cluster: ReturnType<RateLimit['checkpoint']>;
  blast: ReturnType<BlastRadius['checkpoint']>;
  slow: ReturnType<SlowStart['checkpoint']>;
}

/**
 * The rules, alert by alert: what to do about a target and whether the safety limits
 * let it happen. Checks run from the absolute to the situational: never resin itself,
 * never a host being profiled, wait out a running or settling action, pick the step of
 * the decision tree (escalating when memory came back after the last one), then the
 * slow start, the blast radius and the rate limits. Every alert that is not acted on
 * gets a `skipped` decision saying which rule held it back.
 */
export class Policy {
  private readonly targets: TargetBook;
  private readonly global: RateLimit;
  private readonly cluster: RateLimit;
  private readonly blast: BlastRadius;
  private readonly slow: SlowStart;

  constructor(
    private readonly s: MitigateSettings,
    private readonly tree: DecisionTree,
    private readonly self: SelfIdentity,
    private readonly hosts: HostActivity,
    /** Hosts running a component, for the blast radius. */
    private readonly componentHosts: (component: string) => number,
  ) {
    this.targets = new TargetBook(s.maxTargets, s.settleMs + s.verifyMs);
    this.global = new RateLimit(s.globalLimit, s.rateWindowMs);
    this.cluster = new RateLimit(s.clusterLimit, s.rateWindowMs);
    this.blast = new BlastRadius(s.maxShare, s.minHosts);
    this.slow = new SlowStart(s.slowStartHosts, s.slowStartPeriodMs, s.slowStartMs);
  }

  decide(alert: Alert, now: number): Outcome {
    this.targets.expire(now);
    return alert.state === 'resolved' ? this.stop(alert) : this.act(alert, now);
  }

  private stop(alert: Alert): Outcome {
    const key = targetKey(alert);
    const t = this.targets.get(key);
    if (!t || t.resolved) return { decisions: [], job: null };
    t.resolved = true;
    if (alert.host !== null) this.blast.release(alert.component, alert.host);
    const why = `alert resolved (${alert.reason}): no further action on this target`;
    return { decisions: [decisionOf(alert, 'stopped', t.action, t.attempt, why)], job: null };
  }

  private act(alert: Alert, now: number): Outcome {
    const skip = (reason: string, attempt = 0, action: ActionKind | null = null): Outcome =>
      ({ decisions: [decisionOf(alert, 'skipped', action, attempt, reason)], job: null });
    const held = protectedReason(alert, this.s.protect, this.self);
    if (held) return skip(held);
    if (alert.host === null) return skip('a component-level alert names no host: its processes\' alerts are acted on');
    const host = alert.host;
    if (this.hosts.isProfiling(host)) return skip(`${host} is being profiled: mitigation waits until the trace is done`);

    const key = targetKey(alert);
    const t = this.targets.get(key);
    let from = 0;
    let rule = `first step of ${alert.component}'s tree`;
    if (t) {
      if (t.resolved && t.alertId === alert.id) return skip('the alert was resolved: no further action', t.attempt, t.action);
      if (t.doneAt !== t.doneAt) return skip(`${t.action} on this target is still running`, t.attempt, t.action);
      const since = now - t.doneAt;
      if (since < this.s.settleMs && !t.resolved) {
        return skip(`waiting ${formatMs(this.s.settleMs)} for the effect of ${t.action} (attempt ${t.attempt})`, t.attempt, t.action);
      }
      if (since < this.s.settleMs + this.s.verifyMs) {
        from = t.level + 1;
        rule = `memory came back ${formatMs(Math.round(since))} after ${t.action}: escalated`;
      }
    }
    const step = this.tree.step(alert.component, from);
    const attempt = (from > 0 ? t!.attempt : 0) + 1;
    if (step.kind === 'none') return skip(step.reason, attempt - 1);
    const action = step.action;
    const onSelf = protectedHostReason(action, host, this.self);
    if (onSelf) return skip(onSelf, attempt, action);

    if (!this.slow.allows(action, host, now)) {
      return skip(`slow start: ${action} is new and already reached ${this.s.slowStartHosts} hosts in ${formatMs(this.s.slowStartPeriodMs)}`, attempt, action);
    }
    const hostCount = this.componentHosts(alert.component);
    if (!this.blast.allows(alert.component, host, hostCount, now)) {
      return skip(`blast radius: ${this.blast.heldCount(alert.component, now)} of ${alert.component}'s ${hostCount} hosts are being mitigated (at most ${this.blast.capacity(hostCount)})`, attempt, action);
    }
    const clusterKey = alert.cluster ?? '(no cluster)';
    if (!this.cluster.allows(clusterKey, now)) {
      return skip(`rate limit: ${this.s.clusterLimit} actions in cluster ${clusterKey} within ${formatMs(this.s.rateWindowMs)}`, attempt, action);
    }
    if (!this.global.allows(GLOBAL, now)) {
      return skip(`rate limit: ${this.s.globalLimit} actions within ${formatMs(this.s.rateWindowMs)}`, attempt, action);
    }

    this.global.take(GLOBAL, now);
    this.cluster.take(clusterKey, now);
    this.slow.take(action, host, now);
    const target = targetOf(alert, action);
    const decisions: MitigationDecision[] = [];
    if (from > 0) decisions.push(decisionOf(alert, 'escalated', t!.action, t!.attempt, `${rule} to ${action}`));
    const what = step.executor.describe(target);
    const dry = this.s.dryRun;
    this.targets.set(key, {
      alertId: alert.id, level: step.level, action, attempt, doneAt: dry ? now : NaN, resolved: false, touched: now,
    });
    this.blast.hold(alert.component, host, dry ? now + this.s.settleMs + this.s.verifyMs : Infinity);
    decisions.push(decisionOf(alert, dry ? 'dry-run' : 'taken', action, attempt,
      `${rule}: ${dry ? 'would ' : ''}${what}`, step.executor.kind));
    return { decisions, job: dry ? null : { key, alert, target, executor: step.executor, attempt } };
  }

  /** An action finished: record it, and hold its host until it has settled and been verified. */
  finished(job: Job, result: ActionResult, now: number): MitigationDecision {
    const t = this.targets.get(job.key);
    if (t && t.attempt === job.attempt) {
      t.doneAt = now;
      t.touched = now;
    }
    if (job.alert.host !== null) {
      if (t?.resolved) this.blast.release(job.alert.component, job.alert.host);
      else this.blast.hold(job.alert.component, job.alert.host, now + this.s.settleMs + this.s.verifyMs);
    }
    return decisionOf(job.alert, result.ok ? 'succeeded' : 'failed', job.target.action, job.attempt, result.detail,
      job.executor.kind, Math.round(result.durationMs * 10) / 10, result.newPid ?? null);
  }

  checkpoint(): PolicyState {
    return {
      dryRun: this.s.dryRun,
      targets: this.targets.checkpoint(), global: this.global.checkpoint(), cluster: this.cluster.checkpoint(),
      blast: this.blast.checkpoint(), slow: this.slow.checkpoint(),
    };
  }

  /**
   * A dry run's state never carries into a real one (nor the reverse): a week of dry
   * runs must not count as a week of slow start, nor use up a real run's rate limits.
   */
  restore(s: PolicyState): void {
    if (s.dryRun !== this.s.dryRun) return;
    this.targets.restore(s.targets);
    this.global.restore(s.global);
    this.cluster.restore(s.cluster);
    // A host held by an action that was running when the state was saved stays held
    // for a settle and verify period from then: the action may well have happened.
    let last = -Infinity;
    for (const [, t] of s.targets) last = Math.max(last, t.touched);
    this.blast.restore(s.blast, last + this.s.settleMs + this.s.verifyMs);
    this.slow.restore(s.slow);
  }
}
