import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { reportNats, reportNatsSpec, type ReportNatsOptions } from '../../../connectors/reports/report-nats.js';
import type { DiagnosisReport } from '../../../engine/diagnosis.js';
import { resolveOptions } from '../../../engine/pipeline/options.js';
import { describeNats, useNatsServer } from '../../helpers/nats.js';
import { testContext } from '../../helpers/samples.js';
import { sampleReport } from './fixtures.js';

describeNats('report-nats sink', () => {
  const server = useNatsServer();
  let nc: NatsConnection;
  beforeAll(async () => { nc = await connect({ servers: server().url }); });
  afterAll(async () => { await nc.close(); });

  it('publishes each report as its JSON to <prefix>.<component> with the report id as message id', async () => {
    const got: { subject: string; body: DiagnosisReport; id: string | undefined }[] = [];
    const sub = nc.subscribe('resin.reports.>', { callback: (_e, m) => got.push({ subject: m.subject, body: m.json<DiagnosisReport>(), id: m.headers?.get('Nats-Msg-Id') }) });
    await nc.flush();
    const { ctx, metrics } = testContext('reports');
    const sink = reportNats(resolveOptions<ReportNatsOptions>(reportNatsSpec, { servers: server().url }), ctx);
    const report = sampleReport({ target: { host: 'web-07', component: 'checkout.api', process: 'node', pid: 4312 } });
    sink.write(report);
    await ctx.flow.idle();
    await sink.close();
    await nc.flush();
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toHaveLength(1);
    expect(got[0]!.subject).toBe('resin.reports.checkout_api');
    expect(got[0]!.body).toEqual(report);
    expect(got[0]!.id).toBe(report.id);
    expect(metrics.counter('reports_written', { node: 'reports' }).value).toBe(1);
    sub.unsubscribe();
  });

  it('counts a report over the payload limit (1 MiB by default) instead of failing the run', async () => {
    const { ctx, metrics } = testContext('reports');
    const sink = reportNats(resolveOptions<ReportNatsOptions>(reportNatsSpec, { servers: server().url }), ctx);
    const huge = sampleReport({ stacks: Array.from({ length: 20_000 }, (_, i) => ({ frames: [{ function: `f${i}`, file: '/srv/a.js', line: i }], live_bytes: i, growth_bytes: i, count: 1 })) });
    sink.write(huge);
    await ctx.flow.idle();
    await sink.close();
    expect(metrics.counter('reports_failed', { node: 'reports', reason: 'too_large' }).value).toBe(1);
    expect(metrics.counter('reports_written', { node: 'reports' }).value).toBe(0);
  });
});
