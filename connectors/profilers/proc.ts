import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { ProfileError, type ProfileTarget } from '../../engine/diagnosis.js';

/**
 * What profilers read about a target from /proc. Every read turns the kernel's answer
 * into the reason a report gives: the process is gone (`exited`) or we may not look
 * (`permission`). Profilers never read /proc directly, so the reasons stay consistent.
 */

export function toProfileError(err: unknown, pid: number, what: string): ProfileError {
  if (err instanceof ProfileError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ESRCH') return new ProfileError('exited', `process ${pid} exited (${what})`, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return new ProfileError('permission', `permission denied: ${what} of process ${pid}`, { cause: err });
  return new ProfileError('failed', `${what} of process ${pid}: ${(err as Error).message}`, { cause: err });
}

function read(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch (err) {
    throw toProfileError(err, pid, `/proc/${pid}/${file}`);
  }
}

export function isAlive(pid: number): boolean {
  try {
    // Signal 0 checks existence; EPERM means it exists but belongs to someone else.
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A zombie has exited but not been reaped: it can no longer be profiled. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/**
 * Live profilers act on a pid of this machine: a target reported by the agent of
 * another host (or with no pid) would point at an unrelated local process, or at none.
 * `localHost` is the name this host's agent reports (`resin agent --host`); the
 * machine's hostname by default. Throws `unsupported` with the reason; the engine's
 * own process is refused too.
 */
export function assertLocal(target: ProfileTarget, localHost: string = hostname()): void {
  if (target.host !== localHost) {
    throw new ProfileError('unsupported', `process ${target.pid} runs on ${target.host}, not on this host (${localHost}): live profilers profile processes of the host the engine runs on`);
  }
  if (!(Number.isInteger(target.pid) && target.pid > 0)) {
    throw new ProfileError('unsupported', `no pid for ${target.component}/${target.process} on ${target.host}: the alert carries none`);
  }
  // Opening the inspector of the engine's own process would debug the debugger.
  if (target.pid === process.pid) throw new ProfileError('unsupported', `process ${target.pid} is the engine itself`);
}

/** Fails with `exited` when the target is gone, so callers can tell that from other failures. */
export function assertAlive(pid: number): void {
  if (!isAlive(pid)) throw new ProfileError('exited', `process ${pid} exited`);
}

export function cmdline(pid: number): string[] {
  return read(pid, 'cmdline').split('\0').filter((a) => a.length > 0);
}

/**
 * The target's environment as its memory holds it now; readable only by its owner (or
 * root). A value that is not UTF-8 is kept byte for byte (latin1): gperftools marks
 * HEAPPROFILE in place by setting the high bit of its first byte.
 */
export function environ(pid: number): Map<string, string> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(`/proc/${pid}/environ`);
  } catch (err) {
    throw toProfileError(err, pid, `/proc/${pid}/environ`);
  }
  const env = new Map<string, string>();
  for (const entry of bytes.toString('latin1').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const raw = entry.slice(eq + 1);
    const utf8 = Buffer.from(raw, 'latin1').toString('utf8');
    env.set(entry.slice(0, eq), utf8.includes('\uFFFD') ? raw : utf8);
  }
  return env;
}

/** Path of the executable, or null when the link cannot be read. */
export function exePath(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return null;
  }
}

export function cwd(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch (err) {
    throw toProfileError(err, pid, 'working directory');
  }
}

/** Resident memory in bytes (VmRSS), or null once the process has no address space. */
export function rss(pid: number): number | null {
  const m = /\nVmRSS:\s*(\d+) kB/.exec(read(pid, 'status'));
  return m ? Number(m[1]) * 1024 : null;
}

/** False when the process is in another network namespace (a container): its loopback is not ours. */
export function sharesNetwork(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`) === readlinkSync('/proc/self/ns/net');
  } catch {
    return true; // unreadable: the socket lookup that follows reports why
  }
}

/** Loopback or wildcard TCP ports the process listens on, from its socket inodes and /proc/net/tcp{,6}. */
export function listeningPorts(pid: number): { address: string; port: number }[] {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch (err) {
    throw toProfileError(err, pid, 'open files');
  }
  for (const fd of fds) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1));
    } catch {
      // The descriptor closed while we listed them.
    }
  }
  return listeners(pid).filter((l) => inodes.has(l.inode)).map(({ address, port }) => ({ address, port }));
}

/** Every listening TCP socket in the target's network namespace. */
export function listeners(pid: number | 'self'): { address: string; port: number; inode: string }[] {
  const out: { address: string; port: number; inode: string }[] = [];
  for (const file of ['net/tcp', 'net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // st 0A is LISTEN.
      if (f.length < 10 || f[3] !== '0A') continue;
      const [hexAddr, hexPort] = f[1]!.split(':') as [string, string];
      out.push({ address: decodeAddress(hexAddr), port: parseInt(hexPort, 16), inode: f[9]! });
    }
  }
  return out;
}

/** /proc/net/tcp addresses are the in-memory words in hex: little-endian per 32 bits on x86. */
function decodeAddress(hex: string): string {
  if (hex.length === 8) return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
  if (hex === '00000000000000000000000000000000') return '::';
  if (hex === '00000000000000000000000001000000') return '::1';
  if (hex.startsWith('0000000000000000FFFF0000')) return decodeAddress(hex.slice(24));
  return hex;
}
