import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, runDiagnose, startTarget, type Target } from './harness.js';

/**
 * `resin diagnose` against a real C program that leaks from one named function among
 * several that allocate and free, run with jemalloc's and with tcmalloc's heap
 * profiling (Debian's libjemalloc2 and google-perftools, installed by .ci/run).
 */

const dir = mkdtempSync(join(tmpdir(), 'resin-native-profiler-'));
const program = join(dir, 'leaky-service');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The shared library as the dynamic linker knows it, e.g. libjemalloc.so.2. */
function library(name: string): string {
  const listing = execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' });
  const line = listing.split('\n').find((l) => l.trim().startsWith(`${name} `));
  if (!line) throw new Error(`${name} is not installed (Debian: see .ci/run)`);
  return line.slice(line.indexOf('=>') + 2).trim();
}

beforeAll(() => {
  // Frame pointers and line tables, as a service built for production profiling has.
  execFileSync('gcc', ['-g', '-O1', '-fno-omit-frame-pointer', '-o', program, join(FIXTURES, 'leak.c')]);
});

let targets: Target[] = [];
afterEach(async () => {
  await Promise.all(targets.map((t) => t.stop()));
  targets = [];
});

function expectLeakFirst(report: Awaited<ReturnType<typeof runDiagnose>>['report']): void {
  expect(report.outcome).toBe('localised');
  const top = report.stacks[0]!;
  // Innermost frame first, with the allocator's own frames (malloc, je_*, prof_*) removed.
  expect(top.frames[0]).toMatchObject({ function: 'remember_session', file: join(FIXTURES, 'leak.c') });
  expect(top.frames[0]!.line).toBeGreaterThan(0);
  expect(top.frames.map((f) => f.function)).toContain('main');
  expect(top.growth_bytes).toBeGreaterThan(0);
  expect(top.count).toBeGreaterThan(0);
  for (const s of report.stacks) expect(s.frames[0]!.function).not.toMatch(/^(malloc|calloc|realloc|je_|prof_)/);
  expect(report.memory.length).toBe(report.snapshots);
}

describe('resin diagnose on a native process', { timeout: 120_000 }, () => {
  it('jemalloc: finds the dumps from MALLOC_CONF and ranks the leaking function first', async () => {
    const prof = join(dir, 'jemalloc');
    mkdirSync(prof);
    const target = await startTarget(program, [], {
      settleMs: 300,
      env: {
        ...process.env,
        LD_PRELOAD: library('libjemalloc.so.2'),
        // A dump every 16 MiB allocated; one sample per 16 KiB on average.
        MALLOC_CONF: `prof:true,lg_prof_interval:24,lg_prof_sample:14,prof_prefix:${prof}/svc`,
      },
    });
    targets.push(target);
    const run = await runDiagnose(['--pid', String(target.pid), '--duration', '4s', '--interval', '2s', '--out', join(dir, 'out-je')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.report.profiler).toBe('jemalloc');
    expectLeakFirst(run.report);
    expect(target.proc.exitCode).toBeNull();
  });

  it('tcmalloc: reads the dumps named by --profiles, tells their allocator, and ranks the leaking function first', async () => {
    const prof = join(dir, 'tcmalloc');
    mkdirSync(prof);
    const target = await startTarget(program, [], {
      settleMs: 300,
      env: { ...process.env, LD_PRELOAD: library('libtcmalloc.so.4'), HEAPPROFILE: `${prof}/svc`, HEAP_PROFILE_TIME_INTERVAL: '1' },
    });
    targets.push(target);
    const run = await runDiagnose([
      '--pid', String(target.pid), '--profiles', `${prof}/svc.*.heap`,
      '--duration', '4s', '--interval', '2s', '--out', join(dir, 'out-tc'),
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.report.profiler).toBe('tcmalloc');
    expectLeakFirst(run.report);
  });

  it('ends with "unsupported" for a native process started without heap profiling', async () => {
    const target = await startTarget(program, [], { settleMs: 100 });
    targets.push(target);
    const run = await runDiagnose(['--pid', String(target.pid), '--duration', '2s', '--interval', '1s', '--out', join(dir, 'out-none')]);
    expect(run.code).toBe(1);
    expect(run.report.reason).toBe('unsupported');
    expect(run.report.trigger).toMatch(/jemalloc or tcmalloc/);
    expect(existsSync(run.announcement.files!.html)).toBe(true);
  });
});
