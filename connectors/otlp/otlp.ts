import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import protobuf from 'protobufjs/minimal.js';
import { toMs } from '../../engine/duration.js';
import { formatHttpAddress, parseHttpAddress } from '../../engine/ops/address.js';
import { durationSchema } from '../../engine/pipeline/options.js';
import type { NodeContext, SourceInstance, SourceSpec } from '../../engine/spec.js';
import { SampleBatchBuilder } from '../../engine/telemetry/builder.js';
import type { SampleBatch } from '../../engine/telemetry/schema.js';
import { SampleRow, validateSample } from '../../engine/telemetry/validate.js';
import { Inbox } from '../nats/inbox.js';
import { decodeMetricsRequest, encodingOf, inflate, METRICS_RESPONSE, OtlpRequestError, type OtlpEncoding } from './decode.js';
import { MAPPING_PROPERTIES, mapRequest, type OtlpMapping } from './mapping.js';

export interface OtlpSourceOptions extends OtlpMapping {
  /** Address to listen on: host:port, [v6]:port or :port. */
  listen: string;
  /** Rows per batch at most. */
  batch_size: number;
  /** How long a batch stays open for more rows after its first request. */
  max_wait: string | number;
  /** Rows accepted and not yet processed; a request arriving beyond it is answered 429. */
  max_pending_rows: number;
  /** Largest request body, bytes (after gzip is undone). */
  max_body_bytes: number;
}

/** google.rpc.Status codes the protocol asks for on errors. */
const RPC_CODE: Record<number, number> = { 400: 3, 413: 3, 415: 3, 429: 8, 503: 14 };

/** A request waiting for its rows to be processed. */
interface Waiter {
  readonly upTo: number;
  readonly resolve: (processed: boolean) => void;
}

/**
 * OTLP/HTTP metrics receiver (POST /v1/metrics, protobuf or JSON, gzip or not), as
 * an OpenTelemetry Collector's otlphttp exporter or an SDK's exporter sends them.
 * Data points of the configured metrics become samples (docs/ingest.md).
 *
 * The engine pulls: a request's rows go into the batch being gathered, and the
 * request is answered 200 only once the graph has processed the batch that holds
 * them, so a client is never told "done" for rows that a crash would lose before
 * they were processed. What waits is bounded by `max_pending_rows`: beyond it new
 * requests get 429 with Retry-After, which the exporters answer by backing off and
 * retrying. A stopping engine answers 503 to what it did not process.
 *
 * A request that cannot be decoded gets 400 (413 too large, 415 wrong type) with the
 * reason, and is counted and dead-lettered (`invalid_otlp`). Data points that fail
 * the sample rules are refused one by one, each counted and dead-lettered with its
 * reason, and the 200 says how many in `partial_success`, as the protocol asks.
 */
