import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../../engine/cli/paths.js';
import { cli as run } from '../../helpers/cli.js';

/** The CLI's exit code and everything it wrote, stdout and stderr together. */
async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  const { code, out, err } = await run(...argv);
  return { code, out: out + err };
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
