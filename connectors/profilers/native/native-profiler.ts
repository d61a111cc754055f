import { open, readFile } from 'node:fs/promises';
import {
  ProfileError, type Frame, type HeapSnapshot, type ProfileTarget, type Profiler, type ProfilerSession, type StackSample,
} from '../../../engine/diagnosis.js';
import { assertAlive, assertLocal, cwd, environ, exePath, isAlive, rss, toProfileError } from '../proc.js';
import { dumpSource, globSource, listDumps, type AllocatorKind, type DumpSource } from './dumps.js';
import { dumpKind, objectAt, programOf, readDump, type Mapping } from './heapProfile.js';
import { pprofStacks, type PprofStack } from './pprof.js';

export interface NativeProfilerOptions {
  /** The name this host's agent reports, when set with `resin agent --host` (default: the hostname). */
  host?: string;
  /** Dumps to read instead of those the target's environment names (a glob on file names). */
  profiles?: string | null;
  /** Symboliser (default google-pprof, from Debian's google-perftools). */
  pprof?: string;
  /** How long a snapshot waits for the target's first dump. */
  firstDumpTimeoutMs?: number;
}

/** Files of the allocator or of a profiler preloaded into the target. */
const ALLOCATOR_OBJECT = /\/lib(jemalloc|tcmalloc[a-z_]*|profiler)\.so/;
/** Allocation entry points and allocator internals, by name, for statically linked allocators. */
const ALLOCATOR_FUNCTION = new RegExp('^(' + [
  'malloc', 'calloc', 'realloc', 'reallocarray', 'free', 'valloc', 'pvalloc', 'memalign', 'posix_memalign',
  'aligned_alloc', 'malloc_usable_size', 'mallocx', 'rallocx', 'xallocx', 'sallocx', 'nallocx',
  'je_.*', '_rjem_.*', 'prof_.*', 'imalloc.*', 'ialloc.*', 'irealloc.*', 'arena_.*', 'tcache_.*',
  'tc_.*', 'tcmalloc::.*', '\\(anonymous namespace\\)::do_.*', 'MallocHook.*', 'HeapProfileTable.*',
  '__libc_(malloc|calloc|realloc|memalign)', 'operator new.*', 'operator new\\[\\].*',
].join('|') + ')(\\(.*\\))?$');

/**
 * Native processes started with jemalloc or gperftools heap profiling: each snapshot is
 * the newest dump the process wrote, symbolised by google-pprof. Nothing is injected
 * into the target; attaching live to a process started without profiling is not done
 * (docs/diagnosis.md says why).
 */
export class NativeProfiler implements Profiler {
  constructor(readonly kind: AllocatorKind, private readonly options: NativeProfilerOptions = {}) {}

  async accepts(target: ProfileTarget): Promise<boolean> {
    assertLocal(target, this.options.host);
    try {
      const source = this.source(target.pid);
      if (!source) return false;
      // Dumps named by a glob say themselves which allocator wrote them.
      const newest = this.options.profiles ? listDumps(source).pop() : undefined;
      return newest === undefined || dumpKind(await readHead(newest.path)) === this.kind;
    } catch {
      return false;
    }
  }

  /** Where the target's dumps are; throws `permission` when its environment cannot be read. */
  private source(pid: number): DumpSource | null {
    if (this.options.profiles) return globSource(this.options.profiles, process.cwd());
    return dumpSource(this.kind, pid, environ(pid), cwd(pid));
  }

  async open(target: ProfileTarget, signal: AbortSignal): Promise<ProfilerSession> {
    try {
      assertAlive(target.pid);
      const source = this.source(target.pid);
      if (!source) {
        throw new ProfileError('unsupported', this.kind === 'jemalloc'
          ? `process ${target.pid} was not started with jemalloc profiling (MALLOC_CONF=prof:true,...)`
          : `process ${target.pid} was not started with tcmalloc heap profiling (HEAPPROFILE=...)`);
      }
      return new NativeSession(target.pid, source, this.options, signal);
    } catch (err) {
      throw toProfileError(err, target.pid, 'heap profile setup');
    }
  }
}

