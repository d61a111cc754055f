import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../../engine/cli/paths.js';
import type { DiagnosisReport } from '../../../engine/diagnosis.js';
import type { ReportAnnouncement } from '../../../connectors/reports/reportFiles.js';

export const FIXTURES = join(PACKAGE_ROOT, 'test', 'connectors', 'profilers', 'fixtures');

export interface Target {
  proc: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Starts a target and resolves once it printed `ready` (or after `settleMs` for programs that print nothing). */
export async function startTarget(cmd: string, args: string[], opts: SpawnOptions & { settleMs?: number } = {}): Promise<Target> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => { exitCode = code; resolve(code); }));
  proc.stderr!.resume();
  await new Promise<void>((resolve, reject) => {
    if (opts.settleMs !== undefined) {
      proc.stdout!.resume();
      setTimeout(resolve, opts.settleMs);
    } else {
      proc.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
    }
    proc.once('error', reject);
    void exited.then((code) => reject(new Error(`${cmd} exited with ${code} before it was ready`)));
  });
  return {
    proc, pid: proc.pid!, exited,
    async stop() {
      if (exitCode !== undefined) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export interface DiagnoseRun {
  code: number | null;
  stderr: string;
  announcement: ReportAnnouncement;
  report: DiagnosisReport;
}

/** `resin diagnose` started from the sources as a child process, as a person runs it. */
export function runDiagnose(args: string[], opts: SpawnOptions = {}, onStderr?: (text: string, proc: ChildProcess) => void): Promise<DiagnoseRun> {
  const proc = spawn(process.execPath, [
    '--import', join(PACKAGE_ROOT, 'test', 'helpers', 'ts-register.mjs'), join(PACKAGE_ROOT, 'engine', 'cli', 'bin.ts'), 'diagnose', ...args,
  ], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); onStderr?.(err, proc); });
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) return reject(new Error(`resin diagnose wrote no announcement (exit ${code}):\n${err}`));
      const announcement = JSON.parse(line) as ReportAnnouncement;
      const report = JSON.parse(readFileSync(announcement.files!.json, 'utf8')) as DiagnosisReport;
      resolve({ code, stderr: err, announcement, report });
    });
  });
}

/** A port nothing listens on right now. */
export { freePort } from '../../helpers/http.js';

/** Whether a TCP connection to 127.0.0.1:port is accepted. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}
