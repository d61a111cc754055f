import { toMs } from '../../engine/duration.js';
import { durationSchema } from '../../engine/pipeline/options.js';
import type { NodeContext, SourceInstance, SourceSpec } from '../../engine/spec.js';
import { SampleBatchBuilder } from '../../engine/telemetry/builder.js';
import type { SampleBatch } from '../../engine/telemetry/schema.js';
import { emptyRaw, SampleRow, validateSample } from '../../engine/telemetry/validate.js';
import { parseExposition } from './exposition.js';
import { compileMappings, PRESETS, type CompiledMapping, type MetricMapping } from './mapping.js';

export interface ScrapeTarget {
  url: string;
  /** The `host` of its samples (default: the URL's host name). */
  host?: string;
  region?: string;
  cluster?: string;
}

export interface PrometheusSourceOptions {
  targets: (string | ScrapeTarget)[];
  interval: string | number;
  /** Per target and scrape; must be below the interval. */
  timeout: string | number;
  presets: string[];
  mappings: MetricMapping[];
  /** Largest page read, bytes. */
  max_body_bytes: number;
  batch_size: number;
}

type ScrapeError = 'timeout' | 'connection' | 'http_status' | 'too_large';

interface Target extends ScrapeTarget {
  readonly host: string;
  readonly counters: {
    scrapes: { value: number };
    samples: { value: number };
    errors: Record<ScrapeError, { value: number }>;
    up: { value: number };
  };
  failing: boolean;
}

/**
 * Scrapes Prometheus exporters' /metrics pages (text format 0.0.4) every `interval`,
 * all targets at once, each within `timeout`, and maps chosen metrics to samples
 * (presets for process-exporter, node_exporter and cAdvisor, or `mappings`). Scrapes
 * start on multiples of the interval, like the agent's cycles. The source is pulled:
 * a scrape starts when the engine asks for the next batch, so a busy engine delays
 * scrapes (counted as `prometheus_scrapes_skipped`) instead of piling them up.
 *
 * Errors never stop the source: a failed scrape is counted by target and reason
 * (`prometheus_scrape_errors{target,reason}`, `prometheus_target_up`), logged when a
 * target starts and stops failing, and the next interval tries again. Lines that are
 * not exposition format are dead-lettered (`invalid_exposition`); samples that break
 * the sample rules (NaN, negative) are dead-lettered with their reason.
 */
