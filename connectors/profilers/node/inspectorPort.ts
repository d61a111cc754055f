import { request } from 'node:http';
import { ProfileError } from '../../../engine/diagnosis.js';
import { cmdline, environ, listeners } from '../proc.js';

/** Where a Node.js process opens its inspector when signalled (`--inspect-port`, default 127.0.0.1:9229). */
export interface InspectorAddress {
  host: string;
  port: number;
}

const FLAGS = ['--inspect-port', '--debug-port', '--inspect', '--inspect-brk', '--inspect-wait'];

/** The address from the target's command line, then NODE_OPTIONS, the last one winning as in Node. */
export function inspectorAddress(pid: number): InspectorAddress {
  const args = cmdline(pid);
  // NODE_OPTIONS comes before the command line, which overrides it.
  const fromEnv = (environ(pid).get('NODE_OPTIONS') ?? '').split(/\s+/).filter(Boolean);
  let addr: InspectorAddress = { host: '127.0.0.1', port: 9229 };
  for (const list of [fromEnv, args]) {
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!;
      if (a === '--') break;
      const eq = a.indexOf('=');
      const flag = eq < 0 ? a : a.slice(0, eq);
      if (!FLAGS.includes(flag)) continue;
      // Only --inspect-port/--debug-port take a separate value; --inspect takes one only after "=".
      const value = eq >= 0 ? a.slice(eq + 1) : flag === '--inspect-port' || flag === '--debug-port' ? list[++i] : undefined;
      if (value !== undefined) addr = parseHostPort(value, addr);
    }
  }
  return addr;
}

function parseHostPort(value: string, current: InspectorAddress): InspectorAddress {
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d+)$/.exec(value);
  if (m) return { host: m[1] || current.host, port: Number(m[2]) };
  return { host: value, port: current.port };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Whether any process in our network namespace listens where the inspector would. */
export function portTaken(port: number): boolean {
  return listeners('self').some((l) => l.port === port && (isLoopback(l.address) || l.address === '0.0.0.0' || l.address === '::'));
}

/** The WebSocket URL of a DevTools target (of `type`, if given) from the /json/list endpoint on `port`. */
export function debuggerUrl(port: number, timeoutMs: number, type?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // No keep-alive agent: a pooled socket would outlive the inspector we close.
    const req = request({ host: '127.0.0.1', port, path: '/json/list', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => {
        try {
          const list = JSON.parse(body) as { type?: string; webSocketDebuggerUrl?: string }[];
          const url = list.find((t) => t.webSocketDebuggerUrl && (type === undefined || t.type === type))?.webSocketDebuggerUrl;
          if (url) resolve(url);
          else reject(new ProfileError('failed', `the inspector on port ${port} lists no debugging target`));
        } catch {
          reject(new ProfileError('port-taken', `port ${port} does not answer as a Node.js inspector`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new ProfileError('timeout', `the inspector on port ${port} did not answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(err instanceof ProfileError ? err : new ProfileError('failed', `inspector on port ${port}: ${err.message}`, { cause: err })));
    req.end();
  });
}
