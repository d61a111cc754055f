import { readFileSync } from 'node:fs';

/**
 * CPU time of the main thread, ms (Linux; NaN elsewhere): on a shared machine wall time
 * measures the neighbours too; this is the one core the work runs on. GC helper and
 * I/O threads are excluded. Resolution is the kernel's clock tick (10 ms).
 */
export function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/**
 * CPU time of the main thread, ms, to the nanosecond (Linux schedstat; falls back to
 * the whole process's CPU time elsewhere): fine enough for tasks of a few ms, and
 * blind to GC helper threads finishing the garbage of an earlier task.
 */
export function mainThreadRunMs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'latin1').split(' ')[0]) / 1e6;
  } catch {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  }
}
