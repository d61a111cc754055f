import { makeSampleBatch, utf8Data } from '../../engine/telemetry/arrowData.js';
import type { SampleBatch } from '../../engine/telemetry/schema.js';
import { MemoryDeadLetter } from '../../engine/deadLetter.js';
import { Flow } from '../../engine/flow.js';
import { silentLogger } from '../../engine/log.js';
import { MemoryStore } from '../../engine/memoryStore.js';
import { Metrics } from '../../engine/metrics.js';
import type { NodeContext } from '../../engine/spec.js';
import { SeriesCatalog } from '../../engine/telemetry/series.js';
import { HostActivity } from '../../engine/hostActivity.js';

export interface Row {
  ts: number;
  host: string;
  component: string;
  process?: string;
  pid?: number;
  rss: number;
}

/** A SampleBatch from row objects: test convenience only, never a hot path. */
export function batchOf(rows: Row[], opts: { source?: string; firstLine?: number } = {}): SampleBatch {
  const n = rows.length;
  const dict = (values: string[]) => {
    const names = [...new Set(values)];
    const idx = new Map(names.map((v, i) => [v, i]));
    return { indices: Int32Array.from(values, (v) => idx.get(v)!), dictionary: utf8Data(names) };
  };
  const hasPid = rows.some((r) => r.pid !== undefined);
  const pidValid = new Uint8Array((n + 7) >> 3);
  rows.forEach((r, i) => { if (r.pid !== undefined) pidValid[i >> 3]! |= 1 << (i & 7); });
  const data = makeSampleBatch({
    length: n,
    ts: Float64Array.from(rows, (r) => r.ts),
    rss: Float64Array.from(rows, (r) => r.rss),
    pid: hasPid ? Int32Array.from(rows, (r) => r.pid ?? 0) : null,
    pidValid: hasPid ? pidValid : null,
    strings: {
      host: dict(rows.map((r) => r.host)),
      component: dict(rows.map((r) => r.component)),
      process: dict(rows.map((r) => r.process ?? r.component)),
      region: null, cluster: null, version: null,
    },
  });
  const first = opts.firstLine ?? 1;
  return { data, source: opts.source ?? 'test', records: Float64Array.from(rows, (_, i) => first + i), watermark: -Infinity };
}

/** A NodeContext over in-memory doubles, with handles to inspect them. */
export function testContext(id = 'node') {
  const metrics = new Metrics();
  const deadLetter = new MemoryDeadLetter(metrics);
  const ctx: NodeContext = {
    id, metrics, deadLetter, flow: new Flow(), log: silentLogger, catalog: new SeriesCatalog(),
    store: new MemoryStore(), signal: new AbortController().signal, hosts: new HostActivity(),
  };
  return { ctx, metrics, deadLetter };
}
