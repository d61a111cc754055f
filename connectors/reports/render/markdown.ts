import type { DiagnosisReport } from '../../../engine/diagnosis.js';
import { bytes } from '../../../engine/cli/format.js';
import { escapeMarkdownCell as cell } from './escape.js';
import { collected, frameText, iso, outsideHeapNote, signedBytes, title, verdict } from './text.js';

/** The report as Markdown for a ticket: the verdict, the facts, the ranked stacks, the top stack in full. */
export function renderMarkdown(r: DiagnosisReport): string {
  const lines: string[] = [
    `# ${title(r)}`,
    '',
    `**${verdict(r)}**`,
    '',
    `- Component: ${r.target.component}`,
    `- Outcome: ${r.outcome}${r.reason ? ` (${r.reason})` : ''}`,
    `- Growth pattern: ${r.pattern}`,
    `- Collection ended by: ${r.trigger}`,
    `- Collected: ${collected(r)}, ${iso(r.started_at)} to ${iso(r.ended_at)}`,
    `- Report: ${r.id}${r.alert_id ? `, alert ${r.alert_id}` : ''}`,
  ];
  if (r.memory.length >= 2) {
    const first = r.memory[0]!;
    const last = r.memory[r.memory.length - 1]!;
    lines.push(`- RSS: ${bytes(first.rss)} to ${bytes(last.rss)} (${signedBytes(last.rss - first.rss)})`);
  }
  const note = outsideHeapNote(r.memory);
  if (note) lines.push('', note);
  lines.push('', '## Ranked stacks', '');
  if (r.stacks.length === 0) {
    lines.push('No stack grew between the snapshots.');
  } else {
    lines.push('| # | Allocating frame | Growth | Live | Objects |', '|---:|---|---:|---:|---:|');
    r.stacks.forEach((s, i) => {
      lines.push(`| ${i + 1} | \`${cell(s.frames[0] ? frameText(s.frames[0]) : '(no frames)')}\` | ${signedBytes(s.growth_bytes)} | ${bytes(s.live_bytes)} | ${s.count} |`);
    });
    lines.push('', '### Most suspect stack, innermost frame first', '', '```');
    for (const f of r.stacks[0]!.frames) lines.push(frameText(f));
    lines.push('```');
  }
  return lines.join('\n') + '\n';
}
