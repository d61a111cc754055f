import { ACTION_KINDS, type ActionKind, type Executor } from '../../engine/mitigation.js';
import { isKernelComponent } from '../../engine/telemetry/kernel.js';
import type { ComponentConfig } from './options.js';

/** Categories that restart a process: kernel memory has none to restart, so it only gets hooks. */
const PROCESS_ACTIONS: ReadonlySet<ActionKind> = new Set(['restart-process', 'restart-unit']);

/** The next step of a component's tree, or why there is none. */
export type Step =
  | { readonly kind: 'act'; readonly action: ActionKind; readonly level: number; readonly executor: Executor }
  | { readonly kind: 'none'; readonly reason: string };

/**
 * The decision tree: per component, action categories lightest first (process restart,
 * unit restart, team script, then host-level drain, soft reboot, reboot). A step is
 * usable only when its category has an executor and the component is on the
 * category's allow-list; a component on no list is never acted on. Kernel memory
 * (`kernel.*` components) is never given a process restart, whatever the lists say.
 */
export class DecisionTree {
  constructor(
    private readonly executors: ReadonlyMap<ActionKind, Executor>,
    private readonly allow: ReadonlyMap<ActionKind, ReadonlySet<string>>,
    private readonly components: Readonly<Record<string, ComponentConfig>>,
  ) {}

  /** The component's tree as configured (default: every category in the standard order). */
  treeOf(component: string): readonly ActionKind[] {
    return this.components[component]?.tree ?? ACTION_KINDS;
  }

  allowed(action: ActionKind, component: string): boolean {
    if (PROCESS_ACTIONS.has(action) && isKernelComponent(component)) return false;
    return this.executors.has(action) && (this.allow.get(action)?.has(component) ?? false);
  }

  /** The first usable step at `from` or later in the component's tree. */
  step(component: string, from: number): Step {
    const tree = this.treeOf(component);
    for (let level = from; level < tree.length; level++) {
      const action = tree[level]!;
      if (this.allowed(action, component)) return { kind: 'act', action, level, executor: this.executors.get(action)! };
    }
    if (from === 0) {
      return { kind: 'none', reason: `${component} is on no allow-list of its tree (${tree.join(', ')})` };
    }
    const tried = tree.slice(0, from).join(', ');
    return { kind: 'none', reason: `nothing left to escalate to: ${component} already had ${tried}, and nothing later in its tree is allowed` };
  }
}
