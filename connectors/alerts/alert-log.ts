import { closeSync, openSync, writeSync } from 'node:fs';
import fastJson from 'fast-json-stringify';
import { ALERT_JSON_SCHEMA, type Alert } from '../../engine/alert.js';
import type { NodeContext, SinkInstance, SinkSpec } from '../../engine/spec.js';

export interface AlertLogOptions {
  /** File to write, or "-" for standard output. */
  path: string;
}

/** Compiled once from the alert schema: ~1.6x JSON.stringify, and the schema pins the field order. */
const stringifyAlert = fastJson(ALERT_JSON_SCHEMA as never) as (alert: Alert) => string;

/**
 * Alerts as NDJSON, one line per emission (open, update, resolved), in emission order.
 * Lines are buffered and written in blocks; `close` flushes.
 */
export function alertLog(options: AlertLogOptions, ctx: NodeContext): SinkInstance<Alert> {
  const toStdout = options.path === '-';
  let fd: number | null = toStdout ? null : openSync(options.path, 'w');
  let pending: string[] = [];
  const written = ctx.metrics.counter('alerts_written', { node: ctx.id });

  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    if (toStdout) process.stdout.write(text);
    else writeSync(fd!, text);
  };

  return {
    write(alert) {
      pending.push(stringifyAlert(alert) + '\n');
      written.value++;
      if (pending.length >= 512) flush();
    },
    async close() {
      flush();
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

export const alertLogSpec: SinkSpec<AlertLogOptions, 'alerts'> = {
  type: 'alert-log',
  kind: 'sink',
  summary: 'Writes alerts as NDJSON to a file or standard output',
  input: 'alerts',
  options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      path: { type: 'string', minLength: 1, default: '-', description: 'output file, or "-" for standard output' },
    },
  },
  create: alertLog,
};
