import { spawn } from 'node:child_process';

export interface ArgvResult {
  readonly ok: boolean;
  readonly code: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
  /** The last few hundred bytes of stdout and stderr, for the audit. */
  readonly output: string;
  readonly error: string | null;
}

const TAIL = 512;

/**
 * Runs `argv[0]` with `argv.slice(1)` as its arguments and no shell in between: the
 * arguments reach the program byte for byte, so metacharacters in them mean nothing.
 * The program runs in its own process group, which is killed whole on timeout or abort.
 */
export function runArgv(
  argv: readonly string[], opts: { env?: Record<string, string>; timeoutMs: number; signal?: AbortSignal },
): Promise<ArgvResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    let settled = false;
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-TAIL);
    };
    const child = spawn(argv[0]!, argv.slice(1), {
      shell: false, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...opts.env },
    });
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch { /* already gone */ }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutMs);
    const onAbort = () => killGroup();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (code: number | null, signal: string | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({
        ok: error === null && !timedOut && code === 0, code, signal, timedOut,
        durationMs: performance.now() - started, output: output.trim(), error,
      });
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('error', (err) => finish(null, null, err.message));
    child.on('close', (code, signal) => finish(code, signal, null));
  });
}

/** The result in one line: exit code or signal, timeout, and the tail of the output. */
export function describeArgvResult(r: ArgvResult, timeoutMs: number): string {
  const status = r.error !== null ? `could not start: ${r.error}`
    : r.timedOut ? `timed out after ${timeoutMs} ms, killed`
      : r.signal !== null ? `killed by ${r.signal}` : `exit ${r.code}`;
  return r.output ? `${status}: ${r.output.split('\n').slice(-3).join(' | ')}` : status;
}
