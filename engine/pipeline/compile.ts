import { createHash } from 'node:crypto';
import { ConfigError, type ConfigIssue } from '../errors.js';
import type { NodeSpec } from '../spec.js';
import type { LogicalEdge, LogicalGraph, LogicalNode } from './graph.js';
import { checkOptions, isPlainMap } from './options.js';
import type { Registry } from './registry.js';
import { RUN_SETTINGS_SCHEMA, type RunSettings } from './runSettings.js';
import { didYouMean } from './suggest.js';

export type { LogicalEdge, LogicalGraph, LogicalNode } from './graph.js';

const TOP_KEYS = ['name', 'description', 'nodes', 'run'];
// The `run:` section is checked like a node's options, by the same validator.
const RUN_SPEC = { type: 'run', kind: 'source', options: RUN_SETTINGS_SCHEMA } as NodeSpec;
const NODE_KEYS = ['type', 'inputs', 'options'];
// Ids end up in metric labels, log fields, dead-letter records and diagrams; keep them plain.
const ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

/** What pass one learned about a node; undefined fields were malformed (and reported). */
interface Draft {
  readonly id: string;
  readonly spec: NodeSpec | undefined;
  /** Entries that are not strings are undefined, so later messages keep their index. */
  readonly inputs: (string | undefined)[] | undefined;
  readonly options: Record<string, unknown>;
  /** Reported after the node's inputs, so each node's problems read in the order of its fields. */
  readonly optionIssues: ConfigIssue[];
}

/**
 * Checks a pipeline definition (parsed YAML or a `definePipeline` object) against the
 * registry and turns it into a logical graph. Every problem is collected before one
 * ConfigError is thrown, each naming its node and field, so an author fixes them all in
 * one round.
 */
export function compile(def: unknown, registry: Registry, file?: string): LogicalGraph {
  const issues: ConfigIssue[] = [];
  const fail = () => new ConfigError(issues, file);

  if (!isPlainMap(def)) {
    issues.push({ message: 'must be a map with "name" and "nodes"' });
    throw fail();
  }
  for (const key of Object.keys(def)) {
    if (!TOP_KEYS.includes(key)) issues.push({ field: key, message: `unknown key${didYouMean(key, TOP_KEYS)}` });
  }
  const name = def.name;
  if (name === undefined) issues.push({ field: 'name', message: 'is required' });
  else if (typeof name !== 'string' || name.trim() === '') issues.push({ field: 'name', message: 'must be a non-empty string' });
  const description = def.description;
  if (description !== undefined && typeof description !== 'string') issues.push({ field: 'description', message: 'must be a string' });
  let run: RunSettings | undefined;
  if (def.run !== undefined) {
    const checked = checkOptions(RUN_SPEC, def.run);
    for (const issue of checked.issues) issues.push({ field: (issue.field ?? 'options').replace(/^options/, 'run'), message: issue.message });
    run = checked.value as RunSettings;
  }

  const nodes = def.nodes;
  if (nodes === undefined) issues.push({ field: 'nodes', message: 'is required (a map from node id to node)' });
  else if (!isPlainMap(nodes)) issues.push({ field: 'nodes', message: 'must be a map from node id to node' });
  else if (Object.keys(nodes).length === 0) issues.push({ field: 'nodes', message: 'must define at least one node' });
  if (!isPlainMap(nodes) || Object.keys(nodes).length === 0) throw fail();

  const ids = Object.keys(nodes);
  const drafts = new Map<string, Draft>();
  const nodeIssues: ConfigIssue[] = [];
  for (const id of ids) drafts.set(id, draftNode(id, nodes[id], registry, nodeIssues));
  for (const draft of drafts.values()) {
    checkInputs(draft, drafts, ids, nodeIssues);
    nodeIssues.push(...draft.optionIssues);
  }
  // One node's problems together, nodes in the order the file lists them.
  const order = new Map(ids.map((id, i) => [id, i]));
  issues.push(...nodeIssues.sort((a, b) => order.get(a.node!)! - order.get(b.node!)!));

  const out = outgoing(drafts);
  for (const chain of cycles(ids, out)) {
    issues.push({ message: `Cyclic dependency detected in the chain [ ${chain.join(' -> ')} ]` });
  }
  // With a node unresolved, "no source" may only mean the source is the unresolved one.
  if ([...drafts.values()].every((d) => d.spec)) {
    const kinds = new Set([...drafts.values()].map((d) => d.spec!.kind));
    if (!kinds.has('source')) issues.push({ message: 'has no source: nothing would feed the pipeline' });
    if (!kinds.has('sink')) issues.push({ message: 'has no sink: no result would leave the pipeline' });
  }
  if (issues.length) throw fail();

  const graph = build(name as string, description as string | undefined, drafts, ids, out);
  return run === undefined ? graph : { ...graph, run };
}

