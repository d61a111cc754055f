/**
 * What flows on a `buckets` edge: level-1 summaries of one closed period. For each
 * component c and bucket b, `hosts[c * buckets + b]` is the number of distinct hosts
 * whose process of component c used at least `bucketMb[b]` MB (cumulative counts, so a
 * fleet-wide drop never looks like growth).
 */
export interface BucketBatch {
  readonly start: number;
  readonly period: number;
  /** Catalog component ids, one per row of `hosts`. */
  readonly components: Int32Array;
  /** Lower bounds of the buckets in MB, ascending. */
  readonly bucketMb: Float64Array;
  /** components.length x bucketMb.length counts, row-major by component. */
  readonly hosts: Int32Array;
  readonly watermark: number;
}
