import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulate, type HourlyFleet, type SimulatedFleet } from './hourly.js';

/** Hourly means are cached under $TMPDIR/resin-level2/<key> so that trying detection options does not simulate again. */
function cachePath(key: string): string {
  return join(tmpdir(), 'resin-level2', key);
}

export function saveHourly(fleet: HourlyFleet, key: string): void {
  const dir = cachePath(key);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'mean.bin'), new Uint8Array(fleet.mean.buffer));
  writeFileSync(join(dir, 'restarted.bin'), fleet.restarted);
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({
    series: fleet.series, hours: fleet.hours, startMs: fleet.startMs, period: fleet.period, names: fleet.names,
    leakStart: [...fleet.leakStart], leakPattern: fleet.leakPattern, leakRate: [...fleet.leakRate],
    behaviours: [...fleet.behaviours.entries()],
  }));
}

export function loadHourly(key: string): HourlyFleet | null {
  const dir = cachePath(key);
  if (!existsSync(join(dir, 'meta.json'))) return null;
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  const raw = readFileSync(join(dir, 'mean.bin'));
  const mean = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  return {
    series: meta.series, hours: meta.hours, startMs: meta.startMs, period: meta.period, mean,
    restarted: new Uint8Array(readFileSync(join(dir, 'restarted.bin'))), names: meta.names,
    leakStart: Float64Array.from(meta.leakStart, (v: number | null) => (v === null ? NaN : v)),
    leakPattern: meta.leakPattern, leakRate: Float64Array.from(meta.leakRate), behaviours: new Map(meta.behaviours),
  };
}

/** A simulated fleet as level2.js and pool.js name it. */
export type FleetSpec = SimulatedFleet & { components: number };

export function fleetKey(f: FleetSpec): string {
  return `h${f.hosts}-d${f.days}-s${f.seed}-c${f.components}${f.leakFraction === undefined ? '' : `-l${f.leakFraction}`}${f.interval === undefined ? '' : `-i${f.interval}`}`;
}

/** The fleet's hourly means from the cache, simulated (through the real rollup) and cached on first use. */
export function hourlyFleet(f: FleetSpec): { key: string; fleet: HourlyFleet } {
  const key = fleetKey(f);
  let fleet = loadHourly(key);
  if (!fleet) {
    const t = performance.now();
    fleet = simulate(f).fleet;
    saveHourly(fleet, key);
    console.error(`simulated ${key}: ${fleet.series} series x ${fleet.hours} h in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  return { key, fleet };
}
