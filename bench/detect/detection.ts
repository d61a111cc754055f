import type { Alert } from '../../engine/alert.js';
import type { RollupBatch } from '../../engine/telemetry/rollup.js';
import { ProcessDetector, PROCESS_DETECT_DEFAULTS, type ProcessDetectOptions } from '../../operators/detect/process-detect.js';
import { catalogOf, context, type HourlyFleet } from './hourly.js';

export interface Detection {
  /** First alert emission (open) time per series, NaN if none; and opens counted. */
  firstOpen: Float64Array;
  /** First open at or after the leak start, for leaking series. */
  firstOpenAfterLeak: Float64Array;
  opens: Int32Array;
  resolves: Int32Array;
  alerts: Alert[];
  ms: number;
}

export function detect(fleet: HourlyFleet, options: Partial<ProcessDetectOptions>): Detection {
  const catalog = catalogOf(fleet);
  const ctx = context(catalog);
  const detector = new ProcessDetector({ ...PROCESS_DETECT_DEFAULTS, ...options }, ctx);
  const S = fleet.series;
  const firstOpen = new Float64Array(S).fill(NaN);
  const firstOpenAfterLeak = new Float64Array(S).fill(NaN);
  const opens = new Int32Array(S);
  const resolves = new Int32Array(S);
  const ids = new Map<string, number>();
  for (let id = 0; id < S; id++) ids.set(fleet.names[id]!.slice(0, 3).join('|'), id);
  const alerts: Alert[] = [];
  const series = new Int32Array(S), mean = new Float64Array(S), max = new Float64Array(S);
  // The simulator always sends pids; the cache keeps only the restart flags the rollup derived from them.
  // A placeholder pid tells detection that they were known.
  const count = new Int32Array(S), pid = new Int32Array(S).fill(1), restarted = new Uint8Array(S);
  const t0 = performance.now();
  for (let h = 0; h < fleet.hours; h++) {
    let n = 0;
    const base = h * S;
    for (let id = 0; id < S; id++) {
      const v = fleet.mean[base + id]!;
      if (v !== v) continue;
      series[n] = id; mean[n] = v; max[n] = v; count[n] = 12; restarted[n] = fleet.restarted[base + id]!;
      n++;
    }
    const start = fleet.startMs + h * fleet.period;
    const batch: RollupBatch = {
      start, period: fleet.period, length: n, series: series.subarray(0, n), mean: mean.subarray(0, n),
      max: max.subarray(0, n), count: count.subarray(0, n), pid: pid.subarray(0, n), restarted: restarted.subarray(0, n),
      watermark: start + fleet.period,
    };
    for (const a of detector.process(batch)) {
      const id = ids.get(`${a.host}|${a.component}|${a.process}`)!;
      if (a.state === 'open') {
        opens[id]!++;
        if (firstOpen[id] !== firstOpen[id]) firstOpen[id] = a.at;
        if (a.at >= fleet.leakStart[id]! && firstOpenAfterLeak[id] !== firstOpenAfterLeak[id]) firstOpenAfterLeak[id] = a.at;
      } else if (a.state === 'resolved') {
        resolves[id]!++;
      }
      alerts.push(a);
    }
  }
  return { firstOpen, firstOpenAfterLeak, opens, resolves, alerts, ms: performance.now() - t0 };
}

/** Per-series first detection time of a baseline over the fleet's hourly means (NaN: none). */
export function baseline(fleet: HourlyFleet, fn: (ts: Float64Array, rss: Float64Array) => number | null, limit: number): Float64Array {
  const S = Math.min(fleet.series, limit);
  const out = new Float64Array(S).fill(NaN);
  const ts = new Float64Array(fleet.hours), rss = new Float64Array(fleet.hours);
  for (let id = 0; id < S; id++) {
    let n = 0;
    for (let h = 0; h < fleet.hours; h++) {
      const v = fleet.mean[h * fleet.series + id]!;
      if (v !== v) continue;
      ts[n] = fleet.startMs + h * fleet.period;
      rss[n] = v;
      n++;
    }
    const at = fn(ts.subarray(0, n), rss.subarray(0, n));
    if (at !== null) out[id] = at + fleet.period;
  }
  return out;
}

