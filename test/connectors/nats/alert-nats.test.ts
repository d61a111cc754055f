import { connect, StringCodec, type NatsConnection } from 'nats';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { alertMessageId, alertNats, alertNatsSpec, type AlertNatsOptions } from '../../../connectors/nats/alert-nats.js';
import type { Alert } from '../../../engine/alert.js';
import { resolveOptions } from '../../../engine/pipeline/options.js';
import { describeNats, useNatsServer } from '../../helpers/nats.js';
import { testContext } from '../../helpers/samples.js';

function alert(component: string, state: Alert['state'], at: number): Alert {
  return {
    id: `process:${component}:h1:w1`, level: 'process', state, component, host: 'h1', process: 'w1', pid: 42,
    region: null, cluster: null, start: 0, end: at, detected_at: at, at, severity: 3.5, pattern: 'steady',
    rss: 1e9, rate: 1e6, bucket_mb: null, hosts: null, reason: 'test',
  };
}

describeNats('alert-nats sink', () => {
  const server = useNatsServer();
  let nc: NatsConnection;
  beforeAll(async () => { nc = await connect({ servers: server().url }); });
  afterAll(async () => { await nc.close(); });

  const sink = (options: Partial<AlertNatsOptions> = {}) => {
    const t = testContext('alerts');
    return { ...t, sink: alertNats(resolveOptions<AlertNatsOptions>(alertNatsSpec, { servers: server().url, ...options }), t.ctx) };
  };

  it('publishes each alert as JSON to <prefix>.<component>, done once the engine is idle', async () => {
    const got: { subject: string; body: Alert; id: string | undefined; type: string | undefined }[] = [];
    const sub = nc.subscribe('resin.alerts.>', {
      callback: (_e, m) => got.push({ subject: m.subject, body: m.json<Alert>(), id: m.headers?.get('Nats-Msg-Id'), type: m.headers?.get('Content-Type') }),
    });
    await nc.flush();
    const { sink: s, ctx, metrics } = sink();
    s.write(alert('api.v2', 'open', 1000));
    s.write(alert('db', 'update', 2000));
    await ctx.flow.idle();
    await nc.flush();
    await new Promise((r) => setTimeout(r, 50));
    expect(got.map((g) => g.subject)).toEqual(['resin.alerts.api_v2', 'resin.alerts.db']);
    expect(got[0]!.body).toEqual(alert('api.v2', 'open', 1000));
    expect(got[0]!.id).toBe(alertMessageId(alert('api.v2', 'open', 1000)));
    expect(got[0]!.type).toBe('application/json');
    expect(metrics.total('alerts_written')).toBe(2);
    await s.close();
    sub.unsubscribe();
  });

  it('an emission published twice (a replay after a crash) is stored once by a JetStream stream', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'ALERTS', subjects: ['dedup.>'] });
    const first = sink({ prefix: 'dedup' });
    first.sink.write(alert('api', 'open', 1000));
    await first.sink.close();
    const replay = sink({ prefix: 'dedup' });
    replay.sink.write(alert('api', 'open', 1000));
    replay.sink.write(alert('api', 'resolved', 5000));
    await replay.sink.close();
    const info = await jsm.streams.info('ALERTS');
    expect(info.state.messages).toBe(2);
    const sc = StringCodec();
    const stored = await jsm.streams.getMessage('ALERTS', { seq: 2 });
    expect(JSON.parse(sc.decode(stored.data)).state).toBe('resolved');
  });

  it('refuses a bad prefix or credentials when built', () => {
    expect(() => sink({ prefix: 'a.>' })).toThrow(/prefix/);
    expect(() => sink({ user: 'u' })).toThrow(/"user" needs "password"/);
    expect(() => sink({ token: 't', user: 'u', password: 'p' })).toThrow(/one authentication method/);
    expect(() => sink({ nkey_seed: 'SUnotaseed' })).toThrow(/not an nkey seed/);
    expect(() => sink({ creds_file: '/nonexistent/x.creds' })).toThrow(/cannot read "\/nonexistent\/x.creds"/);
    expect(() => sink({ tls: { cert: '/x.pem' } })).toThrow(/"tls.cert" and "tls.key" come together/);
  });
});
