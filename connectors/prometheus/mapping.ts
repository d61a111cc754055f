import { KERNEL_MEMINFO, RECLAIMABLE_SUFFIX } from '../../engine/telemetry/kernel.js';
import { MEMINFO_COUNTERS, RECLAIMABLE_COUNTERS } from '../agent/meminfo.js';

/**
 * From a Prometheus metric and its labels to a sample (docs/ingest.md). Templates
 * fill `{label}` with the sample's label value (empty when absent), so a component
 * may be a literal, a label, or both.
 *
 * ```yaml
 * - metric: namedprocess_namegroup_memory_bytes
 *   match: { memtype: resident }        # label -> regular expression (whole value)
 *   component: "{groupname}"
 *   process: "{groupname}"              # default: the component
 * ```
 */
export interface MetricMapping {
  metric: string;
  match?: Record<string, string>;
  component: string;
  process?: string;
  /** Label holding a pid, if the exporter has one. */
  pid_label?: string;
}

export const PRESETS: Readonly<Record<string, readonly MetricMapping[]>> = {
  // ncabatoff/process-exporter: one series per process group and memory type.
  'process-exporter': [
    { metric: 'namedprocess_namegroup_memory_bytes', match: { memtype: 'resident' }, component: '{groupname}', process: '{groupname}' },
  ],
  // node_exporter's meminfo collector: the kernel counters the agent reports, under the same names.
  'node-exporter': MEMINFO_COUNTERS.map((c) => ({
    metric: `node_memory_${c}_bytes`,
    component: KERNEL_MEMINFO + (RECLAIMABLE_COUNTERS.has(c) ? RECLAIMABLE_SUFFIX : ''),
    process: c,
  })),
  // cAdvisor (and the kubelet's /metrics/cadvisor): one series per container; the
  // pod-level cgroup (container="") and the pause container (POD) are left out.
  cadvisor: [
    { metric: 'container_memory_working_set_bytes', match: { container: '(?!POD$).+' }, component: '{container}', process: '{namespace}/{pod}' },
  ],
};

const TEMPLATE = /\{([a-zA-Z_][a-zA-Z0-9_]*)\}/g;

/** A mapping ready to apply: patterns compiled, templates checked. */
export class CompiledMapping {
  readonly metric: string;
  private readonly match: [string, RegExp][];
  private readonly component: string;
  private readonly process: string | null;
  private readonly pidLabel: string | null;

  /** Throws naming `where` and the field when a pattern does not compile. */
  constructor(m: MetricMapping, where: string) {
    this.metric = m.metric;
    this.match = Object.entries(m.match ?? {}).map(([label, re]) => {
      try {
        return [label, new RegExp(`^(?:${re})$`, 'u')];
      } catch (err) {
        throw new Error(`${where}.match.${label}: not a regular expression: ${(err as Error).message}`);
      }
    });
    this.component = m.component;
    this.process = m.process ?? null;
    this.pidLabel = m.pid_label ?? null;
  }

  matches(labels: Map<string, string>): boolean {
    for (const [label, re] of this.match) if (!re.test(labels.get(label) ?? '')) return false;
    return true;
  }

  componentOf(labels: Map<string, string>): string {
    return fill(this.component, labels);
  }

  processOf(labels: Map<string, string>): string | undefined {
    return this.process === null ? undefined : fill(this.process, labels);
  }

  pidOf(labels: Map<string, string>): number | undefined {
    if (this.pidLabel === null) return undefined;
    const v = labels.get(this.pidLabel);
    return v === undefined || v === '' ? undefined : Number(v);
  }
}

function fill(template: string, labels: Map<string, string>): string {
  return template.replace(TEMPLATE, (_, label: string) => labels.get(label) ?? '');
}

/** Mappings by metric name, presets first. */
export function compileMappings(presets: readonly string[], mappings: readonly MetricMapping[]): Map<string, CompiledMapping[]> {
  const out = new Map<string, CompiledMapping[]>();
  const add = (m: MetricMapping, where: string) => {
    const c = new CompiledMapping(m, where);
    const list = out.get(c.metric);
    if (list) list.push(c);
    else out.set(c.metric, [c]);
  };
  for (const p of presets) {
    const list = PRESETS[p];
    if (!list) throw new Error(`"presets": unknown preset "${p}" (known: ${Object.keys(PRESETS).join(', ')})`);
    list.forEach((m, i) => add(m, `preset ${p}[${i}]`));
  }
  mappings.forEach((m, i) => add(m, `"mappings"[${i}]`));
  if (out.size === 0) throw new Error('"presets" or "mappings": at least one metric must be mapped');
  return out;
}
