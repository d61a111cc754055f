/**
 * A mitigation decision as emitted on `actions` edges and recorded in the audit
 * (docs/mitigation.md): taken, skipped and why, or what a dry run would have done.
 */
export type ActionKind = 'restart-process' | 'restart-unit' | 'script' | 'drain' | 'soft-reboot' | 'reboot';
export type DecisionOutcome = 'taken' | 'dry-run' | 'skipped' | 'failed' | 'succeeded' | 'escalated' | 'stopped';

/** The decision tree's order: lightest first, host-level actions last. */
export const ACTION_KINDS: readonly ActionKind[] = ['restart-process', 'restart-unit', 'script', 'drain', 'soft-reboot', 'reboot'];

export interface MitigationDecision {
  /** Stable per alert, action and attempt. */
  id: string;
  alert_id: string;
  component: string;
  host: string | null;
  process: string | null;
  pid: number | null;
  cluster: string | null;
  action: ActionKind | null;
  outcome: DecisionOutcome;
  /** Why: the rule that chose the action, or the safety limit that held it back. */
  reason: string;
  /** Event time of the alert emission that led to the decision. */
  at: number;
  /** Wall-clock ms when it was decided. */
  decided_at: number;
  /** How long the action took, ms, once it finished. */
  duration_ms: number | null;
  /** 1 for the first action on a target, 2 after one escalation, ...; 0 when nothing was chosen. */
  attempt: number;
  /** The executor that ran (or would run) the action, e.g. `supervisor`, `exec`. */
  executor: string | null;
  /** The process id after a restart, when the executor knows it. */
  new_pid: number | null;
}

/** JSON schema of a decision: the one source for the sinks' serialiser and for docs/mitigation.md. */
export const MITIGATION_JSON_SCHEMA = {
  title: 'MitigationDecision',
  type: 'object',
  properties: {
    id: { type: 'string' },
    alert_id: { type: 'string' },
    component: { type: 'string' },
    host: { type: ['string', 'null'] },
    process: { type: ['string', 'null'] },
    pid: { type: ['integer', 'null'] },
    cluster: { type: ['string', 'null'] },
    action: { type: ['string', 'null'], enum: [...ACTION_KINDS, null] },
    outcome: { type: 'string', enum: ['taken', 'dry-run', 'skipped', 'failed', 'succeeded', 'escalated', 'stopped'] },
    reason: { type: 'string' },
    at: { type: 'integer' },
    decided_at: { type: 'integer' },
    duration_ms: { type: ['number', 'null'] },
    attempt: { type: 'integer' },
    executor: { type: ['string', 'null'] },
    new_pid: { type: ['integer', 'null'] },
  },
  required: [
    'id', 'alert_id', 'component', 'host', 'process', 'pid', 'cluster', 'action', 'outcome', 'reason', 'at',
    'decided_at', 'duration_ms', 'attempt', 'executor', 'new_pid',
  ],
} as const;

/** What an action is aimed at: the process an alert names, on its host. */
export interface ActionTarget {
  readonly alert_id: string;
  readonly action: ActionKind;
  readonly component: string;
  readonly host: string | null;
  readonly process: string | null;
  readonly pid: number | null;
  readonly cluster: string | null;
  readonly region: string | null;
}

export interface ActionResult {
  readonly ok: boolean;
  /** What happened, for the audit: an exit code, an HTTP status, the new pid, an error. */
  readonly detail: string;
  /** Time the action took, ms, as measured where it ran (the supervisor times its own restarts). */
  readonly durationMs: number;
  readonly newPid?: number | null;
}

/**
 * Something that carries out an action: the process supervisor, systemctl, an exec hook,
 * a webhook, or the host agent. Implementations live in connectors/executors/.
 */
export interface Executor {
  /** Short name recorded in the audit. */
  readonly kind: string;
  /** What `run` would do to `target`, in words: the dry-run report. */
  describe(target: ActionTarget): string;
  /** Carries the action out; never throws, a failure is an `ok: false` result. */
  run(target: ActionTarget, signal: AbortSignal): Promise<ActionResult>;
  close(): Promise<void>;
}
