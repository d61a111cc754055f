import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { parse } from 'yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ComponentRules } from '../../connectors/agent/rules.js';
import { listeningPorts } from '../../connectors/profilers/proc.js';
import type { ReportAnnouncement } from '../../connectors/reports/reportFiles.js';
import type { Alert } from '../../engine/alert.js';
import { PACKAGE_ROOT } from '../../engine/cli/paths.js';
import { runSession } from '../../engine/cli/session.js';
import type { DiagnosisReport } from '../../engine/diagnosis.js';
import { silentLogger } from '../../engine/log.js';
import type { PipelineDefinition } from '../../engine/pipeline/definition.js';
import { accepts, FIXTURES, freePort, startTarget, type Target } from '../connectors/profilers/harness.js';
import { engineStreamReady, liveParts, runAgent, stopLive } from '../helpers/liveAgent.js';
import { collectJson, describeNats, useNatsServer } from '../helpers/nats.js';
import { until } from '../helpers/processes.js';

/**
 * Detection to diagnosis of real processes on this machine: a service leaking from one
 * named function among several that allocate and free is sampled by the host agent,
 * detected by the engine running pipelines/nats-scaled.yaml (periods of a second), and
 * profiled live by the diagnose and report-files nodes of pipelines/diagnose-live.yaml,
 * with their periods scaled the same way. The report must rank the leaking function
 * first. Once for a Node.js service (profiled through its inspector, which must be
 * closed afterwards) and once for a C program run with jemalloc heap profiling.
 */

const dir = mkdtempSync(join(tmpdir(), 'resin-diagnose-live-'));
const program = join(dir, 'leaky-service');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  // Frame pointers and line tables, as a service built for production profiling has.
  execFileSync('gcc', ['-g', '-O1', '-fno-omit-frame-pointer', '-o', program, join(FIXTURES, 'leak.c')]);
});

/** The shared library as the dynamic linker knows it, e.g. libjemalloc.so.2. */
function library(name: string): string {
  const listing = execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' });
  const line = listing.split('\n').find((l) => l.trim().startsWith(`${name} `));
  if (!line) throw new Error(`${name} is not installed (Debian: see .ci/run)`);
  return line.slice(line.indexOf('=>') + 2).trim();
}

/**
 * pipelines/nats-scaled.yaml pointed at this test's server, with the diagnosis and
 * report-files nodes of pipelines/diagnose-live.yaml added, their periods in seconds:
 * a snapshot every 2 s, triggers on the last 30 s, at most 40 s per trace.
 */
function withLiveDiagnosis(url: string, reports: string) {
  const live = parse(readFileSync(join(PACKAGE_ROOT, 'pipelines', 'diagnose-live.yaml'), 'utf8')) as PipelineDefinition;
  return (def: PipelineDefinition) => {
    for (const node of Object.values(def.nodes ?? {})) {
      if (node?.type === 'nats' || node?.type === 'alert-nats') node.options = { ...node.options, servers: url };
    }
    const diagnosis = live.nodes!.diagnosis!;
    def.nodes!.diagnosis = {
      ...diagnosis,
      options: { ...diagnosis.options, period: '2s', trigger_window: '30s', time_limit: '40s' },
    };
    def.nodes!.reports = { ...live.nodes!.reports!, options: { dir: reports, announce: join(reports, 'announced.ndjson') } };
  };
}

interface LiveRun {
  alert: Alert;
  /** Every emission of that alert seen on resin.alerts.*, in order. */
  emissions: Alert[];
  announcement: ReportAnnouncement;
  report: DiagnosisReport;
}

/**
 * Runs agent and engine until the first report on `component` is written, then stops
 * both; the target is left running for the caller to inspect.
 */
async function detectAndDiagnose(url: string, component: string, cmdline: string, name: string): Promise<LiveRun> {
  const reports = join(dir, `reports-${name}`);
  mkdirSync(reports);
  const announced = join(reports, 'announced.ndjson');
  const live = liveParts();
  try {
    const nc = live.nc = await connect({ servers: url });
    const alerts = collectJson<Alert>(nc, 'resin.alerts.*');
    await nc.flush();

    live.engine = runSession({
      pipeline: join(PACKAGE_ROOT, 'pipelines', 'nats-scaled.yaml'), edit: withLiveDiagnosis(url, reports),
      state: join(dir, `state-${name}.duckdb`), deadLetter: join(dir, `rejected-${name}.ndjson`), log: silentLogger,
      signal: live.engineStop.signal,
    });
    live.engine.catch(() => {});
    await engineStreamReady(nc);

    // Only the target is sampled: other processes of this machine (this test's own, other users' Node.js
    // processes) must never be alerted and have their inspector opened.
    const rules = new ComponentRules({ rules: [{ component, cmdline }, { cmdline: '^', ignore: true }] });
    // Without cgroups: the target's cgroup holds every process of the machine's session (on a shared machine,
    // whatever else runs there), whose memory can grow and be alerted on under the target's component first.
    live.agentRun = runAgent(url, rules, live.agentStop.signal, { cgroups: false });

    const ours = (): ReportAnnouncement | undefined => (existsSync(announced) ? readFileSync(announced, 'utf8') : '')
      .split('\n').filter(Boolean).map((l) => JSON.parse(l) as ReportAnnouncement).find((a) => a.component === component);
    await until(`a report on ${component}`, 75_000, () => ours() !== undefined);
    const announcement = ours()!;
    const report = JSON.parse(readFileSync(announcement.files!.json, 'utf8')) as DiagnosisReport;
    // The alert sink and the report sink run side by side: on a loaded machine the alert may reach this subscriber after the report's file.
    await until(`alert ${report.alert_id} on resin.alerts.*`, 15_000, () => alerts.some((a) => a.id === report.alert_id)).catch(() => {});
    const alert = alerts.find((a) => a.id === report.alert_id);
    if (!alert) throw new Error(`no alert ${report.alert_id} among ${JSON.stringify(alerts.map((a) => a.id))}`);
    return { alert, emissions: alerts.filter((a) => a.id === report.alert_id), announcement, report };
  } finally {
    await stopLive(live);
  }
}

