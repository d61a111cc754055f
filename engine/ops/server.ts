import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { RunStatus } from '../runStatus.js';
import { formatHttpAddress, type HttpAddress } from './address.js';
import { renderMetrics } from './metricsPage.js';
import { CONTENT_TYPE } from './prometheus.js';

export interface OpsServerOptions {
  readonly address: HttpAddress;
  readonly status: RunStatus;
  readonly metrics: Metrics;
  readonly log: Logger;
}

export interface OpsServer {
  /** The address actually bound (the port the system chose when 0 was asked). */
  readonly address: HttpAddress;
  /** http://host:port, for messages and tests. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The sidecar's HTTP endpoint, for an orchestrator and a Prometheus server:
 *
 * - `/healthz`: liveness, 200 for as long as the process answers;
 * - `/readyz`: 200 while the pipeline is running with every source connected and the
 *   state store open, else 503; both with a JSON body giving the phase and reasons;
 * - `/metrics`: Prometheus text format 0.0.4 (engine/ops/metricsPage.ts).
 *
 * GET and HEAD only. Resolves once listening; rejects when the address cannot be bound.
 */
export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const server = createServer((req, res) => {
    try {
      handle(req, res, opts);
    } catch (err) {
      opts.log.error('http handler failed', { path: req.url, error: (err as Error).message });
      if (!res.headersSent) send(res, req, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    }
  });
  // Probes come every few seconds: idle keep-alive sockets must not keep a stopping process alive.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(new Error(`cannot listen on ${formatHttpAddress(opts.address)} for /healthz, /readyz and /metrics: ${err.code ?? err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(opts.address.port, opts.address.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => opts.log.error('http server error', { error: err.message }));
  const bound = server.address() as AddressInfo;
  const address = { host: opts.address.host, port: bound.port };
  let closing: Promise<void> | null = null;
  return {
    address,
    url: `http://${formatHttpAddress(address)}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function handle(req: IncomingMessage, res: ServerResponse, opts: OpsServerOptions): void {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, req, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  switch (path) {
    case '/healthz':
      send(res, req, 200, 'text/plain; charset=utf-8', 'ok\n');
      return;
    case '/readyz': {
      const r = opts.status.readiness();
      const body = r.ready
        ? { ready: true, phase: r.phase }
        : { ready: false, phase: r.phase, reason: r.reasons.join('; '), reasons: r.reasons };
      send(res, req, r.ready ? 200 : 503, 'application/json', JSON.stringify(body) + '\n');
      return;
    }
    case '/metrics':
      send(res, req, 200, CONTENT_TYPE, renderMetrics(opts.metrics, opts.status));
      return;
    default:
      send(res, req, 404, 'text/plain; charset=utf-8', 'not found: try /healthz, /readyz or /metrics\n');
  }
}

function send(res: ServerResponse, req: IncomingMessage, code: number, type: string, body: string): void {
  res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}
