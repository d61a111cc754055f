import type { NodeSpec, PortType } from '../spec.js';
import type { RunSettings } from './runSettings.js';

export type NodeKind = NodeSpec['kind'];

/** One node of a compiled pipeline: everything the runtime needs to build it, as plain data. */
export interface LogicalNode {
  readonly id: string;
  readonly type: string;
  readonly kind: NodeKind;
  /** Upstream node ids, in the order the definition lists them; empty for a source. */
  readonly inputs: string[];
  /** Port type of what the node emits; null for a sink. */
  readonly output: PortType | null;
  /** Validated options with the spec's defaults applied. */
  readonly options: Record<string, unknown>;
}

/** Data flows from `from` to `to`; `type` is the port type carried. */
export interface LogicalEdge {
  readonly from: string;
  readonly to: string;
  readonly type: PortType;
}

/**
 * A checked pipeline before any operator exists: it can be printed, diffed and hashed.
 * Nodes are in topological order (every node after its inputs).
 */
export interface LogicalGraph {
  readonly name: string;
  readonly description?: string;
  readonly nodes: LogicalNode[];
  readonly edges: LogicalEdge[];
  /** Same for the same nodes, types, inputs and options (defaults included), whatever the key order. */
  readonly hash: string;
  /** The definition's `run:` section, checked: how `resin run` runs it (not part of the hash). */
  readonly run?: RunSettings;
}

/**
 * Mermaid flowchart: sources are stadiums, sinks cylinders, operators boxes; edges carry
 * their port type. Nodes get generated ids because user ids such as `end` or `o1` are
 * Mermaid syntax.
 */
export function toMermaid(graph: LogicalGraph): string {
  const ref = new Map(graph.nodes.map((n, i) => [n.id, `n${i}`]));
  const lines = ['flowchart LR'];
  for (const n of graph.nodes) {
    const label = `"${mermaidText(n.id)}<br/>${mermaidText(n.type)}"`;
    const shape = n.kind === 'source' ? `([${label}])` : n.kind === 'sink' ? `[(${label})]` : `[${label}]`;
    lines.push(`  ${ref.get(n.id)}${shape}:::${n.kind}`);
  }
  for (const e of graph.edges) lines.push(`  ${ref.get(e.from)} -->|${e.type}| ${ref.get(e.to)}`);
  lines.push('  classDef source fill:#e3f2fd,stroke:#1565c0');
  lines.push('  classDef operator fill:#fafafa,stroke:#616161');
  lines.push('  classDef sink fill:#fff3e0,stroke:#ef6c00');
  return lines.join('\n') + '\n';
}

/** Graphviz digraph: sources and sinks are house shapes pointing along the flow, operators boxes. */
export function toDot(graph: LogicalGraph): string {
  const lines = [`digraph ${dotString(graph.name)} {`, '  rankdir=LR;', '  node [fontname="Helvetica"];'];
  for (const n of graph.nodes) {
    const shape = n.kind === 'source' ? 'invhouse' : n.kind === 'sink' ? 'house' : 'box';
    const style = n.kind === 'operator' ? '' : ', style=filled, fillcolor=' + (n.kind === 'source' ? '"#e3f2fd"' : '"#fff3e0"');
    lines.push(`  ${dotString(n.id)} [label=${dotString(`${n.id}\n${n.type}`)}, shape=${shape}${style}];`);
  }
  for (const e of graph.edges) lines.push(`  ${dotString(e.from)} -> ${dotString(e.to)} [label=${dotString(e.type)}];`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

function mermaidText(s: string): string {
  return s.replace(/&/g, '#amp;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}
