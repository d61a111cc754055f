import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { NodeContext, SourceInstance, SourceSpec } from '../../engine/spec.js';
import type { SampleBatch } from '../../engine/telemetry/schema.js';
import { SIMULATOR_OPTIONS_SCHEMA, type SimulatorOptions } from './options.js';
import { FleetSimulator } from './simulator.js';

/**
 * The built-in fleet: samples of every process of a simulated fleet in event-time
 * order, with labelled leaks among realistic non-leak behaviour (docs/simulator.md).
 * With `ground_truth`, the truth is written before the first batch, so a run that
 * stops early still leaves it behind.
 */
export function simulatorSource(options: SimulatorOptions, ctx: NodeContext): SourceInstance<SampleBatch> {
  // Built here, not on first read: bad options fail when the pipeline is built.
  const sim = new FleetSimulator(options);
  const sent = ctx.metrics.counter('simulator_samples', { fate: 'sent' });
  const missing = ctx.metrics.counter('simulator_samples', { fate: 'missing' });
  const duplicate = ctx.metrics.counter('simulator_samples', { fate: 'duplicate' });
  const late = ctx.metrics.counter('simulator_samples', { fate: 'late' });
  return {
    async *read() {
      if (options.ground_truth) sim.writeTruth(options.ground_truth);
      const stream = sim.stream();
      ctx.log.debug('simulating', { series: sim.plan.seriesCount, ticks: sim.options.ticks, leaks: sim.plan.leaks.length });
      for (const batch of sim.batches(stream)) {
        sent.value = stream.emitted;
        missing.value = stream.missing;
        duplicate.value = stream.duplicates;
        late.value = stream.late;
        yield { data: batch.data, source: 'simulator', records: batch.records, watermark: batch.watermark };
        if (ctx.signal.aborted) return;
        // Generation never waits on I/O: let timers and signal handlers run between batches.
        await yieldToLoop();
      }
    },
  };
}

export const simulatorSpec: SourceSpec<SimulatorOptions, 'samples'> = {
  type: 'simulator',
  kind: 'source',
  output: 'samples',
  summary: 'Built-in simulated fleet with labelled leaks and realistic non-leak behaviour (the demo and benchmark input)',
  options: SIMULATOR_OPTIONS_SCHEMA,
  create: simulatorSource,
};
