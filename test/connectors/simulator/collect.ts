import type { RecordBatch } from 'apache-arrow';
import { MemoryDeadLetter } from '../../../engine/deadLetter.js';
import { Flow } from '../../../engine/flow.js';
import { silentLogger } from '../../../engine/log.js';
import { Metrics } from '../../../engine/metrics.js';
import type { NodeContext } from '../../../engine/spec.js';
import type { StateStore } from '../../../engine/state.js';
import { SeriesCatalog } from '../../../engine/telemetry/series.js';
import type { SampleColumns } from '../../../engine/telemetry/schema.js';
import type { FleetSimulator } from '../../../connectors/simulator/simulator.js';
import type { FleetStream } from '../../../connectors/simulator/generator.js';
import { HostActivity } from '../../../engine/hostActivity.js';
import { grown } from '../../../engine/typedArrays.js';

/** Every row of a simulated stream as flat arrays, with the plan's series index of each row. */
export interface Collected {
  n: number;
  ts: Float64Array;
  rss: Float64Array;
  pid: Int32Array;
  version: Int32Array;
  series: Int32Array;
  batchSizes: number[];
  watermarks: number[];
  stream: FleetStream;
}

function col(batch: RecordBatch<SampleColumns>, name: keyof SampleColumns): Float64Array | Int32Array {
  return batch.getChild(name)!.data[0]!.values as Float64Array | Int32Array;
}

export function collect(sim: FleetSimulator, batchSize?: number): Collected {
  const p = sim.plan;
  const P = p.processNames.length;
  const seriesOf = new Int32Array(p.hostNames.length * P).fill(-1);
  for (let s = 0; s < p.seriesCount; s++) seriesOf[p.seriesHost[s]! * P + p.seriesProcess[s]!] = s;
  let ts = new Float64Array(1 << 16), rss = new Float64Array(1 << 16);
  let pid = new Int32Array(1 << 16), version = new Int32Array(1 << 16), series = new Int32Array(1 << 16);
  const batchSizes: number[] = [];
  const watermarks: number[] = [];
  let n = 0;
  const stream = sim.stream();
  for (const b of sim.batches(stream, batchSize)) {
    const m = b.data.numRows;
    batchSizes.push(m);
    watermarks.push(b.watermark);
    ts = grown(ts, n + m); rss = grown(rss, n + m); pid = grown(pid, n + m); version = grown(version, n + m); series = grown(series, n + m);
    ts.set(col(b.data, 'ts'), n);
    rss.set(col(b.data, 'rss'), n);
    pid.set(col(b.data, 'pid'), n);
    version.set(col(b.data, 'version'), n);
    const h = col(b.data, 'host'), pr = col(b.data, 'process');
    for (let i = 0; i < m; i++) series[n + i] = seriesOf[h[i]! * P + pr[i]!]!;
    n += m;
  }
  return { n, ts, rss, pid, version, series, batchSizes, watermarks, stream };
}

/** Row indices of each series, in stream order. */
export function rowsBySeries(c: Collected, seriesCount: number): Int32Array[] {
  const counts = new Int32Array(seriesCount);
  for (let i = 0; i < c.n; i++) counts[c.series[i]!]++;
  const out = Array.from(counts, (k) => new Int32Array(k));
  const fill = new Int32Array(seriesCount);
  for (let i = 0; i < c.n; i++) {
    const s = c.series[i]!;
    out[s]![fill[s]!++] = i;
  }
  return out;
}

/** A NodeContext for driving a source alone. */
export function sourceContext(signal = new AbortController().signal): { ctx: NodeContext; metrics: Metrics } {
  const metrics = new Metrics();
  const ctx: NodeContext = {
    id: 'telemetry', metrics, deadLetter: new MemoryDeadLetter(metrics), flow: new Flow(), log: silentLogger,
    catalog: new SeriesCatalog(), store: {} as StateStore, signal, hosts: new HostActivity(),
  };
  return { ctx, metrics };
}
