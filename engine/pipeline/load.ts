import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, UsageError, type ConfigIssue } from '../errors.js';

export interface LoadedDefinition {
  /** The parsed document, unchecked: `compile` reports what is wrong with it. */
  readonly definition: unknown;
  readonly file: string;
}

/** Reads a pipeline definition file; JSON is read by the same YAML parser, of which it is a subset. */
export async function loadDefinition(path: string): Promise<LoadedDefinition> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read pipeline definition ${path}: ${(err as Error).message}`, { cause: err });
  }
  return { definition: parseDefinition(text, path), file: path };
}

/**
 * Parses definition text; every syntax error becomes an issue with its line and column
 * (1-based), all thrown together as one ConfigError.
 */
export function parseDefinition(text: string, file?: string): unknown {
  // YAML 1.2 core schema: `no`, `on` and `010` stay what they look like in JSON terms.
  const lines = new LineCounter();
  // Not prettyErrors: its messages quote the source over several lines, which an issue list cannot show.
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length) {
    const issues: ConfigIssue[] = doc.errors.map((e) => {
      const at = lines.linePos(e.pos[0]);
      return { message: `line ${at.line}, column ${at.col}: ${e.message}` };
    });
    throw new ConfigError(issues, file);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // e.g. an alias to an undefined anchor, or an alias bomb over maxAliasCount.
    throw new ConfigError([{ message: (err as Error).message }], file);
  }
}
