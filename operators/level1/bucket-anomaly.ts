import { concatMap } from 'rxjs';
import type { Alert } from '../../engine/alert.js';
import { AlertBook, type Finding } from '../../engine/alertBook.js';
import { formatMs, toMs } from '../../engine/duration.js';
import { durationSchema } from '../../engine/pipeline/options.js';
import type { NodeContext, OperatorInstance, OperatorSpec } from '../../engine/spec.js';
import type { Checkpointable } from '../../engine/state.js';
import type { BucketBatch } from '../../engine/telemetry/buckets.js';
import { capacityFor, resized } from '../../engine/typedArrays.js';
import { BucketWindow } from './bucketWindow.js';

export interface BucketAnomalyOptions {
  /** History each bucket series is judged on (RESIN: 15 days). */
  window: string | number;
  /** Share of the window that is baseline; the rest is the test part (RESIN: 2/3). */
  baseline_share: number;
  /** A test point above mean + sigma x sd of the baseline is anomalous (RESIN: 3). */
  sigma: number;
  /** Smallest bucket that can raise an alert, MB (Azure: 50, then 200). */
  size_mb: number;
  /** Severity a bucket must exceed to raise an alert (Azure: 10, then 40). */
  score: number;
  /** Fewest hosts in the bucket for it to raise an alert. */
  min_hosts: number;
  /**
   * Buckets whose baseline held more than this share of the component's hosts are not
   * judged: they track the bulk of the fleet, which rollouts and workload changes move.
   */
  max_share: number;
  /** Shortest anomalous run that can raise an alert. */
  min_run: string | number;
  /** Least baseline history before anything can alert; shorter histories wait. */
  min_baseline: string | number;
  /** Smallest standard deviation used in the severity, hosts: keeps an empty bucket's first host from scoring infinity. */
  sigma_floor: number;
  /** Deviations within this share of the baseline mean count for nothing (fleet-wide shifts of a few %). */
  band: number;
  /** z-scores up to this add nothing to the severity; only the part above it does. */
  z_min: number;
  /** Largest z-score one period adds to the severity. */
  z_cap: number;
  /** An open alert resolves after this long without an anomalous bucket >= size_mb. */
  resolve_after: string | number;
  /** Re-emit an open alert when its run's end moved this much (severity moves of 10% always do). */
  update_every: string | number;
}

export const BUCKET_ANOMALY_DEFAULTS: BucketAnomalyOptions = {
  window: '15d',
  baseline_share: 2 / 3,
  sigma: 3,
  size_mb: 200,
  score: 40,
  min_hosts: 2,
  max_share: 0.1,
  min_run: '12h',
  min_baseline: '3d',
  sigma_floor: 0.5,
  band: 0.25,
  z_min: 1,
  z_cap: 10,
  resolve_after: '24h',
  update_every: '6h',
};

/** Most periods a window may span: 15 days of hours is 360; this refuses 15 days of seconds. */
export const MAX_WINDOW_PERIODS = 20_000;
const MB = 1024 * 1024;

/** One bucket's state at the newest period, when it is anomalous. */
export interface BucketVerdict {
  bucket: number;
  /** Hosts in the bucket at the newest period. */
  hosts: number;
  mean: number;
  sd: number;
  /** Anomalous run: first period index and number of anomalous periods in it. */
  runStart: number;
  runLength: number;
  severity: number;
}

interface Settings {
  period: number;
  window: number;
  baseline: number;
  minBaseline: number;
  minRun: number;
  resolveAfter: number;
}

interface Saved {
  v: 1;
  period: number;
  window: number;
  bucketMb: number[];
  names: string[];
  data: ReturnType<BucketWindow['save']>;
  latest: Float64Array;
  quiet: Int32Array;
  book: unknown;
}

