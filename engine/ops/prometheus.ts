/**
 * The Prometheus text exposition format, version 0.0.4: one `# HELP` and one `# TYPE`
 * line per metric family, then its samples, families never interleaved.
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type FamilyType = 'counter' | 'gauge' | 'histogram';
export type LabelPairs = Readonly<Record<string, string>>;

/** A metric or label name the format accepts: invalid characters become `_`, a leading digit gets one before it. */
export function sanitizeName(name: string, label = false): string {
  const cleaned = name.replace(label ? /[^a-zA-Z0-9_]/g : /[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(cleaned) || cleaned === '' ? `_${cleaned}` : cleaned;
}

/** Label values escape backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and line feed (quotes stay). */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelText(labels: LabelPairs): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${sanitizeName(k, true)}="${escapeLabelValue(labels[k]!)}"`).join(',')}}`;
}

/** Collects families in the order they are declared; a family declared twice is refused, since its samples would split. */
export class Exposition {
  private readonly out: string[] = [];
  private readonly declared = new Set<string>();

  family(name: string, type: FamilyType, help: string): string {
    const n = sanitizeName(name);
    if (this.declared.has(n)) throw new Error(`metric family "${n}" declared twice`);
    this.declared.add(n);
    this.out.push(`# HELP ${n} ${escapeHelp(help)}`, `# TYPE ${n} ${type}`);
    return n;
  }

  sample(name: string, labels: LabelPairs, value: number): void {
    this.out.push(`${name}${labelText(labels)} ${formatValue(value)}`);
  }

  /** One histogram series: cumulative `_bucket` lines with `le`, then `_sum` and `_count`. */
  histogram(name: string, labels: LabelPairs, bounds: ArrayLike<number>, counts: ArrayLike<number>, sum: number, count: number): void {
    let cumulative = 0;
    for (let i = 0; i < bounds.length; i++) {
      cumulative += counts[i]!;
      this.sample(`${name}_bucket`, { ...labels, le: formatValue(bounds[i]!) }, cumulative);
    }
    this.sample(`${name}_bucket`, { ...labels, le: '+Inf' }, count);
    this.sample(`${name}_sum`, labels, sum);
    this.sample(`${name}_count`, labels, count);
  }

  text(): string {
    return this.out.length ? this.out.join('\n') + '\n' : '';
  }
}
