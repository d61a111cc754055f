import type { NodeContext, SinkInstance, SinkSpec } from '../../engine/spec.js';
import type { SampleBatch } from '../../engine/telemetry/schema.js';

/**
 * Consumes samples and keeps nothing but a count: the end of a pass-through pipeline,
 * which measures what reading and decoding cost on their own.
 */
export function discard(_options: Record<string, never>, ctx: NodeContext): SinkInstance<SampleBatch> {
  const rows = ctx.metrics.counter('rows_in', { node: ctx.id });
  return {
    write(batch) {
      rows.value += batch.data.numRows;
    },
    async close() {},
  };
}

export const discardSpec: SinkSpec<Record<string, never>, 'samples'> = {
  type: 'discard',
  kind: 'sink',
  releasesInput: true,
  summary: 'Counts samples and drops them (pass-through benchmarks)',
  input: 'samples',
  options: { type: 'object', additionalProperties: false, properties: {} },
  create: discard,
};
