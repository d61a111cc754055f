import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../engine/cli/paths.js';
import { cli } from '../helpers/cli.js';

/** Every definition shipped in pipelines/ and the benchmarks' own in bench/pipelines/. */
const files = ['pipelines', join('bench', 'pipelines')].flatMap((dir) =>
  readdirSync(join(PACKAGE_ROOT, dir)).filter((f) => f.endsWith('.yaml')).map((f) => join(dir, f)));

describe('pipeline definitions in the repository', () => {
  it('includes the benchmarks\' stage pipelines', () => {
    expect(files).toEqual(expect.arrayContaining([join('bench', 'pipelines', 'level1.yaml'), join('bench', 'pipelines', 'simulated-level1.yaml')]));
  });

  it.each(files)('resin validate accepts %s', async (file) => {
    const { code, out, err } = await cli('validate', join(PACKAGE_ROOT, file));
    expect(out + err).toMatch(/valid \(\d+ nodes, \d+ edges\)/);
    expect(code).toBe(0);
  });
});
