import { gunzipSync } from 'node:zlib';
// The OpenTelemetry project's protobufjs module generated from the official
// opentelemetry-proto definitions (v1 metrics); its decoder and JSON mapping are the
// protocol's own, not ours.
import root from '@opentelemetry/otlp-transformer/build/src/generated/root.js';

/**
 * OTLP/HTTP metrics requests (POST /v1/metrics), binary protobuf or JSON, as the
 * OpenTelemetry Collector's otlphttp exporter and the SDKs' exporters send them.
 * Only the fields the mapping reads are typed here.
 */

/** A 64-bit integer as protobufjs gives it: a Long, or a number when it fits. */
export type Int64 = number | { toNumber(): number; div(n: number): { toNumber(): number } } | string;

export interface AnyValue {
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: Int64 | null;
  doubleValue?: number | null;
  /** The oneof member that is set. */
  value?: string;
}
export interface KeyValue {
  key: string;
  value?: AnyValue | null;
}
export interface NumberDataPoint {
  attributes?: KeyValue[] | null;
  timeUnixNano?: Int64 | null;
  asDouble?: number | null;
  asInt?: Int64 | null;
  value?: 'asDouble' | 'asInt';
}
export interface Metric {
  name: string;
  unit?: string;
  gauge?: { dataPoints?: NumberDataPoint[] | null } | null;
  sum?: { dataPoints?: NumberDataPoint[] | null } | null;
  /** Which data member is set (gauge, sum, histogram, ...). */
  data?: string;
}
export interface ResourceMetrics {
  resource?: { attributes?: KeyValue[] | null } | null;
  scopeMetrics?: { metrics?: Metric[] | null }[] | null;
}
export interface MetricsRequest {
  resourceMetrics?: ResourceMetrics[] | null;
}

/** The generated message classes this package uses: decode, JSON mapping, encode. */
export interface MessageType {
  decode(bytes: Uint8Array): unknown;
  fromObject(object: Record<string, unknown>): unknown;
  toObject(message: unknown, options?: Record<string, unknown>): Record<string, unknown>;
  encode(message: unknown): { finish(): Uint8Array };
}

const V1 = (root as unknown as {
  opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: MessageType; ExportMetricsServiceResponse: MessageType } } } } };
}).opentelemetry.proto.collector.metrics.v1;
export const METRICS_REQUEST: MessageType = V1.ExportMetricsServiceRequest;
export const METRICS_RESPONSE: MessageType = V1.ExportMetricsServiceResponse;
const REQUEST = METRICS_REQUEST;

/** A request that cannot be read; `status` is the HTTP answer. */
export class OtlpRequestError extends Error {
  override readonly name = 'OtlpRequestError';
  constructor(readonly status: 400 | 413 | 415, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export type OtlpEncoding = 'protobuf' | 'json';

/** The body's encoding from its Content-Type (parameters such as charset ignored). */
export function encodingOf(contentType: string | undefined): OtlpEncoding {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  throw new OtlpRequestError(415, `Content-Type must be application/x-protobuf or application/json, got ${JSON.stringify(contentType ?? '')}`);
}

/** Undoes Content-Encoding (gzip, the collector's default, or none), bounded by `maxBytes` inflated. */
export function inflate(body: Buffer, contentEncoding: string | undefined, maxBytes: number): Buffer {
  const enc = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') return body;
  if (enc !== 'gzip') throw new OtlpRequestError(415, `Content-Encoding must be gzip or none, got ${JSON.stringify(contentEncoding)}`);
  try {
    return gunzipSync(body, { maxOutputLength: maxBytes });
  } catch (err) {
    const tooLarge = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    if (tooLarge) throw new OtlpRequestError(413, `body inflates to more than ${maxBytes} bytes`);
    throw new OtlpRequestError(400, `gzip body cannot be inflated: ${(err as Error).message}`, { cause: err });
  }
}

/** The request, decoded; throws an OtlpRequestError (400) saying why it cannot be. */
export function decodeMetricsRequest(body: Buffer, encoding: OtlpEncoding): MetricsRequest {
  if (encoding === 'protobuf') {
    try {
      return REQUEST.decode(body) as MetricsRequest;
    } catch (err) {
      throw new OtlpRequestError(400, `not an OTLP ExportMetricsServiceRequest (protobuf): ${(err as Error).message}`, { cause: err });
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new OtlpRequestError(400, `body is not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new OtlpRequestError(400, 'body is not an OTLP ExportMetricsServiceRequest (JSON): not an object');
  }
  try {
    // The protocol's JSON mapping: lowerCamelCase names, 64-bit integers as strings or numbers.
    return REQUEST.fromObject(parsed as Record<string, unknown>) as MetricsRequest;
  } catch (err) {
    throw new OtlpRequestError(400, `not an OTLP ExportMetricsServiceRequest (JSON): ${(err as Error).message}`, { cause: err });
  }
}

/** Nanoseconds since the epoch as whole milliseconds, exactly (a Long's low bits are lost by toNumber). */
export function nanosToMs(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'number') return Math.floor(v / 1e6);
  if (typeof v === 'string') return /^\d+$/.test(v) ? Number(BigInt(v) / 1_000_000n) : NaN;
  return v.div(1_000_000).toNumber();
}

export function int64ToNumber(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  return v.toNumber();
}

/** An attribute value as the sample's string or number, or undefined. */
export function attributeValue(v: AnyValue | null | undefined): string | number | boolean | undefined {
  if (!v) return undefined;
  switch (v.value) {
    case 'stringValue': return v.stringValue ?? undefined;
    case 'intValue': return int64ToNumber(v.intValue);
    case 'doubleValue': return v.doubleValue ?? undefined;
    case 'boolValue': return v.boolValue ?? undefined;
    default: return undefined;
  }
}
