import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { webhookExecutor } from '../../../connectors/executors/webhook.js';
import type { ActionTarget } from '../../../engine/mitigation.js';

const target: ActionTarget = { alert_id: 'p-1', action: 'drain', component: 'api', host: 'h1', process: 'api', pid: 9, cluster: 'c1', region: 'r1' };
const signal = new AbortController().signal;

async function withServer(handle: (body: string, req: IncomingMessage) => [number, string] | null, test: (url: string) => Promise<void>) {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const answer = handle(body, req);
      if (answer) res.writeHead(answer[0]).end(answer[1]);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await test(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/drain`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

describe('webhook executor', () => {
  it('POSTs the target as JSON with its headers; 2xx is success', async () => {
    const got: { body: unknown; auth: string | undefined; type: string | undefined }[] = [];
    await withServer((body, req) => {
      got.push({ body: JSON.parse(body), auth: req.headers.authorization, type: req.headers['content-type'] });
      return [202, 'queued'];
    }, async (url) => {
      const r = await webhookExecutor({ url, timeoutMs: 2000, headers: { authorization: 'Bearer t' } }).run(target, signal);
      expect(r).toMatchObject({ ok: true, detail: 'HTTP 202: queued' });
    });
    expect(got).toEqual([{ body: target, auth: 'Bearer t', type: 'application/json' }]);
  });

  it('fails on an error status and on silence past the timeout', async () => {
    await withServer(() => [500, 'boom'], async (url) => {
      expect(await webhookExecutor({ url, timeoutMs: 2000 }).run(target, signal)).toMatchObject({ ok: false, detail: 'HTTP 500: boom' });
    });
    await withServer(() => null, async (url) => {
      const r = await webhookExecutor({ url, timeoutMs: 200 }).run(target, signal);
      expect(r.ok).toBe(false);
      expect(r.detail).toMatch(/no answer within 200 ms/);
    });
  });

  it('refuses a URL that is not http(s) when built', () => {
    expect(() => webhookExecutor({ url: 'file:///etc/passwd', timeoutMs: 1 })).toThrow(/"url" must be http or https/);
  });
});
