import { deserialize, serialize } from 'node:v8';
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../engine/alert.js';
import type { BucketBatch } from '../../../engine/telemetry/buckets.js';
import { SeriesCatalog } from '../../../engine/telemetry/series.js';
import { bucketAnomaly, BucketAnomaly, severity, type BucketAnomalyOptions } from '../../../operators/level1/bucket-anomaly.js';
import { testContext } from '../../helpers/samples.js';

// Tests run at 1-second periods: every time option is given in seconds.
const SEC = 1000;
const T0 = Date.UTC(2026, 0, 1);
/** Period index of period p of a test (indices count from the epoch). */
const P = (p: number) => T0 / SEC + p;
const BUCKETS = Float64Array.from([100, 200, 500, 1000, 2000, 5000]);
const FAST: Partial<BucketAnomalyOptions> = {
  window: '240s', min_baseline: '72s', min_run: '2s', resolve_after: '6s', update_every: '6s',
};

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One period of a component: each host's size in MB, counted cumulatively into BUCKETS
 * (the bucketize operator is tested on its own; here counts are made directly).
 */
function period(catalog: SeriesCatalog, p: number, components: Record<string, number[]>): BucketBatch {
  const names = Object.keys(components);
  const B = BUCKETS.length;
  const hosts = new Int32Array(names.length * B);
  names.forEach((name, r) => {
    for (const mb of components[name]!) for (let b = 0; b < B; b++) if (mb >= BUCKETS[b]!) hosts[r * B + b]!++;
  });
  return {
    start: T0 + p * SEC, period: SEC, components: Int32Array.from(names, (n) => catalog.components.intern(n)),
    bucketMb: BUCKETS, hosts, watermark: T0 + (p + 1) * SEC,
  };
}

/** A 40-host component around 300 MB with per-host noise (AR(1), ~5 %) and occasional restarts. */
function fleet(seed: number, hostsN = 40) {
  const rand = rng(seed);
  const base = Array.from({ length: hostsN }, () => 300 * Math.exp(0.35 * (rand() + rand() + rand() - 1.5)));
  const ar = new Float64Array(hostsN);
  return (p: number, leak?: { hosts: number; from: number; mbPerPeriod: number }) => base.map((b, h) => {
    ar[h] = 0.8 * ar[h]! + 0.03 * (rand() - 0.5) * 2;
    const restart = rand() < 0.003 ? 0.5 : 1;
    let mb = b * (1 + ar[h]!) * restart * (1 + 0.05 * Math.sin((2 * Math.PI * (p + h)) / 24));
    if (leak && h < leak.hosts && p >= leak.from) mb += leak.mbPerPeriod * (p - leak.from);
    return mb;
  });
}

async function run(batches: (catalog: SeriesCatalog) => BucketBatch[], options: Partial<BucketAnomalyOptions> = FAST) {
  const env = testContext('fleet');
  const op = bucketAnomaly(options, env.ctx);
  const alerts = await lastValueFrom(op.apply(from(batches(env.ctx.catalog))).pipe(toArray()));
  return { alerts, op, ...env };
}

