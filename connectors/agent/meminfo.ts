/**
 * Kernel memory counters of /proc/meminfo the agent reports, each a whole-host figure
 * that grows when the kernel leaks: unreclaimable and reclaimable slab (together, the
 * total of every slab cache), vmalloc areas, per-CPU allocations and page tables.
 */
export const MEMINFO_COUNTERS = ['SUnreclaim', 'SReclaimable', 'VmallocUsed', 'Percpu', 'PageTables'] as const;
export type MeminfoCounter = (typeof MEMINFO_COUNTERS)[number];

/** Counters the kernel frees under pressure. */
export const RECLAIMABLE_COUNTERS: ReadonlySet<string> = new Set<MeminfoCounter>(['SReclaimable']);

/**
 * Values in bytes of `wanted` keys of /proc/meminfo (`Key:   1234 kB`), and
 * `MemTotal`. A key the kernel does not have (Percpu before 4.16) is left out.
 */
export function parseMeminfo(text: string, wanted: readonly string[] = MEMINFO_COUNTERS): Map<string, number> {
  const keys = new Set([...wanted, 'MemTotal']);
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    if (!keys.has(key)) continue;
    const m = /^\s*(\d+)(?:\s+kB)?\s*$/.exec(line.slice(colon + 1));
    if (m === null) continue;
    // Every memory line is in kB (KiB); the few without a unit are page counts we do not ask for.
    out.set(key, Number(m[1]) * (line.endsWith('kB') ? 1024 : 1));
  }
  return out;
}
