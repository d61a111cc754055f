import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { SourceError } from '../../engine/errors.js';

/**
 * Real background variation: per-machine memory shapes derived from Alibaba's cluster
 * trace (traces/README.md says how and under which licence). Each shape is a ratio
 * around 1 on a regular grid, with multi-day drift removed, so that a process scaled
 * by it varies like a real machine without trending like a leak.
 */
export interface ShapesFile {
  readonly format: 'resin-background-shapes/1';
  readonly notice: string;
  /** Spacing of the points in ms. */
  readonly step_ms: number;
  /** Points per machine. */
  readonly length: number;
  /** values[m][i] * scale is the deviation of machine m from 1 at point i. */
  readonly scale: number;
  readonly machines: readonly string[];
  readonly values: readonly (readonly number[])[];
}

export interface Shapes {
  readonly stepMs: number;
  readonly length: number;
  readonly count: number;
  /** count x length ratios around 1, row-major by machine. */
  readonly values: Float32Array;
}

export const SHAPES_RELATIVE_PATH = 'connectors/simulator/traces/alibaba-shapes.json.gz';

/**
 * The compiled module lives under dist/, the data file stays in the source tree: look
 * beside this module first, then walk up to the repository root.
 */
function locate(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  const beside = join(dir, 'traces', 'alibaba-shapes.json.gz');
  if (existsSync(beside)) return beside;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, SHAPES_RELATIVE_PATH);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

export function parseShapes(file: ShapesFile): Shapes {
  if (file.format !== 'resin-background-shapes/1' || !(file.length > 0) || file.machines.length !== file.values.length) {
    throw new SourceError('background shapes: unrecognised file format');
  }
  const values = new Float32Array(file.machines.length * file.length);
  for (let m = 0; m < file.values.length; m++) {
    const row = file.values[m]!;
    if (row.length !== file.length) throw new SourceError(`background shapes: machine ${file.machines[m]} has ${row.length} points, expected ${file.length}`);
    for (let i = 0; i < row.length; i++) values[m * file.length + i] = 1 + row[i]! * file.scale;
  }
  return { stepMs: file.step_ms, length: file.length, count: file.machines.length, values };
}

let cached: Shapes | null = null;

/** The shipped shapes, read once per process. */
export function loadShapes(): Shapes {
  if (cached) return cached;
  const path = locate();
  if (path === null) {
    throw new SourceError(`simulator: ${SHAPES_RELATIVE_PATH} not found; reinstall, or set background: none`);
  }
  const file = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as ShapesFile;
  cached = parseShapes(file);
  return cached;
}
