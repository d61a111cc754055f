import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';

/**
 * Where a process started with heap profiling writes its dumps:
 * - jemalloc (`MALLOC_CONF=prof:true,prof_prefix:P,lg_prof_interval:N`):
 *   `P.<pid>.<seq>.<i|m|f|u><iseq>.heap`, P defaulting to `jeprof` in the process's
 *   working directory;
 * - gperftools/tcmalloc (`HEAPPROFILE=P`): `P.<seq>.heap`, or `P_<pid>.<seq>.heap` in a
 *   child that inherited the variable.
 * A glob given by the user (`--profiles`) overrides both.
 */
export type AllocatorKind = 'jemalloc' | 'tcmalloc';

/** jemalloc reads its options from these variables (the second in prefixed builds). */
const JEMALLOC_CONF = ['MALLOC_CONF', '_RJEM_MALLOC_CONF'];

export interface DumpSource {
  /** Directory and a pattern on file names in it. */
  dir: string;
  pattern: RegExp;
  /** For messages: what was looked for. */
  describe: string;
}

export function jemallocConf(env: ReadonlyMap<string, string>): Map<string, string> | null {
  for (const name of JEMALLOC_CONF) {
    const value = env.get(name);
    if (value === undefined) continue;
    const conf = new Map<string, string>();
    for (const kv of value.split(',')) {
      const colon = kv.indexOf(':');
      if (colon > 0) conf.set(kv.slice(0, colon).trim(), kv.slice(colon + 1).trim());
    }
    return conf;
  }
  return null;
}

/** The dumps a target writes, from its environment; null when it was not started with profiling. */
export function dumpSource(kind: AllocatorKind, pid: number, env: ReadonlyMap<string, string>, cwd: string): DumpSource | null {
  if (kind === 'jemalloc') {
    const conf = jemallocConf(env);
    if (!conf || conf.get('prof') !== 'true') return null;
    const prefix = absolute(conf.get('prof_prefix') ?? 'jeprof', cwd);
    return {
      dir: dirname(prefix),
      pattern: new RegExp(`^${escape(basename(prefix))}\\.${pid}\\.\\d+\\.[imfu]\\d+\\.heap$`),
      describe: `${prefix}.${pid}.*.heap`,
    };
  }
  let heapProfile = env.get('HEAPPROFILE');
  if (!heapProfile) return null;
  // gperftools sets the first byte's high bit once it has read the variable, so that children add their pid.
  if (heapProfile.charCodeAt(0) >= 128) heapProfile = String.fromCharCode(heapProfile.charCodeAt(0) & 127) + heapProfile.slice(1);
  const prefix = absolute(heapProfile, cwd);
  return {
    dir: dirname(prefix),
    pattern: new RegExp(`^${escape(basename(prefix))}(_${pid})?\\.\\d+\\.heap$`),
    describe: `${prefix}.*.heap`,
  };
}

/** A user's glob: `*` and `?` in the file name only (e.g. /var/prof/app.*.heap). */
export function globSource(glob: string, cwd: string): DumpSource {
  const path = absolute(glob, cwd);
  const re = basename(path).split('').map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : escape(c))).join('');
  return { dir: dirname(path), pattern: new RegExp(`^${re}$`), describe: path };
}

/** Matching dumps, newest last: by modification time, then by the sequence numbers in the name. */
export function listDumps(source: DumpSource): { path: string; mtimeMs: number }[] {
  let names: string[];
  try {
    names = readdirSync(source.dir);
  } catch {
    return [];
  }
  const out: { path: string; mtimeMs: number; seq: number[] }[] = [];
  for (const name of names) {
    if (!source.pattern.test(name)) continue;
    const path = join(source.dir, name);
    try {
      out.push({ path, mtimeMs: statSync(path).mtimeMs, seq: (name.match(/\d+/g) ?? []).map(Number) });
    } catch {
      // Removed since the listing.
    }
  }
  out.sort((a, b) => a.mtimeMs - b.mtimeMs || compareSeq(a.seq, b.seq));
  return out.map(({ path, mtimeMs }) => ({ path, mtimeMs }));
}

function compareSeq(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function absolute(path: string, cwd: string): string {
  return isAbsolute(path) ? path : join(cwd, path);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
