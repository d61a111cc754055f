import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ndjsonWriter } from '../../../connectors/ndjson/writer.js';

describe('ndjsonWriter', () => {
  const dirs: string[] = [];
  const file = (name: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'resin-ndjson-'));
    dirs.push(dir);
    return join(dir, name);
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('writes each line as it comes by default, truncating the file', () => {
    const path = file('out.ndjson');
    writeFileSync(path, 'old\n');
    const w = ndjsonWriter(path);
    w.write('{"a":1}');
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n');
    w.write('{"a":2}');
    w.close();
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
  });

  it('holds lines until a batch is full, and flushes the rest on close', () => {
    const path = file('out.ndjson');
    const w = ndjsonWriter(path, { batchLines: 3 });
    w.write('1');
    w.write('2');
    expect(readFileSync(path, 'utf8')).toBe('');
    w.write('3');
    expect(readFileSync(path, 'utf8')).toBe('1\n2\n3\n');
    w.write('4');
    w.close();
    expect(readFileSync(path, 'utf8')).toBe('1\n2\n3\n4\n');
  });

  it('appends when asked, so a trail survives a restart', () => {
    const path = file('audit.ndjson');
    for (const n of [1, 2]) {
      const w = ndjsonWriter(path, { append: true });
      w.write(String(n));
      w.close();
    }
    expect(readFileSync(path, 'utf8')).toBe('1\n2\n');
  });

  it('drops lines written after close instead of writing to a closed file', () => {
    const path = file('out.ndjson');
    const w = ndjsonWriter(path);
    w.close();
    expect(() => w.write('late')).not.toThrow();
    expect(readFileSync(path, 'utf8')).toBe('');
  });
});
