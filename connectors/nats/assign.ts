import { stableHash } from '../../engine/alertBook.js';

/**
 * Which live instance should hold each partition: rendezvous (highest random weight)
 * hashing, with floor(partitions / instances) each and one more for as many as the
 * division leaves over. Every instance computes it
 * from the same list of members and gets the same answer, so no instance has to tell
 * another what to do; when one leaves, only its partitions (and the few the cap moves)
 * change hands, and when it comes back it gets the same ones again.
 *
 * Returns, for each partition, the member that should hold it.
 */
export function assignPartitions(count: number, members: readonly string[]): string[] {
  const live = [...new Set(members)].sort();
  if (live.length === 0) return [];
  const floor = Math.floor(count / live.length);
  let extra = count % live.length;
  const load = new Map(live.map((m) => [m, 0]));
  const owner: string[] = new Array(count);
  // Partitions in a fixed order; each goes to its best-scoring member with room left.
  for (let p = 0; p < count; p++) {
    const ranked = live.map((m) => ({ m, score: weight(m, p) })).sort((a, b) => b.score - a.score || (a.m < b.m ? -1 : 1));
    const pick = ranked.find((r) => load.get(r.m)! < floor || (load.get(r.m) === floor && extra > 0))!;
    if (load.get(pick.m) === floor) extra--;
    owner[p] = pick.m;
    load.set(pick.m, load.get(pick.m)! + 1);
  }
  return owner;
}

function weight(member: string, p: number): number {
  return parseInt(stableHash(`${member}\u0000${p}`), 16);
}
