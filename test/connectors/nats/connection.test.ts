import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys } from 'nats';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionOptions, openConnection } from '../../../connectors/nats/connection.js';
import { SourceError } from '../../../engine/errors.js';
import { describeNats, useNatsServer } from '../../helpers/nats.js';

const dir = mkdtempSync(join(tmpdir(), 'resin-conn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('NATS connection options', () => {
  it('reads files and checks credentials when built', () => {
    const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
    const seedFile = join(dir, 'user.nk');
    writeFileSync(seedFile, `${seed}\n`);
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
    const o = connectionOptions({ servers: ['nats://a:4222', 'nats://b:4222'], nkey_seed_file: seedFile, tls: { ca } }, 'resin x');
    expect(o.servers).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(o.name).toBe('resin x');
    expect(typeof o.authenticator).toBe('function');
    expect(o.tls).toEqual({ ca: '-----BEGIN CERTIFICATE-----\n' });
    expect(o.maxReconnectAttempts).toBe(-1);
    expect(() => connectionOptions({ servers: 'x', nkey_seed: seed.slice(0, -3) }, 'n')).toThrow(/"nkey_seed" is not an nkey seed/);
    expect(() => connectionOptions({ servers: 'x', password: 'p' }, 'n')).toThrow(/"password" needs "user"/);
    expect(() => connectionOptions({ servers: 'x', creds_file: join(dir, 'none') }, 'n')).toThrow(/creds_file.*ENOENT/);
  });
});

describeNats('NATS connection against a server that wants a token', () => {
  const server = useNatsServer(['--auth', 's3cret']);

  it('connects with the token and fails with a SourceError naming the server without it', async () => {
    const nc = await openConnection(connectionOptions({ servers: server().url, token: 's3cret' }, 'test'));
    await nc.close();
    const refused = openConnection({ ...connectionOptions({ servers: server().url, token: 'wrong' }, 'test'), maxReconnectAttempts: 0 });
    await expect(refused).rejects.toThrow(SourceError);
    await expect(refused).rejects.toThrow(new RegExp(`cannot connect to NATS at ${server().url}`));
  });
});
