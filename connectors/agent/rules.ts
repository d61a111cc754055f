import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { lazyValidator } from '../../engine/jsonSchema.js';
import { ConfigError, type ConfigIssue } from '../../engine/errors.js';

/**
 * Which component a process belongs to. RESIN identifies a component by attributes of
 * its processes; on a host those are the executable, the command line and the cgroup
 * (the service or container). Rules are tried in order and the first that matches
 * wins; a process no rule matches belongs to the component named after its executable.
 *
 * ```yaml
 * rules:
 *   - component: api                      # node processes running server.js
 *     exe: node
 *     cmdline: "server\\.js"
 *   - component: "{1}"                    # one component per systemd service
 *     cgroup: "^/system\\.slice/(.+)\\.service$"
 *   - exe: [kworker, ksoftirqd]
 *     ignore: true
 * ```
 */
export interface RuleDefinition {
  /** Component name; `{exe}` and `{1}`..`{9}` (groups of the cmdline or cgroup pattern) are filled in. */
  component?: string;
  /** Process label within the component (default `{exe}`); same placeholders, plus `{pid}`. */
  process?: string;
  /** Executable name(s), matched exactly. */
  exe?: string | string[];
  /** Regular expression over the command line (arguments joined by spaces). */
  cmdline?: string;
  /** Regular expression over the memory cgroup path (e.g. /system.slice/nginx.service). */
  cgroup?: string;
  /** Matching processes are not sampled. */
  ignore?: boolean;
}

export interface RulesFile {
  rules: RuleDefinition[];
}

export const RULE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['rules'],
  properties: {
    rules: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          component: { type: 'string', minLength: 1 },
          process: { type: 'string', minLength: 1 },
          exe: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }] },
          cmdline: { type: 'string', minLength: 1 },
          cgroup: { type: 'string', minLength: 1 },
          ignore: { type: 'boolean' },
        },
      },
    },
  },
} as const;

const validator = lazyValidator<RulesFile>(RULE_SCHEMA);

/** What a rule is matched against. */
export interface ProcessFacts {
  readonly pid: number;
  readonly exe: string;
  readonly cmdline: string;
  /** Memory cgroup path, or '' when none. */
  readonly cgroup: string;
}

/** Where a process goes: its component and its label, or null when it is ignored. */
export interface Placement {
  readonly component: string;
  readonly process: string;
}

interface CompiledRule {
  readonly exe: ReadonlySet<string> | null;
  readonly cmdline: RegExp | null;
  readonly cgroup: RegExp | null;
  readonly component: string;
  readonly process: string;
  readonly ignore: boolean;
}

const PLACEHOLDER = /\{(exe|pid|[1-9])\}/g;

function fill(template: string, facts: ProcessFacts, groups: readonly (string | undefined)[]): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    if (name === 'exe') return facts.exe;
    if (name === 'pid') return String(facts.pid);
    return groups[Number(name)] ?? '';
  });
}

/**
 * The executable name of a process: the last path segment of its first argument up
 * to the first blank (processes that rewrite their title, such as `postgres: writer`
 * or `npm exec vitest`, put blanks there), without a trailing colon; the kernel's
 * `comm` when the command line is empty.
 */
export function executableName(cmdline: string, comm: string): string {
  if (cmdline.length === 0) return comm;
  const blank = cmdline.indexOf(' ');
  const first = blank < 0 ? cmdline : cmdline.slice(0, blank);
  const slash = first.lastIndexOf('/');
  const base = (slash < 0 ? first : first.slice(slash + 1)).replace(/:$/, '');
  return base.length > 0 ? base : comm;
}

export class ComponentRules {
  private readonly rules: CompiledRule[];

  constructor(definition: RulesFile = { rules: [] }, file?: string) {
    const validate = validator();
    if (!validate(definition)) {
      throw new ConfigError((validate.errors ?? []).map((e): ConfigIssue => ({
        field: `rules${e.instancePath.replace(/\/(\d+)/g, '[$1]').replace(/\//g, '.')}`,
        message: e.keyword === 'additionalProperties'
          ? `unknown field "${String((e.params as { additionalProperty: string }).additionalProperty)}"`
          : e.message ?? 'is invalid',
      })), file);
    }
    const issues: ConfigIssue[] = [];
    this.rules = definition.rules.map((r, i) => {
      const regex = (field: 'cmdline' | 'cgroup') => {
        const source = r[field];
        if (source === undefined) return null;
        try {
          return new RegExp(source);
        } catch (err) {
          issues.push({ field: `rules[${i}].${field}`, message: `not a regular expression: ${(err as Error).message}` });
          return null;
        }
      };
      if (r.exe === undefined && r.cmdline === undefined && r.cgroup === undefined) {
        issues.push({ field: `rules[${i}]`, message: 'needs at least one of exe, cmdline, cgroup' });
      }
      if (!r.ignore && r.component === undefined) issues.push({ field: `rules[${i}].component`, message: 'is required unless ignore is true' });
      return {
        exe: r.exe === undefined ? null : new Set(Array.isArray(r.exe) ? r.exe : [r.exe]),
        cmdline: regex('cmdline'),
        cgroup: regex('cgroup'),
        component: r.component ?? '',
        process: r.process ?? '{exe}',
        ignore: r.ignore ?? false,
      };
    });
    if (issues.length > 0) throw new ConfigError(issues, file);
  }

  /** Rules from a YAML or JSON file (JSON is YAML). */
  static load(path: string): ComponentRules {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError([{ message: `cannot read rules file: ${(err as Error).message}` }], path);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new ConfigError([{ message: `not YAML or JSON: ${(err as Error).message}` }], path);
    }
    return new ComponentRules(parsed as RulesFile, path);
  }

  get size(): number {
    return this.rules.length;
  }

  place(facts: ProcessFacts): Placement | null {
    for (const rule of this.rules) {
      if (rule.exe !== null && !rule.exe.has(facts.exe)) continue;
      let groups: (string | undefined)[] = [];
      if (rule.cmdline !== null) {
        const m = rule.cmdline.exec(facts.cmdline);
        if (m === null) continue;
        groups = m;
      }
      if (rule.cgroup !== null) {
        const m = rule.cgroup.exec(facts.cgroup);
        if (m === null) continue;
        if (rule.cmdline === null) groups = m;
      }
      if (rule.ignore) return null;
      const component = fill(rule.component, facts, groups);
      return { component: component.length > 0 ? component : facts.exe, process: fill(rule.process, facts, groups) || facts.exe };
    }
    return { component: facts.exe, process: facts.exe };
  }
}
