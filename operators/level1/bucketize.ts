import { map } from 'rxjs';
import type { NodeContext, OperatorInstance, OperatorSpec } from '../../engine/spec.js';
import type { BucketRows } from '../../engine/state.js';
import type { BucketBatch } from '../../engine/telemetry/buckets.js';
import type { RollupBatch } from '../../engine/telemetry/rollup.js';
import type { SeriesCatalog } from '../../engine/telemetry/series.js';
import { grown } from '../../engine/typedArrays.js';

export interface BucketizeOptions {
  /** Lower bounds of the memory buckets, MB (2^20 bytes), ascending. */
  buckets_mb: number[];
}

/**
 * RESIN publishes 20 absolute buckets from 50 MB to 50 GB (50, 100, 200, ... 40 GB,
 * 50 GB). The steps between are ours: roughly logarithmic, so that a leak crosses a
 * boundary after growing by a bounded share of its size (at most 2x at the low end,
 * 1.25-1.5x from 200 MB up), with round numbers people read at a glance, and densest
 * from 500 MB to 5 GB where most service processes live.
 */
export const DEFAULT_BUCKETS_MB: readonly number[] = [
  50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 4000, 5000, 7500, 10000, 15000, 20000, 25000, 30000, 40000, 50000,
];

const MB = 1024 * 1024;

/** Checks a bucket list; the messages name the option, since they reach whoever wrote the pipeline. */
export function checkBuckets(buckets: readonly number[]): Float64Array {
  if (!Array.isArray(buckets) || buckets.length === 0) throw new RangeError('"buckets_mb" must list at least one bucket');
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i]!;
    if (!(typeof b === 'number' && Number.isFinite(b) && b > 0)) throw new RangeError(`"buckets_mb[${i}]" must be a number > 0, got ${b}`);
    if (i > 0 && !(b > buckets[i - 1]!)) throw new RangeError(`"buckets_mb" must be strictly ascending: ${buckets[i - 1]} then ${b}`);
  }
  return Float64Array.from(buckets);
}

/**
 * Counts one period's rollups into cumulative per-component buckets.
 *
 * A host counts once per component, at the bucket of its largest process of that
 * component: RESIN asks for distinct hosts "whose process of that component" reaches a
 * bucket, which is the max. A sum over the host's processes would move whenever a
 * service starts more workers, a growth in count that is not a leak, and it would
 * merge several small processes into one large one that no process is.
 */
export class BucketCounter {
  readonly bounds: Float64Array;
  private best = new Int32Array(0);
  private stamp = new Int32Array(0);
  private generation = 0;
  private perComponent = new Int32Array(0);
  private order = new Int32Array(0);
  private bucketOf = new Int8Array(0);
  private touched = new Int32Array(0);
  /**
   * Per series, the bucket of its last period: a process moves between buckets rarely,
   * so two comparisons usually confirm it, where the search costs ~5 unpredictable
   * branches (it was ~60% of counting a period). A hint only: always checked.
   */
  private lastBucket = new Int8Array(0);
  private readonly histogram: Int32Array;

  constructor(readonly bucketMb: Float64Array) {
    if (bucketMb.length > 127) throw new RangeError('"buckets_mb" may list at most 127 buckets');
    this.bounds = bucketMb.map((mb) => mb * MB);
    this.histogram = new Int32Array(bucketMb.length);
  }

