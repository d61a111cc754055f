import WebSocket from 'ws';
import { ProfileError } from '../../../engine/diagnosis.js';

/**
 * The least of the Chrome DevTools Protocol the profiler needs: send a command, get its
 * result or error, with a deadline. Node 20 has no WebSocket client without an
 * experimental flag, hence `ws`.
 */
export class CdpConnection {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private closedWith: Error | null = null;
  private readonly listeners = new Map<string, (params: Record<string, unknown>) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => this.onMessage(String(data)));
    ws.on('close', () => this.fail(new ProfileError('exited', 'the inspector connection closed')));
    ws.on('error', (err) => this.fail(new ProfileError('failed', `inspector connection: ${err.message}`, { cause: err })));
  }

  static connect(url: string, timeoutMs: number): Promise<CdpConnection> {
    return new Promise((resolve, reject) => {
      // Large sampling profiles arrive as one message; the default 100 MiB cap is kept.
      const ws = new WebSocket(url, { handshakeTimeout: timeoutMs, perMessageDeflate: false });
      ws.once('open', () => resolve(new CdpConnection(ws)));
      ws.once('error', (err) => reject(new ProfileError('failed', `cannot connect to the inspector at ${url}: ${err.message}`, { cause: err })));
    });
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  send<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProfileError('timeout', `${method} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** One handler per event name; `null` removes it. */
  on(event: string, handler: ((params: Record<string, unknown>) => void) | null): void {
    if (handler) this.listeners.set(event, handler);
    else this.listeners.delete(event);
  }

  /** Sends without waiting for the answer: for a command whose effect closes this connection. */
  post(method: string, params: Record<string, unknown> = {}): void {
    if (!this.closedWith) this.ws.send(JSON.stringify({ id: this.nextId++, method, params }));
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.ws.terminate(); resolve(); }, 2_000);
      this.ws.once('close', () => { clearTimeout(timer); resolve(); });
      this.ws.close();
    });
  }

  private onMessage(text: string): void {
    let msg: { id?: number; result?: unknown; error?: { message: string } };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      return;
    }
    if (msg.id === undefined) {
      const m = msg as { method?: string; params?: Record<string, unknown> };
      if (m.method) this.listeners.get(m.method)?.(m.params ?? {});
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.error) p.reject(new ProfileError('failed', `inspector: ${msg.error.message}`));
    else p.resolve(msg.result);
  }

  private fail(err: Error): void {
    this.closedWith ??= err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(this.closedWith);
    }
    this.pending.clear();
  }
}
