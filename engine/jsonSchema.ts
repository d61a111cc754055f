import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { DURATION_PATTERN } from './duration.js';

/**
 * The process's one JSON Schema compiler, for node options and for the agent's hooks
 * and rules files. Each Ajv instance compiles the JSON Schema 2020-12 meta-schema
 * before checking its first schema against it, ~50-90 ms of start-up, so the process
 * shares one instance and skips that check: every schema is in the code, and
 * test/engine/jsonSchema.test.ts checks each against the meta-schema instead.
 *
 * strict: a typo in a schema (an unknown keyword, `required` naming no property) still
 * fails when it is compiled instead of silently accepting anything.
 * verbose: additionalProperties errors need the parent schema to suggest the option meant.
 * useDefaults: node options get their schema's defaults.
 */
let shared: Ajv2020 | null = null;

export function schemaCompiler(): Ajv2020 {
  if (shared === null) {
    shared = new Ajv2020({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true, verbose: true, validateSchema: false });
    // Numbers are milliseconds; the format only ever sees strings, so a schema allows numbers with `type`.
    shared.addFormat('duration', { type: 'string', validate: (s: string) => DURATION_PATTERN.test(s) });
  }
  return shared;
}

/** A validator compiled on its first call: a module loaded but not used (most CLI commands load the agent's) pays nothing. */
export function lazyValidator<T>(schema: object): () => ValidateFunction<T> {
  let validate: ValidateFunction<T> | null = null;
  return () => (validate ??= schemaCompiler().compile<T>(schema));
}

/** Problems of a schema against the JSON Schema 2020-12 meta-schema, for tests; empty when none. */
export function metaSchemaProblems(schema: object): string[] {
  const checker = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  checker.addFormat('duration', { type: 'string', validate: () => true });
  if (checker.validateSchema(schema)) return [];
  return (checker.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}
