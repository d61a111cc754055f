import { Table, tableFromArrays, tableToIPC } from 'apache-arrow';
import { headers, type MsgHdrs, type NatsConnection } from 'nats';
import { ARROW_CONTENT_TYPE, CONTENT_TYPE } from '../../../connectors/nats/subjects.js';
import { natsSource, natsSourceSpec, type NatsSourceOptions } from '../../../connectors/nats/nats.js';
import { resolveOptions } from '../../../engine/pipeline/options.js';
import { silentLogger } from '../../../engine/log.js';
import type { NodeContext } from '../../../engine/spec.js';
import { floatColumn, dictColumn, type SampleBatch } from '../../../engine/telemetry/schema.js';
import { batchOf, testContext, type Row } from '../../helpers/samples.js';

/** Arrow IPC stream bytes of rows in the canonical schema. */
export function arrowBytes(rows: Row[]): Uint8Array {
  return tableToIPC(new Table(batchOf(rows).data), 'stream');
}

/** Arrow IPC stream bytes of arbitrary columns (for wrong schemas). */
export function arrowOf(columns: Record<string, Float64Array | Int32Array | string[]>): Uint8Array {
  return tableToIPC(tableFromArrays(columns as never) as unknown as Table, 'stream');
}

export function arrowHeaders(): MsgHdrs {
  const h = headers();
  h.set(CONTENT_TYPE, ARROW_CONTENT_TYPE);
  return h;
}

export const json = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

/**
 * Publishes one JSON sample per value v (ts v s, rss v, host h1, component api) to a
 * JetStream subject, each with a message id of its own, waiting for every ack.
 */
export async function publishSamples(nc: NatsConnection, subject: string, values: number[]): Promise<void> {
  const js = nc.jetstream();
  for (const v of values) {
    const h = headers();
    h.set('Nats-Msg-Id', `m-${subject}-${v}`);
    await js.publish(subject, json({ ts: v * 1000, host: 'h1', component: 'api', rss: v }), { headers: h });
  }
}

/** A nats source over in-memory doubles, with its abort controller. */
export function sourceFor(options: Record<string, unknown>, id = 'telemetry') {
  const t = testContext(id);
  const stop = new AbortController();
  let listening!: () => void;
  const ready = new Promise<void>((resolve) => { listening = resolve; });
  const log = { ...silentLogger, info: (msg: string) => { if (msg.startsWith('reading NATS')) listening(); } };
  const ctx: NodeContext = { ...t.ctx, signal: stop.signal, log };
  const source = natsSource(resolveOptions<NatsSourceOptions>(natsSourceSpec, options, id), ctx);
  const iterator = source.read()[Symbol.asyncIterator]();
  /** The first pull, started at once: it connects and subscribes, then waits for data. */
  const first = iterator.next();
  first.catch(() => {});
  const stopAll = async () => {
    stop.abort();
    await iterator.return?.();
    await source.close?.();
  };
  return { ...t, ctx, stop, source, iterator, first, ready, stopAll };
}

/** Rows of batches as plain values, for assertions. */
export function rowsOf(batches: SampleBatch[]): { host: string; component: string; ts: number; rss: number; record: number }[] {
  const out = [];
  for (const b of batches) {
    const ts = floatColumn(b.data, 'ts');
    const rss = floatColumn(b.data, 'rss');
    const host = dictColumn(b.data, 'host');
    const component = dictColumn(b.data, 'component');
    for (let i = 0; i < b.data.numRows; i++) {
      out.push({
        host: host.values[host.indices[i]!]!, component: component.values[component.indices[i]!]!,
        ts: ts[i]!, rss: rss[i]!, record: b.records[i]!,
      });
    }
  }
  return out;
}

/** Pulls batches until `rows` rows have arrived (or fails after `ms`). */
export async function pullRows(iterator: AsyncIterator<SampleBatch>, rows: number, ms = 5000): Promise<SampleBatch[]> {
  const out: SampleBatch[] = [];
  let n = 0;
  const deadline = Date.now() + ms;
  while (n < rows) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`only ${n} of ${rows} rows arrived`)), Math.max(0, deadline - Date.now()));
    });
    const next = await Promise.race([iterator.next(), timeout]).finally(() => clearTimeout(timer));
    if (next.done) break;
    out.push(next.value);
    n += next.value.data.numRows;
  }
  return out;
}
