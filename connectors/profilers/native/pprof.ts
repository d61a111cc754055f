import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProfileError } from '../../../engine/diagnosis.js';

/** One frame as google-pprof prints it in `--stacks` output. */
export interface PprofFrame {
  address: bigint;
  function: string;
  file: string | null;
  line: number | null;
}

export interface PprofStack {
  /** Bytes, or objects with `--inuse_objects`; pprof has already undone the sampling. */
  value: number;
  frames: PprofFrame[];
}

/**
 * Symbolised stacks of a heap profile from `google-pprof --text --stacks --lines`:
 * pprof finds each address's function, file and line (through nm, objdump and
 * addr2line over the libraries recorded in the dump), scales sampled profiles, and
 * already drops the malloc/new frames it knows.
 */
export async function pprofStacks(pprof: string, program: string, dumpText: string, objects: boolean): Promise<PprofStack[]> {
  const dir = await mkdtemp(join(tmpdir(), 'resin-pprof-'));
  try {
    const file = join(dir, 'dump.heap');
    await writeFile(file, dumpText);
    const args = ['--text', '--stacks', '--lines', ...(objects ? ['--inuse_objects'] : ['--inuse_space', '--show_bytes']), program, file];
    return parseStacks(await run(pprof, args));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 256 * 1024 * 1024, timeout: 120_000, env: { ...process.env, PPROF_TMPDIR: tmpdir() } }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new ProfileError('unsupported', `${cmd} not found: install google-perftools to symbolise heap profiles`));
      }
      reject(new ProfileError('failed', `${cmd} failed: ${stderr.trim().split('\n').pop() ?? err.message}`, { cause: err }));
    });
  });
}

const FRAME = /^\s*(?:(\d+(?:\.\d+)?)\s+)?\(([0-9a-fA-F]+)\)\s+(.*)$/;

/** Parses the "Stacks:" section: a value on the first frame of each stack, stacks separated by blank lines. */
export function parseStacks(text: string): PprofStack[] {
  const start = text.indexOf('\nStacks:\n');
  if (start < 0) return [];
  const out: PprofStack[] = [];
  let current: PprofStack | null = null;
  for (const line of text.slice(start + 9).split('\n')) {
    const m = FRAME.exec(line);
    if (!m) {
      if (line.trim() === '') current = null;
      else if (out.length > 0) break; // the flat report that follows
      continue;
    }
    if (m[1] !== undefined) {
      current = { value: Number(m[1]), frames: [] };
      out.push(current);
    }
    current?.frames.push(toFrame(BigInt(`0x${m[2]}`), m[3]!));
  }
  return out;
}

/** `file:line:function`, where the function may itself hold colons (C++) and unknowns are `??`. */
function toFrame(address: bigint, text: string): PprofFrame {
  const m = /^(.*?):(\d+):(.*)$/.exec(text);
  if (!m) return { address, function: text, file: null, line: null };
  const file = m[1] === '??' ? null : m[1]!;
  const line = Number(m[2]);
  return { address, function: m[3]! || '??', file, line: file === null || line === 0 ? null : line };
}
