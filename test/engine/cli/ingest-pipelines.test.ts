import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PACKAGE_ROOT } from '../../../engine/cli/paths.js';
import { main } from '../../../engine/cli/main.js';

afterEach(() => vi.restoreAllMocks());

async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => { out += String(s); return true; });
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => { out += String(s); return true; });
  try {
    return { code: await main(argv), out };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('shipped ingestion pipelines', () => {
  it.each(['otlp.yaml', 'prometheus.yaml'])('resin validate accepts pipelines/%s', async (file) => {
    const { code, out } = await cli('validate', join(PACKAGE_ROOT, 'pipelines', file));
    expect(out).toMatch(/valid \(7 nodes, 7 edges\)/);
    expect(code).toBe(0);
  });

  it('names the node and the field of a bad ingestion configuration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'resin-ingest-'));
    try {
      const path = join(dir, 'bad.yaml');
      writeFileSync(path, [
        'name: bad', 'nodes:',
        '  scrape:', '    type: prometheus', '    options: { presets: [statsd] }',
        '  otel:', '    type: otlp', '    options: { max_pending_rows: 0 }',
        '  sink:', '    type: discard', '    inputs: [scrape, otel]',
      ].join('\n'));
      const { code, out } = await cli('validate', path);
      expect(code).toBe(2);
      expect(out).toMatch(/scrape.*targets/);
      expect(out).toMatch(/scrape.*presets/);
      expect(out).toMatch(/otel.*max_pending_rows/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
