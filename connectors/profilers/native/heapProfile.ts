/**
 * Heap profile dumps in the text formats of gperftools (`heap profile: ... @ heapprofile`
 * or `@ heap_v2/<rate>`) and jemalloc (`heap_v2/<rate>` with per-thread `t*:` lines).
 * Only two things are read here: the memory map written at the end of the dump, to
 * tell which frames belong to the allocator, and the jemalloc layout, which is
 * rewritten into the gperftools one so that a single symboliser (google-pprof) reads
 * both. Addresses are symbolised by pprof, never here.
 */

export interface Mapping {
  start: bigint;
  end: bigint;
  path: string;
}

export interface DumpText {
  /** The dump in the gperftools layout. */
  text: string;
  mappings: Mapping[];
  format: 'jemalloc' | 'gperftools';
}

const COUNTS = /^\s*t\*:\s*(\d+):\s*(\d+)\s*\[\s*(\d+):\s*(\d+)\s*\]/;

export function readDump(raw: string): DumpText {
  const mapAt = raw.indexOf('\nMAPPED_LIBRARIES:');
  const head = mapAt < 0 ? raw : raw.slice(0, mapAt);
  const maps = mapAt < 0 ? '' : raw.slice(mapAt + 1);
  const mappings = parseMappings(maps);
  if (raw.startsWith('heap profile:')) return { text: raw, mappings, format: 'gperftools' };
  if (!raw.startsWith('heap_v2/')) throw new Error('not a jemalloc or gperftools heap profile');

  const rate = head.slice('heap_v2/'.length, head.indexOf('\n')).trim();
  const lines = head.split('\n');
  const out: string[] = [];
  let total = '0: 0 [0: 0]';
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('@ ')) {
      // The first `t*:` after a stack is its total over every thread.
      const m = COUNTS.exec(lines[i + 1] ?? '');
      if (m) out.push(`${m[1]}: ${m[2]} [${m[3]}: ${m[4]}] ${line}`);
    } else if (out.length === 0) {
      const m = COUNTS.exec(line);
      if (m && total === '0: 0 [0: 0]') total = `${m[1]}: ${m[2]} [${m[3]}: ${m[4]}]`;
    }
  }
  const text = `heap profile: ${total} @ heap_v2/${rate}\n${out.join('\n')}\n\n${maps}`;
  return { text, mappings, format: 'jemalloc' };
}

function parseMappings(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+\S+\s+[0-9a-f]+\s+\S+\s+\d+\s+(\S.*)$/.exec(line);
    if (m) out.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), path: m[3]!.trim() });
  }
  return out;
}

/** Which allocator wrote a dump, from its first bytes. */
export function dumpKind(head: string): 'jemalloc' | 'tcmalloc' | null {
  if (head.startsWith('heap_v2/')) return 'jemalloc';
  if (head.startsWith('heap profile:')) return 'tcmalloc';
  return null;
}

/** The mapped file an address falls in, or null. */
export function objectAt(mappings: readonly Mapping[], address: bigint): string | null {
  for (const m of mappings) if (address >= m.start && address < m.end) return m.path;
  return null;
}

/** The program the dump was taken from: the first mapped file, which is the executable. */
export function programOf(mappings: readonly Mapping[]): string | null {
  return mappings.find((m) => m.path.startsWith('/'))?.path ?? null;
}