  /** Index of the highest bucket whose lower bound is at most `bytes`, or -1. */
  private bucket(bytes: number): number {
    const bounds = this.bounds;
    let lo = 0, hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (bounds[mid]! <= bytes) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  count(batch: RollupBatch, catalog: SeriesCatalog): BucketBatch {
    const n = batch.length;
    const B = this.bounds.length;
    const C = catalog.components.size;
    const H = catalog.hosts.size;
    if (this.perComponent.length < C + 1) this.perComponent = new Int32Array(Math.max(C + 1, this.perComponent.length * 2));
    if (this.order.length < n) {
      this.order = new Int32Array(Math.max(n, this.order.length * 2));
      this.bucketOf = new Int8Array(this.order.length);
    }
    if (this.best.length < H) {
      const size = Math.max(H, this.best.length * 2);
      this.best = new Int32Array(size);
      this.stamp = new Int32Array(size);
      this.touched = new Int32Array(size);
    }
    this.lastBucket = grown(this.lastBucket, catalog.size);
    const comp = catalog.seriesComponent, host = catalog.seriesHost;
    const perComponent = this.perComponent.fill(0, 0, C + 1);
    const bounds = this.bounds, last = this.lastBucket;
    // The batch's columns and this counter's arrays in locals: the loops below are the hot path of level 1.
    const series = batch.series, mean = batch.mean, order = this.order, bucketOf = this.bucketOf;
    const stamp = this.stamp, best = this.best, touchedHosts = this.touched, histogram = this.histogram;

    // Counting sort of rows by component: groups without a Map or row objects.
    for (let i = 0; i < n; i++) {
      const s = series[i]!;
      perComponent[comp[s]! + 1]!++;
      const x = mean[i]!;
      let b = last[s]!;
      // The highest bucket whose lower bound is at most x, as the search would find.
      if (!((b < 0 || bounds[b]! <= x) && (b + 1 === B ? true : x < bounds[b + 1]!))) b = last[s] = this.bucket(x);
      bucketOf[i] = b;
    }
    let present = 0;
    for (let c = 0; c < C; c++) if (perComponent[c + 1]! > 0) present++;
    for (let c = 0; c < C; c++) perComponent[c + 1]! += perComponent[c]!;
    const next = perComponent.slice(0, C);
    for (let i = 0; i < n; i++) order[next[comp[series[i]!]!]!++] = i;

    const components = new Int32Array(present);
    const hosts = new Int32Array(present * B);
    let row = 0;
    for (let c = 0; c < C; c++) {
      const from = perComponent[c]!, to = perComponent[c + 1]!;
      if (from === to) continue;
      const gen = ++this.generation;
      let touched = 0;
      for (let k = from; k < to; k++) {
        const i = order[k]!;
        const h = host[series[i]!]!;
        const b = bucketOf[i]!;
        if (stamp[h] !== gen) {
          stamp[h] = gen;
          best[h] = b;
          touchedHosts[touched++] = h;
        } else if (b > best[h]!) {
          best[h] = b;
        }
      }
      histogram.fill(0);
      for (let t = 0; t < touched; t++) {
        const b = best[touchedHosts[t]!]!;
        if (b >= 0) histogram[b]!++;
      }
      // Cumulative from the top: bucket b counts hosts at b or above.
      let above = 0;
      for (let b = B - 1; b >= 0; b--) {
        above += histogram[b]!;
        hosts[row * B + b] = above;
      }
      components[row++] = c;
    }
    return { start: batch.start, period: batch.period, components, bucketMb: this.bucketMb, hosts, watermark: batch.watermark };
  }
}

/** The rows of a bucket batch as the state store takes them. */
export function bucketRows(batch: BucketBatch, componentNames: readonly string[]): BucketRows {
  const B = batch.bucketMb.length;
  const length = batch.components.length * B;
  const component = new Int32Array(length), bucket = new Int32Array(length), bucketMb = new Float64Array(length);
  for (let r = 0; r < length; r++) {
    component[r] = batch.components[Math.floor(r / B)]!;
    bucket[r] = r % B;
    bucketMb[r] = batch.bucketMb[r % B]!;
  }
  return { start: batch.start, length, component, bucket, bucketMb, hosts: batch.hosts, componentNames };
}

/**
 * Level 1, first half: per component and period, the number of distinct hosts whose
 * process of that component is at or above each memory bucket (cumulative, so a
 * fleet-wide drop never looks like growth). Each period is written to the state store.
 *
 *   rollups: --(10:00: h1 svc 800 MB, h2 svc 120 MB, h2 svc 60 MB)--
 *   buckets: --(10:00: svc >=50: 2, >=100: 2, >=200: 1, ... >=750: 1, >=1000: 0)--
 */
export function bucketize(options: Partial<BucketizeOptions>, ctx: NodeContext): OperatorInstance<RollupBatch, BucketBatch> {
  const counter = new BucketCounter(checkBuckets(options.buckets_mb ?? [...DEFAULT_BUCKETS_MB]));
  return {
    apply: (input) => input.pipe(map((batch) => {
      const out = counter.count(batch, ctx.catalog);
      ctx.flow.trackBehind(ctx.store.appendBuckets(bucketRows(out, ctx.catalog.components.names)));
      return out;
    })),
  };
}

export const bucketizeSpec: OperatorSpec<BucketizeOptions, 'rollups', 'buckets'> = {
  type: 'bucketize',
  kind: 'operator',
  usesStore: true,
  summary: 'Level 1: distinct hosts per component at or above each memory bucket, per period',
  input: 'rollups',
  output: 'buckets',
  options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      buckets_mb: {
        type: 'array', items: { type: 'number', exclusiveMinimum: 0 }, minItems: 1, maxItems: 127,
        default: [...DEFAULT_BUCKETS_MB], description: 'lower bounds of the memory buckets in MB, ascending',
      },
    },
  },
  create: bucketize,
};
