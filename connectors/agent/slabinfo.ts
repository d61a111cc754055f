import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One slab cache as /proc/slabinfo lists it. */
export interface SlabCache {
  readonly name: string;
  /** Objects in use. */
  readonly activeObjects: number;
  /** Objects allocated, in use or free within their slabs. */
  readonly objects: number;
  /** Bytes per object. */
  readonly objectSize: number;
}

/**
 * Parses /proc/slabinfo (format 2.x, the only one since Linux 2.6):
 *
 *     slabinfo - version: 2.1
 *     # name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables ... : slabdata ...
 *     kmalloc-256   1893   2048    256   16    1 : tunables 0 0 0 : slabdata 128 128 0
 *
 * A line that does not have a name and three numbers is skipped: the kernel writes
 * this file, so a broken line is a kernel of another format, not data to keep.
 */
export function parseSlabinfo(text: string): SlabCache[] {
  const out: SlabCache[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith('#') || line.startsWith('slabinfo')) continue;
    const f = line.trim().split(/\s+/, 4);
    if (f.length < 4) continue;
    const active = Number(f[1]);
    const total = Number(f[2]);
    const size = Number(f[3]);
    if (!Number.isSafeInteger(active) || !Number.isSafeInteger(total) || !Number.isSafeInteger(size)) continue;
    out.push({ name: f[0]!, activeObjects: active, objects: total, objectSize: size });
  }
  return out;
}

/**
 * Whether the kernel frees a cache's objects under memory pressure. SLUB says so per
 * cache in /sys/kernel/slab/<name>/reclaim_account (the SLAB_RECLAIM_ACCOUNT flag:
 * dentries, inodes, ...). The answer never changes for a cache, so it is read once
 * per name; a cache without the file (SLAB allocator, no sysfs) counts as not
 * reclaimable, the side that makes growth worth a look.
 */
export class Reclaimability {
  private readonly known = new Map<string, boolean>();

  constructor(private readonly sysSlab: string) {}

  reclaimable(cache: string): boolean {
    let r = this.known.get(cache);
    if (r === undefined) {
      try {
        r = readFileSync(join(this.sysSlab, cache, 'reclaim_account'), 'latin1').trim() === '1';
      } catch {
        r = false;
      }
      // Bounded by the kernel's caches (a few hundred); a burst of new names (module loads) is dropped wholesale.
      if (this.known.size >= 4096) this.known.clear();
      this.known.set(cache, r);
    }
    return r;
  }
}
