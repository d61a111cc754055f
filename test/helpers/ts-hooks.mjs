// Module hooks that let plain `node` run the TypeScript sources, so that integration
// tests can start the real CLI as a child process without building dist/ first.
// Imports keep their `.js` suffix (NodeNext); a `.js` inside the repository that does
// not exist is looked up as `.ts`. Transpilation only (no type check: that is
// `npm run typecheck`'s job), with the options of tsconfig.json that change output.
// Output is cached by path, size and modification time in the system's temporary
// directory: the compiler itself takes seconds to load, and tests start the CLI often.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../../', import.meta.url).href;
const CACHE = join(tmpdir(), `resin-ts-${createHash('sha1').update(ROOT).digest('hex').slice(0, 12)}`);

let compiler = null;
async function transpile(path, text) {
  compiler ??= import('typescript').then(({ default: ts }) => (source, fileName) => ts.transpileModule(source, {
    fileName,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true, inlineSourceMap: true },
  }).outputText);
  return (await compiler)(text, path);
}

export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent?.startsWith(ROOT) && !parent.includes('/node_modules/') && specifier.endsWith('.js')
    && (specifier.startsWith('./') || specifier.startsWith('../'))) {
    const url = new URL(specifier, parent);
    if (!existsSync(fileURLToPath(url))) {
      const tsUrl = new URL(url.href.slice(0, -3) + '.ts');
      if (existsSync(fileURLToPath(tsUrl))) return { url: tsUrl.href, format: 'module', shortCircuit: true };
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const path = fileURLToPath(url);
  const st = statSync(path);
  const key = createHash('sha1').update(`${path}\0${st.size}\0${st.mtimeMs}`).digest('hex');
  const cached = join(CACHE, `${key}.js`);
  if (existsSync(cached)) return { format: 'module', source: readFileSync(cached, 'utf8'), shortCircuit: true };
  const source = await transpile(path, readFileSync(path, 'utf8'));
  mkdirSync(CACHE, { recursive: true });
  // Written aside and renamed: parallel test workers may fill the cache at once.
  const tmp = `${cached}.${process.pid}.tmp`;
  writeFileSync(tmp, source);
  renameSync(tmp, cached);
  return { format: 'module', source, shortCircuit: true };
}
