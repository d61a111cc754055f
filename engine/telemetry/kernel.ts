/**
 * Kernel memory in the sample schema (docs/telemetry.md, "Kernel memory"): a
 * component under `kernel.` is kernel memory, `.reclaimable` at its end marks memory
 * the kernel frees under pressure, and the process label names the slab cache or
 * counter. Operators ask here rather than matching names themselves: diagnosis of a
 * kernel component is its growth (there is no heap to profile), and mitigation may
 * act on it only through configured hooks (no process to restart).
 */
export const KERNEL_PREFIX = 'kernel.';
export const RECLAIMABLE_SUFFIX = '.reclaimable';
/** Slab caches (process = cache name), from /proc/slabinfo. */
export const KERNEL_SLAB = 'kernel.slab';
/** Whole-host kernel counters (process = counter name), from /proc/meminfo. */
export const KERNEL_MEMINFO = 'kernel.meminfo';

export function isKernelComponent(component: string): boolean {
  return component.startsWith(KERNEL_PREFIX);
}

export function isReclaimableKernelComponent(component: string): boolean {
  return isKernelComponent(component) && component.endsWith(RECLAIMABLE_SUFFIX);
}
