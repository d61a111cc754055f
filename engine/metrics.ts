/**
 * Named internal events: every counter the engine keeps (samples in, rejected by reason,
 * alerts by level and state) goes through here, so that a run summary, a progress line
 * and a metrics endpoint all read the same numbers. Gauges (values that go up and down,
 * such as checkpoint sizes) and histograms (per-batch processing times) live beside them
 * for the metrics endpoint.
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

export interface Gauge {
  readonly name: string;
  readonly labels: Labels;
  value: number;
}

/**
 * Observations counted into fixed buckets: `counts[i]` holds those <= `bounds[i]` and
 * above the bound before it, `counts[bounds.length]` those above the last bound.
 */
export class Histogram {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly name: string, readonly labels: Labels, readonly bounds: Float64Array) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new RangeError(`histogram "${name}": bounds must be strictly ascending`);
    }
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** Seconds, 100 us to 10 s: what one batch through one node costs, from trivial to pathological. */
export const SECONDS_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  private readonly counters = new Map<string, Counter>();
  private readonly gaugeMap = new Map<string, Gauge>();
  private readonly histogramMap = new Map<string, Histogram>();

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

  /** The gauge for `name` with these labels, created at zero. */
  gauge(name: string, labels: Labels = {}): Gauge {
    const key = keyOf(name, labels);
    let g = this.gaugeMap.get(key);
    if (!g) {
      g = { name, labels, value: 0 };
      this.gaugeMap.set(key, g);
    }
    return g;
  }

  /** The histogram for `name` with these labels; `bounds` (ascending) apply when it is created. */
  histogram(name: string, labels: Labels = {}, bounds: readonly number[] = SECONDS_BUCKETS): Histogram {
    const key = keyOf(name, labels);
    let h = this.histogramMap.get(key);
    if (!h) {
      h = new Histogram(name, labels, Float64Array.from(bounds));
      this.histogramMap.set(key, h);
    }
    return h;
  }

  gauges(): Gauge[] {
    return [...this.gaugeMap.values()];
  }

  histograms(): Histogram[] {
    return [...this.histogramMap.values()];
  }
}
