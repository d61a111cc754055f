import type { DiagnosisReport } from '../../../engine/diagnosis.js';
import { bytes } from '../../../engine/cli/format.js';
import { memoryChart } from './chart.js';
import { escapeHtml as h } from './escape.js';
import { collected, frameText, iso, outsideHeapNote, signedBytes, title, verdict } from './text.js';

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 980px; color: #222; padding: 0 16px; }
h1 { font-size: 20px; margin-bottom: 4px; } h2 { font-size: 16px; margin-top: 28px; }
.muted { color: #666; } .verdict { font-size: 15px; padding: 10px 12px; border-left: 4px solid #c0392b; background: #fbeeee; }
.verdict.localised { border-color: #1e8449; background: #eef8f1; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; } dt { color: #666; } dd { margin: 0; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e5e5e5; vertical-align: top; }
th { background: #f5f5f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font: 12px ui-monospace, "SFMono-Regular", Menlo, monospace; } ol.stack { margin: 4px 0 0 0; padding-left: 20px; }
details summary { cursor: pointer; }
`;

/** One self-contained page per report: inline CSS and SVG, no script, nothing fetched. */
export function renderHtml(r: DiagnosisReport): string {
  const note = outsideHeapNote(r.memory);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title(r))}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${h(title(r))}</h1>
<p class="muted">component ${h(r.target.component)} · report ${h(r.id)}${r.alert_id ? ` · alert ${h(r.alert_id)}` : ''}</p>
<p class="verdict ${h(r.outcome)}" id="verdict">${h(verdict(r))}</p>
<dl id="summary">
<dt>Outcome</dt><dd>${h(r.outcome)}${r.reason ? ` (${h(r.reason)})` : ''}</dd>
<dt>Growth pattern</dt><dd id="pattern">${h(r.pattern)}</dd>
<dt>Collection ended by</dt><dd id="trigger">${h(r.trigger)}</dd>
<dt>Collected</dt><dd>${h(collected(r))}</dd>
<dt>From</dt><dd>${h(iso(r.started_at))} to ${h(iso(r.ended_at))}</dd>
</dl>
<h2>Memory over the collection</h2>
${memoryChart(r.memory)}
${note ? `<p id="outside-heap">${h(note)}</p>` : ''}
<h2>Ranked stacks</h2>
${stackTable(r)}
</body>
</html>
`;
}

function stackTable(r: DiagnosisReport): string {
  if (r.stacks.length === 0) return '<p id="no-stacks" class="muted">No stack grew between the snapshots.</p>';
  const rows = r.stacks.map((s, i) => {
    const [top, ...rest] = s.frames;
    const callers = rest.length
      ? `<details><summary>${rest.length} caller${rest.length === 1 ? '' : 's'}</summary><ol class="stack" start="2">${rest.map((f) => `<li><code>${h(frameText(f))}</code></li>`).join('')}</ol></details>`
      : '';
    return `<tr><td class="num">${i + 1}</td><td><code>${h(top ? frameText(top) : '(no frames)')}</code>${callers}</td>` +
      `<td class="num">${h(signedBytes(s.growth_bytes))}</td><td class="num">${h(bytes(s.live_bytes))}</td><td class="num">${s.count}</td></tr>`;
  });
  return `<table id="stacks">
<thead><tr><th>#</th><th>Allocating frame and callers</th><th>Growth</th><th>Live</th><th>Objects</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>`;
}
