import { filter, map } from 'rxjs';
import { toMs } from '../../engine/duration.js';
import { durationSchema } from '../../engine/pipeline/options.js';
import type { NodeContext, OperatorInstance, OperatorSpec } from '../../engine/spec.js';
import type { Checkpointable } from '../../engine/state.js';
import { filterBatch } from '../../engine/telemetry/filter.js';
import { floatColumn, rowObject, type SampleBatch } from '../../engine/telemetry/schema.js';

export interface WatermarkOptions {
  /** How far behind the newest event time a sample may arrive and still count. */
  lateness: string | number;
  /** Drop exact repeats of a (host, component, process, ts) sample. */
  dedupe: boolean;
}

/** Keys of samples seen in one lateness-long slice of event time: key -> rss. */
interface Segment {
  start: number;
  seen: Map<number, number>;
}

/**
 * Event time for everything downstream: stamps each batch with a watermark (the newest
 * event time seen minus the allowed lateness), dead-letters samples older than it
 * (`late`), drops exact duplicates (counted as `samples_dropped{reason=duplicate}`) and
 * dead-letters conflicting ones (same key, other rss). Samples out of order within the
 * lateness pass through; the rollup downstream places them by their own time.
 *
 * Duplicates can only be recognised while their first copy is remembered, so keys are
 * kept in lateness-long segments that are dropped whole once the watermark passes
 * them: the memory held is two segments' worth of samples at most.
 *
 *   samples: --a(t=10)--b(t=20)--a(t=10)--c(t=3, lateness 5)--|
 *   watermark(lateness: 5):
 *            --a--------b---------(dup)----(late)-------------|
 */
export function watermark(options: WatermarkOptions, ctx: NodeContext): OperatorInstance<SampleBatch, SampleBatch> & Checkpointable {
  const lateness = toMs(options.lateness);
  if (!(lateness >= 0)) throw new RangeError(`"lateness" must be >= 0, got ${options.lateness}`);
  // Segments cover at least a second so that zero lateness still catches same-instant repeats.
  const span = Math.max(lateness, 1000);
  let maxTs = -Infinity;
  let segments: Segment[] = [];
  const duplicates = ctx.metrics.counter('samples_dropped', { reason: 'duplicate' });
  let seriesBuf: Int32Array = new Int32Array(0);

  function segmentFor(ts: number): Segment {
    const start = Math.floor(ts / span) * span;
    for (let k = segments.length - 1; k >= 0; k--) if (segments[k]!.start === start) return segments[k]!;
    const seg = { start, seen: new Map<number, number>() };
    segments.push(seg);
    segments.sort((a, b) => a.start - b.start);
    return seg;
  }

  function process(batch: SampleBatch): SampleBatch {
    const n = batch.data.numRows;
    const ts = floatColumn(batch.data, 'ts');
    const rss = floatColumn(batch.data, 'rss');
    let keep: Uint8Array | null = null;
    let kept = n;
    if (options.dedupe) {
      seriesBuf = ctx.catalog.rowsToSeries(batch.data, seriesBuf.length >= n ? seriesBuf : new Int32Array(n));
    }
    const drop = (i: number) => {
      keep ??= new Uint8Array(n).fill(1);
      keep[i] = 0;
      kept--;
    };
    let seg: Segment | null = null;
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      if (t > maxTs) maxTs = t;
      if (t < maxTs - lateness) {
        ctx.deadLetter.reject({
          reason: 'late', source: batch.source, line: batch.records[i]!, field: 'ts',
          detail: `ts ${t} is ${Math.round((maxTs - t) / 1000)} s behind the newest sample; allowed lateness is ${lateness / 1000} s`,
          record: rowObject(batch.data, i),
        });
        drop(i);
        continue;
      }
      if (!options.dedupe) continue;
      if (seg === null || t < seg.start || t >= seg.start + span) seg = segmentFor(t);
      const key = seriesBuf[i]! * span + (t - seg.start);
      const prior = seg.seen.get(key);
      if (prior === undefined) {
        seg.seen.set(key, rss[i]!);
      } else if (prior === rss[i]) {
        duplicates.value++;
        drop(i);
      } else {
        ctx.deadLetter.reject({
          reason: 'conflict', source: batch.source, line: batch.records[i]!, field: 'rss',
          detail: `a sample of this host, component and process at ts ${t} was already seen with rss ${prior}`,
          record: rowObject(batch.data, i),
        });
        drop(i);
      }
    }
    const mark = maxTs - lateness;
    // A segment is forgotten once no sample in it can arrive any more.
    while (segments.length > 0 && segments[0]!.start + span <= mark) segments.shift();
    const out: SampleBatch = keep === null ? batch : filterBatch(batch, keep, kept);
    return { data: out.data, source: out.source, records: out.records, watermark: mark };
  }

  return {
    // An empty batch still carries the watermark forward, so downstream periods close.
    apply: (input) => input.pipe(
      map(process),
      filter((out) => out.data.numRows > 0 || out.watermark > -Infinity),
    ),
    checkpoint: () => ({ maxTs, segments }),
    restore: (state) => {
      const s = state as { maxTs: number; segments: Segment[] };
      maxTs = s.maxTs;
      segments = s.segments;
    },
  };
}

export const watermarkSpec: OperatorSpec<WatermarkOptions, 'samples', 'samples'> = {
  type: 'watermark',
  kind: 'operator',
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
