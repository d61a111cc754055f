/**
 * Regenerates connectors/simulator/traces/alibaba-shapes.json.gz from the Alibaba
 * machine-memory CSV (machine, ts, mem_util_percent at 5-minute points).
 *
 *   npm run build && node dist/bench/simulator/alibaba-shapes.js [csv] [out]
 *
 * Defaults: ../shared/data/alibaba-machine-mem-5min.csv and the shipped file's path.
 *
 * Why the shapes are high-passed: about a third of the machines drift by 1-3 % a day
 * over the 8 days, mostly as day-long steps (a machine at 70 % that settles at 90 %).
 * Looped under a process, that drift is indistinguishable from a slow leak, and it
 * would be an unlabelled one. Dividing each point by the centred 24-hour moving
 * average removes drift and steps while keeping the daily cycle, the intra-day
 * bursts and the noise; the simulator models steps itself, with labels.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { ShapesFile } from '../../connectors/simulator/shapes.js';

const STEP_S = 300;
/** Deviation kept per point: 0.1 % of the machine's mean. */
const SCALE = 0.001;
/** Points beyond +-30 % are clipped: isolated dips to half usage are collection glitches. */
const CLIP = 0.3;

export function deriveShapes(csv: string): ShapesFile {
  const byMachine = new Map<string, [number, number][]>();
  let t0 = Infinity, t1 = -Infinity;
  const lines = csv.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    const [machine, tsText, valueText] = line.split(',');
    const ts = Number(tsText), value = Number(valueText);
    if (!machine || !Number.isFinite(ts) || !Number.isFinite(value) || value <= 0) continue;
    let points = byMachine.get(machine);
    if (!points) byMachine.set(machine, (points = []));
    points.push([ts, value]);
    t0 = Math.min(t0, ts);
    t1 = Math.max(t1, ts);
  }
  const length = Math.floor((t1 - t0) / STEP_S) + 1;
  const machines = [...byMachine.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const values = machines.map((m) => highPass(regular(byMachine.get(m)!, t0, length)));
  return {
    format: 'resin-background-shapes/1',
    notice: 'Derived from Alibaba cluster-trace-v2018 machine usage via ansjin/memory_leak_detection (Apache-2.0); see traces/README.md',
    step_ms: STEP_S * 1000,
    length,
    scale: SCALE,
    machines,
    values,
  };
}

/** The series on a regular grid; gaps filled by linear interpolation, ends held. */
function regular(points: [number, number][], t0: number, length: number): Float64Array {
  const grid = new Float64Array(length).fill(NaN);
  for (const [ts, v] of points) {
    const i = Math.round((ts - t0) / STEP_S);
    if (i >= 0 && i < length) grid[i] = v;
  }
  let prev = -1;
  for (let i = 0; i < length; i++) {
    if (Number.isNaN(grid[i]!)) continue;
    if (prev === -1) grid.fill(grid[i]!, 0, i);
    else for (let j = prev + 1; j < i; j++) grid[j] = grid[prev]! + ((grid[i]! - grid[prev]!) * (j - prev)) / (i - prev);
    prev = i;
  }
  if (prev >= 0) grid.fill(grid[prev]!, prev + 1);
  return grid;
}

/** Ratio to the centred 24-hour moving average, renormalised to mean 1, quantised. */
function highPass(grid: Float64Array): number[] {
  const n = grid.length;
  const half = Math.round(43_200 / STEP_S);
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + grid[i]!;
  const ratio = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.max(0, i - half), b = Math.min(n, i + half);
    ratio[i] = grid[i]! / ((prefix[b]! - prefix[a]!) / (b - a));
    sum += ratio[i]!;
  }
  const mean = sum / n;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const dev = Math.max(-CLIP, Math.min(CLIP, ratio[i]! / mean - 1));
    out[i] = Math.round(dev / SCALE);
  }
  return out;
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (isMain) {
  const csvPath = process.argv[2] ?? '../shared/data/alibaba-machine-mem-5min.csv';
  const outPath = process.argv[3] ?? 'connectors/simulator/traces/alibaba-shapes.json.gz';
  const shapes = deriveShapes(readFileSync(csvPath, 'utf8'));
  const gz = gzipSync(JSON.stringify(shapes), { level: 9 });
  writeFileSync(outPath, gz);
  console.log(`${outPath}: ${shapes.machines.length} machines x ${shapes.length} points, ${gz.length} bytes`);
}
