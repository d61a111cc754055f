import { Observable } from 'rxjs';
import type { Alert } from '../../engine/alert.js';
import type { DiagnosisReport } from '../../engine/diagnosis.js';
import { ConfigError, type ConfigIssue } from '../../engine/errors.js';
import { MemoryReferenceStore } from '../../engine/references.js';
import type { NodeContext, OperatorInstance, OperatorSpec } from '../../engine/spec.js';
import { EventClock, WallClock, type DiagnosisClock } from './clock.js';
import { Diagnoser } from './diagnoser.js';
import { DIAGNOSE_SCHEMA, resolveDiagnose, type DiagnoseOptions } from './options.js';
import type { NamedProfiler } from './trace.js';

export type { DiagnoseOptions } from './options.js';

/** What a test or a benchmark may put in place of the node's own choices. */
export interface DiagnoseOverrides {
  clock?: DiagnosisClock;
  /** Profilers used instead of building `options.profilers` from the registry. */
  profilers?: NamedProfiler[];
}

/**
 * The diagnose node over its input: alerts in, reports out.
 *
 * Event clock: each alert is handled in order, as one unit of work the engine waits for
 * (flow.track), after the clock has caught up with its `at`. Wall clock: alerts are
 * handled as they come and a timer runs what falls due; the output completes once the
 * input has and every trace has ended. Either way every trace is closed when the output
 * ends, fails or is unsubscribed, and by `close()`.
 */
export function diagnose(options: DiagnoseOptions, ctx: NodeContext, overrides: DiagnoseOverrides = {}): OperatorInstance<Alert, DiagnosisReport> {
  const r = resolveDiagnose(options, ctx.id);
  const clock = overrides.clock ?? (options.clock === 'event' ? new EventClock() : new WallClock());
  const profilers = overrides.profilers ?? buildProfilers(options, r.profilers, clock, ctx);
  let emit: (report: DiagnosisReport) => void = () => {};
  const core = new Diagnoser(options, r, {
    id: ctx.id, clock, profilers, hosts: ctx.hosts, catalog: ctx.catalog, references: ctx.store.references ?? new MemoryReferenceStore(),
    metrics: ctx.metrics, log: ctx.log, signal: ctx.signal, emit: (report) => emit(report),
  });

  // One operation at a time: the state machine is never entered twice.
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work);
    tail = run.catch(() => {});
    return run;
  };
  let finished: Promise<void> | null = null;
  const finish = (why: string) => (finished ??= serial(() => core.finishAll(why)));

  return {
    apply: (input) => new Observable<DiagnosisReport>((sub) => {
      emit = (report) => sub.next(report);
      let timer: NodeJS.Timeout | null = null;
      let inputDone = false;
      const fail = (err: unknown) => { void finish('failure').catch(() => {}); sub.error(err); };
      const end = () => finish(ctx.signal.aborted ? 'shutdown' : 'input ended').then(() => sub.complete(), fail);
      // Wall clock: wake for the next due snapshot; once the input is over, complete when nothing is open.
      const wake = () => {
        if (timer) clearTimeout(timer);
        timer = null;
        if (finished) {
          if (inputDone) void end();
          return;
        }
        if (clock.kind !== 'wall') return;
        if (inputDone && core.open === 0) { void end(); return; }
        const due = core.nextDue();
        if (due === Infinity) return;
        timer = setTimeout(() => {
          timer = null;
          serial(() => core.advance(clock.now())).then(wake, fail);
        }, Math.max(0, due - clock.now()));
      };
      const onAbort = () => { void end(); };
      ctx.signal.addEventListener('abort', onAbort, { once: true });

      const subscription = input.subscribe({
        next: (alert) => {
          const work = serial(async () => {
            if (clock.kind === 'event') {
              // Suspects of one instant are ranked together: selection runs once the clock moves past it.
              if (alert.at > clock.now()) await core.advance(alert.at);
              await core.onAlert(alert);
            } else {
              await core.onAlert(alert);
              await core.advance(clock.now());
            }
          });
          ctx.flow.track(work).then(wake, () => {});
        },
        error: fail,
        complete: () => {
          inputDone = true;
          if (clock.kind === 'event') {
            const drain = options.on_end === 'drain' && !ctx.signal.aborted;
            serial(async () => {
              await core.advance(clock.now());
              // Run the open traces on to their triggers or limits: new ones may start as others end.
              for (let h = core.horizon(); drain && h > -Infinity; h = core.horizon()) await core.advance(h);
            }).then(end, fail);
          } else if (ctx.signal.aborted) {
            void end();
          } else {
            serial(async () => {}).then(wake, fail);
          }
        },
      });
      return () => {
        ctx.signal.removeEventListener('abort', onAbort);
        if (timer) clearTimeout(timer);
        subscription.unsubscribe();
        void finish('shutdown').catch((err: unknown) => ctx.log.error('closing profiling sessions failed', { error: String(err) }));
      };
    }),
    close: () => finish('shutdown'),
  };
}

function buildProfilers(options: DiagnoseOptions, list: ReturnType<typeof resolveDiagnose>['profilers'], clock: DiagnosisClock, ctx: NodeContext): NamedProfiler[] {
  const issues: ConfigIssue[] = [];
  const out: NamedProfiler[] = [];
  for (const { name, factory } of list) {
    try {
      out.push({ name, profiler: factory({ clock, options: options.profiler_options?.[name], log: ctx.log.child({ profiler: name }) }) });
    } catch (err) {
      const msg = err instanceof ConfigError ? err.issues.map((i) => `${i.field ?? ''} ${i.message}`.trim()).join('; ') : (err as Error).message;
      issues.push({ node: ctx.id, field: `options.profiler_options.${name}`, message: msg });
    }
  }
  if (issues.length) throw new ConfigError(issues);
  return out;
}

/**
 * `diagnose`: heap profiles of the most suspect processes of each alerted component,
 * localised to the stacks that leak.
 *
 *   alerts:  --open(P1)--open(P2)----update(P1)-------------------------|
 *   reports: ------------------------------------report(P1)--report(P2)-|
 */
export const diagnoseSpec: OperatorSpec<DiagnoseOptions, 'alerts', 'reports'> = {
  type: 'diagnose',
  kind: 'operator',
  usesStore: true,
  input: 'alerts',
  output: 'reports',
  maxInputs: 8,
  summary: 'Diagnosis: profile the top suspects of process alerts, stop on the pattern triggers, localise the leaking stacks',
  options: DIAGNOSE_SCHEMA,
  create: (options, ctx) => diagnose(options, ctx),
};
