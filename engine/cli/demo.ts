import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Alert } from '../alert.js';
import { UsageError } from '../errors.js';
import { createLogger } from '../log.js';
import type { PipelineDefinition } from '../pipeline/definition.js';
import { bytes, int, isoHour, table } from './format.js';
import { DEFAULT_PIPELINE } from './paths.js';
import { runSession } from './session.js';
import { formatSummary, summarize } from './summary.js';

interface TruthLeak { host: string; component: string; process: string; pattern: string; start: number }

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer, got "${v}"`);
  return n;
}

/**
 * The last emission of each alert (what a person would see on a dashboard at the end),
 * with the earliest leak start any of its emissions gave:
 * an alert's T0 moves later when its interval restarts (a restart freed the memory), and
 * "leak since" after "detected" would read as nonsense.
 */
function latest(alerts: Alert[]): Alert[] {
  const byId = new Map<string, Alert>();
  for (const a of alerts) {
    const before = byId.get(a.id);
    byId.set(a.id, before && before.start < a.start ? { ...a, start: before.start } : a);
  }
  return [...byId.values()];
}

/**
 * `npm start`: the default pipeline over the built-in simulator, then a readable account
 * of what was found, scored against the leaks the simulator injected.
 */
export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: { hosts: { type: 'string' }, days: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' } },
  });
  const hosts = positiveInt('hosts', values.hosts);
  const days = positiveInt('days', values.days);
  const seed = positiveInt('seed', values.seed);
  const dir = mkdtempSync(join(tmpdir(), 'resin-demo-'));
  const truthPath = join(dir, 'truth.json');
  const alerts: Alert[] = [];
  try {
    const edit = (def: PipelineDefinition) => {
      const sim = Object.values(def.nodes ?? {}).find((n) => n?.type === 'simulator');
      if (!sim) throw new UsageError(`${DEFAULT_PIPELINE} has no simulator source`);
      sim.options = { ...sim.options, ground_truth: truthPath,
        ...(hosts ? { hosts } : {}), ...(days ? { days } : {}), ...(seed ? { seed } : {}) };
      for (const n of Object.values(def.nodes ?? {})) {
        if (n?.type === 'alert-log') n.options = { ...n.options, path: values.out ?? join(dir, 'alerts.ndjson') };
      }
    };
    process.stderr.write('resin demo: simulating a fleet and running the default pipeline on it...\n');
    const result = await runSession({
      pipeline: DEFAULT_PIPELINE, edit, deadLetter: join(dir, 'rejected.ndjson'),
      log: createLogger({ level: 'warn' }), progress: true, onAlert: (a) => alerts.push(a), checkpointEvery: 0,
    });
    const summary = summarize(result.metrics, result.samplesRead, result.seriesSeen, result.elapsedMs, join(dir, 'rejected.ndjson'), values.out ?? null);
    process.stdout.write(formatSummary('resin demo: default pipeline on the simulated fleet', summary) + '\n\n');
    process.stdout.write(report(latest(alerts), JSON.parse(readFileSync(truthPath, 'utf8')) as { leaks: TruthLeak[] }) + '\n');
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(alerts: Alert[], truth: { leaks: TruthLeak[] }): string {
  const key = (h: string | null, c: string, p: string | null) => `${h}|${c}|${p}`;
  const injected = new Map(truth.leaks.map((l) => [key(l.host, l.component, l.process), l]));
  const proc = alerts.filter((a) => a.level === 'process').sort((a, b) => b.severity - a.severity);
  const comp = alerts.filter((a) => a.level === 'component').sort((a, b) => b.severity - a.severity);
  const out: string[] = [];
  out.push(`Component-level alerts (${comp.length}):`);
  out.push(comp.length ? table(['component', 'state', 'bucket', 'hosts', 'since', 'severity'],
    comp.map((a) => [a.component, a.state, `>= ${a.bucket_mb} MB`, a.hosts ?? 0, isoHour(a.start), Number(a.severity.toFixed(1))])) : '  none');
  out.push('', `Process-level alerts (${proc.length}), most severe first:`);
  out.push(proc.length ? table(['host', 'component', 'state', 'pattern', 'leak since', 'detected', 'rss', 'rate/h', 'severity', 'injected?'],
    proc.slice(0, 25).map((a) => {
      const t = injected.get(key(a.host, a.component, a.process));
      return [a.host ?? '', a.component, a.state, a.pattern, isoHour(a.start), isoHour(a.detected_at), bytes(a.rss), bytes(a.rate),
        Number(a.severity.toFixed(2)), t ? `yes (${t.pattern})` : 'NO'];
    })) : '  none');
  if (proc.length > 25) out.push(`  ... and ${proc.length - 25} more`);
  const found = new Set(proc.map((a) => key(a.host, a.component, a.process)));
  const hits = [...injected.keys()].filter((k) => found.has(k)).length;
  const falseAlarms = [...found].filter((k) => !injected.has(k)).length;
  out.push('', `Injected leaks: ${int(injected.size)}; found ${int(hits)} (recall ${injected.size ? (hits / injected.size).toFixed(2) : '-'}); `
    + `false alarms ${int(falseAlarms)} (precision ${found.size ? ((found.size - falseAlarms) / found.size).toFixed(2) : '-'}).`);
  return out.join('\n');
}
