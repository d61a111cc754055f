import fastJson from 'fast-json-stringify';
import { MITIGATION_JSON_SCHEMA, type MitigationDecision } from '../../engine/mitigation.js';
import type { NodeContext, SinkInstance, SinkSpec } from '../../engine/spec.js';
import { ndjsonWriter } from '../ndjson/writer.js';

export interface ActionLogOptions {
  /** File to append to, or "-" for standard output. */
  path: string;
}

const stringify = fastJson(MITIGATION_JSON_SCHEMA as never) as (d: MitigationDecision) => string;

/**
 * Mitigation decisions as NDJSON, one line each, appended: an audit trail survives
 * restarts of the engine. Each line is written as it comes (decisions are few, and a
 * line about an action must not wait in a buffer while the action runs).
 */
export function actionLog(options: ActionLogOptions, ctx: NodeContext): SinkInstance<MitigationDecision> {
  const out = ndjsonWriter(options.path, { append: true });
  const written = ctx.metrics.counter('actions_written', { node: ctx.id });
  return {
    write(decision) {
      out.write(stringify(decision));
      written.value++;
    },
    async close() {
      out.close();
    },
  };
}

export const actionLogSpec: SinkSpec<ActionLogOptions, 'actions'> = {
  type: 'action-log',
  kind: 'sink',
  summary: 'Appends mitigation decisions as NDJSON to a file or standard output',
  input: 'actions',
  options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      path: { type: 'string', minLength: 1, default: '-', description: 'output file (appended), or "-" for standard output' },
    },
  },
  create: actionLog,
};
