/**
 * Named internal events: every counter the engine keeps (samples in, rejected by reason,
 * alerts by level and state) goes through here, so that a run summary, a progress line
 * and a metrics endpoint all read the same numbers.
 */
export type Labels = Readonly<Record<string, string>>;

function keyOf(name: string, labels?: Labels): string {
  if (!labels) return name;
  const parts = Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`);
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

export interface Counter {
  readonly name: string;
  readonly labels: Labels;
  value: number;
}

export class Metrics {
  private readonly counters = new Map<string, Counter>();

  /** The counter for `name` with these labels, created at zero; keep it to bump it on hot paths. */
  counter(name: string, labels: Labels = {}): Counter {
    const key = keyOf(name, labels);
    let c = this.counters.get(key);
    if (!c) {
      c = { name, labels, value: 0 };
      this.counters.set(key, c);
    }
    return c;
  }

  inc(name: string, labels?: Labels, by = 1): void {
    this.counter(name, labels).value += by;
  }

  /** Sum of a counter over all label sets, or of those matching `labels`. */
  total(name: string, labels?: Labels): number {
    let sum = 0;
    for (const c of this.counters.values()) {
      if (c.name !== name) continue;
      if (labels && Object.entries(labels).some(([k, v]) => c.labels[k] !== v)) continue;
      sum += c.value;
    }
    return sum;
  }

  /** Values of `name` by one label, e.g. rejected samples by reason. */
  byLabel(name: string, label: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.counters.values()) {
      if (c.name !== name || c.value === 0) continue;
      const k = c.labels[label] ?? '';
      out[k] = (out[k] ?? 0) + c.value;
    }
    return out;
  }

  all(): Counter[] {
    return [...this.counters.values()];
  }
}