/**
 * Severity of an anomalous run, summed over its periods t:
 *
 *   sum_t min(z_t, z_cap) * log2(1 + x_t),   z_t = (x_t - mean) / max(sd, sigma_floor)
 *
 * where x_t is the bucket's host count and mean, sd are the baseline's. z_t is the
 * deviation RESIN names; log2(1 + x_t) its host count, growing slowly so that a large
 * component is not alarming for its size alone; the sum makes persistence count, which
 * is what separates a leak (it stays and grows) from noise (a point or two). The floor
 * on sd matters for high buckets, whose baseline is often exactly 0 hosts: there a
 * single host is already "above mean + 3 sd", and the floor turns it into z = 2.
 * docs/detection.md shows where the defaults put noise and leaks.
 */
export function severity(x: number, mean: number, sd: number, o: SeverityParams): number {
  const excess = x - mean * (1 + o.band);
  if (!(excess > 0)) return 0;
  const z = excess / Math.max(sd, Math.sqrt(mean), o.sigma_floor);
  return Math.max(0, Math.min(z, o.z_cap) - o.z_min) * Math.log2(1 + excess);
}

export type SeverityParams = Pick<BucketAnomalyOptions, 'sigma_floor' | 'band' | 'z_min' | 'z_cap'>;

/**
 * Level 1, second half (RESIN "bucketization and pivot"): for each component and bucket
 * of at least `size_mb`, the last `window` of period counts; the first `baseline_share`
 * is the baseline, the rest the test part; test points above mean + sigma x sd are
 * anomalous, and the run of them ending at the newest period gets a severity. A
 * component alerts on its largest bucket whose run scores above `score`, one alert per
 * component (AlertBook, level `component`), and resolves once no bucket >= size_mb has
 * been anomalous for `resolve_after`.
 *
 *   buckets (svc, >= 2 GB): --0--0--0-- ... --0--1--3--3--4--5--
 *   bucket-anomaly:         ------------------------(open: svc >= 2000 MB, 5 hosts)--
 */
export class BucketAnomaly implements Checkpointable {
  private readonly o: BucketAnomalyOptions;
  private readonly windowMs: number;
  private readonly book: AlertBook;
  private settings: Settings | null = null;
  private bucketMb: Float64Array | null = null;
  private data: BucketWindow | null = null;
  private latest = new Float64Array(0);
  private quiet = new Int32Array(0);

  constructor(options: Partial<BucketAnomalyOptions>, private readonly names: { readonly names: readonly string[]; intern(name: string): number }) {
    const o = { ...BUCKET_ANOMALY_DEFAULTS, ...options };
    this.windowMs = toMs(o.window);
    if (!(this.windowMs > 0)) throw new RangeError(`"window" must be greater than 0, got ${o.window}`);
    if (!(o.baseline_share > 0 && o.baseline_share < 1)) throw new RangeError(`"baseline_share" must be between 0 and 1, got ${o.baseline_share}`);
    if (!(o.sigma > 0)) throw new RangeError(`"sigma" must be greater than 0, got ${o.sigma}`);
    if (!(o.size_mb >= 0)) throw new RangeError(`"size_mb" must be >= 0, got ${o.size_mb}`);
    if (!(o.score >= 0)) throw new RangeError(`"score" must be >= 0, got ${o.score}`);
    if (!(Number.isInteger(o.min_hosts) && o.min_hosts >= 1)) throw new RangeError(`"min_hosts" must be an integer >= 1, got ${o.min_hosts}`);
    if (!(o.max_share > 0 && o.max_share <= 1)) throw new RangeError(`"max_share" must be in (0, 1], got ${o.max_share}`);
    if (!(o.sigma_floor > 0)) throw new RangeError(`"sigma_floor" must be greater than 0, got ${o.sigma_floor}`);
    if (!(o.band >= 0)) throw new RangeError(`"band" must be >= 0, got ${o.band}`);
    if (!(o.z_min >= 0)) throw new RangeError(`"z_min" must be >= 0, got ${o.z_min}`);
    if (!(o.z_cap > o.z_min)) throw new RangeError(`"z_cap" must be greater than "z_min" (${o.z_min}), got ${o.z_cap}`);
    for (const key of ['min_run', 'resolve_after', 'update_every'] as const) {
      if (!(toMs(o[key]) >= 0)) throw new RangeError(`"${key}" must be >= 0, got ${o[key]}`);
    }
    const minBaseline = toMs(o.min_baseline);
    if (!(minBaseline >= 0 && minBaseline <= this.windowMs * o.baseline_share)) {
      throw new RangeError(`"min_baseline" (${o.min_baseline}) must fit in the baseline part of the window `
        + `(${formatMs(Math.floor(this.windowMs * o.baseline_share))} of ${o.window})`);
    }
    this.o = o;
    // A run's severity is a sum that grows every period: re-emitting it at each 10 % step
    // would update an alert every period for its first ten, so it takes a 50 % move.
    this.book = new AlertBook({ level: 'component', endStep: toMs(o.update_every), severityStep: 0.5 });
  }