class NativeSession implements ProfilerSession {
  private closed = false;
  private last: { path: string; snapshot: HeapSnapshot } | null = null;

  constructor(
    private readonly pid: number,
    private readonly source: DumpSource,
    private readonly options: NativeProfilerOptions,
    private readonly signal: AbortSignal,
  ) {}

  async snapshot(): Promise<HeapSnapshot> {
    if (this.closed) throw new ProfileError('failed', 'the session is closed');
    assertAlive(this.pid);
    const dump = await this.newestDump();
    // The process has not dumped again since: the heap as last seen, with today's memory.
    if (this.last?.path === dump.path) return { ...this.last.snapshot, memory: this.memory() };
    let raw: string;
    try {
      raw = await readFile(dump.path, 'utf8');
    } catch (err) {
      throw toProfileError(err, this.pid, `heap profile ${dump.path}`);
    }
    let parsed;
    try {
      parsed = readDump(raw);
    } catch (err) {
      throw new ProfileError('failed', `${dump.path}: ${(err as Error).message}`);
    }
    const program = (isAlive(this.pid) ? exePath(this.pid) : null) ?? programOf(parsed.mappings);
    if (!program) throw new ProfileError('failed', `${dump.path} names no program to symbolise against`);
    const pprof = this.options.pprof ?? 'google-pprof';
    const [bytes, objects] = await Promise.all([
      pprofStacks(pprof, program, parsed.text, false),
      pprofStacks(pprof, program, parsed.text, true),
    ]);
    const snapshot: HeapSnapshot = { at: dump.mtimeMs, stacks: toSamples(bytes, objects, parsed.mappings), memory: this.memory() };
    this.last = { path: dump.path, snapshot };
    return snapshot;
  }

  private async newestDump(): Promise<{ path: string; mtimeMs: number }> {
    const deadline = Date.now() + (this.options.firstDumpTimeoutMs ?? 30_000);
    for (;;) {
      const dumps = listDumps(this.source);
      if (dumps.length > 0) return dumps[dumps.length - 1]!;
      if (Date.now() >= deadline || this.signal.aborted) {
        throw new ProfileError('unsupported', `no heap profile dump found at ${this.source.describe}`);
      }
      await new Promise((r) => setTimeout(r, 250));
      assertAlive(this.pid);
    }
  }

  private memory(): HeapSnapshot['memory'] {
    try {
      const bytes = rss(this.pid);
      return bytes === null ? null : { rss: bytes, heap_used: null, external: null, array_buffers: null };
    } catch {
      return null;
    }
  }

  /** Nothing was attached: the dumps are the target's own. */
  async close(): Promise<void> {
    this.closed = true;
  }
}

async function readHead(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64);
    const { bytesRead } = await fh.read(buf, 0, 64, 0);
    return buf.toString('latin1', 0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Joins the byte and object runs of pprof by their addresses, and drops allocator frames. */
export function toSamples(bytes: PprofStack[], objects: PprofStack[], mappings: readonly Mapping[]): StackSample[] {
  const counts = new Map<string, number>();
  for (const s of objects) {
    const key = s.frames.map((f) => f.address.toString(16)).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + s.value);
  }
  const out: StackSample[] = [];
  for (const s of bytes) {
    const key = s.frames.map((f) => f.address.toString(16)).join(' ');
    let first = 0;
    while (first < s.frames.length && isAllocatorFrame(s.frames[first]!, mappings)) first++;
    const frames: Frame[] = s.frames.slice(first).map((f) => ({ function: f.function, file: f.file, line: f.line }));
    if (frames.length === 0) continue;
    out.push({ frames, live_bytes: Math.round(s.value), count: Math.round(counts.get(key) ?? 0) });
  }
  return out;
}

function isAllocatorFrame(f: { address: bigint; function: string }, mappings: readonly Mapping[]): boolean {
  const object = objectAt(mappings, f.address);
  return (object !== null && ALLOCATOR_OBJECT.test(object)) || ALLOCATOR_FUNCTION.test(f.function);
}
