import type { Metrics } from '../metrics.js';
import type { RunPhase, RunStatus } from '../runStatus.js';
import { Exposition } from './prometheus.js';

const PREFIX = 'resin_';

/** What each engine counter counts; a counter not listed here still appears, with a generic text. */
const HELP: Readonly<Record<string, string>> = {
  rows_out: 'Samples (rows) a source emitted into the pipeline',
  items_out: 'Batches a source emitted into the pipeline',
  samples_read: 'Samples read from files',
  samples_rejected: 'Records refused and written to the dead-letter output, by reason',
  samples_dropped: 'Samples dropped without a dead letter (exact duplicates), by reason',
  alerts: 'Alert emissions, by level (component, process) and state (open, update, resolved)',
  alerts_written: 'Alerts written by a sink',
  periods_closed: 'Rollup periods closed',
  outliers_excluded: 'Samples left out of a rollup mean as extreme outliers',
  rows_in: 'Samples consumed by a discard sink',
  simulator_samples: 'Samples of the built-in simulator, by fate (sent, missing, duplicate, late)',
  nats_messages_in: 'NATS messages received',
  nats_bytes_in: 'Bytes of NATS messages received',
  nats_messages_dropped: 'NATS messages dropped before processing, by reason',
  nats_messages_skipped: 'NATS messages delivered again and recognised as already processed',
  nats_messages_acked: 'JetStream messages acknowledged after the checkpoint covering them',
  checkpoints: 'Checkpoints of operator state saved to the state store',
  mitigations: 'Mitigation actions, by outcome',
};

const GAUGE_HELP: Readonly<Record<string, string>> = {
  checkpoint_bytes: 'Size of the latest checkpoint of each part of the run state (catalog, operators), bytes',
  state_bytes: 'Typed arrays each stateful node holds in memory, at capacity, at the latest checkpoint, bytes',
};

const HISTOGRAM_HELP: Readonly<Record<string, string>> = {
  node_seconds: 'Processing time of one item (batch) in a node, its own work only, seconds',
  checkpoint_seconds: 'Time to take and save one checkpoint, seconds',
};

const PHASES: readonly RunPhase[] = ['starting', 'restoring', 'running', 'draining', 'stopped', 'failed'];

function groupByName<T extends { name: string }>(items: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    let list = out.get(item.name);
    if (!list) out.set(item.name, (list = []));
    list.push(item);
  }
  return out;
}

/**
 * The `/metrics` page: every engine counter as `resin_<name>_total`, gauges and
 * histograms under `resin_<name>`, then what the run status and the process know
 * (readiness, phase, event-time lag, watermarks, memory). `now` is wall-clock ms.
 */
export function renderMetrics(metrics: Metrics, status: RunStatus | null, now = Date.now(), memory = process.memoryUsage()): string {
  const x = new Exposition();
  for (const [name, counters] of groupByName(metrics.all())) {
    const family = x.family(`${PREFIX}${name}_total`, 'counter', HELP[name] ?? `Engine counter ${name}`);
    for (const c of counters) x.sample(family, c.labels, c.value);
  }
  for (const [name, gauges] of groupByName(metrics.gauges())) {
    const family = x.family(`${PREFIX}${name}`, 'gauge', GAUGE_HELP[name] ?? `Engine gauge ${name}`);
    for (const g of gauges) x.sample(family, g.labels, g.value);
  }
  for (const [name, histograms] of groupByName(metrics.histograms())) {
    const family = x.family(`${PREFIX}${name}`, 'histogram', HISTOGRAM_HELP[name] ?? `Engine histogram ${name}`);
    for (const h of histograms) x.histogram(family, h.labels, h.bounds, h.counts, h.sum, h.count);
  }

  if (status) {
    const readiness = status.readiness();
    x.sample(x.family(`${PREFIX}ready`, 'gauge', '1 when the pipeline is running, its sources connected and its state store open'), {}, readiness.ready ? 1 : 0);
    const phase = x.family(`${PREFIX}phase`, 'gauge', 'Phase of the run: 1 for the current one');
    for (const p of PHASES) x.sample(phase, { phase: p }, p === status.phase ? 1 : 0);
    x.sample(x.family(`${PREFIX}async_work_pending`, 'gauge', 'Asynchronous writes and publishes not yet settled'), {}, status.inFlight().async_work);
    if (status.newestEvent > -Infinity) {
      x.sample(x.family(`${PREFIX}newest_event_timestamp_seconds`, 'gauge', 'Newest event time any source has emitted, Unix seconds'), {}, status.newestEvent / 1000);
      x.sample(x.family(`${PREFIX}event_lag_seconds`, 'gauge', 'Wall clock minus the newest event time emitted, seconds'), {}, (now - status.newestEvent) / 1000);
    }
    if (status.watermarks.size > 0) {
      const ts = x.family(`${PREFIX}watermark_timestamp_seconds`, 'gauge', 'Event time up to which a node\'s output is complete, Unix seconds');
      for (const [node, w] of status.watermarks) x.sample(ts, { node }, w / 1000);
      const lag = x.family(`${PREFIX}watermark_lag_seconds`, 'gauge', 'Wall clock minus a node\'s watermark, seconds');
      for (const [node, w] of status.watermarks) x.sample(lag, { node }, (now - w) / 1000);
    }
  }

  const bytes: [string, number, string][] = [
    ['process_resident_memory_bytes', memory.rss, 'Resident set size of the engine process, bytes'],
    ['process_heap_used_bytes', memory.heapUsed, 'V8 heap in use, bytes'],
    ['process_heap_total_bytes', memory.heapTotal, 'V8 heap reserved, bytes'],
    ['process_external_memory_bytes', memory.external, 'Memory of C++ objects bound to JavaScript objects (includes array buffers), bytes'],
    ['process_array_buffers_bytes', memory.arrayBuffers, 'Memory of ArrayBuffers and SharedArrayBuffers (typed arrays, Arrow columns), bytes'],
  ];
  for (const [name, value, help] of bytes) x.sample(x.family(`${PREFIX}${name}`, 'gauge', help), {}, value);
  x.sample(x.family(`${PREFIX}process_uptime_seconds`, 'gauge', 'Seconds since the engine process started'), {}, process.uptime());
  return x.text();
}
