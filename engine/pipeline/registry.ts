import { PORT_TYPES, type NodeSpec, type PortType } from '../spec.js';

const KINDS: readonly string[] = ['source', 'operator', 'sink'];

/**
 * Node types by the name a definition uses in `type:`. The engine assembles its default
 * registry in one place; tests build their own with small specs.
 */
export class Registry {
  private readonly specs = new Map<string, NodeSpec>();

  constructor(specs: Iterable<NodeSpec> = []) {
    for (const spec of specs) this.register(spec);
  }

  /** Adds a node type; a malformed spec or a second spec of the same type is a programming error. */
  register(spec: NodeSpec): this {
    checkSpec(spec);
    if (this.specs.has(spec.type)) throw new Error(`node type "${spec.type}" is already registered`);
    this.specs.set(spec.type, spec);
    return this;
  }

  get(type: string): NodeSpec | undefined {
    return this.specs.get(type);
  }

  has(type: string): boolean {
    return this.specs.has(type);
  }

  /** Every spec, ordered by type name so listings are stable. */
  list(): NodeSpec[] {
    return [...this.specs.values()].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  }

  types(): string[] {
    return this.list().map((s) => s.type);
  }
}

// Caught at registration so a bad spec fails when the engine is assembled, not when a user's pipeline names it.
function checkSpec(spec: NodeSpec): void {
  const s = spec as { type?: unknown; kind?: unknown; options?: unknown; input?: unknown; output?: unknown; maxInputs?: unknown };
  const name = typeof s.type === 'string' ? `"${s.type}"` : '(unnamed)';
  if (typeof s.type !== 'string' || s.type === '') throw new TypeError(`node spec ${name}: "type" must be a non-empty string`);
  if (!KINDS.includes(s.kind as string)) throw new TypeError(`node spec ${name}: "kind" must be source, operator or sink`);
  if (s.options === null || typeof s.options !== 'object') throw new TypeError(`node spec ${name}: "options" must be a JSON schema object`);
  if (s.kind !== 'sink' && !isPort(s.output)) throw new TypeError(`node spec ${name}: "output" must be one of ${PORT_TYPES.join(', ')}`);
  if (s.kind !== 'source' && !isPort(s.input)) throw new TypeError(`node spec ${name}: "input" must be one of ${PORT_TYPES.join(', ')}`);
  if (s.maxInputs !== undefined && !(Number.isInteger(s.maxInputs) && (s.maxInputs as number) >= 1)) {
    throw new TypeError(`node spec ${name}: "maxInputs" must be an integer >= 1`);
  }
}

function isPort(value: unknown): value is PortType {
  return (PORT_TYPES as readonly unknown[]).includes(value);
}