describeNats('live diagnosis end to end: agent, scaled detection, diagnose on the wall clock, report files', () => {
  const server = useNatsServer();

  it('Node.js: profiles the detected process through its inspector, ranks the leaking function first, closes the inspector', { timeout: 100_000 }, async () => {
    const marker = `resin-diagnose-live-node-${process.pid}`;
    const port = await freePort();
    let target: Target | null = null;
    try {
      // Its own inspector port (as --inspect-port sets it), so the test never competes for 9229.
      target = await startTarget(process.execPath, [`--inspect-port=127.0.0.1:${port}`, join(FIXTURES, 'leaky-service.cjs'), marker]);
      const { alert, emissions, announcement, report } = await detectAndDiagnose(server().url, 'test-node-leak', `${marker}$`, 'node');

      expect(alert).toMatchObject({ level: 'process', component: 'test-node-leak', pid: target.pid });
      expect(report.target).toMatchObject({ host: hostname(), component: 'test-node-leak', pid: target.pid });
      expect(report.profiler).toBe('node');
      expect(report.outcome, report.trigger).toBe('localised');
      // The trace starts on an open or a later update of the alert, whose pattern may have been refined since.
      expect(emissions.map((a) => a.pattern)).toContain(report.pattern);
      expect(report.snapshots).toBeGreaterThanOrEqual(3);
      // Collection ended on the scaled options: a pattern trigger, or the 40 s limit, never a shutdown.
      expect(report.trigger).toMatch(/^(steady|stair|spike|unknown pattern|time limit \(40s\))/);
      expect(report.stacks[0]!.frames[0]).toMatchObject({ function: 'rememberSession', file: join(FIXTURES, 'leaky-service.cjs') });
      expect(report.stacks[0]!.growth_bytes).toBeGreaterThan(0);
      expect(announcement.top).toContain('rememberSession');
      expect(report.memory.at(-1)!.heap_used).toBeGreaterThan(0);

      // The inspector the profiler opened is closed again, and the service still runs.
      expect(listeningPorts(target.pid).map((l) => l.port)).not.toContain(port);
      expect(await accepts(port)).toBe(false);
      expect(target.proc.exitCode).toBeNull();
    } finally {
      await target?.stop();
    }
  });

  it('native: profiles the detected C program from its jemalloc dumps and ranks the leaking function first', { timeout: 100_000 }, async () => {
    const marker = `resin-diagnose-live-native-${process.pid}`;
    const prof = join(dir, 'jemalloc');
    mkdirSync(prof);
    let target: Target | null = null;
    try {
      target = await startTarget(program, [marker], {
        settleMs: 300,
        env: {
          ...process.env,
          LD_PRELOAD: library('libjemalloc.so.2'),
          // A dump every 64 MiB allocated (about one a second here); one sample per 16 KiB on average.
          MALLOC_CONF: `prof:true,lg_prof_interval:26,lg_prof_sample:14,prof_prefix:${prof}/svc`,
        },
      });
      const { alert, report } = await detectAndDiagnose(server().url, 'test-native-leak', `${marker}$`, 'native');

      expect(alert).toMatchObject({ level: 'process', component: 'test-native-leak', pid: target.pid });
      expect(report.target.pid).toBe(target.pid);
      expect(report.profiler).toBe('jemalloc');
      expect(report.outcome, report.trigger).toBe('localised');
      expect(report.trigger).toMatch(/^(steady|stair|spike|unknown pattern|time limit \(40s\))/);
      const top = report.stacks[0]!;
      expect(top.frames[0]).toMatchObject({ function: 'remember_session', file: join(FIXTURES, 'leak.c') });
      expect(top.growth_bytes).toBeGreaterThan(0);
      for (const s of report.stacks) expect(s.frames[0]!.function).not.toMatch(/^(malloc|calloc|realloc|je_|prof_)/);
      expect(target.proc.exitCode).toBeNull();
    } finally {
      await target?.stop();
    }
  });
});
