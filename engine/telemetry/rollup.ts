/**
 * What flows on a `rollups` edge: the closed periods (hours by default) of many series,
 * one value per series, as parallel typed arrays. Rows are series ids of the run's
 * SeriesCatalog.
 */
export interface RollupBatch {
  /** Start of the period (event-time ms); every row of the batch shares it. */
  readonly start: number;
  /** Length of the period in ms (3,600,000 for hourly rollups). */
  readonly period: number;
  readonly length: number;
  readonly series: Int32Array;
  /** Mean of the period's samples after dropping extreme outliers, bytes. */
  readonly mean: Float64Array;
  readonly max: Float64Array;
  /** Samples seen in the period, before outliers were dropped. */
  readonly count: Int32Array;
  /** Last pid seen in the period, or -1. */
  readonly pid: Int32Array;
  /** 1 where the pid changed within the period or since the series' previous period. */
  readonly restarted: Uint8Array;
  /** Event time up to which the stream is complete. */
  readonly watermark: number;
  /**
   * True on a snapshot of a period still open when the stream ended: the period stays
   * open in the checkpoint and a resumed run emits it again, complete. Consumers that
   * cannot take a period twice skip it.
   */
  readonly provisional?: boolean;
}
