/** One problem found in a pipeline definition, located by node and field. */
export interface ConfigIssue {
  /** Node id, or undefined for a problem with the definition as a whole. */
  readonly node?: string;
  /** Dotted path of the offending field, e.g. `options.lateness` or `inputs[1]`. */
  readonly field?: string;
  readonly message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.node === undefined ? 'pipeline' : `node "${issue.node}"`;
  return issue.field ? `${where}: ${issue.field}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** A pipeline definition that cannot run; carries every problem found, not just the first. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly issues: readonly ConfigIssue[], readonly file?: string) {
    super(
      `${file ?? 'pipeline definition'} has ${issues.length} error${issues.length === 1 ? '' : 's'}:\n` +
        issues.map((i) => `  - ${formatIssue(i)}`).join('\n'),
    );
  }
}

/** A command line that cannot be obeyed (unknown flag, missing argument, unreadable file). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An input that cannot be read at all (as opposed to single bad records, which are dead-lettered). */
export class SourceError extends Error {
  override readonly name = 'SourceError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
