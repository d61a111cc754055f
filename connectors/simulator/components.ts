/**
 * The kinds of long-lived processes the simulated fleet runs. Each profile sets the
 * scale of every behaviour for that component, so that components differ the way real
 * ones do: a cache is large and warms up for hours, a log shipper is small and buffers
 * when its backend is down, a worker pool follows the daily load.
 */
export interface ComponentProfile {
  readonly name: string;
  /** Process names on each host running the component (several = a process pool). */
  readonly processes: readonly string[];
  /** Median steady-state RSS in MB across the fleet. */
  readonly medianMb: number;
  /** Lognormal sigma of the baseline across hosts. */
  readonly sigma: number;
  /** Share of hosts that run the component. */
  readonly coverage: number;
  /** Amplitude of the daily load cycle, as a fraction of the baseline. */
  readonly diurnal: number;
  /** Scale applied to the real background shapes (their deviation from 1). */
  readonly background: number;
  /** Standard deviation of white sample noise, fraction of the baseline. */
  readonly noise: number;
  /** Garbage-collection sawtooth: height (fraction) and period (minutes). */
  readonly gcAmp: number;
  readonly gcPeriodMin: number;
  /** Warm-up after a start: initial shortfall (fraction) and time constant (minutes). */
  readonly warmDepth: number;
  readonly warmTauMin: number;
  /** Mean days between unplanned restarts of one process. */
  readonly restartDays: number;
  /** Mean days between transient spikes of one process, and their median height. */
  readonly spikeDays: number;
  readonly spikeHeight: number;
  /** Buffer growth per hour of a downstream outage (fraction of baseline); 0 = does not buffer. */
  readonly bufferPerHour: number;
  /** Mean days between downstream outages of one cluster. */
  readonly outageDays: number;
  /** First version in the simulated span. */
  readonly version: readonly [number, number];
  /** Allocation sites a leak of this component is blamed on. */
  readonly culprits: readonly string[];
}