  /** Periods are known from the data; durations become counts of periods then. */
  private configure(period: number, bucketMb: Float64Array): void {
    const window = Math.max(3, Math.round(this.windowMs / period));
    if (window > MAX_WINDOW_PERIODS) {
      throw new RangeError(`"window" ${formatMs(this.windowMs)} spans ${window} periods of ${formatMs(period)}; `
        + `at most ${MAX_WINDOW_PERIODS} are kept: shorten the window or lengthen the rollup period`);
    }
    const periods = (d: string | number) => Math.max(1, Math.ceil(toMs(d) / period));
    this.settings = {
      period, window,
      baseline: Math.floor(window * this.o.baseline_share),
      minBaseline: periods(this.o.min_baseline),
      minRun: periods(this.o.min_run),
      resolveAfter: periods(this.o.resolve_after),
    };
    this.bucketMb = bucketMb.slice();
    this.data = new BucketWindow(window, bucketMb.length);
    this.latest = new Float64Array(0);
    this.quiet = new Int32Array(0);
  }

  private sameLayout(period: number, bucketMb: Float64Array): boolean {
    const s = this.settings, b = this.bucketMb;
    return s !== null && b !== null && s.period === period && b.length === bucketMb.length && b.every((v, i) => v === bucketMb[i]);
  }

  private ensure(component: number): void {
    if (component < this.latest.length) return;
    const size = capacityFor(component + 1, this.latest.length, 1);
    this.latest = resized(this.latest, size, -Infinity);
    this.quiet = resized(this.quiet, size);
  }

  /** Anomalous buckets >= size_mb of a component at period p, or null when its baseline is too short. */
  verdicts(component: number, p: number): BucketVerdict[] | null {
    const s = this.settings!, data = this.data!, bucketMb = this.bucketMb!;
    const span = Math.min(s.window, p - data.first(component) + 1);
    const baseline = Math.floor(span * this.o.baseline_share);
    if (baseline < s.minBaseline) return null;
    const from = p - span + 1, testFrom = from + baseline;
    // The lowest bucket counts (nearly) every host of the component: its baseline mean is the size of the component.
    const hostsOf = this.baselineMean(component, 0, from, testFrom);
    const out: BucketVerdict[] = [];
    for (let b = 0; b < bucketMb.length; b++) {
      if (bucketMb[b]! < this.o.size_mb) continue;
      const x = data.at(component, b, p);
      if (x <= 0) continue;
      let n = 0, sum = 0, squares = 0;
      for (let q = from; q < testFrom; q++) {
        const v = data.at(component, b, q);
        if (v < 0) continue;
        n++;
        sum += v;
        squares += v * v;
      }
      if (n < s.minBaseline) continue;
      const mean = sum / n;
      if (hostsOf >= 1 && mean > this.o.max_share * hostsOf) continue;
      const sd = Math.sqrt(Math.max(0, squares / n - mean * mean));
      const limit = mean + this.o.sigma * sd;
      if (!(x > limit)) continue;
      let runStart = p, runLength = 0, score = 0;
      for (let q = p; q >= testFrom; q--) {
        const v = data.at(component, b, q);
        if (v < 0) continue; // a period without data neither extends nor breaks the run
        if (!(v > limit)) break;
        runStart = q;
        runLength++;
        score += severity(v, mean, sd, this.o);
      }
      out.push({ bucket: b, hosts: x, mean, sd, runStart, runLength, severity: score });
    }
    return out;
  }

