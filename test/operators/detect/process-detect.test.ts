import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../engine/errors.js';
import { resolveOptions } from '../../../engine/pipeline/options.js';
import { processDetectSpec, type ProcessDetectOptions } from '../../../operators/detect/process-detect.js';
import { testContext } from '../../helpers/samples.js';
import { batches, detect, detectInTwoRuns, gauss, healthy, HOUR, hoursToOpen, MB, seriesIds, T0 } from './fleet.js';

/** A fleet of `n` processes of one component on hosts host-0.., healthy unless `leak` says otherwise. */
function fleet(n: number, days: number, leak: (i: number, k: number) => number = () => 0, opts: { noise?: number; diurnal?: number } = {}) {
  const { ctx } = testContext('level2');
  const ids = seriesIds(ctx.catalog, n);
  const shapes = ids.map((_, i) => healthy((300 + 40 * i) * MB, opts.diurnal ?? 0.05, opts.noise ?? 0.005, i + 1));
  // Leaked memory adds to the load's, it does not swing with it.
  return { ctx, ids, input: batches({ ids, periods: days * 24, value: (i, k) => shapes[i]!(k) + leak(i, k) * (300 + 40 * i) * MB }) };
}

describe('process-detect', () => {
  it('never flags a healthy fleet with daily cycles, noise, spikes, restarts and warm-ups', async () => {
    const { ctx } = testContext('level2');
    const n = 40, days = 21;
    const ids = seriesIds(ctx.catalog, n);
    const noise = ids.map((_, i) => gauss(100 + i));
    const base = ids.map((_, i) => (150 + 97 * i) * MB);
    // Restarts every few days with a warm-up from 60% back to the baseline, a spike now and then.
    const restartAt = (i: number, k: number) => k > 0 && (k + 17 * i) % (24 * (3 + (i % 5))) === 0;
    const sinceRestart = new Int32Array(n).fill(1000);
    const { alerts } = await detect(batches({
      ids, periods: days * 24,
      restarted: (i, k) => restartAt(i, k),
      value: (i, k) => {
        sinceRestart[i] = restartAt(i, k) ? 0 : sinceRestart[i]! + 1;
        const warm = 1 - 0.4 * Math.exp(-sinceRestart[i]! / 3);
        const cycle = (0.02 + 0.02 * (i % 4)) * Math.sin((2 * Math.PI * (k + i)) / 24);
        const spike = (k + 5 * i) % 61 === 0 ? 0.3 : 0;
        return base[i]! * (warm + cycle + spike + (0.003 + 0.002 * (i % 3)) * noise[i]!());
      },
    }), {}, ctx);
    expect(alerts).toEqual([]);
  });

  it('flags a steady leak of 1.5%/day of its baseline within 24-48 h, and nothing else', async () => {
    const start = 6 * 24;
    const { ctx, input } = fleet(20, 12, (i, k) => (i === 0 && k >= start ? (0.015 * (k - start)) / 24 : 0));
    const { alerts } = await detect(input, {}, ctx);
    const hours = hoursToOpen(alerts, 'host-0', T0 + start * HOUR);
    expect(hours).not.toBeNull();
    expect(hours!).toBeGreaterThanOrEqual(24);
    expect(hours!).toBeLessThanOrEqual(48);
    expect(new Set(alerts.map((a) => a.host))).toEqual(new Set(['host-0']));
  });

  it('reports clear growth after clear_confirm, growth that is merely large after confirm', async () => {
    // 30%/day and 8%/day from day 5: the fast leak is clear (2.5 x min_growth and growth_z) hours after
    // it passes the rule, the slow one only passes it.
    const start = 5 * 24;
    const run = async (opts: Partial<ProcessDetectOptions>) => {
      const { ctx, input } = fleet(12, 9, (i, k) => (k >= start ? ((i === 0 ? 0.3 : i === 1 ? 0.08 : 0) * (k - start)) / 24 : 0));
      const { alerts } = await detect(input, opts, ctx);
      expect(new Set(alerts.map((a) => a.host))).toEqual(new Set(['host-0', 'host-1']));
      return [hoursToOpen(alerts, 'host-0', T0 + start * HOUR)!, hoursToOpen(alerts, 'host-1', T0 + start * HOUR)!];
    };
    const [fast, slow] = await run({});
    const [fastOff, slowOff] = await run({ clear_growth: 0 });
    const [fastLong] = await run({ clear_confirm: '5h' });
    // At most the two periods between confirm and clear_confirm sooner.
    expect(fast).toBeLessThan(fastOff);
    expect(fastOff - fast).toBeLessThanOrEqual(2);
    expect(fastLong).toBe(fastOff);
    expect(slow).toBe(slowOff);
  });

  it('fills the alert from the catalog and the interval', async () => {
    const start = 5 * 24;
    const { ctx, ids, input } = fleet(10, 9, (i, k) => (i === 3 && k >= start ? (0.1 * (k - start)) / 24 : 0));
    ctx.catalog.seriesRegion[ids[3]!] = ctx.catalog.attrs.intern('eu-west');
    ctx.catalog.seriesCluster[ids[3]!] = ctx.catalog.attrs.intern('c7');
    const { alerts } = await detect(input, {}, ctx);
    const open = alerts.find((a) => a.state === 'open')!;
    expect(open).toMatchObject({
      level: 'process', component: 'svc', host: 'host-3', process: 'svc', pid: 1003, region: 'eu-west', cluster: 'c7',
      bucket_mb: null, hosts: null,
    });
    expect(open.start).toBeLessThan(open.end);
    expect(open.end).toBe(open.at - HOUR);
    expect(open.rss).toBe(input[(open.end - T0) / HOUR]!.mean[3]);
    expect(open.rate).toBeCloseTo(((open.rss - input[(open.start - T0) / HOUR]!.mean[3]!) / (open.end - open.start)) * HOUR, 3);
    expect(open.severity).toBeGreaterThan(1);
    expect(open.reason).toMatch(/^rss grew \d+(\.\d+)? MB in \d+(\.\d)? (h|days) \(\d+(\.\d+)? MB\/h\), (steady|stair|spike|unknown), \d+% of points increasing$/);
    // The book re-emits the same alert, never a second one, while the leak goes on.
    expect(new Set(alerts.map((a) => a.id)).size).toBe(1);
    expect(alerts.slice(1).every((a) => a.state === 'update')).toBe(true);
  });

  it('resolves an alert once a restart freed the memory and it did not grow again', async () => {
    const start = 5 * 24, restart = 9 * 24;
    const { ctx, ids } = fleet(10, 1);
    const shapes = ids.map((_, i) => healthy((300 + 40 * i) * MB, 0.05, 0.005, i + 1));
    const input = batches({
      ids, periods: 12 * 24,
      value: (i, k) => shapes[i]!(k) * (1 + (i === 0 && k >= start && k < restart ? (0.1 * (k - start)) / 24 : 0)),
      restarted: (i, k) => i === 0 && k === restart,
      pid: (i, k) => (i === 0 && k >= restart ? 2000 : 1000 + i),
    });
    const { alerts } = await detect(input, { resolve_after: '12h' }, ctx);
    const mine = alerts.filter((a) => a.host === 'host-0');
    expect(mine[0]!.state).toBe('open');
    const resolved = mine.filter((a) => a.state === 'resolved');
    expect(resolved).toHaveLength(1);
    expect(resolved[0]!.id).toBe(mine[0]!.id);
    expect(resolved[0]!.reason).toMatch(/restarted/);
    // Resolved after 12 h of quiet from the restart, not before, and nothing opens again.
    expect(resolved[0]!.at).toBe(T0 + (restart + 12) * HOUR + HOUR);
    expect(mine.at(-1)!.state).toBe('resolved');
  });

  it('does not flap: a leak whose growth pauses stays one open alert', async () => {
    // 10%/day for two days, a 10 h pause (noise only), then 10%/day again.
    const start = 5 * 24;
    const level = (k: number) => {
      const t = k - start;
      if (t < 0) return 0;
      const grown = Math.min(t, 48) + Math.max(0, t - 58);
      return (0.1 * grown) / 24;
    };
    const { ctx, input } = fleet(10, 10, (i, k) => (i === 0 ? level(k) : 0));
    const { alerts } = await detect(input, {}, ctx);
    const mine = alerts.filter((a) => a.host === 'host-0');
    expect(mine.filter((a) => a.state === 'open')).toHaveLength(1);
    expect(mine.filter((a) => a.state === 'resolved')).toHaveLength(0);
  });

  it('classifies stair and spike leaks', async () => {
    const start = 5 * 24;
    // Stair: 5 h of growth, 14 h flat, +4% a step (not a daily rhythm, which would pass for the
    // daily cycle). Spike: +12% within two hours, flat since.
    const stair = (k: number) => {
      const t = k - start;
      if (t < 0) return 0;
      const steps = Math.floor(t / 19), into = t % 19;
      return 0.04 * (steps + Math.min(into, 5) / 5);
    };
    const spike = (k: number) => (k < start ? 0 : k === start ? 0.06 : 0.12);
    const last = (alerts: { host: string | null; state: string; pattern: string }[]) => alerts.filter((a) => a.state !== 'resolved').at(-1);
    const stairs = fleet(20, 11, (i, k) => (i === 0 ? stair(k) : 0));
    const stairAlerts = (await detect(stairs.input, {}, stairs.ctx)).alerts;
    expect(new Set(stairAlerts.map((a) => a.host))).toEqual(new Set(['host-0']));
    expect(last(stairAlerts)?.pattern).toBe('stair');
    // Noisier processes, so that each hour of the jump stays within 3 sigma2 and counts as growth.
    const spikes = fleet(20, 8, (i, k) => (i === 0 ? spike(k) : 0), { noise: 0.02 });
    const spikeAlerts = (await detect(spikes.input, {}, spikes.ctx)).alerts;
    expect(new Set(spikeAlerts.map((a) => a.host))).toEqual(new Set(['host-0']));
    expect(last(spikeAlerts)?.pattern).toBe('spike');
  });

  it('reports a lasting jump that only its process took, not one its host-mates took too', async () => {
    // Ten hosts of three components. A +15% jump within an hour on day 6, never released: a
    // 3-sigma event by the method's rule. Alone on one process it is a spike leak; on every
    // process of the host it is a workload shift.
    const run = async (shared: boolean) => {
      const { ctx } = testContext('level2');
      const ids: number[] = [];
      const hostOf: number[] = [];
      for (const c of ['api', 'cache', 'queue']) seriesIds(ctx.catalog, 10, c).forEach((id, h) => { ids.push(id); hostOf.push(h); });
      const shapes = ids.map((_, i) => healthy((200 + 30 * i) * MB, 0.05, 0.005, i + 3));
      const jumps = (i: number) => hostOf[i] === 4 && (shared || i < 10);
      return (await detect(batches({
        ids, periods: 10 * 24,
        value: (i, k) => shapes[i]!(k) * (1 + (jumps(i) && k >= 6 * 24 ? 0.15 : 0)),
      }), {}, ctx)).alerts;
    };
    const own = await run(false);
    expect(new Set(own.map((a) => `${a.host}/${a.component}`))).toEqual(new Set(['host-4/api']));
    expect(hoursToOpen(own, 'host-4', T0 + 6 * 24 * HOUR)).toBeLessThanOrEqual(30);
    expect(await run(true)).toEqual([]);
    // The method's literal rule: the jump is an event and growth is measured after it.
    expect((await detectLiteralSteps())).toEqual([]);
    async function detectLiteralSteps() {
      const { ctx } = testContext('level2');
      const ids = seriesIds(ctx.catalog, 10, 'api');
      const shapes = ids.map((_, i) => healthy((200 + 30 * i) * MB, 0.05, 0.005, i + 3));
      return (await detect(batches({ ids, periods: 10 * 24, value: (i, k) => shapes[i]!(k) * (1 + (i === 4 && k >= 6 * 24 ? 0.15 : 0)) }), { steps: 'event' }, ctx)).alerts;
    }
  });

  it('learns a short warm-up from its component and judges a leak after a restart sooner', async () => {
    // Forty processes restart every 2-4 days and are warm within hours (tau 1 h); from day 8 one of
    // them leaks 10%/day from a restart on. With the warm-up learned from the others' restarts the
    // leak is judged from a few hours after the restart instead of 24.
    const make = () => {
      const { ctx } = testContext('level2');
      const n = 40;
      const ids = seriesIds(ctx.catalog, n);
      const noise = ids.map((_, i) => gauss(300 + i));
      const leakAt = 8 * 24 + 3;
      const restartAt = (i: number, k: number) => (i === 0 ? k === leakAt : k > 0 && (k + 11 * i) % (24 * (2 + (i % 3))) === 0);
      const since = new Int32Array(n).fill(1000);
      const input = batches({
        ids, periods: 13 * 24, restarted: restartAt,
        value: (i, k) => {
          since[i] = restartAt(i, k) ? 0 : since[i]! + 1;
          const warm = 1 - 0.3 * Math.exp(-since[i]! / 1);
          const leak = i === 0 && k >= leakAt ? (0.1 * (k - leakAt)) / 24 : 0;
          return (300 + 20 * i) * MB * (warm + leak + 0.04 * Math.sin((2 * Math.PI * k) / 24) + 0.004 * noise[i]!());
        },
      });
      return { ctx, input, leakAt };
    };
    const learned = make();
    const fixed = make();
    const a = (await detect(learned.input, {}, learned.ctx)).alerts;
    const b = (await detect(fixed.input, { learn_warmup: false }, fixed.ctx)).alerts;
    expect(new Set(a.map((x) => x.host))).toEqual(new Set(['host-0']));
    const since = T0 + learned.leakAt * HOUR;
    const early = hoursToOpen(a, 'host-0', since)!, late = hoursToOpen(b, 'host-0', since)!;
    expect(late - early).toBeGreaterThanOrEqual(12);
  });

  it('leaves growth shared by every process of a host alone', async () => {
    // Ten hosts of four components; host-2's load grows 20% over six hours on day 6.
    const { ctx } = testContext('level2');
    const comps = ['api', 'cache', 'queue', 'log'];
    const ids: number[] = [];
    const hostOf: number[] = [];
    for (const c of comps) seriesIds(ctx.catalog, 10, c).forEach((id, h) => { ids.push(id); hostOf.push(h); });
    const shapes = ids.map((_, i) => healthy((200 + 30 * i) * MB, 0.05, 0.005, i + 7));
    const ramp = (k: number) => Math.min(1, Math.max(0, (k - 6 * 24) / 6));
    const { alerts } = await detect(batches({
      ids, periods: 11 * 24,
      value: (i, k) => shapes[i]!(k) * (1 + (hostOf[i] === 2 ? (0.12 + 0.03 * (i % 4)) * ramp(k) : 0)),
    }), {}, ctx);
    expect(alerts).toEqual([]);
  });

  it('works at scaled-down periods when every time option is scaled with them', async () => {
    const start = 5 * 24;
    const make = (period: number) => {
      const { ctx } = testContext('level2');
      const ids = seriesIds(ctx.catalog, 10);
      const shapes = ids.map((_, i) => healthy((300 + 40 * i) * MB, 0.05, 0.005, i + 1));
      const input = batches({
        ids, periods: 10 * 24, period, start: 0,
        value: (i, k) => shapes[i]!(k) * (1 + (i === 0 && k >= start ? (0.05 * (k - start)) / 24 : 0)),
      });
      return { ctx, input };
    };
    const hourly = make(HOUR);
    const a = await detect(hourly.input, {}, hourly.ctx);
    const seconds = make(1000);
    // One second stands for one hour: every duration option divided by 3600.
    const b = await detect(seconds.input, {
      model_window: '720s', pattern_window: '168s', cycle: '24s', growth_window: '168s', min_duration: '30s', confirm: '5s',
      clear_min_duration: '25s', clear_confirm: '3s',
      warmup: '24s', event_window: '6s', resolve_after: '12s', update_every: '6s',
    }, seconds.ctx);
    // Updates follow severity too, whose dT term counts months of event time: compare what opens and closes.
    const key = (alerts: typeof a.alerts, unit: number) => alerts.filter((x) => x.state !== 'update')
      .map((x) => [x.state, x.host, x.pattern, x.start / unit, x.end / unit, x.at / unit, x.rss]);
    expect(key(a.alerts, HOUR).length).toBeGreaterThan(0);
    expect(key(b.alerts, 1000)).toEqual(key(a.alerts, HOUR));
  });

  it('gives the same output after a checkpoint and restore as without', async () => {
    const start = 5 * 24, restart = 9 * 24;
    // Two leaks, one of them restarted, so that alerts open, update and resolve on both sides of the split.
    const make = () => {
      const { ctx } = testContext('level2');
      const ids = seriesIds(ctx.catalog, 12);
      const shapes = ids.map((_, i) => healthy((300 + 40 * i) * MB, 0.05, 0.005, i + 1));
      const input = batches({
        ids, periods: 12 * 24,
        value: (i, k) => shapes[i]!(k) + MB * ((i === 0 && k >= start && k < restart ? (24 * (k - start)) / 24 : 0) + (i === 5 && k >= 7 * 24 ? (100 * (k - 7 * 24)) / 24 : 0)),
        restarted: (i, k) => i === 0 && k === restart,
      });
      return { ctx, input };
    };
    const whole = make();
    const all = await detect(whole.input, {}, whole.ctx);
    const split = 8 * 24 + 5;

    const first = make();
    const resumed = detectInTwoRuns(first.input, first.ctx, split);
    expect(new Set(all.alerts.map((a) => a.state))).toEqual(new Set(['open', 'update', 'resolved']));
    expect(all.alerts.some((a) => a.at > T0 + split * HOUR)).toBe(true);
    expect(resumed).toEqual(all.alerts);
  });

  it('dead-letters rows it cannot use and goes on with the rest', async () => {
    const { ctx, ids, input } = fleet(3, 1);
    const bad = input[5]!;
    const rows = {
      ...bad, length: 6,
      series: Int32Array.from([...bad.series, 999, ids[0]!, ids[1]!]),
      mean: Float64Array.from([...bad.mean, MB, -1, NaN]),
      max: new Float64Array(6), count: new Int32Array(6), pid: new Int32Array(6).fill(-1), restarted: new Uint8Array(6),
    };
    const { deadLetter } = { deadLetter: (ctx.deadLetter as unknown as { rejections: { reason: string; line: number }[] }) };
    const again = { ...input[6]!, start: input[5]!.start };
    await detect([...input.slice(0, 5), rows, again, ...input.slice(6)], {}, ctx);
    const reasons = deadLetter.rejections.map((r) => `${r.reason}@${r.line}`);
    expect(reasons.slice(0, 3)).toEqual(['missing_field@4', 'negative_value@5', 'not_finite@6']);
    expect(reasons.slice(3)).toEqual(['conflict@1', 'conflict@2', 'conflict@3']);
    expect(ctx.metrics.total('samples_rejected')).toBe(6);
  });

  it('refuses bad options when built, naming each', () => {
    const { ctx } = testContext('level2');
    const build = (o: Partial<ProcessDetectOptions>) => () => processDetectSpec.create(resolveOptions(processDetectSpec, o), ctx);
    expect(build({ growth_window: '20h' })).toThrow(/growth_window.*at least a cycle and a quarter \(30h\)/);
    expect(build({ pattern_window: '5d' })).toThrow(/pattern_window.*at least growth_window \(7d\)/);
    expect(build({ cycle: '0h' })).toThrow(ConfigError);
    expect(() => resolveOptions(processDetectSpec, { smoothing: '24h' })).toThrow(/smoothing/);
    expect(() => resolveOptions(processDetectSpec, { warmup: 'soon' })).toThrow(/warmup/);
    expect(() => resolveOptions(processDetectSpec, { clear_growth: -1 })).toThrow(/clear_growth/);
    expect(build({ clear_min_duration: '0h' })).toThrow(/clear_min_duration/);
  });

  it('releases its state on close', async () => {
    const { ctx, input } = fleet(3, 2);
    const node = processDetectSpec.create(resolveOptions(processDetectSpec, {}), ctx);
    const checkpoint = () => (node as unknown as { checkpoint(): { period: number } }).checkpoint();
    await new Promise<void>((done) => node.apply(from(input)).subscribe({ complete: done }));
    expect(checkpoint().period).toBe(HOUR);
    await node.close!();
    expect(checkpoint().period).toBe(0);
  });
});