export function prometheusSource(options: PrometheusSourceOptions, ctx: NodeContext): SourceInstance<SampleBatch> {
  const interval = toMs(options.interval);
  const timeout = toMs(options.timeout);
  if (!(interval > 0)) throw new Error(`"interval" must be greater than 0, got ${options.interval}`);
  if (!(timeout > 0) || timeout > interval) throw new Error(`"timeout" must be greater than 0 and at most "interval", got ${options.timeout}`);
  const mappings = compileMappings(options.presets, options.mappings);
  const targets: Target[] = options.targets.map((t, i) => {
    const target = typeof t === 'string' ? { url: t } : t;
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      throw new Error(`"targets"[${i}]: "${target.url}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`"targets"[${i}]: "${target.url}" is not an http(s) URL`);
    const labels = { node: ctx.id, target: target.url };
    return {
      ...target,
      host: target.host ?? url.hostname,
      failing: false,
      counters: {
        scrapes: ctx.metrics.counter('prometheus_scrapes', labels),
        samples: ctx.metrics.counter('prometheus_samples', labels),
        errors: Object.fromEntries((['timeout', 'connection', 'http_status', 'too_large'] as const)
          .map((r) => [r, ctx.metrics.counter('prometheus_scrape_errors', { ...labels, reason: r })])) as unknown as Target['counters']['errors'],
        up: ctx.metrics.gauge('prometheus_target_up', labels),
      },
    };
  });
  const skipped = ctx.metrics.counter('prometheus_scrapes_skipped', { node: ctx.id });
  const builder = new SampleBatchBuilder('prometheus', options.batch_size);
  const ready: SampleBatch[] = [];
  const row = new SampleRow();
  const raw = emptyRaw();
  let record = 0;

  function fail(t: Target, reason: ScrapeError, detail: string): void {
    t.counters.errors[reason].value++;
    t.counters.up.value = 0;
    if (!t.failing) ctx.log.warn('scrape failed', { target: t.url, reason, detail });
    t.failing = true;
  }

  /** The page of one target, or null (counted) when it could not be had. */
  async function fetchPage(t: Target): Promise<string | null> {
    const signal = AbortSignal.any([AbortSignal.timeout(timeout), ctx.signal]);
    try {
      const res = await fetch(t.url, { signal, headers: { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' } });
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => {});
        fail(t, 'http_status', `HTTP ${res.status}`);
        return null;
      }
      const parts: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        if (size > options.max_body_bytes) {
          await res.body?.cancel().catch(() => {});
          fail(t, 'too_large', `page larger than ${options.max_body_bytes} bytes`);
          return null;
        }
        parts.push(chunk);
      }
      return Buffer.concat(parts).toString('utf8');
    } catch (err) {
      if (ctx.signal.aborted) return null;
      const name = (err as Error).name;
      fail(t, name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'connection', (err as Error).message);
      return null;
    }
  }

  function take(t: Target, page: string, scrapedAt: number): void {
    const source = `prometheus:${t.url}`;
    parseExposition(page, (name) => mappings.has(name), (s, line) => {
      for (const m of mappings.get(s.name)! as CompiledMapping[]) {
        if (!m.matches(s.labels)) continue;
        record++;
        raw.ts = s.timestamp ?? scrapedAt;
        raw.host = t.host;
        raw.component = m.componentOf(s.labels);
        raw.process = m.processOf(s.labels);
        raw.pid = m.pidOf(s.labels);
        raw.rss = s.value;
        raw.host_mem = undefined;
        raw.region = t.region;
        raw.cluster = t.cluster;
        raw.version = undefined;
        const invalid = validateSample(raw, row);
        if (invalid !== null) {
          ctx.deadLetter.reject({
            reason: invalid.reason, source, line, field: invalid.field, detail: invalid.detail,
            record: { metric: s.name, labels: Object.fromEntries(s.labels), value: String(s.value) },
          });
          continue;
        }
        builder.append(row, record);
        t.counters.samples.value++;
        if (builder.full) ready.push(builder.build());
      }
    }, (message, line, lineNo) => {
      ctx.deadLetter.reject({ reason: 'invalid_exposition', source, line: lineNo, detail: message, record: line });
    });
  }

  async function scrapeAll(): Promise<void> {
    const scrapedAt = Date.now();
    const pages = await Promise.all(targets.map((t) => fetchPage(t)));
    targets.forEach((t, i) => {
      const page = pages[i];
      if (page === null || page === undefined) return;
      t.counters.scrapes.value++;
      t.counters.up.value = 1;
      if (t.failing) ctx.log.info('scrape works again', { target: t.url });
      t.failing = false;
      take(t, page, scrapedAt);
    });
    if (builder.length > 0) ready.push(builder.build());
  }

  let listening = false;
  return {
    async *read() {
      listening = true;
      let next = Date.now();
      while (!ctx.signal.aborted) {
        const now = Date.now();
        if (now < next) await sleep(next - now, ctx.signal);
        if (ctx.signal.aborted) break;
        const late = Math.floor((Date.now() - next) / interval);
        if (late > 0) skipped.value += late;
        next = (Math.floor(Date.now() / interval) + 1) * interval;
        await scrapeAll();
        while (ready.length > 0) yield ready.shift()!;
      }
    },

    ready() {
      return listening;
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

const targetSchema = {
  anyOf: [
    { type: 'string', minLength: 1 },
    {
      type: 'object', additionalProperties: false, required: ['url'],
      properties: {
        url: { type: 'string', minLength: 1 }, host: { type: 'string', minLength: 1 },
        region: { type: 'string', minLength: 1 }, cluster: { type: 'string', minLength: 1 },
      },
    },
  ],
};

export const prometheusSourceSpec: SourceSpec<PrometheusSourceOptions, 'samples'> = {
  type: 'prometheus',
  kind: 'source',
  summary: 'Scrapes Prometheus exporters (text format) on an interval and maps memory metrics to samples',
  output: 'samples',
  options: {
    type: 'object',
    additionalProperties: false,
    required: ['targets'],
    properties: {
      targets: { type: 'array', minItems: 1, items: targetSchema, description: 'URLs of /metrics pages, or { url, host, region, cluster }' },
      interval: durationSchema({ default: '60s', description: 'time between scrapes' }),
      timeout: durationSchema({ default: '10s', description: 'longest wait for one target\'s page' }),
      presets: { type: 'array', items: { enum: Object.keys(PRESETS) }, default: [], description: 'built-in mappings: process-exporter, node-exporter, cadvisor' },
      mappings: {
        type: 'array', default: [], description: 'metric and labels to sample: { metric, match, component, process, pid_label }',
        items: {
          type: 'object', additionalProperties: false, required: ['metric', 'component'],
          properties: {
            metric: { type: 'string', pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]*$' },
            match: { type: 'object', additionalProperties: { type: 'string' } },
            component: { type: 'string', minLength: 1 },
            process: { type: 'string', minLength: 1 },
            pid_label: { type: 'string', minLength: 1 },
          },
        },
      },
      max_body_bytes: { type: 'integer', minimum: 1024, default: 64 * 1024 * 1024, description: 'largest page read, bytes' },
      batch_size: { type: 'integer', minimum: 1, maximum: 1_048_576, default: 65536, description: 'rows per batch at most' },
    },
  },
  create: prometheusSource,
};
