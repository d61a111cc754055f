import type { DiagnosisReport } from '../../engine/diagnosis.js';
import type { NodeContext, SinkInstance, SinkSpec } from '../../engine/spec.js';
import { CONNECTION_PROPERTIES, type NatsConnectionOptions } from '../nats/connection.js';
import { JsonPublisher } from '../nats/jsonPublisher.js';
import { renderJson } from './render/json.js';

export interface ReportNatsOptions extends NatsConnectionOptions {
  /** Reports go to `<prefix>.<component>`. */
  prefix: string;
}

const encoder = new TextEncoder();

/**
 * Publishes each diagnosis report as its JSON (the report file's content) to
 * `<prefix>.<component>`, with the report id as message id so a stream stores a
 * re-published report once. Reports are rare: each is published and flushed on its
 * own, the flush tracked by the engine. A report larger than the server's payload
 * limit is counted (`reports_failed{reason="too_large"}`) and logged, not published.
 */
export function reportNats(options: ReportNatsOptions, ctx: NodeContext): SinkInstance<DiagnosisReport> {
  const publisher = new JsonPublisher(options.prefix, options, ctx);
  const published = ctx.metrics.counter('reports_written', { node: ctx.id });
  const inFlight = new Set<Promise<void>>();

  async function publish(report: DiagnosisReport): Promise<void> {
    const nc = await publisher.connected();
    const body = encoder.encode(renderJson(report));
    if (body.length > nc.info!.max_payload) {
      ctx.metrics.inc('reports_failed', { node: ctx.id, reason: 'too_large' });
      ctx.log.error('diagnosis report larger than the NATS payload limit', { node: ctx.id, report: report.id, bytes: body.length, max: nc.info!.max_payload });
      return;
    }
    publisher.publish(nc, report.target.component, body, report.id);
    published.value++;
    await nc.flush();
  }

  return {
    write(report) {
      const work = ctx.flow.track(publish(report));
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work)).catch(() => {});
    },
    async close() {
      // Failures were already reported through the engine's flow.
      await Promise.allSettled([...inFlight]);
      await publisher.drain();
    },
  };
}

export const reportNatsSpec: SinkSpec<ReportNatsOptions, 'reports'> = {
  type: 'report-nats',
  kind: 'sink',
  summary: 'Publishes diagnosis reports as JSON to NATS subjects <prefix>.<component>',
  input: 'reports',
  options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...CONNECTION_PROPERTIES,
      prefix: { type: 'string', minLength: 1, default: 'resin.reports', description: 'subject prefix; the component is the last token' },
    },
  },
  create: reportNats,
};
