import { HOUR, type HourlyFleet } from './hourly.js';

export const BANDS = [[0.015, 0.03], [0.03, 0.06], [0.06, 0.12], [0.12, 0.31]] as const;

export interface Score {
  healthy: number;
  /** Series alerted without a leak: healthy ones and leaking ones before their leak began. */
  falseSeries: number;
  /** Healthy series alerted, and their share of the healthy. */
  falseHealthy: number;
  falseRate: number;
  leaks: number;
  detected: number;
  precision: number;
  recall: number;
  latencyP50: number;
  latencyP90: number;
  byPattern: Record<string, { leaks: number; detected: number; p50: number }>;
  byRate: Record<string, { leaks: number; detected: number; p50: number; p90: number }>;
}

export function pct(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * Series-level score. A healthy series with any alert is a false alarm; so is a leaking
 * series alerted before its leak started. A leak is detected by its first alert at or
 * after its start; latency is measured from the start.
 */
export function score(fleet: HourlyFleet, firstOpen: Float64Array, firstAfter: Float64Array, limit = fleet.series): Score {
  let healthy = 0, falseSeries = 0, falseHealthy = 0, leaks = 0, detected = 0;
  const lat: number[] = [];
  const byPattern: Score['byPattern'] = {};
  const byRate: Score['byRate'] = {};
  const patLat: Record<string, number[]> = {}, rateLat: Record<string, number[]> = {};
  const S = Math.min(limit, fleet.series);
  for (let id = 0; id < S; id++) {
    const start = fleet.leakStart[id]!;
    if (start !== start) {
      healthy++;
      if (firstOpen[id] === firstOpen[id]) { falseSeries++; falseHealthy++; }
      continue;
    }
    if (firstOpen[id]! < start) falseSeries++;
    leaks++;
    const p = fleet.leakPattern[id]!;
    const rate = fleet.leakRate[id]!;
    const band = BANDS.find(([lo, hi]) => rate >= lo && rate < hi) ?? BANDS[BANDS.length - 1]!;
    const bk = `${band[0] * 100}-${band[1] * 100}%/d`;
    byPattern[p] ??= { leaks: 0, detected: 0, p50: NaN };
    byRate[bk] ??= { leaks: 0, detected: 0, p50: NaN, p90: NaN };
    byPattern[p].leaks++;
    byRate[bk].leaks++;
    const at = firstAfter[id]!;
    if (at === at) {
      detected++;
      const l = (at - start) / HOUR;
      lat.push(l);
      byPattern[p].detected++;
      byRate[bk].detected++;
      (patLat[p] ??= []).push(l);
      (rateLat[bk] ??= []).push(l);
    }
  }
  lat.sort((a, b) => a - b);
  for (const [k, v] of Object.entries(patLat)) byPattern[k]!.p50 = pct(v.sort((a, b) => a - b), 0.5);
  for (const [k, v] of Object.entries(rateLat)) {
    v.sort((a, b) => a - b);
    byRate[k]!.p50 = pct(v, 0.5);
    byRate[k]!.p90 = pct(v, 0.9);
  }
  return {
    healthy, falseSeries, falseHealthy, falseRate: healthy ? falseHealthy / healthy : 0, leaks, detected,
    precision: detected + falseSeries ? detected / (detected + falseSeries) : 1, recall: leaks ? detected / leaks : 1,
    latencyP50: pct(lat, 0.5), latencyP90: pct(lat, 0.9), byPattern, byRate,
  };
}

/** What the truth says happened to series `id` in the days before `at`: behaviour kinds. */
export function causes(fleet: HourlyFleet, id: number, at: number): string {
  const list = fleet.behaviours.get(id) ?? [];
  const near = list.filter((b) => b.start <= at && b.end >= at - 4 * 24 * HOUR).map((b) => {
    const extra = b.kind === 'workload_shift' ? ` x${b.factor?.toFixed(2)}` : b.kind === 'spike' ? ` +${b.height?.toFixed(2)}`
      : b.kind === 'buffer' ? ` peak ${b.peak?.toFixed(2)}` : b.kind === 'rollout' ? ` x${b.step?.toFixed(2)}` : '';
    return `${b.kind}${extra}@${((at - b.start) / HOUR).toFixed(0)}h`;
  });
  return near.join(', ') || 'none';
}

export function fmt(s: Score): string {
  const lines = [
    `healthy ${s.healthy}, false alarms ${s.falseHealthy} (${(100 * s.falseRate).toFixed(3)}%) + ${s.falseSeries - s.falseHealthy} before a leak began; leaks ${s.leaks}, detected ${s.detected}`
      + ` (recall ${(100 * s.recall).toFixed(1)}%), precision ${(100 * s.precision).toFixed(1)}%, latency p50 ${s.latencyP50.toFixed(0)} h p90 ${s.latencyP90.toFixed(0)} h`,
  ];
  for (const [k, v] of Object.entries(s.byPattern)) lines.push(`  ${k.padEnd(7)} ${v.detected}/${v.leaks} p50 ${v.p50.toFixed(0)} h`);
  for (const [k, v] of Object.entries(s.byRate).sort()) lines.push(`  ${k.padEnd(10)} ${v.detected}/${v.leaks} p50 ${v.p50.toFixed(0)} h p90 ${v.p90.toFixed(0)} h`);
  return lines.join('\n');
}

