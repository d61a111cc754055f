import { hostname } from 'node:os';
import { Observable } from 'rxjs';
import type { Alert } from '../../engine/alert.js';
import type { ActionKind, Executor, MitigationDecision } from '../../engine/mitigation.js';
import type { NodeContext, OperatorInstance, OperatorSpec } from '../../engine/spec.js';
import type { Checkpointable } from '../../engine/state.js';
import type { SeriesCatalog } from '../../engine/telemetry/series.js';
import { createExecutor, SharedConnection } from '../../connectors/executors/create.js';
import { MITIGATE_SCHEMA, settingsOf, type MitigateOptions } from './options.js';
import { Policy, type Job, type PolicyState } from './policy.js';
import { byPriority } from './priority.js';
import type { SelfIdentity } from './protect.js';
import { DecisionTree } from './tree.js';

/** Ways to build a `mitigate` node other than from a pipeline definition (tests, benchmarks). */
export interface MitigateDeps {
  /** Executors by action, instead of those the options describe. */
  executors?: ReadonlyMap<ActionKind, Executor>;
  /** Who "itself" is (default: this host, this process and its parent). */
  self?: SelfIdentity;
  /** Hosts running a component (default: counted from the run's series catalog). */
  componentHosts?: (component: string) => number;
}

/** Distinct hosts per component id in the catalog: one pass over its series. */
function hostsPerComponent(catalog: SeriesCatalog): Int32Array {
  const counts = new Int32Array(catalog.components.size);
  const seen = new Set<number>();
  for (let s = 0; s < catalog.size; s++) {
    const c = catalog.seriesComponent[s]!;
    // Host ids are below 2^26 (the catalog's own series keys assume as much): the pair fits a double exactly.
    const key = c * 0x4000000 + catalog.seriesHost[s]!;
    if (seen.has(key)) continue;
    seen.add(key);
    counts[c]!++;
  }
  return counts;
}