  private baselineMean(component: number, bucket: number, from: number, to: number): number {
    let n = 0, sum = 0;
    for (let q = from; q < to; q++) {
      const v = this.data!.at(component, bucket, q);
      if (v < 0) continue;
      n++;
      sum += v;
    }
    return n ? sum / n : 0;
  }

  /** Takes one period's counts; returns the alerts to emit (open, update, resolved). */
  observe(batch: BucketBatch): Alert[] {
    if (!this.sameLayout(batch.period, batch.bucketMb)) this.configure(batch.period, batch.bucketMb);
    const s = this.settings!, data = this.data!;
    const B = batch.bucketMb.length;
    const p = Math.round(batch.start / s.period);
    const at = batch.start + batch.period;
    const alerts: Alert[] = [];
    for (let r = 0; r < batch.components.length; r++) {
      const c = batch.components[r]!;
      this.ensure(c);
      data.put(c, p, batch.hosts, r * B);
      // A period re-emitted (the end-of-stream snapshot, completed on resume) is judged
      // again; an older one only updates the history.
      if (p < this.latest[c]!) continue;
      this.latest[c] = p;
      const alert = this.judge(c, p, at);
      if (alert) alerts.push(alert);
    }
    return alerts;
  }

  private judge(c: number, p: number, at: number): Alert | null {
    const name = this.names.names[c]!;
    const verdicts = this.verdicts(c, p) ?? [];
    const s = this.settings!;
    const alerting = verdicts.filter((v) => v.runLength >= s.minRun && v.severity > this.o.score && v.hosts >= this.o.min_hosts);
    if (alerting.length > 0) {
      this.quiet[c] = 0;
      return this.book.flag(name, this.finding(name, alerting[alerting.length - 1]!, p), at);
    }
    if (!this.book.isOpen(name)) return null;
    if (verdicts.length > 0) {
      // Hysteresis: an open alert holds while any bucket >= size_mb is still anomalous.
      this.quiet[c] = 0;
      return this.book.flag(name, this.finding(name, verdicts[verdicts.length - 1]!, p), at);
    }
    if (++this.quiet[c]! < s.resolveAfter) return null;
    this.quiet[c] = 0;
    return this.book.clear(name, at,
      `no bucket of ${name} at or above ${this.o.size_mb} MB has been anomalous for ${formatMs(s.resolveAfter * s.period)}`);
  }

  private finding(component: string, v: BucketVerdict, p: number): Finding {
    const s = this.settings!;
    const mb = this.bucketMb![v.bucket]!;
    const severity = Math.round(v.severity * 100) / 100;
    return {
      component, host: null, process: null, pid: null, region: null, cluster: null,
      start: v.runStart * s.period, end: (p + 1) * s.period, severity, pattern: 'unknown',
      rss: mb * MB, rate: 0, bucket_mb: mb, hosts: v.hosts,
      reason: `${v.hosts} host${v.hosts === 1 ? '' : 's'} of ${component} at or above ${mb} MB, anomalous for `
        + `${formatMs(v.runLength * s.period)} against a baseline of ${v.mean.toFixed(1)} ± ${v.sd.toFixed(1)} hosts; `
        + `severity ${severity} (alerting above ${this.o.score})`,
    };
  }

  checkpoint(): Saved | { v: 1; book: unknown } {
    if (!this.settings || !this.data) return { v: 1, book: this.book.checkpoint() };
    const ids = this.data.seen();
    return {
      v: 1, period: this.settings.period, window: this.settings.window, bucketMb: [...this.bucketMb!],
      names: ids.map((c) => this.names.names[c]!), data: this.data.save(ids),
      latest: Float64Array.from(ids, (c) => this.latest[c]!), quiet: Int32Array.from(ids, (c) => this.quiet[c]!),
      book: this.book.checkpoint(),
    };
  }

