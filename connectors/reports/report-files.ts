import type { DiagnosisReport } from '../../engine/diagnosis.js';
import type { NodeContext, SinkInstance, SinkSpec } from '../../engine/spec.js';
import { ndjsonWriter } from '../ndjson/writer.js';
import { announcement, writeReportFiles } from './reportFiles.js';

export interface ReportFilesOptions {
  /** Directory the reports are written to. */
  dir: string;
  /** Where each report is announced as one NDJSON line: a file, "-" for standard output, or "off". */
  announce: string;
}

/**
 * Each diagnosis report as JSON, a self-contained HTML page and Markdown in one
 * directory, announced as an NDJSON line once its files are complete. A report that
 * cannot be written (disk full, permissions) is counted by reason, logged and
 * announced without files; it never stops the run.
 */
export function reportFiles(options: ReportFilesOptions, ctx: NodeContext): SinkInstance<DiagnosisReport> {
  const announcements = options.announce === 'off' ? null : ndjsonWriter(options.announce, { append: true });
  const written = ctx.metrics.counter('reports_written', { node: ctx.id });

  return {
    write(report) {
      let files = null;
      try {
        files = writeReportFiles(report, options.dir);
        written.value++;
      } catch (err) {
        const reason = (err as NodeJS.ErrnoException).code ?? 'error';
        ctx.metrics.inc('reports_failed', { node: ctx.id, reason });
        ctx.log.error('cannot write a diagnosis report', { node: ctx.id, report: report.id, dir: options.dir, error: (err as Error).message });
      }
      announcements?.write(JSON.stringify(announcement(report, files)));
    },
    async close() {
      announcements?.close();
    },
  };
}

export const reportFilesSpec: SinkSpec<ReportFilesOptions, 'reports'> = {
  type: 'report-files',
  kind: 'sink',
  summary: 'Writes each diagnosis report as JSON, HTML and Markdown into a directory and announces it as an NDJSON line',
  input: 'reports',
  options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      dir: { type: 'string', minLength: 1, default: 'reports', description: 'directory the report files go to' },
      announce: { type: 'string', minLength: 1, default: '-', description: 'NDJSON announcements: a file, "-" for standard output, or "off"' },
    },
  },
  create: reportFiles,
};