export interface MitigateInstance extends OperatorInstance<Alert, MitigationDecision>, Checkpointable {
  /** Resolves once no action is running (and their outcomes have been emitted). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `mitigate`: leak alerts in, mitigation decisions out (docs/mitigation.md). Alerts that
 * arrive together (one batch of detection) are decided in priority order; each
 * decision is emitted, recorded in the state store's audit, and, unless this is a dry
 * run (the default), carried out by the action's executor. Actions run in the
 * background so telemetry keeps flowing during a restart; their outcome follows as a
 * `succeeded` or `failed` decision. The operator completes only once every action it
 * started has finished.
 *
 *   alerts:    --open(A)-----------------------resolved(A)--|
 *   actions:   --taken(A)--succeeded(A)--------stopped(A)---|
 */
export function mitigate(options: MitigateOptions, ctx: NodeContext, deps: MitigateDeps = {}): MitigateInstance {
  const s = settingsOf(options);
  const nats = new SharedConnection(options.nats, `resin ${ctx.id}`);
  const executors = new Map<ActionKind, Executor>(deps.executors ?? []);
  const allow = new Map<ActionKind, ReadonlySet<string>>();
  for (const [action, config] of Object.entries(options.actions) as [ActionKind, NonNullable<MitigateOptions['actions'][ActionKind]>][]) {
    allow.set(action, new Set(config.allow));
    if (deps.executors) continue;
    try {
      executors.set(action, createExecutor(config.executor, nats, options.command_prefix));
    } catch (err) {
      throw new Error(`actions.${action}.executor: ${(err as Error).message}`);
    }
  }
  for (const [component, c] of Object.entries(options.components)) {
    for (const action of c.tree ?? []) {
      if (!allow.has(action)) throw new Error(`components.${component}.tree: "${action}" has no entry under actions`);
    }
  }
  const self = deps.self ?? { host: hostname(), pids: new Set([process.pid, process.ppid]) };
  // Counted at most once per batch of alerts, and only when a limit needs it.
  let hostCounts: Int32Array | null = null;
  const componentHosts = deps.componentHosts ?? ((c: string) => {
    const id = ctx.catalog.components.lookup(c);
    if (id === undefined) return 0;
    hostCounts ??= hostsPerComponent(ctx.catalog);
    return hostCounts[id] ?? 0;
  });
  const policy = new Policy(s, new DecisionTree(executors, allow, options.components), self, ctx.hosts, componentHosts);

  const counter = (outcome: string) => ctx.metrics.counter('mitigation_decisions', { node: ctx.id, outcome });
  const running = new Set<Promise<void>>();
  // Not tied to ctx.signal: an action under way when the run is asked to stop is let
  // finish (within the drain timeout), not killed half-way through a restart.
  const stop = new AbortController();
  let eventNow = -Infinity;
  let unaudited: MitigationDecision[] = [];
  let lastExpiry = -Infinity;
  const now = () => (s.clock === 'event' ? eventNow : Date.now());
  const settled = async () => {
    while (running.size > 0) await Promise.allSettled([...running]);
  };

  /** Writes the decisions made so far; tracked, so a checkpoint never runs ahead of its audit. */
  const audit = () => {
    if (unaudited.length === 0) return;
    const rows = unaudited;
    unaudited = [];
    const wall = Date.now();
    const write = ctx.store.recordDecisions(rows).then(async () => {
      if (wall - lastExpiry < 3_600_000) return;
      lastExpiry = wall;
      await ctx.store.expireDecisions(wall - s.auditRetentionMs);
    });
    ctx.flow.track(write);
  };

  return {
    apply(input: Observable<Alert>): Observable<MitigationDecision> {
      return new Observable<MitigationDecision>((sub) => {
        let queue: Alert[] = [];
        const emit = (d: MitigationDecision) => {
          counter(d.outcome).value++;
          unaudited.push(d);
          sub.next(d);
        };
        const run = (job: Job) => {
          const work = job.executor.run(job.target, stop.signal)
            .catch((err: Error) => ({ ok: false, detail: `executor failed: ${err.message}`, durationMs: 0 }))
            .then((result) => {
              emit(policy.finished(job, result, now()));
              audit();
            })
            // Outside any batch, a failing sink downstream must fail the run, not vanish.
            .catch((err: unknown) => sub.error(err));
          const done = work.finally(() => running.delete(done));
          running.add(done);
        };
        const decideQueued = () => {
          if (queue.length === 0) return;
          const alerts = byPriority(queue, options.components);
          queue = [];
          hostCounts = null;
          for (const alert of alerts) {
            eventNow = Math.max(eventNow, alert.at);
            const out = policy.decide(alert, now());
            for (const d of out.decisions) emit(d);
            if (out.job) run(out.job);
          }
          audit();
        };
        const subscription = input.subscribe({
          next(alert) {
            queue.push(alert);
            // Alerts of one batch arrive synchronously: deciding them together lets priority order them.
            if (queue.length === 1) ctx.flow.track(Promise.resolve().then(decideQueued));
          },
          error: (err) => sub.error(err),
          complete() {
            decideQueued();
            settled().then(() => {
              audit();
              sub.complete();
            }, (err) => sub.error(err));
          },
        });
        return () => subscription.unsubscribe();
      });
    },
    settled,
    checkpoint: () => policy.checkpoint(),
    held: () => policy,
    restore: (state) => policy.restore(state as PolicyState),
    async close() {
      stop.abort();
      await Promise.allSettled([...running]);
      for (const e of executors.values()) await e.close().catch(() => {});
      await nats.close();
    },
  };
}

export const mitigateSpec: OperatorSpec<MitigateOptions, 'alerts', 'actions'> = {
  type: 'mitigate',
  kind: 'operator',
  usesStore: true,
  summary: 'Decides and carries out mitigations for leak alerts (restart, unit restart, script, host hooks) within safety limits; dry-run by default',
  input: 'alerts',
  output: 'actions',
  maxInputs: 8,
  options: MITIGATE_SCHEMA,
  create: (options, ctx) => mitigate(options, ctx),
};