export const COMPONENT_PROFILES: readonly ComponentProfile[] = [
  {
    name: 'api-gateway', processes: ['api-gateway'], medianMb: 900, sigma: 0.3, coverage: 1,
    diurnal: 0.1, background: 0.5, noise: 0.006, gcAmp: 0.05, gcPeriodMin: 20,
    warmDepth: 0.35, warmTauMin: 45, restartDays: 6, spikeDays: 3, spikeHeight: 0.3,
    bufferPerHour: 0, outageDays: 0, version: [3, 14],
    culprits: ['RequestContext.attach', 'HeaderCache.put', 'RouteTable.compile', 'TlsSessionStore.add'],
  },
  {
    name: 'cache-server', processes: ['cache-server'], medianMb: 6000, sigma: 0.45, coverage: 0.5,
    diurnal: 0.03, background: 0.3, noise: 0.003, gcAmp: 0.01, gcPeriodMin: 60,
    warmDepth: 0.75, warmTauMin: 480, restartDays: 12, spikeDays: 6, spikeHeight: 0.15,
    bufferPerHour: 0, outageDays: 0, version: [7, 2],
    culprits: ['SlabAllocator.grow', 'LruIndex.insert', 'ReplicationLog.append'],
  },
  {
    name: 'log-shipper', processes: ['log-shipper'], medianMb: 220, sigma: 0.3, coverage: 1,
    diurnal: 0.06, background: 0.4, noise: 0.01, gcAmp: 0.06, gcPeriodMin: 10,
    warmDepth: 0.2, warmTauMin: 20, restartDays: 9, spikeDays: 4, spikeHeight: 0.5,
    bufferPerHour: 0.25, outageDays: 6, version: [1, 31],
    culprits: ['BatchEncoder.flush', 'TailReader.open', 'FieldIntern.intern'],
  },
  {
    name: 'queue-worker', processes: ['queue-worker:worker-1', 'queue-worker:worker-2'], medianMb: 1400, sigma: 0.35, coverage: 0.6,
    diurnal: 0.15, background: 0.5, noise: 0.008, gcAmp: 0.08, gcPeriodMin: 15,
    warmDepth: 0.3, warmTauMin: 60, restartDays: 4, spikeDays: 2, spikeHeight: 0.4,
    bufferPerHour: 0.15, outageDays: 8, version: [2, 7],
    culprits: ['JobRegistry.track', 'RetryQueue.defer', 'PayloadCodec.decode'],
  },
  {
    name: 'metrics-agent', processes: ['metrics-agent'], medianMb: 140, sigma: 0.2, coverage: 1,
    diurnal: 0.02, background: 0.3, noise: 0.005, gcAmp: 0.03, gcPeriodMin: 30,
    warmDepth: 0.15, warmTauMin: 15, restartDays: 14, spikeDays: 7, spikeHeight: 0.25,
    bufferPerHour: 0, outageDays: 0, version: [0, 48],
    culprits: ['LabelSet.intern', 'ScrapeTarget.refresh', 'HistogramVec.observe'],
  },
  {
    name: 'storage-node', processes: ['storage-node'], medianMb: 12000, sigma: 0.4, coverage: 0.35,
    diurnal: 0.05, background: 0.3, noise: 0.002, gcAmp: 0.02, gcPeriodMin: 120,
    warmDepth: 0.5, warmTauMin: 240, restartDays: 20, spikeDays: 5, spikeHeight: 0.1,
    bufferPerHour: 0.05, outageDays: 10, version: [5, 3],
    culprits: ['BlockCache.pin', 'CompactionPlan.build', 'ExtentMap.split'],
  },
  {
    name: 'auth-service', processes: ['auth-service'], medianMb: 500, sigma: 0.25, coverage: 0.4,
    diurnal: 0.12, background: 0.5, noise: 0.006, gcAmp: 0.05, gcPeriodMin: 25,
    warmDepth: 0.3, warmTauMin: 30, restartDays: 7, spikeDays: 3, spikeHeight: 0.3,
    bufferPerHour: 0, outageDays: 0, version: [4, 1],
    culprits: ['TokenCache.store', 'KeyRing.rotate', 'SessionIndex.add'],
  },
  {
    name: 'search-indexer', processes: ['search-indexer', 'search-indexer:merger'], medianMb: 3000, sigma: 0.4, coverage: 0.3,
    diurnal: 0.08, background: 0.4, noise: 0.005, gcAmp: 0.06, gcPeriodMin: 40,
    warmDepth: 0.4, warmTauMin: 120, restartDays: 8, spikeDays: 2.5, spikeHeight: 0.35,
    bufferPerHour: 0.08, outageDays: 9, version: [9, 0],
    culprits: ['SegmentReader.open', 'TermDictionary.load', 'MergePolicy.select'],
  },
  {
    name: 'vm-agent', processes: ['vm-agent'], medianMb: 300, sigma: 0.2, coverage: 1,
    diurnal: 0.04, background: 0.4, noise: 0.005, gcAmp: 0.02, gcPeriodMin: 30,
    warmDepth: 0.2, warmTauMin: 20, restartDays: 15, spikeDays: 4, spikeHeight: 0.3,
    bufferPerHour: 0, outageDays: 0, version: [12, 4],
    culprits: ['VmHandleTable.open', 'DiskAttachment.track', 'EventSubscription.add'],
  },
  {
    name: 'db-proxy', processes: ['db-proxy'], medianMb: 350, sigma: 0.3, coverage: 0.4,
    diurnal: 0.1, background: 0.5, noise: 0.007, gcAmp: 0.04, gcPeriodMin: 15,
    warmDepth: 0.25, warmTauMin: 30, restartDays: 6, spikeDays: 3, spikeHeight: 0.4,
    bufferPerHour: 0.1, outageDays: 7, version: [2, 19],
    culprits: ['PreparedStatementCache.put', 'ConnectionPool.lease', 'ResultBuffer.alloc'],
  },
  {
    name: 'scheduler', processes: ['scheduler'], medianMb: 700, sigma: 0.25, coverage: 0.15,
    diurnal: 0.05, background: 0.4, noise: 0.004, gcAmp: 0.03, gcPeriodMin: 45,
    warmDepth: 0.3, warmTauMin: 60, restartDays: 10, spikeDays: 5, spikeHeight: 0.2,
    bufferPerHour: 0, outageDays: 0, version: [6, 6],
    culprits: ['PlacementGraph.addEdge', 'LeaseTable.renew', 'TaskHistory.record'],
  },
  {
    name: 'telemetry-collector', processes: ['telemetry-collector'], medianMb: 1000, sigma: 0.3, coverage: 0.5,
    diurnal: 0.08, background: 0.5, noise: 0.006, gcAmp: 0.05, gcPeriodMin: 20,
    warmDepth: 0.25, warmTauMin: 30, restartDays: 8, spikeDays: 3, spikeHeight: 0.35,
    bufferPerHour: 0.2, outageDays: 7, version: [1, 9],
    culprits: ['SpanBuffer.append', 'ExporterQueue.enqueue', 'AttributeMap.copy'],
  },
];

/**
 * The first `count` profiles; beyond the catalogue, profiles repeat under numbered
 * names (`api-gateway-2`, ...) so that any number of components can be simulated.
 */
export function componentProfiles(count: number): ComponentProfile[] {
  const out: ComponentProfile[] = [];
  for (let i = 0; i < count; i++) {
    const base = COMPONENT_PROFILES[i % COMPONENT_PROFILES.length]!;
    const round = Math.floor(i / COMPONENT_PROFILES.length);
    if (round === 0) {
      out.push(base);
    } else {
      const name = `${base.name}-${round + 1}`;
      out.push({
        ...base,
        name,
        processes: base.processes.map((p) => name + p.slice(base.name.length)),
      });
    }
  }
  return out;
}
