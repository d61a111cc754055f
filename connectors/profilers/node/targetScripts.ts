/**
 * The only code the Node.js profiler runs inside a target, through Runtime.evaluate.
 * Each script is wrapped in try/catch so that nothing can throw inside the target, and
 * returns a plain value. `require` exists only during an evaluation (the inspector's
 * command-line API), so modules are taken before anything is deferred.
 */

export const MEMORY_USAGE = '(() => { try { return JSON.stringify(process.memoryUsage()); } catch (e) { return null; } })()';

/** Where the lease lives in the target: one global symbol, removed when the inspector closes. */
const LEASE = "Symbol.for('resin.inspector.lease')";
const INSPECTOR = "(typeof require === 'function' ? require('inspector') : process.mainModule && process.mainModule.require('inspector'))";

/**
 * Closing is deferred past our disconnect: Node 20 can crash (SIGSEGV) when its
 * inspector closes while a session is still attached. `npm run bench:inspector`
 * counts the targets that die each way: 2 of 25 closed on the next tick, none of 25
 * closed after the disconnect.
 */
export const CLOSE_DELAY_MS = 1_000;

/** Closes the inspector `delayMs` after the evaluation returns (bench/inspector.ts times 0 against the default). */
export const closeInspector = (delayMs: number = CLOSE_DELAY_MS): string => `(() => { try {
  const m = ${INSPECTOR};
  const l = globalThis[${LEASE}];
  if (l) { clearInterval(l.timer); delete globalThis[${LEASE}]; }
  const t = setTimeout(() => { try { m.close(); } catch (e) {} }, ${delayMs});
  if (t && t.unref) t.unref();
  return true;
} catch (e) { return false; } })()`;

/**
 * A lease on the inspector we opened: unless renewed within `leaseMs`, the target closes
 * it by itself. A profiler that dies (killed, host of resin lost) cannot leave
 * unauthenticated code execution open on the target.
 */
export function takeLease(leaseMs: number): string {
  return `(() => { try {
  const m = ${INSPECTOR};
  const old = globalThis[${LEASE}];
  if (old) clearInterval(old.timer);
  const lease = { until: Date.now() + ${leaseMs}, timer: null };
  lease.timer = setInterval(() => {
    if (Date.now() <= lease.until) return;
    clearInterval(lease.timer);
    delete globalThis[${LEASE}];
    try { m.close(); } catch (e) {}
  }, 1000);
  if (lease.timer.unref) lease.timer.unref();
  globalThis[${LEASE}] = lease;
  return true;
} catch (e) { return false; } })()`;
}

export function renewLease(leaseMs: number): string {
  return `(() => { try { const l = globalThis[${LEASE}]; if (l) l.until = Date.now() + ${leaseMs}; return !!l; } catch (e) { return false; } })()`;
}