function draftNode(id: string, raw: unknown, registry: Registry, issues: ConfigIssue[]): Draft {
  if (!ID_PATTERN.test(id)) {
    issues.push({ node: id, message: 'id must be letters, digits, "_" or "-" (and not start with "-")' });
  }
  if (!isPlainMap(raw)) {
    issues.push({ node: id, message: 'must be a map with a "type"' });
    return { id, spec: undefined, inputs: undefined, options: {}, optionIssues: [] };
  }
  for (const key of Object.keys(raw)) {
    if (!NODE_KEYS.includes(key)) issues.push({ node: id, field: key, message: `unknown key${didYouMean(key, NODE_KEYS)}` });
  }

  let spec: NodeSpec | undefined;
  const type = raw.type;
  if (type === undefined) issues.push({ node: id, field: 'type', message: 'is required' });
  else if (typeof type !== 'string') issues.push({ node: id, field: 'type', message: 'must be a string' });
  else {
    spec = registry.get(type);
    if (!spec) issues.push({ node: id, field: 'type', message: `unknown type "${type}"${didYouMean(type, registry.types())}` });
  }

  let inputs: (string | undefined)[] | undefined = [];
  if (raw.inputs !== undefined) {
    if (!Array.isArray(raw.inputs)) {
      issues.push({ node: id, field: 'inputs', message: 'must be a list of node ids' });
      inputs = undefined;
    } else {
      const seen = new Set<string>();
      inputs = raw.inputs.map((input: unknown, i) => {
        if (typeof input !== 'string') {
          issues.push({ node: id, field: `inputs[${i}]`, message: 'must be a node id (a string)' });
          return undefined;
        }
        if (seen.has(input)) issues.push({ node: id, field: `inputs[${i}]`, message: `"${input}" is listed twice` });
        seen.add(input);
        return input;
      });
    }
  }

  let options: Record<string, unknown> = {};
  let optionIssues: ConfigIssue[] = [];
  if (spec) {
    ({ value: options, issues: optionIssues } = checkOptions(spec, raw.options, id));
  } else if (raw.options !== undefined && !isPlainMap(raw.options)) {
    optionIssues = [{ node: id, field: 'options', message: 'must be a map of option names to values' }];
  }
  return { id, spec, inputs, options, optionIssues };
}

function checkInputs(draft: Draft, drafts: Map<string, Draft>, ids: string[], issues: ConfigIssue[]): void {
  const { id, spec, inputs } = draft;
  if (!inputs) return;
  if (spec?.kind === 'source') {
    if (inputs.length) issues.push({ node: id, field: 'inputs', message: `a source takes no inputs ("${spec.type}" reads from outside the pipeline)` });
    return;
  }
  if (spec) {
    if (inputs.length === 0) {
      issues.push({ node: id, field: 'inputs', message: `is required: ${spec.kind === 'operator' ? 'an operator' : 'a sink'} needs at least one input` });
    }
    const max = spec.maxInputs ?? (spec.kind === 'operator' ? 1 : Infinity);
    // Entries that are not ids were reported already; counting them would blame the node twice.
    const named = inputs.filter((x) => x !== undefined).length;
    if (named > max) {
      issues.push({ node: id, field: 'inputs', message: `takes at most ${max} input${max === 1 ? '' : 's'}, got ${named}` });
    }
  }
  inputs.forEach((input, i) => {
    if (input === undefined) return;
    const field = `inputs[${i}]`;
    const upstream = drafts.get(input);
    if (!upstream) {
      issues.push({ node: id, field, message: `"${input}" doesn't match any node${didYouMean(input, ids.filter((x) => x !== id))}` });
    } else if (upstream.spec?.kind === 'sink') {
      issues.push({ node: id, field, message: `"${input}" is a sink (${upstream.spec.type}) and has no output` });
    } else if (spec && upstream.spec && upstream.spec.output !== spec.input) {
      issues.push({
        node: id,
        field,
        message: `"${input}" outputs ${upstream.spec.output} but ${spec.kind} "${id}" (${spec.type}) takes ${spec.input}`,
      });
    }
  });
}

