import type { DiagnosisReport, Frame, MemoryPoint } from '../../../engine/diagnosis.js';
import { bytes } from '../../../engine/cli/format.js';

/** What the HTML and Markdown renderers both say, worded once. */

export function frameText(f: Frame): string {
  const where = f.file ? ` (${f.file}${f.line !== null ? `:${f.line}` : ''})` : '';
  return `${f.function}${where}`;
}

export function signedBytes(n: number): string {
  return n > 0 ? `+${bytes(n)}` : bytes(n);
}

export function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z') : '-';
}

export function title(r: DiagnosisReport): string {
  return `Memory leak diagnosis: ${r.target.process} (pid ${r.target.pid}) on ${r.target.host}`;
}

/** One sentence on the outcome, with the failure reason when there is one. */
export function verdict(r: DiagnosisReport): string {
  const top = r.stacks[0];
  if (r.outcome === 'localised' && top) {
    return `Most likely leaking: ${frameText(top.frames[0]!)}, which grew by ${signedBytes(top.growth_bytes)}.`;
  }
  if (r.outcome === 'failed') {
    const found = top ? ` Before that, the most grown stack was ${frameText(top.frames[0]!)}.` : '';
    return `Collection failed (${r.reason ?? 'unknown reason'}).${found}`;
  }
  return 'No stack grew between the snapshots: the leak could not be localised.';
}

/**
 * Growth of the memory outside the profiled heap, when the profiler reports it: a
 * leak there (Buffers, native addons) is invisible to the stacks.
 */
export function outsideHeapNote(memory: readonly MemoryPoint[]): string | null {
  const known = memory.filter((m) => typeof m.external === 'number' && typeof m.heap_used === 'number');
  if (known.length < 2) return null;
  const first = known[0]!;
  const last = known[known.length - 1]!;
  const external = last.external! - first.external!;
  const heap = last.heap_used! - first.heap_used!;
  const rssGrowth = last.rss - first.rss;
  let note = `Over the collection, RSS changed by ${signedBytes(rssGrowth)}, the JS heap by ${signedBytes(heap)} and memory outside it (Buffers, external) by ${signedBytes(external)}.`;
  if (external > 0 && external > heap) note += ' Most of the growth is outside the JS heap, which the heap profile does not see.';
  return note;
}

export function collected(r: DiagnosisReport): string {
  const minutes = (r.ended_at - r.started_at) / 60_000;
  const span = minutes >= 1 ? `${minutes.toFixed(1)} min` : `${((r.ended_at - r.started_at) / 1000).toFixed(0)} s`;
  return `${r.snapshots} snapshot${r.snapshots === 1 ? '' : 's'} over ${span} with the ${r.profiler} profiler, ${r.references} reference snapshot${r.references === 1 ? '' : 's'}`;
}
