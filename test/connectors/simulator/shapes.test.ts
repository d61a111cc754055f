import { describe, expect, it } from 'vitest';
import { deriveShapes } from '../../../bench/simulator/alibaba-shapes.js';
import { loadShapes, parseShapes } from '../../../connectors/simulator/shapes.js';

/** Least-squares slope of ys against their index, per point. */
function slope(ys: ArrayLike<number>): number {
  const n = ys.length;
  let sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (let i = 0; i < n; i++) {
    sx += i; sy += ys[i]!; sxx += i * i; sxy += i * ys[i]!;
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

const PER_DAY = 288;

describe('background shapes', () => {
  it('ships real machine shapes normalised to mean 1, without multi-day drift', () => {
    const shapes = loadShapes();
    expect(shapes.count).toBe(109);
    expect(shapes.stepMs).toBe(300_000);
    expect(shapes.length).toBe(2304);
    let worstDrift = 0, spread = 0;
    for (let m = 0; m < shapes.count; m++) {
      const row = shapes.values.subarray(m * shapes.length, (m + 1) * shapes.length);
      let sum = 0, sq = 0;
      for (const v of row) {
        sum += v;
        sq += (v - 1) ** 2;
      }
      expect(sum / row.length).toBeCloseTo(1, 2);
      spread += Math.sqrt(sq / row.length);
      worstDrift = Math.max(worstDrift, Math.abs(slope(row)) * PER_DAY);
    }
    // The raw machines drift up to 3 % a day; what is shipped must not pass for a 1.5 %/day leak.
    expect(worstDrift).toBeLessThan(0.003);
    // Real variation is kept: a few percent around the mean.
    expect(spread / shapes.count).toBeGreaterThan(0.02);
    expect(spread / shapes.count).toBeLessThan(0.08);
  });

  it('derives shapes from the CSV by removing steps and drift but keeping the daily cycle', () => {
    const t0 = 1_304_251_200;
    const lines = ['machine,ts,mem_util_percent'];
    for (let i = 0; i < 8 * PER_DAY; i++) {
      if (i % 97 === 5) continue; // gaps are interpolated
      const day = Math.sin((2 * Math.PI * i) / PER_DAY);
      // m_1 drifts 2 % a day; m_2 steps from 70 to 90 on day 3.
      lines.push(`m_1,${t0 + i * 300},${(60 * (1 + 0.02 * (i / PER_DAY)) * (1 + 0.05 * day)).toFixed(2)}`);
      lines.push(`m_2,${t0 + i * 300},${((i < 3 * PER_DAY ? 70 : 90) * (1 + 0.05 * day)).toFixed(2)}`);
    }
    const file = deriveShapes(lines.join('\n'));
    expect(file.machines).toEqual(['m_1', 'm_2']);
    expect(file.length).toBe(8 * PER_DAY);
    const shapes = parseShapes(file);
    const m1 = shapes.values.subarray(0, shapes.length);
    const m2 = shapes.values.subarray(shapes.length);
    expect(Math.abs(slope(m1)) * PER_DAY).toBeLessThan(0.001);
    expect(Math.abs(slope(m2)) * PER_DAY).toBeLessThan(0.003);
    // The daily cycle survives: peak near a quarter day, trough near three quarters.
    const mid = 4 * PER_DAY;
    expect(m1[mid + PER_DAY / 4]! - m1[mid + (3 * PER_DAY) / 4]!).toBeGreaterThan(0.08);
  });
});