/** Downstream ids of every node, over the inputs that name a node able to feed another. */
function outgoing(drafts: Map<string, Draft>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const id of drafts.keys()) out.set(id, []);
  for (const { id, spec, inputs } of drafts.values()) {
    if (!inputs || spec?.kind === 'source') continue;
    for (const input of new Set(inputs)) {
      const upstream = input === undefined ? undefined : drafts.get(input);
      if (upstream && upstream.spec?.kind !== 'sink') out.get(upstream.id)!.push(id);
    }
  }
  return out;
}

/**
 * One chain per strongly connected component that loops (Tarjan), starting from its
 * member defined first and taking the shortest way back to it, so the message names
 * the fewest nodes that must change.
 */
function cycles(ids: string[], out: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of out.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const id of ids) if (!index.has(id)) visit(id);

  const order = new Map(ids.map((id, i) => [id, i]));
  const chains: string[][] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = component.reduce((a, b) => (order.get(a)! < order.get(b)! ? a : b));
    if (component.length === 1 && !out.get(start)!.includes(start)) continue;
    chains.push(shortestLoop(start, members, out));
  }
  return chains.sort((a, b) => order.get(a[0]!)! - order.get(b[0]!)!);
}

function shortestLoop(start: string, members: Set<string>, out: Map<string, string[]>): string[] {
  const parent = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head]!;
    for (const w of out.get(v)!) {
      if (w === start) {
        const chain = [start];
        for (let x: string | undefined = v; x !== start && x !== undefined; x = parent.get(x)) chain.splice(1, 0, x);
        chain.push(start);
        return chain;
      }
      if (members.has(w) && !parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start]; // unreachable: every member of a looping component lies on a loop through start
}

function build(
  name: string,
  description: string | undefined,
  drafts: Map<string, Draft>,
  ids: string[],
  out: Map<string, string[]>,
): LogicalGraph {
  // Kahn's algorithm; among ready nodes the one defined first goes first, so diagrams follow the file.
  const order = new Map(ids.map((id, i) => [id, i]));
  const pending = new Map(ids.map((id) => [id, new Set(drafts.get(id)!.inputs).size]));
  const ready = ids.filter((id) => pending.get(id) === 0);
  const nodes: LogicalNode[] = [];
  while (ready.length) {
    ready.sort((a, b) => order.get(a)! - order.get(b)!);
    const id = ready.shift()!;
    const { spec, inputs, options } = drafts.get(id)!;
    nodes.push({
      id,
      type: spec!.type,
      kind: spec!.kind,
      inputs: inputs as string[],
      output: spec!.kind === 'sink' ? null : spec!.output,
      options,
    });
    for (const next of out.get(id)!) {
      const left = pending.get(next)! - 1;
      pending.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  const outputOf = new Map(nodes.map((n) => [n.id, n.output]));
  const edges: LogicalEdge[] = nodes.flatMap((n) => n.inputs.map((from) => ({ from, to: n.id, type: outputOf.get(from)! })));
  const hash = hashOf(name, nodes);
  return description === undefined ? { name, nodes, edges, hash } : { name, description, nodes, edges, hash };
}

/**
 * Over what changes behaviour: the name, and each node's type, inputs and options after
 * defaults. The description is left out; node and option key order cannot matter.
 */
function hashOf(name: string, nodes: LogicalNode[]): string {
  const normalized = {
    name,
    nodes: [...nodes]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((n) => ({ id: n.id, type: n.type, inputs: n.inputs, options: n.options })),
  };
  return createHash('sha256').update(canonicalJson(normalized)).digest('hex').slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
