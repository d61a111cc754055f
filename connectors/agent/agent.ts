import type { Logger } from '../../engine/log.js';
import type { Metrics } from '../../engine/metrics.js';
import { encodeCycle, type CyclePublisher } from './publisher.js';
import type { HostSampler } from './sampler.js';
import { sleep } from '../../engine/sleep.js';

export interface CycleReport {
  readonly ts: number;
  readonly processes: number;
  readonly components: number;
  readonly cgroupRows: number;
  readonly vanished: number;
  readonly unreadable: number;
  /** CPU time (user + system) of sampling and encoding, ms. */
  readonly cpuMs: number;
  /** Cycles published by this cycle's flush (earlier buffered ones included). */
  readonly published: number;
  /** Cycles still waiting for NATS. */
  readonly pending: number;
}

export interface AgentOptions {
  readonly host: string;
  /** Subject prefix; a component's samples go to `<prefix>.<component>`. */
  readonly prefix: string;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/**
 * `resin agent`: every interval, one sample of every process on the host, published
 * as one Arrow message per component. Sampling never waits for NATS: publishing
 * happens after the cycle's samples are encoded, and what cannot be published is
 * buffered by the publisher, which bounds it.
 */
export class HostAgent {
  private readonly counters;

  constructor(private readonly sampler: HostSampler, private readonly publisher: CyclePublisher, private readonly options: AgentOptions) {
    const m = options.metrics;
    this.counters = {
      cycles: m.counter('agent_cycles'),
      samples: m.counter('agent_samples'),
      vanished: m.counter('agent_processes_vanished'),
      unreadable: m.counter('agent_proc_unreadable'),
    };
  }

  /** One sampling cycle at `ts`, then an attempt to publish everything queued. */
  async cycle(ts = Date.now()): Promise<CycleReport> {
    const cpu = process.cpuUsage();
    const sampled = this.sampler.sample(ts);
    const messages = encodeCycle(sampled, this.options.host, this.options.prefix);
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    this.counters.cycles.value++;
    this.counters.samples.value += sampled.processes + sampled.cgroupRows + sampled.kernelRows;
    this.counters.vanished.value += sampled.vanished;
    this.counters.unreadable.value += sampled.unreadable;
    this.publisher.enqueue(messages);
    const published = await this.publisher.flush();
    const report: CycleReport = {
      ts, processes: sampled.processes, components: sampled.components.length, cgroupRows: sampled.cgroupRows,
      vanished: sampled.vanished, unreadable: sampled.unreadable, cpuMs, published, pending: this.publisher.pending,
    };
    this.options.log.debug('cycle', { ...report });
    return report;
  }

  /**
   * Cycles every `intervalMs`, on multiples of the interval in wall-clock time (hosts
   * sampling at the same instants make fleet-wide periods line up), until `signal`.
   */
  async run(intervalMs: number, signal: AbortSignal): Promise<void> {
    if (!(intervalMs > 0)) throw new RangeError(`"interval" must be greater than 0, got ${intervalMs}`);
    while (!signal.aborted) {
      const report = await this.cycle();
      if (this.counters.cycles.value === 1) {
        this.options.log.info('first cycle', { processes: report.processes, components: report.components, cpu_ms: Math.round(report.cpuMs * 10) / 10 });
      }
      const now = Date.now();
      const next = Math.floor(now / intervalMs) * intervalMs + intervalMs;
      await sleep(next - now, signal);
    }
  }
}
