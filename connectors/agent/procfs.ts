import { closeSync, openSync, readdirSync, readSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The few /proc and cgroup files the agent reads, read the cheap way: one shared
 * buffer, open/read/close and nothing else (no stat, no new Buffer per file), and
 * only files whose cost does not grow with the process's memory. `smaps` and
 * `smaps_rollup` walk every mapping of a process (milliseconds for a large one) and
 * are never read here.
 *
 * Every read may fail because the process exited after /proc was listed, or because
 * the entry is not readable to us: such reads return null and are counted by the
 * caller; they never throw.
 */

/** Why a read came back empty. */
export type ReadFailure = 'vanished' | 'unreadable';

/** Fields of /proc/<pid>/status the agent uses; one instance is reused for every process. */
export class ProcStatus {
  name = '';
  ppid = 0;
  /** Bytes; -1 when the line is absent (kernel threads, zombies). */
  rss = -1;
  anon = -1;
}

const STATUS_NAME = Buffer.from('Name:');
const STATUS_PPID = Buffer.from('\nPPid:');
const STATUS_RSS = Buffer.from('\nVmRSS:');
const STATUS_ANON = Buffer.from('\nRssAnon:');

/** Decimal after `key` (skipping blanks), in kB, as bytes; -1 when absent. */
function kbField(buf: Buffer, len: number, key: Buffer, from = 0): number {
  let i = from >= 0 ? buf.indexOf(key, from) : -1;
  if (i < 0 || i >= len) return -1;
  i += key.length;
  while (i < len && (buf[i] === 32 || buf[i] === 9)) i++;
  let v = 0;
  let digits = 0;
  for (; i < len; i++) {
    const c = buf[i]!;
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    digits++;
  }
  return digits === 0 ? -1 : v * 1024;
}

function intField(buf: Buffer, len: number, key: Buffer): number {
  const bytes = kbField(buf, len, key);
  return bytes < 0 ? -1 : bytes / 1024;
}

function lineAfter(buf: Buffer, len: number, at: number): string {
  let i = at;
  while (i < len && (buf[i] === 32 || buf[i] === 9)) i++;
  let end = buf.indexOf(10, i);
  if (end < 0 || end > len) end = len;
  return buf.toString('utf8', i, end);
}

export interface ProcfsOptions {
  /** Where procfs is mounted (default /proc); tests point it at a fake tree. */
  readonly proc?: string;
  /** /sys/fs/cgroup, or a fake tree; mount points are read from `<proc>/self/mountinfo`. */
  readonly cgroupRoot?: string;
}

/** Where a process's memory cgroup can be read. */
export interface CgroupMounts {
  /** cgroup v2 (unified) mount point, or null. */
  readonly v2: string | null;
  /** cgroup v1 mount holding the memory controller, and the mount's root within the hierarchy. */
  readonly v1: { readonly dir: string; readonly root: string } | null;
}

export class Procfs {
  readonly proc: string;
  private buf = Buffer.allocUnsafe(8192);
  /** Error of the last failed read. */
  failure: ReadFailure = 'vanished';
  readonly mounts: CgroupMounts;

  constructor(opts: ProcfsOptions = {}) {
    this.proc = opts.proc ?? '/proc';
    this.mounts = opts.cgroupRoot !== undefined ? fakeMounts(opts.cgroupRoot) : readMounts(this.proc);
  }

  /** Numeric entries of /proc: the processes alive when it was listed. */
  pids(): Int32Array {
    const names = readdirSync(this.proc);
    const out = new Int32Array(names.length);
    let n = 0;
    for (const name of names) {
      const c = name.charCodeAt(0);
      if (c >= 48 && c <= 57) out[n++] = Number(name);
    }
    return out.subarray(0, n);
  }

  /**
   * Bytes of a file into the shared buffer (grown when a file does not fit); the
   * length read, or -1 with `failure` set.
   */
  private read(path: string): number {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      this.failure = classify(err);
      return -1;
    }
    try {
      let len = 0;
      for (;;) {
        if (len === this.buf.length) {
          const bigger = Buffer.allocUnsafe(this.buf.length * 2);
          this.buf.copy(bigger, 0, 0, len);
          this.buf = bigger;
        }
        const room = this.buf.length - len;
        const got = readSync(fd, this.buf, len, room, null);
        len += got;
        // A short read is the end: asking again would make the kernel generate the file a second time.
        if (got < room) break;
      }
      return len;
    } catch (err) {
      // ESRCH: the process died between open and read.
      this.failure = classify(err);
      return -1;
    } finally {
      closeSync(fd);
    }
  }

  /** Fills `into` from /proc/<pid>/status; false when it could not be read. */
  status(pid: number, into: ProcStatus): boolean {
    const len = this.read(`${this.proc}/${pid}/status`);
    if (len <= 0) {
      if (len === 0) this.failure = 'vanished';
      return false;
    }
    const buf = this.buf;
    const at = buf.indexOf(STATUS_NAME);
    into.name = at >= 0 && at < len ? lineAfter(buf, len, at + STATUS_NAME.length) : '';
    into.ppid = intField(buf, len, STATUS_PPID);
    // The fields come in this order in every kernel's status file: each search starts where the last matched.
    const rssAt = buf.indexOf(STATUS_RSS, at < 0 ? 0 : at);
    into.rss = kbField(buf, len, STATUS_RSS, rssAt);
    into.anon = kbField(buf, len, STATUS_ANON, rssAt < 0 ? 0 : rssAt);
    return true;
  }

  /** The command line with NULs as spaces ('' for kernel threads), or null when unreadable. */
  cmdline(pid: number): string | null {
    const len = this.read(`${this.proc}/${pid}/cmdline`);
    if (len < 0) return null;
    let end = len;
    while (end > 0 && this.buf[end - 1] === 0) end--;
    for (let i = 0; i < end; i++) if (this.buf[i] === 0) this.buf[i] = 32;
    return this.buf.toString('utf8', 0, end);
  }

  /**
   * The file that holds the memory usage of the process's cgroup (v2 `memory.current`
   * preferred, else v1 `memory.usage_in_bytes`), with the cgroup path; null when the
   * process is in no memory cgroup we can read, or in the root one (that is the host).
   */
  memoryCgroup(pid: number): { path: string; file: string } | null {
    const len = this.read(`${this.proc}/${pid}/cgroup`);
    if (len <= 0) return null;
    const text = this.buf.toString('utf8', 0, len);
    let v1: string | null = null;
    let v2: string | null = null;
    for (const line of text.split('\n')) {
      const first = line.indexOf(':');
      const second = line.indexOf(':', first + 1);
      if (first < 0 || second < 0) continue;
      const controllers = line.slice(first + 1, second);
      const path = line.slice(second + 1);
      if (line.startsWith('0::')) v2 = path;
      else if (controllers.split(',').includes('memory')) v1 = path;
    }
    const { mounts } = this;
    if (v2 !== null && v2 !== '/' && mounts.v2 !== null) {
      const file = join(mounts.v2, v2, 'memory.current');
      // Hybrid hosts mount v2 without the memory controller: then v1 has the numbers.
      if (this.number(file) >= 0) return { path: v2, file };
    }
    if (v1 !== null && v1 !== '/' && mounts.v1 !== null) {
      const rel = mounts.v1.root !== '/' && v1.startsWith(mounts.v1.root) ? v1.slice(mounts.v1.root.length) : v1;
      return { path: v1, file: join(mounts.v1.dir, rel, 'memory.usage_in_bytes') };
    }
    return null;
  }

  /** A file holding one decimal number (cgroup counters), or -1. */
  number(path: string): number {
    const len = this.read(path);
    if (len <= 0) return -1;
    let v = 0;
    let digits = 0;
    for (let i = 0; i < len; i++) {
      const c = this.buf[i]!;
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      digits++;
    }
    return digits === 0 ? -1 : v;
  }

  /** MemTotal of /proc/meminfo in bytes, or -1. */
  memTotal(): number {
    const len = this.read(`${this.proc}/meminfo`);
    return len <= 0 ? -1 : kbField(this.buf, len, Buffer.from('MemTotal:'));
  }
}

function classify(err: unknown): ReadFailure {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH' ? 'vanished' : 'unreadable';
}

/** Cgroup mounts from mountinfo: the cgroup2 mount, and the cgroup v1 mount with `memory`. */
function readMounts(proc: string): CgroupMounts {
  let text: string;
  try {
    text = readFileSync(join(proc, 'self', 'mountinfo'), 'utf8');
  } catch {
    return { v2: null, v1: null };
  }
  let v2: string | null = null;
  let v1: { dir: string; root: string } | null = null;
  for (const line of text.split('\n')) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const root = unescapeMount(left[3] ?? '/');
    const dir = unescapeMount(left[4] ?? '');
    if (right[0] === 'cgroup2' && v2 === null) v2 = dir;
    else if (right[0] === 'cgroup' && (right[2] ?? '').split(',').includes('memory') && v1 === null) v1 = { dir, root };
  }
  return { v2, v1 };
}

/** mountinfo escapes spaces and such as octal (`\040`). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** A fake cgroup tree: `<root>/unified` (v2) and `<root>/memory` (v1), as on a hybrid host. */
function fakeMounts(root: string): CgroupMounts {
  return { v2: join(root, 'unified'), v1: { dir: join(root, 'memory'), root: '/' } };
}
