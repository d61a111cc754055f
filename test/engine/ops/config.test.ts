import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../../engine/cli/main.js';
import { ConfigError, UsageError } from '../../../engine/errors.js';
import { defaultRegistry } from '../../../engine/nodes.js';
import { parseHttpAddress } from '../../../engine/ops/address.js';
import { resolveRunConfig } from '../../../engine/ops/config.js';
import { compile } from '../../../engine/pipeline/compile.js';

const nodes = {
  src: { type: 'simulator', options: { hosts: 2, days: 1 } },
  out: { type: 'discard', inputs: ['src'] },
};

describe('--http addresses', () => {
  it('reads host:port, [ipv6]:port, :port and off', () => {
    expect(parseHttpAddress('127.0.0.1:9477')).toEqual({ host: '127.0.0.1', port: 9477 });
    expect(parseHttpAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseHttpAddress('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseHttpAddress(':9477')).toEqual({ host: '0.0.0.0', port: 9477 });
    expect(parseHttpAddress('off')).toBeNull();
  });

  it('refuses what it cannot listen on, quoting it', () => {
    for (const bad of ['9477', 'host', 'host:', 'host:70000', '::1:80', 'a b:1']) {
      expect(() => parseHttpAddress(bad), bad).toThrow(`"${bad}" is not an address`);
    }
  });
});

describe('resin run settings', () => {
  it('uses the defaults when nothing is given', () => {
    const c = resolveRunConfig({ flags: {}, env: {} });
    expect(c).toEqual({
      state: resolve('data/resin.duckdb'), stateMemory: '1GB', deadLetter: resolve('data/rejected.ndjson'),
      http: { host: '127.0.0.1', port: 9477 }, drainTimeoutMs: 30_000, checkpointEveryMs: 60_000,
      logFormat: 'text', logLevel: 'info', instance: hostname(),
    });
  });

  it('names the instance from --instance, RESIN_INSTANCE or run.instance, and refuses a name a KV key cannot hold', () => {
    expect(resolveRunConfig({ flags: { instance: 'a' }, env: { RESIN_INSTANCE: 'b' }, file: { instance: 'c' } }).instance).toBe('a');
    expect(resolveRunConfig({ flags: {}, env: { RESIN_INSTANCE: 'b' }, file: { instance: 'c' } }).instance).toBe('b');
    expect(resolveRunConfig({ flags: {}, env: {}, file: { instance: 'node-3.eu' } }).instance).toBe('node-3.eu');
    expect(() => resolveRunConfig({ flags: { instance: 'a b' }, env: {} })).toThrow(/--instance: instance name must be letters/);
    expect(() => resolveRunConfig({ flags: {}, env: { RESIN_INSTANCE: '.a' } })).toThrow(/RESIN_INSTANCE: instance name/);
  });

  it('takes a flag over the environment over the pipeline file over the default, field by field', () => {
    const file = { state: '/f/state.duckdb', http: ':1111', drain_timeout: '5s', log_format: 'json' as const, checkpoint_every: 1500 };
    const env = { RESIN_HTTP: '127.0.0.1:2222', RESIN_DRAIN_TIMEOUT: '7s', RESIN_LOG_LEVEL: 'debug', RESIN_STATE: '' };
    const flags = { http: 'off', 'log-level': 'warn' };
    const c = resolveRunConfig({ flags, env, file });
    expect(c.http).toBeNull(); // flag
    expect(c.logLevel).toBe('warn'); // flag over env
    expect(c.drainTimeoutMs).toBe(7000); // env over file
    expect(c.state).toBe('/f/state.duckdb'); // file (an empty variable counts as unset)
    expect(c.logFormat).toBe('json'); // file
    expect(c.checkpointEveryMs).toBe(1500); // file, a number of ms
    expect(c.deadLetter).toBe(resolve('data/rejected.ndjson')); // default
    expect(resolveRunConfig({ flags: {}, env, file }).http).toEqual({ host: '127.0.0.1', port: 2222 });
    expect(resolveRunConfig({ flags: {}, env: {}, file }).http).toEqual({ host: '0.0.0.0', port: 1111 });
  });

  it('says which source a bad value came from', () => {
    const bad = (src: Parameters<typeof resolveRunConfig>[0]) => () => resolveRunConfig(src);
    expect(bad({ flags: { 'drain-timeout': 'soon' }, env: {} })).toThrow(/--drain-timeout: "soon" is not a duration/);
    expect(bad({ flags: {}, env: { RESIN_HTTP: 'nowhere' } })).toThrow(/RESIN_HTTP: "nowhere" is not an address/);
    expect(bad({ flags: {}, env: {}, file: { log_level: 'loud' as never } })).toThrow(/run.log_level in the pipeline file: log level must be/);
    expect(bad({ flags: { 'log-format': 'xml' }, env: {} })).toThrow(UsageError);
    expect(bad({ flags: {}, env: { RESIN_STATE_MEMORY: 'lots' } })).toThrow(/RESIN_STATE_MEMORY: "lots" is not a memory size/);
    expect(resolveRunConfig({ flags: { 'state-memory': '2GB' }, env: { RESIN_STATE_MEMORY: '1GB' } }).stateMemory).toBe('2GB');
  });

  it('makes `resin run` exit 2 with the message before anything starts', async () => {
    let err = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s) => { err += String(s); return true; });
    vi.stubEnv('RESIN_HTTP', 'localhost');
    try {
      expect(await main(['run', '--pipeline', 'passthrough'])).toBe(2);
    } finally {
      spy.mockRestore();
      vi.unstubAllEnvs();
    }
    expect(err).toMatch(/RESIN_HTTP: "localhost" is not an address to listen on/);
    expect(err).toMatch(/Usage: resin run/);
  });
});

describe('the run: section of a pipeline definition', () => {
  it('is carried into the compiled graph, checked, and left out of the hash', () => {
    const plain = compile({ name: 'p', nodes }, defaultRegistry());
    const withRun = compile({ name: 'p', nodes, run: { http: ':9000', drain_timeout: '10s' } }, defaultRegistry());
    expect(withRun.run).toEqual({ http: ':9000', drain_timeout: '10s' });
    expect(plain.run).toBeUndefined();
    expect(withRun.hash).toBe(plain.hash);
  });

  it('reports unknown and malformed settings with the rest of the definition\'s errors', () => {
    let err: unknown;
    try {
      compile({ name: 'p', nodes, run: { htp: ':9000', drain_timeout: 'later' } }, defaultRegistry());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const fields = (err as ConfigError).issues.map((i) => `${i.field}: ${i.message}`);
    expect(fields).toEqual(expect.arrayContaining([
      expect.stringMatching(/^run\.htp: unknown option.*did you mean "http"/),
      expect.stringMatching(/^run\.drain_timeout: must be a duration/),
    ]));
  });
});
