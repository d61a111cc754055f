import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, found from this file both in the source tree and in dist/. */
export const PACKAGE_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

export const DEFAULT_PIPELINE = join(PACKAGE_ROOT, 'pipelines', 'resin.yaml');

/** A pipeline given by name ("nats") or path; names resolve to the shipped pipelines/. */
export function pipelinePath(given: string | undefined): string {
  if (!given) return process.env.RESIN_PIPELINE ? resolve(process.env.RESIN_PIPELINE) : DEFAULT_PIPELINE;
  if (!given.includes('/') && !given.includes('.')) return join(PACKAGE_ROOT, 'pipelines', `${given}.yaml`);
  return resolve(given);
}
