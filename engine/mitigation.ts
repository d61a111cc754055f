/**
 * A mitigation decision as emitted on `actions` edges and recorded in the audit
 * (docs/mitigation.md): taken, skipped and why, or what a dry run would have done.
 */
export type ActionKind = 'restart-process' | 'restart-unit' | 'script' | 'drain' | 'soft-reboot' | 'reboot';
export type DecisionOutcome = 'taken' | 'dry-run' | 'skipped' | 'failed' | 'succeeded' | 'escalated' | 'stopped';

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
}
