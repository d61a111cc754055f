import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { diagnoseNow, manualTarget } from '../../connectors/profilers/manual.js';
import { announcement, writeReportFiles } from '../../connectors/reports/reportFiles.js';
import { frameText } from '../../connectors/reports/render/text.js';
import type { Profiler } from '../diagnosis.js';
import { toMs } from '../duration.js';
import { UsageError } from '../errors.js';
import { AUTO_ORDER, createProfiler, detectProfiler } from '../profilers.js';
import { bytes } from './format.js';

function duration(flag: string, value: string): number {
  try {
    const ms = toMs(value);
    if (ms > 0) return ms;
  } catch {
    // reported below
  }
  throw new UsageError(`--${flag} must be a duration above zero such as 20s or 2m, got "${value}"`);
}

function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return `pid ${pid}`;
  }
}

/**
 * `resin diagnose --pid PID`: profiles one live process now and writes the same report
 * as diagnosis after an alert (JSON, HTML, Markdown), announced as one NDJSON line on
 * standard output. Exit 0 once a report is written, 1 when collection failed (the
 * report then says why), 2 on a bad command line.
 */
export async function diagnoseCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv, allowPositionals: false, strict: true,
    options: {
      pid: { type: 'string' }, duration: { type: 'string', default: '120s' }, interval: { type: 'string', default: '20s' },
      out: { type: 'string', default: 'reports' }, profiles: { type: 'string' }, profiler: { type: 'string' },
      top: { type: 'string', default: '10' }, 'heap-snapshot': { type: 'boolean', default: false },
      'sampling-interval': { type: 'string' }, 'inspector-lease': { type: 'string', default: '60s' },
      quiet: { type: 'boolean', default: false },
    },
  });
  const pid = Number(values.pid);
  if (values.pid === undefined || !Number.isInteger(pid) || pid <= 0) throw new UsageError(`--pid must be a process id, got "${values.pid ?? ''}"`);
  const durationMs = duration('duration', values.duration);
  const intervalMs = duration('interval', values.interval);
  if (intervalMs > durationMs) throw new UsageError(`--interval (${values.interval}) must not be longer than --duration (${values.duration})`);
  const top = Number(values.top);
  if (!Number.isInteger(top) || top <= 0) throw new UsageError(`--top must be a positive integer, got "${values.top}"`);
  if (values.profiler !== undefined && !AUTO_ORDER.includes(values.profiler)) {
    throw new UsageError(`--profiler must be one of ${AUTO_ORDER.join(', ')}, got "${values.profiler}"`);
  }
  const samplingInterval = values['sampling-interval'] === undefined ? undefined : Number(values['sampling-interval']);
  if (samplingInterval !== undefined && !(Number.isInteger(samplingInterval) && samplingInterval > 0)) {
    throw new UsageError(`--sampling-interval must be a positive number of bytes, got "${values['sampling-interval']}"`);
  }

  const leaseMs = duration('inspector-lease', values['inspector-lease']);
  const options: Record<string, Record<string, unknown>> = {
    node: { samplingInterval, leaseMs, heapSnapshotDir: values['heap-snapshot'] ? values.out : null },
    jemalloc: { profiles: values.profiles ?? null },
    tcmalloc: { profiles: values.profiles ?? null },
  };
  const target = manualTarget(pid, processName(pid));
  let profiler: Profiler | null;
  if (values.profiler) profiler = createProfiler(values.profiler, options[values.profiler] ?? {});
  else profiler = await detectProfiler(target, options);

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const say = (line: string) => { if (!values.quiet) process.stderr.write(line + '\n'); };
  say(`resin diagnose: profiling ${target.process} (pid ${pid}) with ${profiler?.kind ?? 'no profiler'} for ${values.duration}, a snapshot every ${values.interval}`);
  let report;
  try {
    report = await diagnoseNow({
      profiler, target, durationMs, intervalMs, signal: stop.signal, top,
      onSnapshot: (i, s) => say(`  snapshot ${i + 1}: ${s.stacks.length} stacks${s.memory ? `, rss ${bytes(s.memory.rss)}` : ''}`),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const files = writeReportFiles(report, values.out);
  process.stdout.write(JSON.stringify(announcement(report, files)) + '\n');
  const first = report.stacks[0]?.frames[0];
  say(`${report.outcome}${report.reason ? ` (${report.reason})` : ''}: ${first ? frameText(first) : 'no stack grew'}; report in ${files.html}`);
  return report.outcome === 'failed' ? 1 : 0;
}
