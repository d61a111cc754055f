import { filter, map } from 'rxjs';
import { toMs } from '../../engine/duration.js';
import { durationSchema } from '../../engine/pipeline/options.js';
import type { NodeContext, OperatorInstance, OperatorSpec } from '../../engine/spec.js';
import type { Checkpointable } from '../../engine/state.js';
import { filterBatch, keptRows } from '../../engine/telemetry/filter.js';
import { floatColumn, rowObject, type SampleBatch } from '../../engine/telemetry/schema.js';
import { RecentSamples, Seen } from './recentSamples.js';

export interface WatermarkOptions {
  /** How far behind the newest event time a sample may arrive and still count. */
  lateness: string | number;
  /** Drop exact repeats of a (host, component, process, ts) sample. */
  dedupe: boolean;
}

/** Saved state: the newest event time and the samples that could still be repeated. */
interface Saved {
  maxTs: number;
  recent?: ReturnType<RecentSamples['checkpoint']>;
  /** The earlier form: slices of event time, each a Map of key -> rss. */
  segments?: { start: number; seen: Map<number, number> }[];
}

/**
 * Event time for everything downstream: stamps each batch with a watermark (the newest
 * event time seen minus the allowed lateness), dead-letters samples older than it
 * (`late`), drops exact duplicates (counted as `samples_dropped{reason=duplicate}`) and
 * dead-letters conflicting ones (same key, other rss). Samples out of order within the
 * lateness pass through; the rollup downstream places them by their own time.
 *
 * Duplicates can only be recognised while their first copy is remembered: every
 * series keeps its samples not yet passed by the watermark, in typed arrays
 * (recentSamples.ts), so memory is bounded by series x samples per lateness.
 *
 *   samples: --a(t=10)--b(t=20)--a(t=10)--c(t=3, lateness 5)--|
 *   watermark(lateness: 5):
 *            --a--------b---------(dup)----(late)-------------|
 */
export function watermark(options: WatermarkOptions, ctx: NodeContext): OperatorInstance<SampleBatch, SampleBatch> & Checkpointable {
  const lateness = toMs(options.lateness);
  if (!(lateness >= 0)) throw new RangeError(`"lateness" must be >= 0, got ${options.lateness}`);
  // Spilled samples are kept in slices of at least a second, so that zero lateness still catches same-instant repeats.
  const span = Math.max(lateness, 1000);
  let maxTs = -Infinity;
  let recent = new RecentSamples(span);
  const duplicates = ctx.metrics.counter('samples_dropped', { reason: 'duplicate' });
  let seriesBuf: Int32Array = new Int32Array(0);
  let keptBuf: Int32Array = new Int32Array(0);

  function process(batch: SampleBatch): SampleBatch {
    const n = batch.data.numRows;
    const ts = floatColumn(batch.data, 'ts');
    const rss = floatColumn(batch.data, 'rss');
    let keep: Uint8Array | null = null;
    let kept = n;
    const dedupe = options.dedupe;
    let series = seriesBuf;
    if (dedupe) {
      series = seriesBuf = ctx.catalog.rowsToSeries(batch.data, seriesBuf.length >= n ? seriesBuf : new Int32Array(n));
      recent.ensure(ctx.catalog.size);
    }
    let newest = maxTs;
    for (let i = 0; i < n; i++) {
      if (dedupe) {
        // Most samples are new and in time: taken in one tight loop; this one judges the rest.
        i = recent.admit(series, ts, rss, i, n, newest, lateness);
        newest = recent.newest;
        if (i === n) break;
      }
      const t = ts[i]!;
      if (t > newest) newest = t;
      const mark = newest - lateness;
      if (t < mark) {
        ctx.deadLetter.reject({
          reason: 'late', source: batch.source, line: batch.records[i]!, field: 'ts',
          detail: `ts ${t} is ${Math.round((newest - t) / 1000)} s behind the newest sample; allowed lateness is ${lateness / 1000} s`,
          record: rowObject(batch.data, i),
        });
      } else if (!dedupe) {
        continue;
      } else {
        const seen = recent.see(series[i]!, t, rss[i]!, mark);
        if (seen === Seen.new) continue;
        if (seen === Seen.duplicate) {
          duplicates.value++;
        } else {
          ctx.deadLetter.reject({
            reason: 'conflict', source: batch.source, line: batch.records[i]!, field: 'rss',
            detail: `a sample of this host, component and process at ts ${t} was already seen with rss ${recent.prior}`,
            record: rowObject(batch.data, i),
          });
        }
      }
      keep ??= new Uint8Array(n).fill(1);
      keep[i] = 0;
      kept--;
    }
    maxTs = newest;
    const mark = maxTs - lateness;
    recent.expire(mark);
    const out: SampleBatch = keep === null ? batch : filterBatch(batch, keep, kept);
    if (keep !== null && dedupe) {
      // The rollup downstream asks for the kept rows' series: they are known already.
      if (keptBuf.length < kept) keptBuf = new Int32Array(kept);
      ctx.catalog.adoptFiltered(batch.data, out.data, keptRows(series, keep, kept, keptBuf));
    }
    return { data: out.data, source: out.source, records: out.records, watermark: mark };
  }

  return {
    // An empty batch still carries the watermark forward, so downstream periods close.
    apply: (input) => input.pipe(
      map(process),
      filter((out) => out.data.numRows > 0 || out.watermark > -Infinity),
    ),
    checkpoint: (): Saved => ({ maxTs, recent: recent.checkpoint(ctx.catalog.size) }),
    held: () => recent,
    restore: (state) => {
      const s = state as Saved;
      maxTs = s.maxTs;
      recent = new RecentSamples(span);
      if (s.recent) recent.restore(s.recent, maxTs - lateness);
      else if (s.segments) recent.restoreSegments(s.segments, maxTs - lateness);
    },
  };
}

export const watermarkSpec: OperatorSpec<WatermarkOptions, 'samples', 'samples'> = {
  type: 'watermark',
  kind: 'operator',
  releasesInput: true,
  summary: 'Event-time watermark: drops late samples (dead letter) and exact duplicates',
  input: 'samples',
  output: 'samples',
  maxInputs: 8,
  options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      lateness: durationSchema({ default: '10m', description: 'allowed lateness behind the newest event time' }),
      dedupe: { type: 'boolean', default: true, description: 'drop exact duplicate samples' },
    },
  },
  create: watermark,
};