  /** Returns false when the history was saved under another period, window or bucket list (it is then dropped). */
  restore(state: unknown): boolean {
    const s = state as Partial<Saved>;
    if (s?.v !== 1) return false;
    this.book.restore(s.book);
    if (s.period === undefined || !s.bucketMb || !s.names || !s.data) return true;
    try {
      this.configure(s.period, Float64Array.from(s.bucketMb));
    } catch {
      this.settings = null;
      return false;
    }
    if (this.settings!.window !== s.window) {
      this.settings = null;
      return false;
    }
    const ids = s.names.map((n) => this.names.intern(n));
    this.data!.load(ids, s.data);
    ids.forEach((c, k) => {
      this.ensure(c);
      this.latest[c] = s.latest![k]!;
      this.quiet[c] = s.quiet![k]!;
    });
    return true;
  }
}

export function bucketAnomaly(options: Partial<BucketAnomalyOptions>, ctx: NodeContext): OperatorInstance<BucketBatch, Alert> & Checkpointable {
  const detector = new BucketAnomaly(options, ctx.catalog.components);
  return {
    apply: (input) => input.pipe(concatMap((batch) => detector.observe(batch))),
    checkpoint: () => detector.checkpoint(),
    held: () => detector,
    restore: (state) => {
      if (!detector.restore(state)) ctx.log.warn('saved bucket history was made with another period, window or bucket list; starting without it');
    },
  };
}

export const bucketAnomalySpec: OperatorSpec<BucketAnomalyOptions, 'buckets', 'alerts'> = {
  type: 'bucket-anomaly',
  kind: 'operator',
  summary: 'Level 1: component alerts when a memory bucket\'s host count leaves its baseline (mean + 3 sigma)',
  input: 'buckets',
  output: 'alerts',
  options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      window: durationSchema({ default: BUCKET_ANOMALY_DEFAULTS.window, description: 'history each bucket series is judged on' }),
      baseline_share: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: BUCKET_ANOMALY_DEFAULTS.baseline_share, description: 'share of the window used as baseline' },
      sigma: { type: 'number', exclusiveMinimum: 0, default: BUCKET_ANOMALY_DEFAULTS.sigma, description: 'anomalous above baseline mean + sigma x sd' },
      size_mb: { type: 'number', minimum: 0, default: BUCKET_ANOMALY_DEFAULTS.size_mb, description: 'smallest bucket that can alert, MB' },
      score: { type: 'number', minimum: 0, default: BUCKET_ANOMALY_DEFAULTS.score, description: 'severity a bucket must exceed to alert' },
      min_hosts: { type: 'integer', minimum: 1, default: BUCKET_ANOMALY_DEFAULTS.min_hosts, description: 'fewest hosts in the bucket for it to alert' },
      max_share: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: BUCKET_ANOMALY_DEFAULTS.max_share, description: 'buckets holding more of the hosts than this share are not judged' },
      min_run: durationSchema({ default: BUCKET_ANOMALY_DEFAULTS.min_run, description: 'shortest anomalous run that can alert' }),
      min_baseline: durationSchema({ default: BUCKET_ANOMALY_DEFAULTS.min_baseline, description: 'least baseline history before alerting' }),
      sigma_floor: { type: 'number', exclusiveMinimum: 0, default: BUCKET_ANOMALY_DEFAULTS.sigma_floor, description: 'smallest sd in the severity, hosts' },
      band: { type: 'number', minimum: 0, default: BUCKET_ANOMALY_DEFAULTS.band, description: 'relative deviation that counts for nothing' },
      z_min: { type: 'number', minimum: 0, default: BUCKET_ANOMALY_DEFAULTS.z_min, description: 'z-score that adds nothing to the severity' },
      z_cap: { type: 'number', exclusiveMinimum: 0, default: BUCKET_ANOMALY_DEFAULTS.z_cap, description: 'largest z-score one period adds' },
      resolve_after: durationSchema({ default: BUCKET_ANOMALY_DEFAULTS.resolve_after, description: 'quiet time before an alert resolves' }),
      update_every: durationSchema({ default: BUCKET_ANOMALY_DEFAULTS.update_every, description: 're-emit an open alert when its end moved this much' }),
    },
  },
  create: bucketAnomaly,
};
