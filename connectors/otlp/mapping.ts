import { clearRaw, emptyRaw, type RawSample } from '../../engine/telemetry/validate.js';
import { attributeValue, nanosToMs, type KeyValue, type Metric, type MetricsRequest, type NumberDataPoint } from './decode.js';

/**
 * Which OTLP metrics become samples and which attributes fill their fields
 * (docs/ingest.md). Defaults follow the OpenTelemetry semantic conventions as the
 * Collector's hostmetrics `process` scraper emits them: `process.memory.usage`
 * (resident bytes) with resource attributes `host.name`, `process.pid`,
 * `process.executable.name` and, when a resource processor adds it, `service.name`.
 */
export interface OtlpMapping {
  /** Metric names taken; every other metric is ignored (counted, not refused). */
  metrics: string[];
  /** The component is the first of these attributes present. */
  component_attributes: string[];
  /** The process label (default: the component). */
  process_attribute: string;
  host_attribute: string;
  pid_attribute: string;
  region_attribute: string;
  cluster_attribute: string;
  version_attribute: string;
}

export const MAPPING_DEFAULTS: OtlpMapping = {
  metrics: ['process.memory.usage'],
  component_attributes: ['service.name', 'process.executable.name'],
  process_attribute: 'process.executable.name',
  host_attribute: 'host.name',
  pid_attribute: 'process.pid',
  region_attribute: 'cloud.region',
  cluster_attribute: 'k8s.cluster.name',
  version_attribute: 'service.version',
};

const attrSchema = (def: string, description: string) => ({ type: 'string', minLength: 1, default: def, description });

/** JSON Schema properties of the mapping, shared by the source's options. */
export const MAPPING_PROPERTIES = {
  metrics: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, default: MAPPING_DEFAULTS.metrics, description: 'metric names to take (gauges or sums of bytes)' },
  component_attributes: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, default: MAPPING_DEFAULTS.component_attributes, description: 'attributes naming the component, first present wins' },
  process_attribute: attrSchema(MAPPING_DEFAULTS.process_attribute, 'attribute naming the process within its component'),
  host_attribute: attrSchema(MAPPING_DEFAULTS.host_attribute, 'attribute naming the host'),
  pid_attribute: attrSchema(MAPPING_DEFAULTS.pid_attribute, 'attribute holding the pid'),
  region_attribute: attrSchema(MAPPING_DEFAULTS.region_attribute, 'attribute holding the region'),
  cluster_attribute: attrSchema(MAPPING_DEFAULTS.cluster_attribute, 'attribute holding the cluster'),
  version_attribute: attrSchema(MAPPING_DEFAULTS.version_attribute, 'attribute holding the software version'),
};

/** Called per data point of a taken metric; `record` describes it for a dead letter. */
export type PointSink = (raw: RawSample, record: () => Record<string, unknown>, problem: string | null) => void;

type Attrs = Map<string, string | number | boolean>;

function addAttributes(into: Attrs, list: KeyValue[] | null | undefined): void {
  if (!list) return;
  for (const kv of list) {
    const v = attributeValue(kv.value);
    if (v !== undefined) into.set(kv.key, v);
  }
}

/**
 * Walks a request and hands every data point of a taken metric to `sink` as a raw
 * sample (data-point attributes over resource attributes), for the source to judge
 * with the same rules as every other input. Returns the data points of metrics that
 * were not taken.
 */
export function mapRequest(req: MetricsRequest, m: OtlpMapping, wanted: ReadonlySet<string>, sink: PointSink): number {
  let ignored = 0;
  const raw = emptyRaw();
  for (const rm of req.resourceMetrics ?? []) {
    const resource: Attrs = new Map();
    addAttributes(resource, rm.resource?.attributes);
    for (const sm of rm.scopeMetrics ?? []) {
      for (const metric of sm.metrics ?? []) {
        const points = numberPoints(metric);
        if (!wanted.has(metric.name)) {
          ignored += points?.length ?? 0;
          continue;
        }
        if (points === null) {
          // A histogram or summary under a taken name: one value per point is what a sample is.
          clearRaw(raw);
          sink(raw, () => ({ metric: metric.name, type: metric.data ?? 'none' }), `metric "${metric.name}" is a ${metric.data ?? 'metric without data'}; a gauge or sum is expected`);
          continue;
        }
        for (const p of points) {
          // Most points carry no attributes of their own (the hostmetrics scraper's never do): no copy then.
          let attrs = resource;
          if (p.attributes && p.attributes.length > 0) {
            attrs = new Map(resource);
            addAttributes(attrs, p.attributes);
          }
          fill(raw, attrs, p, m);
          sink(raw, () => pointRecord(metric, attrs, p), null);
        }
      }
    }
  }
  return ignored;
}

function numberPoints(metric: Metric): NumberDataPoint[] | null {
  if (metric.data === 'gauge') return metric.gauge?.dataPoints ?? [];
  if (metric.data === 'sum') return metric.sum?.dataPoints ?? [];
  return null;
}

function pointValue(p: NumberDataPoint): number | undefined {
  if (p.value === 'asDouble') return p.asDouble ?? undefined;
  if (p.value === 'asInt') return p.asInt === null || p.asInt === undefined ? undefined : Number(typeof p.asInt === 'object' ? p.asInt.toNumber() : p.asInt);
  return undefined;
}

function fill(raw: RawSample, attrs: Attrs, p: NumberDataPoint, m: OtlpMapping): void {
  clearRaw(raw);
  const ms = nanosToMs(p.timeUnixNano);
  // 0 is the protocol's "unset": a point without a time.
  raw.ts = ms > 0 ? ms : undefined;
  raw.host = attrs.get(m.host_attribute);
  for (const a of m.component_attributes) {
    const v = attrs.get(a);
    if (v !== undefined && v !== '') {
      raw.component = v;
      break;
    }
  }
  raw.process = attrs.get(m.process_attribute);
  raw.pid = attrs.get(m.pid_attribute);
  raw.rss = pointValue(p);
  raw.region = attrs.get(m.region_attribute);
  raw.cluster = attrs.get(m.cluster_attribute);
  raw.version = attrs.get(m.version_attribute);
}

function pointRecord(metric: Metric, attrs: Attrs, p: NumberDataPoint): Record<string, unknown> {
  return { metric: metric.name, attributes: Object.fromEntries(attrs), time_unix_ms: nanosToMs(p.timeUnixNano), value: pointValue(p) ?? null };
}
