import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, SourceError, UsageError } from '../errors.js';
import { COMMANDS, commandHelp, mainHelp } from './commands.js';
import { PACKAGE_ROOT } from './paths.js';

type Handler = (argv: string[]) => Promise<number>;

/**
 * Each command's module is loaded only when it runs: together they load DuckDB, NATS,
 * the OTLP and Prometheus decoders and every node type, most of a second of start-up
 * that `--help`, or a replay that needs none of the agent's modules, would pay for nothing.
 */
const HANDLERS: Record<string, () => Promise<Handler>> = {
  replay: async () => (await import('./replay.js')).replayCommand,
  run: async () => (await import('./run.js')).runCommand,
  demo: async () => (await import('./demo.js')).demoCommand,
  validate: async () => (await import('./inspect.js')).validateCommand,
  graph: async () => (await import('./inspect.js')).graphCommand,
  types: async () => (await import('./inspect.js')).typesCommand,
  agent: async () => (await import('./agent.js')).agentCommand,
  supervise: async () => (await import('./supervise.js')).superviseCommand,
  mitigations: async () => (await import('./mitigations.js')).mitigationsCommand,
  diagnose: async () => (await import('./diagnose.js')).diagnoseCommand,
};

/** Exit codes: 0 done, 1 failed while running, 2 bad command line or pipeline definition. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(mainHelp() + '\n');
    return command ? 0 : 2;
  }
  if (command === '--version' || command === '-v') {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
    process.stdout.write(`resin ${pkg.version}\n`);
    return 0;
  }
  const load = HANDLERS[command];
  if (!load) {
    process.stderr.write(`resin: unknown command "${command}"\n\n${mainHelp()}\n`);
    return 2;
  }
  // After `--`, flags belong to the supervised command.
  const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (own.includes('--help') || own.includes('-h')) {
    process.stdout.write(commandHelp(command) + '\n');
    return 0;
  }
  try {
    const handler = await load();
    return await handler(rest);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`resin ${command}: ${err.message}\n`);
      return 2;
    }
    // parseArgs reports unknown or malformed flags with a code of its own.
    const code = (err as { code?: string }).code;
    if (err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`resin ${command}: ${(err as Error).message}\n\nUsage: ${COMMANDS[command]!.usage}\n`);
      return 2;
    }
    if (err instanceof SourceError) {
      process.stderr.write(`resin ${command}: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`resin ${command}: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    return 1;
  }
}

