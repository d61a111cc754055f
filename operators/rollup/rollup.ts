import { concatMap, concatWith, defer, from } from 'rxjs';
import { formatMs, toMs } from '../../engine/duration.js';
import { durationSchema } from '../../engine/pipeline/options.js';
import type { NodeContext, OperatorInstance, OperatorSpec } from '../../engine/spec.js';
import type { Checkpointable } from '../../engine/state.js';
import type { RollupBatch } from '../../engine/telemetry/rollup.js';
import { floatColumn, pidColumn, rowObject, validity, type SampleBatch } from '../../engine/telemetry/schema.js';
import { Periods, type PeriodsConfig, type PeriodsListener } from './periods.js';

export interface RollupOptions {
  /** Length of a rollup period (RESIN: one hour). */
  period: string | number;
  /** How long rollups and bucket counts stay in the state store. */
  retention: string | number;
  /** Periods that may be open at once: must exceed the watermark's lateness / period + 1. */
  open_periods: number;
  outliers: {
    /** Values kept per series and period for the outlier rule; later ones are judged by the fence of these. */
    values: number;
    /** Cut on the modified z-score. */
    threshold: number;
    /** Smallest spread of the fence, as a share of the median. */
    min_spread: number;
    /** Periods with fewer samples keep them all. */
    min_samples: number;
  };
}

/** What the open periods are given of the node's options (`period` in ms, already checked). */
export function periodsConfig(period: number, o: Pick<RollupOptions, 'open_periods' | 'outliers'>): PeriodsConfig {
  const out = o.outliers;
  return {
    period, slots: o.open_periods, keep: out.values,
    rule: { threshold: out.threshold, minSpread: out.min_spread, minSamples: out.min_samples },
  };
}

export const ROLLUP_DEFAULTS: RollupOptions = {
  period: '1h',
  retention: '35d',
  open_periods: 2,
  outliers: { values: 12, threshold: 3.5, min_spread: 0.01, min_samples: 3 },
};

interface Saved {
  periods: unknown;
  watermark: number;
  expiredTo: number;
}

/**
 * Hourly (by default) rollups: one outlier-trimmed mean, the raw max, the sample count,
 * the last pid and a restart flag per series and period, emitted once per period with
 * every series that had samples in it, and written to the state store.
 *
 * A period closes when the watermark passes its end; samples may arrive in any order
 * before that. At the end of the stream the periods still open are emitted as they
 * stand but stay open in the checkpoint, so a resumed run completes them and emits
 * them again; the store replaces a period written twice and level 1 overwrites it.
 * Such snapshots are marked `provisional`, for consumers that cannot take a period twice.
 *
 *   samples:  --(10:05 a)--(10:50 b)--(10:20 a, wm 11:00)--(11:10 a)--|
 *   rollup:   -------------------------(10:00 [a, b])--------------(11:00 [a])|
 */
