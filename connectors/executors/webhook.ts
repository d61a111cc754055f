import type { ActionResult, ActionTarget, Executor } from '../../engine/mitigation.js';
import { describeTarget } from './targetEnv.js';

export interface WebhookOptions {
  url: string;
  timeoutMs: number;
  headers?: Record<string, string>;
}

/** An HTTP POST of the target as JSON; any 2xx answer is success. */
export function webhookExecutor(o: WebhookOptions): Executor {
  const url = new URL(o.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`"url" must be http or https, got ${url.protocol}`);
  return {
    kind: 'webhook',
    describe: (t) => `POST ${t.action} for ${describeTarget(t)} to ${url.origin}${url.pathname}`,
    async run(t: ActionTarget, signal: AbortSignal): Promise<ActionResult> {
      const started = performance.now();
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...o.headers },
          body: JSON.stringify(t),
          signal: AbortSignal.any([signal, AbortSignal.timeout(o.timeoutMs)]),
        });
        const text = (await res.text()).slice(0, 200);
        return { ok: res.ok, detail: `HTTP ${res.status}${text ? `: ${text}` : ''}`, durationMs: performance.now() - started };
      } catch (err) {
        const e = err as Error;
        const detail = e.name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : e.message;
        return { ok: false, detail: `POST ${url.origin}${url.pathname}: ${detail}`, durationMs: performance.now() - started };
      }
    },
    async close() {},
  };
}
