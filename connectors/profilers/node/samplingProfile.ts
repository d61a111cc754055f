import type { Frame, StackSample } from '../../../engine/diagnosis.js';

/** HeapProfiler.SamplingHeapProfile as the inspector sends it. */
export interface SamplingHeapProfile {
  head: SamplingNode;
  samples?: { size: number; nodeId: number; ordinal: number }[];
}

export interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  /** Live bytes allocated by this frame itself, scaled by V8 from the samples. */
  selfSize: number;
  id: number;
  children: SamplingNode[];
}

/**
 * The sampled allocation tree as one stack per node that allocated: frames from the
 * node up to the root, innermost first. Counts are the samples still live at that
 * node; V8's `selfSize` is already scaled to estimated bytes.
 */
export function toStacks(profile: SamplingHeapProfile): StackSample[] {
  const counts = new Map<number, number>();
  for (const s of profile.samples ?? []) counts.set(s.nodeId, (counts.get(s.nodeId) ?? 0) + 1);

  const out: StackSample[] = [];
  const path: Frame[] = [];
  // Iterative walk: deep recursion in a target can give a tree deeper than our stack.
  const work: { node: SamplingNode; depth: number }[] = [{ node: profile.head, depth: 0 }];
  while (work.length > 0) {
    const { node, depth } = work.pop()!;
    path.length = depth;
    const isRoot = node === profile.head;
    if (!isRoot) path.push(toFrame(node.callFrame));
    if (node.selfSize > 0 && path.length > 0) {
      out.push({ frames: path.slice().reverse(), live_bytes: node.selfSize, count: counts.get(node.id) ?? 0 });
    }
    for (let i = node.children.length - 1; i >= 0; i--) work.push({ node: node.children[i]!, depth: path.length });
  }
  return out;
}

function toFrame(cf: SamplingNode['callFrame']): Frame {
  return {
    function: cf.functionName || '(anonymous)',
    file: cf.url ? cf.url.replace(/^file:\/\//, '') : null,
    // The inspector counts lines from 0; people and editors from 1.
    line: cf.lineNumber >= 0 ? cf.lineNumber + 1 : null,
  };
}
