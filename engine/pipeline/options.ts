import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { schemaCompiler } from '../jsonSchema.js';
import type { NodeSpec, OptionsSchema } from '../spec.js';
import { didYouMean } from './suggest.js';

/** Schema of a duration option: `"10m"`, `"1.5h"`, `"15d"` or a number of milliseconds (see engine/duration.ts). */
export function durationSchema(extra: OptionsSchema = {}): OptionsSchema {
  return { type: ['string', 'number'], format: 'duration', minimum: 0, ...extra };
}

const validators = new WeakMap<NodeSpec, ValidateFunction>();

function validatorOf(spec: NodeSpec): ValidateFunction {
  let validate = validators.get(spec);
  if (!validate) {
    try {
      validate = schemaCompiler().compile(spec.options);
    } catch (err) {
      throw new Error(`node type "${spec.type}" has an invalid options schema: ${(err as Error).message}`, { cause: err });
    }
    validators.set(spec, validate);
  }
  return validate;
}

export interface CheckedOptions {
  /** A copy of the options with the schema's defaults applied; the caller's object is never touched. */
  readonly value: Record<string, unknown>;
  readonly issues: ConfigIssue[];
}

/** Checks a node's options against its spec and applies defaults, collecting every problem. */
export function checkOptions(spec: NodeSpec, options: unknown, node?: string): CheckedOptions {
  if (options !== undefined && !isPlainMap(options)) {
    return { value: {}, issues: [{ node, field: 'options', message: 'must be a map of option names to values' }] };
  }
  let value: Record<string, unknown>;
  try {
    // useDefaults writes into the object it validates, so it gets a copy.
    value = options === undefined ? {} : structuredClone(options);
  } catch (err) {
    return { value: {}, issues: [{ node, field: 'options', message: `must be plain data (${(err as Error).message})` }] };
  }
  const validate = validatorOf(spec);
  if (validate(value)) return { value, issues: [] };
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const error of validate.errors ?? []) {
    // A failed `then` is already reported by its own keyword (a missing field); the `if`
    // error that wraps it ("must match \"then\" schema") would only repeat it vaguely.
    if (error.keyword === 'if') continue;
    const issue = issueOf(error, node);
    const key = `${issue.field}\0${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return { value, issues };
}

/**
 * Validated options with defaults for a node built outside a compiled graph (tests, tools);
 * throws a ConfigError naming every problem, so bad options fail before any data flows.
 */
export function resolveOptions<O = Record<string, unknown>>(spec: NodeSpec, options: unknown, node: string = spec.type): O {
  const { value, issues } = checkOptions(spec, options, node);
  if (issues.length) throw new ConfigError(issues);
  return value as O;
}

function issueOf(error: ErrorObject, node: string | undefined): ConfigIssue {
  let path = pointerToPath(error.instancePath);
  let message = error.message ?? 'is invalid';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      path += segment(String(params.missingProperty));
      message = 'is required';
      break;
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      path += segment(name);
      const parent = error.parentSchema as { properties?: Record<string, unknown> } | undefined;
      const known = Object.keys(parent?.properties ?? {}).sort();
      const hint = didYouMean(name, known);
      message = `unknown option${hint || (known.length ? ` (known: ${known.join(', ')})` : ' (this node takes no options)')}`;
      break;
    }
    case 'format':
      if (params.format === 'duration') message = 'must be a duration like 10m, 1.5h or 15d, or a number of milliseconds';
      break;
    case 'enum':
      message = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'const':
      message = `must be ${JSON.stringify(params.allowedValue)}`;
      break;
    case 'type':
      message = `must be ${([] as unknown[]).concat(params.type).join(' or ')}`;
      break;
  }
  return { node, field: `options${path}`, message };
}

/** `/buckets/0/size` -> `.buckets[0].size`, the notation used for fields elsewhere (`inputs[1]`). */
function pointerToPath(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => {
      const s = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      return /^\d+$/.test(s) ? `[${s}]` : segment(s);
    })
    .join('');
}

function segment(name: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

export function isPlainMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
