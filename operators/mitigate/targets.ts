import type { ActionKind } from '../../engine/mitigation.js';

/** What mitigation remembers of one target (host, component, process). */
export interface TargetState {
  /** Alert that led to the last action. */
  alertId: string;
  /** Index in the component's tree of the last action. */
  level: number;
  action: ActionKind;
  /** Number of actions taken on the target so far (the decision's `attempt`). */
  attempt: number;
  /** When the last action finished (NaN while it runs). */
  doneAt: number;
  /** The alert resolved: stop acting until a new alert comes. */
  resolved: boolean;
  /** Last time anything happened, for eviction. */
  touched: number;
}

/**
 * Targets acted on, kept for as long as escalation may still need them (until
 * `keepMs` after their last action), and at most `max` of them: the least recently
 * touched are forgotten first. Map order is insertion order, so touching re-inserts.
 */
export class TargetBook {
  private readonly targets = new Map<string, TargetState>();

  constructor(private readonly max: number, private readonly keepMs: number) {}

  get(key: string): TargetState | undefined {
    return this.targets.get(key);
  }

  set(key: string, state: TargetState): void {
    this.targets.delete(key);
    this.targets.set(key, state);
    while (this.targets.size > this.max) this.targets.delete(this.targets.keys().next().value!);
  }

  delete(key: string): void {
    this.targets.delete(key);
  }

  /** Forgets targets whose last action finished more than keepMs ago. */
  expire(now: number): void {
    for (const [key, t] of this.targets) if (t.doneAt === t.doneAt && now - t.doneAt > this.keepMs) this.targets.delete(key);
  }

  get size(): number {
    return this.targets.size;
  }

  checkpoint(): [string, TargetState][] {
    return [...this.targets.entries()];
  }

  restore(state: [string, TargetState][]): void {
    this.targets.clear();
    // An action running when the state was saved is treated as finished then.
    for (const [k, t] of state) this.targets.set(k, { ...t, doneAt: t.doneAt === t.doneAt ? t.doneAt : t.touched });
  }
}
