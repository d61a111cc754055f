import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './http.js';

/**
 * A real nats-server for integration tests and benchmarks: JetStream on, bound to a
 * free loopback port, storing into a temporary directory that is removed when it
 * stops. No test framework here, so that benchmarks can start one too (test suites
 * use test/helpers/nats.ts).
 */

function findBinary(): string | null {
  const explicit = process.env.NATS_SERVER;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin'];
  const candidates = explicit ? [explicit] : dirs.filter(Boolean).map((d) => join(d, 'nats-server'));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

export const NATS_SERVER_BIN = findBinary();
export const MISSING = 'nats-server not found (PATH, /usr/sbin; or set NATS_SERVER): install the Debian package "nats-server"';

export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** JetStream store directory. */
  readonly dir: string;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its store. */
  stop(): Promise<void>;
  /** Stops the server but keeps its store, for tests of a server outage; `restart` brings it back. */
  pause(): Promise<void>;
  restart(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function launch(bin: string, port: number, dir: string, args: readonly string[]): Promise<ChildProcess> {
  const child = spawn(bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => { if (log.length < 64 * 1024) log += d.toString(); });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with code ${child.exitCode}:\n${log}`);
    if (await accepts(port)) return child;
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`nats-server did not accept connections on port ${port} within 10 s:\n${log}`);
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited(child);
  clearTimeout(timer);
}

/** Starts a server, with extra command-line flags (e.g. `--auth TOKEN`); throws when the binary is missing. */
export async function startNatsServer(args: readonly string[] = []): Promise<NatsServer> {
  if (!NATS_SERVER_BIN) throw new Error(MISSING);
  const bin = NATS_SERVER_BIN;
  const dir = mkdtempSync(join(tmpdir(), 'resin-nats-'));
  let port = 0;
  let child: ChildProcess | null = null;
  // Another process may take the port between probing and binding: try a few.
  for (let attempt = 0; child === null; attempt++) {
    port = await freePort();
    try {
      child = await launch(bin, port, dir, args);
    } catch (err) {
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  const onExit = () => child?.kill('SIGKILL');
  process.once('exit', onExit);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    dir,
    async stop() {
      process.off('exit', onExit);
      if (child) await kill(child);
      child = null;
      rmSync(dir, { recursive: true, force: true });
    },
    async pause() {
      if (child) await kill(child);
      child = null;
    },
    async restart() {
      if (child) return;
      child = await launch(bin, port, dir, args);
    },
  };
}
