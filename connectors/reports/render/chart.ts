import type { MemoryPoint } from '../../../engine/diagnosis.js';
import { bytes } from '../../../engine/cli/format.js';
import { escapeHtml } from './escape.js';

const W = 720;
const H = 260;
const PAD = { left: 72, right: 16, top: 16, bottom: 36 };

interface Series {
  name: string;
  color: string;
  values: (number | null)[];
}

/**
 * The target's memory over the collection as an inline SVG line chart (RSS, and the
 * JS heap and external memory where known): no script, no external resource.
 */
export function memoryChart(points: readonly MemoryPoint[]): string {
  const series: Series[] = [{ name: 'RSS', color: '#c0392b', values: points.map((p) => p.rss) }];
  if (points.some((p) => typeof p.heap_used === 'number')) series.push({ name: 'JS heap used', color: '#2471a3', values: points.map((p) => p.heap_used ?? null) });
  if (points.some((p) => typeof p.external === 'number')) series.push({ name: 'external', color: '#7d3c98', values: points.map((p) => p.external ?? null) });

  const t0 = points.length ? points[0]!.at : 0;
  const t1 = points.length ? points[points.length - 1]!.at : 1;
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const max = all.length ? Math.max(...all) * 1.05 : 1;
  const x = (at: number) => PAD.left + ((at - t0) / Math.max(1, t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);

  const parts: string[] = [];
  parts.push(`<svg id="memory-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="Memory of the target over the collection">`);
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#555">${escapeHtml(bytes(v))}</text>`);
  }
  parts.push(`<text x="${PAD.left}" y="${H - 12}" font-size="11" fill="#555">start</text>`);
  parts.push(`<text x="${W - PAD.right}" y="${H - 12}" font-size="11" text-anchor="end" fill="#555">${escapeHtml(elapsed(t1 - t0))}</text>`);
  for (const s of series) {
    const coords = points.flatMap((p, i) => (s.values[i] === null ? [] : [`${x(p.at).toFixed(1)},${y(s.values[i]!).toFixed(1)}`]));
    if (coords.length === 0) continue;
    parts.push(`<polyline class="series" data-series="${escapeHtml(s.name)}" fill="none" stroke="${s.color}" stroke-width="2" points="${coords.join(' ')}"/>`);
    for (const c of coords) {
      const [cx, cy] = c.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${s.color}"/>`);
    }
  }
  series.forEach((s, i) => {
    const lx = PAD.left + 10 + i * 140;
    parts.push(`<rect x="${lx}" y="${PAD.top}" width="12" height="3" fill="${s.color}"/>`);
    parts.push(`<text x="${lx + 16}" y="${PAD.top + 5}" font-size="11" fill="#333">${escapeHtml(s.name)}</text>`);
  });
  if (points.length === 0) parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#888">no memory samples</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

function elapsed(ms: number): string {
  const s = ms / 1000;
  if (s >= 7200) return `${(s / 3600).toFixed(1)} h`;
  if (s >= 120) return `${(s / 60).toFixed(0)} min`;
  return `${s.toFixed(0)} s`;
}
