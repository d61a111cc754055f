import { readFileSync } from 'node:fs';
import {
  connect, credsAuthenticator, nkeyAuthenticator, nkeys, type ConnectionOptions, type NatsConnection,
} from 'nats';
import { SourceError } from '../../engine/errors.js';
import type { OptionsSchema } from '../../engine/spec.js';

/** How a node reaches NATS, as written in a pipeline definition (and by `resin agent` flags). */
export interface NatsConnectionOptions {
  /** One URL or several (a cluster); default nats://127.0.0.1:4222. */
  servers: string | string[];
  /** Client name shown by the server's monitoring. */
  name?: string;
  token?: string;
  user?: string;
  password?: string;
  /** A user nkey seed (`SU...`), or a file holding one. */
  nkey_seed?: string;
  nkey_seed_file?: string;
  /** A `.creds` file (JWT and seed) from `nsc`. */
  creds_file?: string;
  /** PEM files; `cert` and `key` come together (mutual TLS). An empty map asks for TLS with the system CAs. */
  tls?: { ca?: string; cert?: string; key?: string };
}

/** JSON Schema properties of the connection options, spread into each NATS node's schema. */
export const CONNECTION_PROPERTIES: Record<string, OptionsSchema> = {
  servers: {
    type: ['string', 'array'],
    default: 'nats://127.0.0.1:4222',
    description: 'server URL or list of URLs',
    anyOf: [
      { type: 'string', minLength: 1 },
      { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    ],
  },
  name: { type: 'string', minLength: 1, description: 'client name shown by the server' },
  token: { type: 'string', minLength: 1, description: 'token authentication' },
  user: { type: 'string', minLength: 1, description: 'user name (with password)' },
  password: { type: 'string', description: 'password (with user)' },
  nkey_seed: { type: 'string', minLength: 1, description: 'user nkey seed (SU...)' },
  nkey_seed_file: { type: 'string', minLength: 1, description: 'file holding a user nkey seed' },
  creds_file: { type: 'string', minLength: 1, description: 'NATS credentials file (JWT + seed)' },
  tls: {
    type: 'object',
    additionalProperties: false,
    description: 'TLS: CA bundle, client certificate and key (PEM files)',
    properties: {
      ca: { type: 'string', minLength: 1 },
      cert: { type: 'string', minLength: 1 },
      key: { type: 'string', minLength: 1 },
    },
  },
};

function readFile(field: string, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`"${field}": cannot read "${path}"${code ? ` (${code})` : ''}`, { cause: err });
  }
}

/**
 * The nats.js options for a connection, checked now so that a wrong credential setup
 * fails when the node is built: one authentication method at most, user and password
 * together, a seed that decodes, files that can be read.
 */
export function connectionOptions(o: NatsConnectionOptions, defaultName: string): ConnectionOptions {
  const methods = (['token', 'user', 'nkey_seed', 'nkey_seed_file', 'creds_file'] as const).filter((k) => o[k] !== undefined);
  if (methods.length > 1) throw new Error(`use one authentication method, got ${methods.map((m) => `"${m}"`).join(' and ')}`);
  if (o.password !== undefined && o.user === undefined) throw new Error('"password" needs "user"');
  if (o.user !== undefined && o.password === undefined) throw new Error('"user" needs "password"');

  const opts: ConnectionOptions = {
    servers: o.servers,
    name: o.name ?? defaultName,
    // Once connected, ride out server restarts: the client reconnects for as long as it runs.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
  };
  if (o.token !== undefined) opts.token = o.token;
  if (o.user !== undefined) {
    opts.user = o.user;
    opts.pass = o.password;
  }
  const seedText = o.nkey_seed ?? (o.nkey_seed_file !== undefined ? new TextDecoder().decode(readFile('nkey_seed_file', o.nkey_seed_file)).trim() : undefined);
  if (seedText !== undefined) {
    const seed = new TextEncoder().encode(seedText);
    try {
      nkeys.fromSeed(seed);
    } catch (err) {
      throw new Error(`"${o.nkey_seed !== undefined ? 'nkey_seed' : 'nkey_seed_file'}" is not an nkey seed: ${(err as Error).message}`);
    }
    opts.authenticator = nkeyAuthenticator(seed);
  }
  if (o.creds_file !== undefined) opts.authenticator = credsAuthenticator(readFile('creds_file', o.creds_file));
  if (o.tls !== undefined) {
    if ((o.tls.cert === undefined) !== (o.tls.key === undefined)) throw new Error('"tls.cert" and "tls.key" come together');
    // Read now: a missing file is a configuration error, not a connection failure later.
    const tls: NonNullable<ConnectionOptions['tls']> = {};
    if (o.tls.ca !== undefined) tls.ca = new TextDecoder().decode(readFile('tls.ca', o.tls.ca));
    if (o.tls.cert !== undefined) tls.cert = new TextDecoder().decode(readFile('tls.cert', o.tls.cert));
    if (o.tls.key !== undefined) tls.key = new TextDecoder().decode(readFile('tls.key', o.tls.key));
    opts.tls = tls;
  }
  return opts;
}

export function describeServers(servers: string | string[]): string {
  return Array.isArray(servers) ? servers.join(',') : servers;
}

/** Connects, turning a refusal into a SourceError that names the servers. */
export async function openConnection(opts: ConnectionOptions): Promise<NatsConnection> {
  try {
    return await connect(opts);
  } catch (err) {
    throw new SourceError(`cannot connect to NATS at ${describeServers(opts.servers ?? '')}: ${(err as Error).message}`, { cause: err });
  }
}
