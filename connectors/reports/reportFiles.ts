import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DiagnosisReport } from '../../engine/diagnosis.js';
import { renderHtml } from './render/html.js';
import { renderJson } from './render/json.js';
import { renderMarkdown } from './render/markdown.js';
import { frameText } from './render/text.js';

export interface ReportPaths {
  json: string;
  html: string;
  markdown: string;
}

/** What a report sink announces per report: enough to route it, and where to read it. */
export interface ReportAnnouncement {
  id: string;
  alert_id: string | null;
  host: string;
  component: string;
  process: string;
  pid: number;
  outcome: DiagnosisReport['outcome'];
  reason: string | null;
  pattern: DiagnosisReport['pattern'];
  /** The most suspect stack's allocating frame, or null. */
  top: string | null;
  files: ReportPaths | null;
}

/** File names are the report id with anything unsafe in a path replaced. */
export function reportBaseName(r: DiagnosisReport): string {
  return r.id.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 200) || 'report';
}

/**
 * Writes `<id>.json`, `<id>.html` and `<id>.md` into `dir`, each through a temporary
 * file and a rename, so a reader never sees half a report.
 */
export function writeReportFiles(r: DiagnosisReport, dir: string): ReportPaths {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, reportBaseName(r));
  const paths: ReportPaths = { json: `${base}.json`, html: `${base}.html`, markdown: `${base}.md` };
  const write = (path: string, text: string) => {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  };
  write(paths.json, renderJson(r));
  write(paths.html, renderHtml(r));
  write(paths.markdown, renderMarkdown(r));
  return paths;
}

export function announcement(r: DiagnosisReport, files: ReportPaths | null): ReportAnnouncement {
  const top = r.stacks[0]?.frames[0];
  return {
    id: r.id, alert_id: r.alert_id, host: r.target.host, component: r.target.component, process: r.target.process,
    pid: r.target.pid, outcome: r.outcome, reason: r.reason, pattern: r.pattern, top: top ? frameText(top) : null, files,
  };
}
