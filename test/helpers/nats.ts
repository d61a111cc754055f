import { AckPolicy, connect, DeliverPolicy, type JetStreamManager, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { MISSING, NATS_SERVER_BIN, startNatsServer, type NatsServer } from './natsServer.js';

export { NATS_SERVER_BIN, startNatsServer, type NatsServer };

/**
 * Suites that need a real nats-server (test/helpers/natsServer.ts starts one).
 *
 * When the binary is missing, suites declared with `describeNats` are skipped with a
 * message that says so, except in CI (CI=true), where a missing server fails the run:
 * a green CI must mean the NATS tests ran.
 */

const IN_CI = process.env.CI === 'true';

/**
 * `describe` for suites that need nats-server: skipped with a reason when it is not
 * installed, a failing test in its place when that happens in CI.
 */
export function describeNats(name: string, fn: () => void): void {
  if (NATS_SERVER_BIN) {
    describe(name, fn);
  } else if (IN_CI) {
    describe(name, () => {
      it('needs nats-server', () => {
        throw new Error(`${MISSING} (CI=true: the NATS tests must run)`);
      });
    });
  } else {
    process.stderr.write(`[skipped] ${name}: ${MISSING}\n`);
    describe.skip(`${name} [skipped: ${MISSING}]`, fn);
  }
}

/**
 * One server for the enclosing describe block: started before its tests, stopped
 * and its store removed after. Read `server()` inside tests.
 */
export function useNatsServer(args: readonly string[] = []): () => NatsServer {
  let server: NatsServer | null = null;
  beforeAll(async () => {
    server = await startNatsServer(args);
  });
  afterAll(async () => {
    await server?.stop();
    server = null;
  });
  return () => {
    if (!server) throw new Error('nats-server is not running (useNatsServer() must be called inside describeNats)');
    return server;
  };
}

export interface NatsClient {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
}

/**
 * A client of the block's server and its JetStream manager: connected before the
 * block's tests, closed after. Read its fields inside tests.
 */
export function useNatsClient(server: () => NatsServer): NatsClient {
  const client = {} as { nc: NatsConnection; jsm: JetStreamManager };
  beforeAll(async () => {
    client.nc = await connect({ servers: server().url });
    client.jsm = await client.nc.jetstreamManager();
  });
  afterAll(async () => { await client.nc?.close(); });
  return client;
}

/** Every message on `subject` from now on, parsed as JSON, in arrival order; flush the connection before relying on it. */
export function collectJson<T>(nc: NatsConnection, subject: string): T[] {
  const out: T[] = [];
  nc.subscribe(subject, { callback: (err, m) => { if (!err) out.push(m.json<T>()); } });
  return out;
}

/** Every message a stream holds, in order, parsed as JSON (e.g. the alerts a de-duplicating stream stored). */
export async function storedJson<T>(nc: NatsConnection, jsm: JetStreamManager, stream: string): Promise<T[]> {
  const c = await jsm.consumers.add(stream, { ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
  const count = (await jsm.streams.info(stream)).state.messages;
  const out: T[] = [];
  if (count === 0) return out;
  const messages = await (await nc.jetstream().consumers.get(stream, c.name)).fetch({ max_messages: count, expires: 5000 });
  for await (const m of messages) {
    out.push(m.json<T>());
    if (out.length === count) break;
  }
  return out;
}
