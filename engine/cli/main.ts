import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, SourceError, UsageError } from '../errors.js';
import { agentCommand } from './agent.js';
import { COMMANDS, commandHelp, mainHelp } from './commands.js';
import { demoCommand } from './demo.js';
import { diagnoseCommand } from './diagnose.js';
import { graphCommand, typesCommand, validateCommand } from './inspect.js';
import { PACKAGE_ROOT } from './paths.js';
import { mitigationsCommand } from './mitigations.js';
import { replayCommand } from './replay.js';
import { runCommand } from './run.js';
import { superviseCommand } from './supervise.js';

const HANDLERS: Record<string, (argv: string[]) => Promise<number>> = {
  replay: replayCommand, run: runCommand, demo: demoCommand,
  validate: validateCommand, graph: graphCommand, types: typesCommand,
  agent: agentCommand, supervise: superviseCommand, mitigations: mitigationsCommand,
  diagnose: diagnoseCommand,
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
  const handler = HANDLERS[command];
  if (!handler) {
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

