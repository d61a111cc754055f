import type { DiagnosisReport } from '../../../engine/diagnosis.js';

const MIB = 1024 * 1024;
const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);

/** A report as diagnosis writes it: a steady leak localised in `rememberSession`, names from a hostile target included. */
export function sampleReport(over: Partial<DiagnosisReport> = {}): DiagnosisReport {
  return {
    id: 'alert-42:web-07:4312',
    alert_id: 'alert-42',
    target: { host: 'web-07', component: 'checkout', process: 'node', pid: 4312 },
    profiler: 'node',
    pattern: 'steady',
    outcome: 'localised',
    trigger: 'steady: R^2 0.93 > 0.8 over the last 6h',
    reason: null,
    started_at: T0,
    ended_at: T0 + 90 * 60_000,
    memory: [0, 1, 2, 3].map((i) => ({ at: T0 + i * 30 * 60_000, rss: (300 + 40 * i) * MIB, heap_used: (120 + 38 * i) * MIB, external: 4 * MIB })),
    snapshots: 4,
    references: 2,
    stacks: [
      {
        frames: [
          { function: 'rememberSession', file: '/srv/app/session.js', line: 41 },
          { function: 'handleLogin', file: '/srv/app/routes.js', line: 12 },
          { function: 'processTicksAndRejections', file: 'node:internal/process/task_queues', line: 95 },
        ],
        live_bytes: 118 * MIB, growth_bytes: 38 * MIB, count: 9120,
      },
      {
        frames: [{ function: 'render<script>alert(1)</script>', file: '/srv/app/view|s.js', line: 7 }],
        live_bytes: 3 * MIB, growth_bytes: 512 * 1024, count: 40,
      },
      { frames: [{ function: 'parseRequest', file: null, line: null }], live_bytes: 2 * MIB, growth_bytes: 4096, count: 3 },
    ],
    ...over,
  };
}
