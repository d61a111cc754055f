import type { Metrics } from '../metrics.js';
import { int, rate, seconds } from './format.js';

export interface Summary {
  samples_read: number;
  samples_accepted: number;
  rejected: Record<string, number>;
  duplicates_dropped: number;
  alerts: Record<string, number>;
  series: number;
  elapsed_s: number;
  samples_per_s: number;
  /**
   * Seconds of its own work per operator and sink (`node_seconds`, engine/nodeTiming.ts),
   * most first; what the elapsed time leaves is reading, waiting for input, start-up and closing.
   */
  node_s: Record<string, number>;
  dead_letter: string | null;
  out: string | null;
}

export function summarize(metrics: Metrics, samplesRead: number, series: number, elapsedMs: number, deadLetter: string, out: string | null): Summary {
  const rejected = metrics.byLabel('samples_rejected', 'reason');
  const totalRejected = Object.values(rejected).reduce((a, b) => a + b, 0);
  const alerts: Record<string, number> = {};
  for (const c of metrics.all()) {
    if (c.name === 'alerts' && c.value > 0) alerts[`${c.labels.level} ${c.labels.state}`] = c.value;
  }
  // Sources count the rows they emit; late and conflicting rows are refused later, from among those.
  const downstream = (rejected.late ?? 0) + (rejected.conflict ?? 0);
  const read = samplesRead + totalRejected - downstream;
  return {
    samples_read: read,
    samples_accepted: samplesRead - metrics.total('samples_dropped') - downstream,
    rejected,
    duplicates_dropped: metrics.total('samples_dropped', { reason: 'duplicate' }),
    alerts,
    series,
    elapsed_s: elapsedMs / 1000,
    samples_per_s: read / Math.max(elapsedMs / 1000, 1e-9),
    node_s: nodeSeconds(metrics),
    dead_letter: totalRejected > 0 ? deadLetter : null,
    out,
  };
}

/** Own work per timed node, most first. */
function nodeSeconds(metrics: Metrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of metrics.histograms()) {
    if (h.name === 'node_seconds' && h.labels.node !== undefined) out[h.labels.node] = (out[h.labels.node] ?? 0) + h.sum;
  }
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

/** "hourly 0.21 s (38%), ..., other (reading, waiting, start-up, closing) 0.10 s (18%)": where a run's time went. */
function timeByNode(s: Summary): string {
  const total = s.elapsed_s;
  const share = (x: number) => (total > 0 ? ` (${Math.round((100 * x) / total)}%)` : '');
  const parts = Object.entries(s.node_s).map(([node, x]) => `${node} ${seconds(x * 1000)}${share(x)}`);
  const rest = total - Object.values(s.node_s).reduce((a, b) => a + b, 0);
  return [...parts, `other (reading, waiting, start-up, closing) ${seconds(Math.max(0, rest) * 1000)}${share(Math.max(0, rest))}`].join(', ');
}

const breakdown = (counts: Record<string, number>) =>
  Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${int(v)}`).join(', ');

export function formatSummary(title: string, s: Summary): string {
  const rejected = Object.values(s.rejected).reduce((a, b) => a + b, 0);
  const alerts = Object.values(s.alerts).reduce((a, b) => a + b, 0);
  const rows: [string, string][] = [
    ['samples read', int(s.samples_read)],
    ['accepted', int(s.samples_accepted)],
    ['rejected', rejected ? `${int(rejected)} (${breakdown(s.rejected)}) -> ${s.dead_letter}` : '0'],
    ['duplicates dropped', int(s.duplicates_dropped)],
    ['series', int(s.series)],
    ['alerts', alerts ? `${int(alerts)} (${breakdown(s.alerts)})${s.out ? ` -> ${s.out}` : ''}` : '0'],
    ['elapsed', `${seconds(s.elapsed_s * 1000)} (${rate(s.samples_per_s)} samples/s)`],
  ];
  if (Object.keys(s.node_s).length > 0) rows.push(['time by node', timeByNode(s)]);
  const w = Math.max(...rows.map((r) => r[0].length));
  return [title, ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`)].join('\n');
}
