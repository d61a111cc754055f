import { serialize, deserialize } from 'node:v8';
import { lastValueFrom, from, toArray } from 'rxjs';
import type { Alert } from '../../../engine/alert.js';
import { resolveOptions } from '../../../engine/pipeline/options.js';
import type { NodeContext } from '../../../engine/spec.js';
import type { RollupBatch } from '../../../engine/telemetry/rollup.js';
import type { SeriesCatalog } from '../../../engine/telemetry/series.js';
import { ProcessDetector, processDetectSpec, type ProcessDetectOptions } from '../../../operators/detect/process-detect.js';
import { rng } from '../../bench/baselines/series.js';
import { testContext } from '../../helpers/samples.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const MB = 1024 * 1024;
/** A Monday 00:00 UTC, so that periods line up with days. */
export const T0 = Date.UTC(2026, 0, 5);

/** Registers series (host_i, component, process) for i < count and returns their ids. */
export function seriesIds(catalog: SeriesCatalog, count: number, component = 'svc', hostPrefix = 'host'): number[] {
  const c = catalog.components.intern(component);
  const p = catalog.processes.intern(component);
  return Array.from({ length: count }, (_, i) => catalog.seriesId(catalog.hosts.intern(`${hostPrefix}-${i}`), c, p));
}

/** value(i, k): mean of series i in period k (NaN: no row); restarted(i, k): the rollup's restart flag. */
export interface FleetShape {
  ids: number[];
  periods: number;
  period?: number;
  start?: number;
  value: (i: number, k: number) => number;
  restarted?: (i: number, k: number) => boolean;
  pid?: (i: number, k: number) => number;
}

/** The RollupBatches of a hand-built fleet, one per period. */
export function batches(f: FleetShape): RollupBatch[] {
  const period = f.period ?? HOUR;
  const start = f.start ?? T0;
  const out: RollupBatch[] = [];
  for (let k = 0; k < f.periods; k++) {
    const series: number[] = [], mean: number[] = [], restarted: number[] = [], pid: number[] = [];
    f.ids.forEach((id, i) => {
      const v = f.value(i, k);
      if (v !== v) return;
      series.push(id);
      mean.push(v);
      restarted.push(f.restarted?.(i, k) ? 1 : 0);
      pid.push(f.pid?.(i, k) ?? 1000 + i);
    });
    const n = series.length;
    out.push({
      start: start + k * period, period, length: n,
      series: Int32Array.from(series), mean: Float64Array.from(mean), max: Float64Array.from(mean),
      count: new Int32Array(n).fill(12), pid: Int32Array.from(pid), restarted: Uint8Array.from(restarted),
      watermark: start + (k + 1) * period,
    });
  }
  return out;
}

/** A standard normal draw source, seeded. */
export function gauss(seed: number): () => number {
  const next = rng(seed);
  return () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

/**
 * A healthy process of `base` bytes: a daily cycle of `diurnal` (share of base; the same
 * hours for every process, as for the processes of one region) and white noise of
 * `noise` (share of base) on each period's mean.
 */
export function healthy(base: number, diurnal: number, noise: number, seed: number, cycle = 24): (k: number) => number {
  const g = gauss(seed);
  return (k) => base * (1 + diurnal * Math.sin((2 * Math.PI * k) / cycle) + noise * g());
}

export interface Run {
  alerts: Alert[];
  ctx: NodeContext;
}

/** Runs process-detect (options through the spec's schema, defaults applied) over `input`. */
export async function detect(input: RollupBatch[], options: Partial<ProcessDetectOptions> = {}, ctx = testContext('level2').ctx): Promise<Run> {
  const node = processDetectSpec.create(resolveOptions<ProcessDetectOptions>(processDetectSpec, options), ctx);
  const alerts = await lastValueFrom(node.apply(from(input)).pipe(toArray()));
  return { alerts, ctx };
}

/** Hours from `since` (ms) to the first `open` alert of `host`, or null. */
export function hoursToOpen(alerts: Alert[], host: string, since: number): number | null {
  const a = alerts.find((x) => x.state === 'open' && x.host === host);
  return a ? (a.at - since) / HOUR : null;
}

/**
 * The alerts of `input` fed to one detector up to batch `split`, checkpointed (through
 * v8 serialisation, as the engine stores it) with the catalog, and the rest fed to a
 * second detector restored from it: what a resumed run emits.
 */
export function detectInTwoRuns(input: RollupBatch[], ctx: NodeContext, split: number): Alert[] {
  const options = resolveOptions<ProcessDetectOptions>(processDetectSpec, {});
  const one = new ProcessDetector(options, ctx);
  const before = input.slice(0, split).flatMap((b) => one.process(b));
  const saved = deserialize(serialize({ catalog: ctx.catalog.checkpoint(), state: one.checkpoint() }));
  const second = testContext('level2');
  second.ctx.catalog.restore(saved.catalog);
  const two = new ProcessDetector(options, second.ctx);
  two.restore(saved.state);
  return [...before, ...input.slice(split).flatMap((b) => two.process(b))];
}
