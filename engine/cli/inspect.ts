import { parseArgs } from 'node:util';
import { ConfigError, UsageError } from '../errors.js';
import { defaultRegistry } from '../nodes.js';
import { toDot, toMermaid } from '../pipeline/graph.js';
import { pipelinePath } from './paths.js';
import { compileFile } from './session.js';

export async function validateCommand(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} });
  const files = positionals.length ? positionals : [pipelinePath(undefined)];
  let failed = 0;
  for (const f of files) {
    try {
      const graph = await compileFile(pipelinePath(f));
      process.stdout.write(`${f}: valid (${graph.nodes.length} nodes, ${graph.edges.length} edges)\n`);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      failed++;
      process.stdout.write(`${err.message}\n`);
    }
  }
  return failed ? 2 : 0;
}

export async function graphCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true, options: { format: { type: 'string', default: 'mermaid' } },
  });
  if (values.format !== 'mermaid' && values.format !== 'dot') throw new UsageError(`--format must be mermaid or dot, got "${values.format}"`);
  if (positionals.length > 1) throw new UsageError('graph takes one pipeline file');
  const graph = await compileFile(pipelinePath(positionals[0]));
  process.stdout.write((values.format === 'dot' ? toDot(graph) : toMermaid(graph)) + '\n');
  return 0;
}

function describeSchema(schema: Record<string, unknown>): string[] {
  const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, p]) => {
    const type = Array.isArray(p.type) ? p.type.join('|') : String(p.type ?? (p.enum ? 'enum' : 'any'));
    const dflt = p.default !== undefined ? ` (default ${JSON.stringify(p.default)})` : required.has(name) ? ' (required)' : '';
    return `    ${name}: ${type}${dflt}${p.description ? ` — ${p.description}` : ''}`;
  });
}

export async function typesCommand(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} });
  const registry = defaultRegistry();
  const specs = positionals.length ? positionals.map((t) => {
    const s = registry.get(t);
    if (!s) throw new UsageError(`unknown node type "${t}"; known: ${registry.types().join(', ')}`);
    return s;
  }) : registry.list();
  for (const s of specs) {
    const ports = s.kind === 'source' ? `-> ${s.output}` : s.kind === 'sink' ? `${s.input} ->` : `${s.input} -> ${s.output}`;
    process.stdout.write(`${s.type} (${s.kind}, ${ports}): ${s.summary}\n`);
    if (positionals.length) process.stdout.write(describeSchema(s.options).join('\n') + '\n');
  }
  return 0;
}