export function otlpSource(options: OtlpSourceOptions, ctx: NodeContext): SourceInstance<SampleBatch> {
  const address = parseHttpAddress(options.listen);
  if (address === null) throw new Error('"listen": an OTLP receiver needs an address');
  const maxWait = toMs(options.max_wait);
  if (!(maxWait > 0)) throw new Error(`"max_wait" must be greater than 0, got ${options.max_wait}`);
  const source = `otlp:${formatHttpAddress(address)}`;
  const wanted = new Set(options.metrics);
  const builder = new SampleBatchBuilder(source, options.batch_size);
  const row = new SampleRow();
  const labels = { node: ctx.id };
  const m = ctx.metrics;
  const points = {
    accepted: m.counter('otlp_points', { ...labels, result: 'accepted' }),
    rejected: m.counter('otlp_points', { ...labels, result: 'rejected' }),
    ignored: m.counter('otlp_points', { ...labels, result: 'ignored' }),
  };
  const pendingGauge = m.gauge('otlp_pending_rows', labels);

  /** Batches cut and waiting for the engine; `arrivals` wakes the reader. */
  const ready: SampleBatch[] = [];
  const arrivals = new Inbox<true>(1);
  let cut = 0;
  let processed = 0;
  let pendingRows = 0;
  let waiters: Waiter[] = [];
  let records = 0;
  let requests = 0;
  let server: Server | null = null;
  let listening = false;
  let stopping = false;

  const cutBatch = () => {
    ready.push(builder.build());
    cut++;
  };

  /** 200 with an ExportMetricsServiceResponse; `partial_success` when points were refused. */
  function accepted(res: ServerResponse, encoding: OtlpEncoding, rejected: number, message: string): void {
    m.inc('otlp_requests', { ...labels, code: '200' });
    const partial = rejected > 0 ? { rejectedDataPoints: rejected, errorMessage: message } : null;
    const body = encoding === 'json'
      ? Buffer.from(JSON.stringify(partial ? { partialSuccess: { ...partial, rejectedDataPoints: String(rejected) } } : {}))
      : Buffer.from(METRICS_RESPONSE.encode(partial ? { partialSuccess: partial } : {}).finish());
    res.writeHead(200, { 'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf' });
    res.end(body);
  }

  /** An error status with a google.rpc.Status body in the request's encoding (JSON when unknown). */
  function refused(res: ServerResponse, encoding: OtlpEncoding | null, status: number, message: string, retry = false): void {
    m.inc('otlp_requests', { ...labels, code: String(status) });
    const code = RPC_CODE[status] ?? 2;
    const headers: Record<string, string> = retry ? { 'retry-after': '1' } : {};
    if (encoding === 'protobuf') {
      // google.rpc.Status { int32 code = 1; string message = 2; }
      const body = protobuf.Writer.create().uint32(8).int32(code).uint32(18).string(message).finish();
      res.writeHead(status, { ...headers, 'content-type': 'application/x-protobuf' });
      res.end(Buffer.from(body));
    } else {
      res.writeHead(status, { ...headers, 'content-type': 'application/json' });
      res.end(JSON.stringify({ code, message }));
    }
  }

  function refuseRequest(n: number, body: Buffer, err: OtlpRequestError): void {
    ctx.deadLetter.reject({
      reason: 'invalid_otlp', source, line: n, detail: err.message,
      record: { bytes: body.byteLength, head: body.subarray(0, 64).toString('hex') },
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const n = ++requests;
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/v1/metrics') return refused(res, null, 404, `no such path ${path}: metrics go to POST /v1/metrics`);
    if (req.method !== 'POST') return refused(res, null, 405, 'use POST');
    let encoding: OtlpEncoding | null = null;
    try {
      encoding = encodingOf(req.headers['content-type']);
    } catch (err) {
      refuseRequest(n, Buffer.alloc(0), err as OtlpRequestError);
      req.resume();
      return refused(res, null, 415, (err as Error).message);
    }
    if (stopping) {
      req.resume();
      return refused(res, encoding, 503, 'the engine is stopping', true);
    }
    // Shed load before reading: the exporters retry 429 with backoff.
    if (pendingRows >= options.max_pending_rows) {
      req.resume();
      return refused(res, encoding, 429, `${pendingRows} rows are waiting to be processed`, true);
    }
    const body = await readBody(req, options.max_body_bytes);
    if (body === 'gone') return;
    if (body === 'too_large') {
      const err = new OtlpRequestError(413, `body larger than ${options.max_body_bytes} bytes`);
      refuseRequest(n, Buffer.alloc(0), err);
      return refused(res, encoding, 413, err.message);
    }
    let rejected = 0;
    let firstProblem = '';
    let added = 0;
    try {
      const request = decodeMetricsRequest(inflate(body, req.headers['content-encoding'], options.max_body_bytes), encoding);
      const ignored = mapRequest(request, options, wanted, (raw, record, problem) => {
        const line = ++records;
        const invalid = problem === null ? validateSample(raw, row) : { reason: 'wrong_type' as const, field: 'rss', detail: problem };
        if (invalid !== null) {
          rejected++;
          if (firstProblem === '') firstProblem = invalid.detail;
          ctx.deadLetter.reject({ reason: invalid.reason, source, line, field: invalid.field, detail: invalid.detail, record: record() });
          return;
        }
        builder.append(row, line);
        added++;
        if (builder.full) cutBatch();
      });
      points.ignored.value += ignored;
    } catch (err) {
      if (!(err instanceof OtlpRequestError)) throw err;
      refuseRequest(n, body, err);
      return refused(res, encoding, err.status, err.message);
    }
    points.accepted.value += added;
    points.rejected.value += rejected;
    const partial = rejected > 0 ? `${rejected} data points refused; the first: ${firstProblem}` : '';
    if (added === 0) return accepted(res, encoding, rejected, partial);
    pendingRows += added;
    pendingGauge.value = pendingRows;
    arrivals.push(true);
    // The rows are in the batch being gathered (number cut + 1), or in one cut just now.
    const upTo = builder.length > 0 ? cut + 1 : cut;
    const done = await new Promise<boolean>((resolve) => waiters.push({ upTo, resolve }));
    if (!done) return refused(res, encoding, 503, 'the engine stopped before processing these rows', true);
    accepted(res, encoding, rejected, partial);
  }

  /** Resolves the requests whose rows are all in batches up to `upTo`. */
  function settle(upTo: number, ok: boolean): void {
    const still: Waiter[] = [];
    for (const w of waiters) (w.upTo <= upTo ? w.resolve(ok) : still.push(w));
    waiters = still;
  }

  async function start(): Promise<void> {
    server = createServer((req, res) => {
      handle(req, res).catch((err) => {
        ctx.log.error('OTLP request failed', { error: (err as Error).message });
        if (!res.headersSent) refused(res, null, 500, 'internal error');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(address!.port, address!.host, () => resolve());
    });
    listening = true;
    const bound = server.address();
    ctx.log.info('receiving OTLP/HTTP metrics', { listen: typeof bound === 'object' && bound ? `${bound.address}:${bound.port}` : options.listen, path: '/v1/metrics' });
  }

  return {
    async *read() {
      await start();
      try {
        while (!ctx.signal.aborted) {
          if (ready.length === 0) {
            await arrivals.wait(Infinity, ctx.signal);
            arrivals.shift();
            if (ctx.signal.aborted) break;
            // Gather for max_wait after the first rows, unless a batch fills first.
            const deadline = performance.now() + maxWait;
            while (ready.length === 0 && !ctx.signal.aborted && performance.now() < deadline) {
              await arrivals.wait(deadline, ctx.signal);
              arrivals.shift();
            }
            if (ready.length === 0 && builder.length > 0) cutBatch();
          }
          const batch = ready.shift();
          if (batch === undefined) continue;
          yield batch;
          // Back here means the graph is done with the batch.
          processed++;
          pendingRows -= batch.data.numRows;
          pendingGauge.value = pendingRows;
          settle(processed, true);
        }
      } finally {
        stopping = true;
      }
    },

    ready() {
      return listening && !stopping;
    },

    async close() {
      stopping = true;
      listening = false;
      settle(Infinity, false);
      arrivals.close();
      const s = server;
      server = null;
      if (s !== null) {
        // Keep-alive connections of exporters would hold close() open: idle ones go now,
        // busy ones (answering 503 above) once they are written, or after a grace period.
        const closed = new Promise<void>((resolve) => s.close(() => resolve()));
        s.closeIdleConnections();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([closed, new Promise<void>((r) => { timer = setTimeout(r, 2000); })]);
        clearTimeout(timer);
        s.closeAllConnections();
      }
    },
  };
}

/**
 * The request body; `too_large` once it passes `max` bytes (the rest is drained
 * unread); `gone` when the client hung up before sending all of it.
 */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too_large' | 'gone'> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    let over = false;
    let ended = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.byteLength;
      if (size > max) {
        over = true;
        parts.length = 0;
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => {
      ended = true;
      resolve(over ? 'too_large' : Buffer.concat(parts));
    });
    // A client that hangs up mid-body never sends 'end': without this the handler would wait forever.
    req.on('close', () => { if (!ended) resolve('gone'); });
    req.on('error', () => resolve('gone'));
  });
}

export const otlpSourceSpec: SourceSpec<OtlpSourceOptions, 'samples'> = {
  type: 'otlp',
  kind: 'source',
  summary: 'Receives OpenTelemetry metrics over OTLP/HTTP (POST /v1/metrics, protobuf or JSON) and maps memory metrics to samples',
  output: 'samples',
  options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      listen: { type: 'string', minLength: 1, default: '127.0.0.1:4318', description: 'address to listen on (host:port, [v6]:port, :port)' },
      ...MAPPING_PROPERTIES,
      batch_size: { type: 'integer', minimum: 1, maximum: 1_048_576, default: 65536, description: 'rows per batch at most' },
      max_wait: durationSchema({ default: '200ms', description: 'time a batch waits for more rows after its first request' }),
      max_pending_rows: { type: 'integer', minimum: 1, default: 1_000_000, description: 'rows waiting to be processed before requests are answered 429' },
      max_body_bytes: { type: 'integer', minimum: 1024, default: 16 * 1024 * 1024, description: 'largest request body (after gzip), bytes' },
    },
  },
  create: otlpSource,
};