export function rollup(options: Partial<RollupOptions>, ctx: NodeContext): OperatorInstance<SampleBatch, RollupBatch> & Checkpointable {
  const o = { ...ROLLUP_DEFAULTS, ...options, outliers: { ...ROLLUP_DEFAULTS.outliers, ...options.outliers } };
  const period = toMs(o.period);
  const retention = toMs(o.retention);
  if (!(period > 0)) throw new RangeError(`"period" must be greater than 0, got ${o.period}`);
  if (!(retention >= period)) throw new RangeError(`"retention" must be at least one period (${formatMs(period)}), got ${o.retention}`);
  if (!Number.isInteger(o.open_periods) || o.open_periods < 1) throw new RangeError(`"open_periods" must be an integer >= 1, got ${o.open_periods}`);
  const out = o.outliers;
  if (!Number.isInteger(out.values) || out.values < 1) throw new RangeError(`"outliers.values" must be an integer >= 1, got ${out.values}`);
  if (!(out.threshold > 0)) throw new RangeError(`"outliers.threshold" must be greater than 0, got ${out.threshold}`);
  if (!(out.min_spread >= 0)) throw new RangeError(`"outliers.min_spread" must be >= 0, got ${out.min_spread}`);
  if (!Number.isInteger(out.min_samples) || out.min_samples < 1) {
    throw new RangeError(`"outliers.min_samples" must be an integer >= 1, got ${out.min_samples}`);
  }

  const periods = new Periods(periodsConfig(period, o));
  // Expiry deletes whole periods; doing it about daily (for 35 days) keeps it off the per-period path.
  const expireStep = Math.max(period, retention / 35);
  const closedCounter = ctx.metrics.counter('periods_closed', { node: ctx.id });
  const outlierCounter = ctx.metrics.counter('outliers_excluded', { node: ctx.id });
  let watermark = -Infinity;
  let expiredTo = -Infinity;
  let seriesBuf = new Int32Array(0);

  function emitted(into: RollupBatch[]): PeriodsListener {
    return {
      period: (batch, final) => {
        into.push(batch);
        if (final) closedCounter.value++;
        ctx.flow.trackBehind(ctx.store.appendRollups(batch, ctx.catalog));
      },
      late: () => {},
    };
  }

  function expire(): void {
    const bound = periods.closedBelow * period - retention;
    if (Number.isFinite(bound) && bound >= expiredTo + expireStep) {
      expiredTo = bound;
      ctx.flow.trackBehind(ctx.store.expire(bound));
    }
  }

  function process(batch: SampleBatch): RollupBatch[] {
    const done: RollupBatch[] = [];
    const listener = emitted(done);
    const outliersBefore = periods.outliers;
    const n = batch.data.numRows;
    if (batch.watermark > watermark) watermark = batch.watermark;
    if (n > 0) {
      if (seriesBuf.length < n) seriesBuf = new Int32Array(Math.max(n, seriesBuf.length * 2));
      const series = ctx.catalog.rowsToSeries(batch.data, seriesBuf);
      const pidData = batch.data.getChild('pid')!.data[0]!;
      listener.late = (i, start) => ctx.deadLetter.reject({
        reason: 'late', source: batch.source, line: batch.records[i]!, field: 'ts',
        detail: `ts ${floatColumn(batch.data, 'ts')[i]} falls in the ${formatMs(period)} period starting ${new Date(start).toISOString()}, which is already closed`,
        record: rowObject(batch.data, i),
      });
      periods.add({
        length: n, series, ts: floatColumn(batch.data, 'ts'), rss: floatColumn(batch.data, 'rss'),
        pid: pidData.nullCount === n ? null : pidColumn(batch.data), pidValid: validity(batch.data, 'pid'),
      }, ctx.catalog.size, watermark, listener);
    }
    if (watermark > -Infinity) periods.closeBelow(Math.floor(watermark / period), watermark, listener);
    outlierCounter.value += periods.outliers - outliersBefore;
    expire();
    return done;
  }

  function snapshot(): RollupBatch[] {
    const done: RollupBatch[] = [];
    periods.snapshot(watermark, emitted(done));
    return done;
  }

  return {
    apply: (input) => input.pipe(
      concatMap((batch) => process(batch)),
      concatWith(defer(() => from(snapshot()))),
    ),
    checkpoint: (): Saved => ({ periods: periods.checkpoint(), watermark, expiredTo }),
    held: () => periods,
    restore: (state) => {
      const s = state as Saved;
      if (!periods.restore(s.periods)) {
        ctx.log.warn('saved rollup state was made with other period or outlier settings; starting without it');
        return;
      }
      watermark = s.watermark;
      expiredTo = s.expiredTo;
    },
  };
}

export const rollupSpec: OperatorSpec<RollupOptions, 'samples', 'rollups'> = {
  type: 'rollup',
  kind: 'operator',
  usesStore: true,
  releasesInput: true,
  summary: 'Per-series period rollups (outlier-trimmed mean, max, restarts), written to the state store',
  input: 'samples',
  output: 'rollups',
  options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      period: durationSchema({ default: ROLLUP_DEFAULTS.period, description: 'length of a rollup period' }),
      retention: durationSchema({ default: ROLLUP_DEFAULTS.retention, description: 'how long rollups stay in the state store' }),
      open_periods: {
        type: 'integer', minimum: 1, maximum: 64, default: ROLLUP_DEFAULTS.open_periods,
        description: 'periods open at once; must exceed the watermark lateness / period + 1',
      },
      outliers: {
        type: 'object',
        additionalProperties: false,
        default: {},
        description: 'the modified z-score rule that drops extreme outliers before averaging',
        properties: {
          values: { type: 'integer', minimum: 1, maximum: 1024, default: ROLLUP_DEFAULTS.outliers.values, description: 'values kept per series and period' },
          threshold: { type: 'number', exclusiveMinimum: 0, default: ROLLUP_DEFAULTS.outliers.threshold, description: 'cut on |x - median| / (1.4826 MAD)' },
          min_spread: { type: 'number', minimum: 0, default: ROLLUP_DEFAULTS.outliers.min_spread, description: 'smallest spread, as a share of the median' },
          min_samples: { type: 'integer', minimum: 1, default: ROLLUP_DEFAULTS.outliers.min_samples, description: 'periods with fewer samples keep them all' },
        },
      },
    },
  },
  create: rollup,
};
