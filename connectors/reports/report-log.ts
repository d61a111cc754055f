import type { DiagnosisReport } from '../../engine/diagnosis.js';
import type { NodeContext, SinkInstance, SinkSpec } from '../../engine/spec.js';
import { ndjsonWriter } from '../ndjson/writer.js';

export interface ReportLogOptions {
  /** File to write, or "-" for standard output. */
  path: string;
}

/** Diagnosis reports as NDJSON, one line per report, written as they come (reports are few). */
export function reportLog(options: ReportLogOptions, ctx: NodeContext): SinkInstance<DiagnosisReport> {
  const out = ndjsonWriter(options.path);
  const written = ctx.metrics.counter('reports_written', { node: ctx.id });
  return {
    write(report) {
      out.write(JSON.stringify(report));
      written.value++;
    },
    async close() {
      out.close();
    },
  };
}

export const reportLogSpec: SinkSpec<ReportLogOptions, 'reports'> = {
  type: 'report-log',
  kind: 'sink',
  summary: 'Writes diagnosis reports as NDJSON to a file or standard output',
  input: 'reports',
  options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      path: { type: 'string', minLength: 1, default: '-', description: 'output file, or "-" for standard output' },
    },
  },
  create: reportLog,
};
