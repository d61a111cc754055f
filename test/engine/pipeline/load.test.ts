import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, UsageError } from '../../../engine/errors.js';
import { compile } from '../../../engine/pipeline/compile.js';
import { loadDefinition, parseDefinition } from '../../../engine/pipeline/load.js';
import { fakeRegistry, validDefinition } from './fakes.js';

const dir = mkdtempSync(join(tmpdir(), 'resin-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const YAML_TEXT = `name: fleet
description: level-1 detection
nodes:
  samples:
    type: simulator
    options: { hosts: 3 }
  hourly:
    type: rollup
    inputs: [samples]
    options:
      lateness: 20m
  buckets: { type: bucketize, inputs: [hourly] }
  detect:
    type: bucket-detect
    inputs: [buckets]
    options: { size_mb: 200, score: 40 }
  alerts: { type: alert-log, inputs: [detect] }
  store: { type: rollup-store, inputs: [hourly] }
`;

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadDefinition', () => {
  it('reads YAML into the same definition as the code form', async () => {
    const path = join(dir, 'fleet.yaml');
    writeFileSync(path, YAML_TEXT);
    const loaded = await loadDefinition(path);
    expect(loaded.file).toBe(path);
    expect(loaded.definition).toEqual(validDefinition());
    expect(compile(loaded.definition, fakeRegistry(), loaded.file).hash).toBe(compile(validDefinition(), fakeRegistry()).hash);
  });

  it('reads JSON', async () => {
    const path = join(dir, 'fleet.json');
    writeFileSync(path, JSON.stringify(validDefinition(), null, 2));
    expect((await loadDefinition(path)).definition).toEqual(validDefinition());
  });

  it('reports an unreadable file as a usage error', async () => {
    await expect(loadDefinition(join(dir, 'missing.yaml'))).rejects.toThrow(UsageError);
  });

  it('reports YAML syntax errors with line and column, naming the file', async () => {
    const path = join(dir, 'broken.yaml');
    // Line 5 opens a flow map that the next line never closes.
    writeFileSync(path, YAML_TEXT.replace('options: { hosts: 3 }', 'options: { hosts: 3'));
    const error = await loadDefinition(path).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.file).toBe(path);
    expect(e.issues.length).toBeGreaterThanOrEqual(1);
    expect(e.issues[0]!.message).toMatch(/^line 7, column 3: /);
    expect(e.message).toContain(`${path} has`);
  });
});

describe('parseDefinition', () => {
  it('locates a duplicate key', () => {
    const e = configError(() => parseDefinition('name: a\nnodes: {}\nname: b\n', 'p.yaml'));
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]!.message).toMatch(/^line 3, column 1: Map keys must be unique/);
  });

  it('reports every syntax error, not just the first', () => {
    const e = configError(() => parseDefinition('a: 1\n  b: 2\n'));
    expect(e.issues.length).toBeGreaterThan(1);
    for (const issue of e.issues) expect(issue.message).toMatch(/^line \d+, column \d+: /);
  });

  it('reports an alias to an undefined anchor', () => {
    const e = configError(() => parseDefinition('name: a\nnodes: *missing\n'));
    expect(e.issues[0]!.message).toMatch(/alias/i);
  });

  it('keeps YAML 1.2 scalars as written and leaves shape checks to compile', () => {
    expect(parseDefinition('a: no\nb: 10m\nc: 0600\nd: 1.5\n')).toEqual({ a: 'no', b: '10m', c: 600, d: 1.5 });
    expect(parseDefinition('')).toBeNull();
  });
});