describe('bucket-anomaly', () => {
  it('stays silent on noise, restarts and daily cycles over a long run', async () => {
    for (const seed of [1, 2, 3]) {
      const sizes = fleet(seed);
      const { alerts } = await run((c) => Array.from({ length: 900 }, (_, p) => period(c, p, { svc: sizes(p) })));
      expect(alerts).toEqual([]);
    }
  });

  it('alerts when a few hosts of a component leak, naming the largest anomalous bucket', async () => {
    const sizes = fleet(4);
    const leak = { hosts: 3, from: 400, mbPerPeriod: 15 };
    const { alerts } = await run((c) => Array.from({ length: 520 }, (_, p) => period(c, p, { svc: sizes(p, leak), other: [300, 320] })));
    const opened = alerts.filter((a) => a.state === 'open');
    expect(opened).toHaveLength(1);
    const a = opened[0]!;
    expect(a).toMatchObject({ level: 'component', component: 'svc', host: null, process: null, pattern: 'unknown', rate: 0 });
    // Leakers grow 15 MB per period from ~300 MB; they are visible once above every healthy host.
    expect(a.at).toBeGreaterThan(T0 + (leak.from + 2) * SEC);
    expect(a.at).toBeLessThan(T0 + (leak.from + 60) * SEC);
    expect(a.bucket_mb).toBeGreaterThanOrEqual(500);
    expect(a.hosts).toBeGreaterThanOrEqual(1);
    expect(a.hosts).toBeLessThanOrEqual(3);
    expect(a.rss).toBe(a.bucket_mb! * 1024 * 1024);
    expect(a.severity).toBeGreaterThan(40);
    expect(a.start).toBeLessThan(a.end);
    expect(a.start).toBeGreaterThanOrEqual(T0 + 400 * SEC);
    expect(a.reason).toMatch(/hosts of svc at or above \d+ MB/);
    // Later emissions of the same leak are updates of the same alert, never a second one.
    expect(new Set(alerts.map((x) => x.id))).toEqual(new Set([a.id]));
    const last = alerts[alerts.length - 1]!;
    expect(last.bucket_mb).toBeGreaterThanOrEqual(a.bucket_mb!);
  });

  it('keeps only the largest alerting bucket of a component', () => {
    const catalog = new SeriesCatalog();
    const d = new BucketAnomaly(FAST, catalog.components);
    const out: Alert[] = [];
    for (let p = 0; p < 120; p++) out.push(...d.observe(period(catalog, p, { svc: [300, 300, 300, 300] })));
    // Five hosts jump to 2.5 GB: every bucket from 500 to 2000 MB becomes anomalous; the
    // 200 MB bucket held every host in the baseline, so it tracks the bulk and is not judged.
    for (let p = 120; p < 130; p++) out.push(...d.observe(period(catalog, p, { svc: [300, 300, 300, 300, 2500, 2500, 2500, 2500, 2500] })));
    expect(out.filter((a) => a.state === 'open').map((a) => a.bucket_mb)).toEqual([2000]);
    const verdicts = d.verdicts(catalog.components.lookup('svc')!, P(129))!;
    expect(verdicts.map((v) => BUCKETS[v.bucket])).toEqual([500, 1000, 2000]);
  });

  it('leaves single hosts to level 2 and does not judge buckets that hold the bulk of the hosts', () => {
    const judge = (before: number[], after: number[], options: Partial<BucketAnomalyOptions> = {}) => {
      const catalog = new SeriesCatalog();
      const d = new BucketAnomaly({ ...FAST, ...options }, catalog.components);
      const out: Alert[] = [];
      for (let p = 0; p < 120; p++) out.push(...d.observe(period(catalog, p, { svc: before })));
      for (let p = 120; p < 180; p++) out.push(...d.observe(period(catalog, p, { svc: after })));
      return out.filter((a) => a.state === 'open').map((a) => a.bucket_mb);
    };
    const base = Array.from({ length: 20 }, (_, i) => (i < 8 ? 550 : 300));
    // One host far above the rest for 60 periods: under min_hosts (2); two hosts alert.
    expect(judge(base, [...base.slice(1), 2500])).toEqual([]);
    expect(judge(base, [...base.slice(2), 2500, 2500])).toEqual([2000]);
    // 8 of 20 hosts sit at >= 500 MB: that bucket tracks the bulk, and 12 more hosts there is
    // a shift of the whole component (a rollout), not a leak of a few.
    expect(judge(base, base.map(() => 550))).toEqual([]);
    expect(judge(base, base.map(() => 550), { max_share: 1 })).toEqual([500]);
  });

  it('waits for min_baseline of history before judging', () => {
    const catalog = new SeriesCatalog();
    const d = new BucketAnomaly(FAST, catalog.components);
    const grow = (p: number) => ({ svc: [300, 300, 300, ...(p >= 20 ? [2500, 2500, 2500] : [])] });
    const early: Alert[] = [];
    // 60 periods: the baseline part (2/3) is 40 periods, short of 72.
    for (let p = 0; p < 60; p++) early.push(...d.observe(period(catalog, p, grow(p))));
    expect(early).toEqual([]);
    expect(d.verdicts(catalog.components.lookup('svc')!, P(59))).toBeNull();
    expect(d.verdicts(catalog.components.lookup('svc')!, P(59 + 60))).not.toBeNull();
    // A fresh history with a full baseline before the same jump does alert.
    const cat2 = new SeriesCatalog();
    const d2 = new BucketAnomaly(FAST, cat2.components);
    const out: Alert[] = [];
    for (let p = 0; p < 130; p++) out.push(...d2.observe(period(cat2, p, { svc: [300, 300, 300, ...(p >= 115 ? [2500, 2500, 2500] : [])] })));
    expect(out.filter((a) => a.state === 'open')).toHaveLength(1);
  });

  it('resolves once no bucket >= size_mb has been anomalous for resolve_after, not before', () => {
    const catalog = new SeriesCatalog();
    const d = new BucketAnomaly(FAST, catalog.components);
    const out: Alert[] = [];
    const leakers = [2500, 2500, 2500, 2500];
    const at = (p: number, sizes: number[]) => { out.push(...d.observe(period(catalog, p, { svc: [300, 300, ...sizes] }))); };
    for (let p = 0; p < 120; p++) at(p, []);
    for (let p = 120; p < 130; p++) at(p, leakers);
    expect(out.map((a) => a.state).filter((s) => s !== 'update')).toEqual(['open']);
    // Mitigated for 3 periods, back for one: shorter than resolve_after (6 s), the alert holds.
    for (let p = 130; p < 133; p++) at(p, []);
    at(133, leakers);
    expect(out.map((a) => a.state)).not.toContain('resolved');
    for (let p = 134; p < 145; p++) at(p, []);
    const resolved = out.filter((a) => a.state === 'resolved');
    expect(resolved).toHaveLength(1);
    expect(resolved[0]!.at).toBe(T0 + 140 * SEC);
    expect(resolved[0]!.id).toBe(out[0]!.id);
    expect(resolved[0]!.reason).toMatch(/no bucket of svc at or above 200 MB has been anomalous for 6s/);
  });

  it('scores deviation, host count and persistence, and nothing within the band', () => {
    const o = { sigma_floor: 0.5, band: 0.25, z_min: 1, z_cap: 10 };
    expect(severity(1, 0, 0, o)).toBeCloseTo((2 - 1) * 1);
    expect(severity(3, 0, 0, o)).toBeCloseTo((6 - 1) * 2);
    expect(severity(12, 10, 1, o)).toBe(0);
    expect(severity(1000, 0, 0, o)).toBeCloseTo((10 - 1) * Math.log2(1001));
    expect(severity(3, 0, 0, o)).toBeGreaterThan(severity(2, 0, 0, o));
  });

  it('resumes from a checkpoint: two halves raise the alerts of one whole run', async () => {
    const sizesA = fleet(5), sizesB = fleet(5);
    const leak = { hosts: 4, from: 300, mbPerPeriod: 20 };
    const all = (sizes: ReturnType<typeof fleet>, c: SeriesCatalog, from: number, to: number) => {
      const out: BucketBatch[] = [];
      for (let p = 0; p < to; p++) {
        const s = sizes(p, leak);
        if (p >= from) out.push(period(c, p, { svc: s }));
      }
      return out;
    };
    const whole = await run((c) => all(sizesA, c, 0, 420));
    expect(whole.alerts.length).toBeGreaterThan(0);
    const first = await run((c) => all(sizesB, c, 0, 330));
    const catalog = new SeriesCatalog();
    catalog.restore(deserialize(serialize(first.ctx.catalog.checkpoint())));
    const env = testContext('fleet');
    const op = bucketAnomaly(FAST, { ...env.ctx, catalog });
    op.restore(deserialize(serialize(first.op.checkpoint())));
    const sizesC = fleet(5);
    const second = await lastValueFrom(op.apply(from(all(sizesC, catalog, 330, 420))).pipe(toArray()));
    expect([...first.alerts, ...second]).toEqual(whole.alerts);
  });

  it('refuses bad options when built, and windows of too many periods when data arrives', async () => {
    const { ctx } = testContext();
    expect(() => bucketAnomaly({ baseline_share: 1 }, ctx)).toThrow(/"baseline_share" must be between 0 and 1/);
    expect(() => bucketAnomaly({ window: '3d', min_baseline: '3d' }, ctx)).toThrow(/"min_baseline" \(3d\) must fit in the baseline part/);
    expect(() => bucketAnomaly({ z_min: 5, z_cap: 4 }, ctx)).toThrow(/"z_cap" must be greater than "z_min"/);
    const d = new BucketAnomaly({}, new SeriesCatalog().components);
    expect(() => d.observe(period(new SeriesCatalog(), 0, { svc: [1] }))).toThrow(/"window" 15d spans 1296000 periods of 1s/);
  });
});
