import { basename, dirname, extname, join } from 'node:path';
import { toMs } from '../../engine/duration.js';
import { ConfigError, type ConfigIssue } from '../../engine/errors.js';
import { durationSchema } from '../../engine/pipeline/options.js';
import type { LogicalGraph, LogicalNode } from '../../engine/pipeline/graph.js';
import type { OptionsSchema } from '../../engine/spec.js';
import type { NatsConnectionOptions } from './connection.js';
import type { JetStreamOptions } from './jetstream.js';
import { isSubscribableSubject } from './subjects.js';

/**
 * Scale-out by component (docs/scale-out.md). nats-server maps each telemetry subject
 * to one of `partitions` subjects with its own deterministic hash of the component
 * token (`resin.telemetry.*` -> `resin.part.{{partition(12,1)}}.{{wildcard(1)}}`), so
 * every sample of a component lands in the same partition, and a partition is read
 * by one durable consumer. `resin run` instances hold partitions through leases in a
 * KV bucket (leases.ts) and run one pipeline per partition held, each with its own
 * state file: level-1 and level-2 analysis of a component stay on one instance, and
 * whoever takes a partition over resumes from its last checkpoint.
 */

/** Where the partition number goes in a partitioned source's subject. */
export const PARTITION_TOKEN = '{partition}';

export const LEASE_DEFAULTS = { lease: '15s', bucket: 'RESIN_PARTITIONS' } as const;

/** No defaults in the schema: `lease` or `lease_bucket` without `partitions` is an error, not a default. */
export const PARTITION_PROPERTIES: Record<string, OptionsSchema> = {
  partitions: {
    type: 'integer', minimum: 1, maximum: 1024,
    description: 'scale-out: partitions of the stream (as in the server\'s partition() mapping), shared by resin run instances',
  },
  lease: durationSchema({ description: `scale-out: an instance's hold on a partition lasts this long unless renewed (default ${LEASE_DEFAULTS.lease})` }),
  lease_bucket: { type: 'string', pattern: '^[-\\w]+$', description: `scale-out: KV bucket of the leases (default ${LEASE_DEFAULTS.bucket})` },
};

/** How a partitioned source is split, and the pipeline each of its partitions runs. */
export interface PartitionPlan {
  /** The partitioned source's node id. */
  readonly node: string;
  readonly count: number;
  readonly leaseMs: number;
  readonly bucket: string;
  /** The source's connection settings, for the lease bucket. */
  readonly connection: NatsConnectionOptions;
  /** The pipeline with its source reading partition `p` alone, through its own durable consumer. */
  graphFor(p: number): LogicalGraph;
}

interface PartitionedOptions extends NatsConnectionOptions {
  subject: string | string[];
  jetstream?: JetStreamOptions;
  partitions?: number;
  lease?: string | number;
  lease_bucket?: string;
}

/**
 * The partition plan of a compiled pipeline, or null when no source is partitioned.
 * Throws a ConfigError naming the node and field of each problem.
 */
export function partitionPlan(graph: LogicalGraph): PartitionPlan | null {
  const issues: ConfigIssue[] = [];
  const nats = graph.nodes.filter((n) => n.type === 'nats');
  for (const n of nats) {
    const o = optionsOf(n);
    if (o.partitions !== undefined) continue;
    for (const field of ['lease', 'lease_bucket'] as const) {
      if (o[field] !== undefined) issues.push({ node: n.id, field: `options.${field}`, message: 'applies to a partitioned source only (set "partitions")' });
    }
  }
  const partitioned = nats.filter((n) => (optionsOf(n)).partitions !== undefined);
  if (partitioned.length > 1) {
    issues.push({ message: `one source at most may be partitioned, got ${partitioned.map((n) => `"${n.id}"`).join(', ')}` });
  }
  const node = partitioned[0];
  if (node) checkPartitioned(node, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  if (!node) return null;

  const o = optionsOf(node);
  const subject = o.subject as string;
  const js = o.jetstream!;
  return {
    node: node.id,
    count: o.partitions!,
    leaseMs: toMs(o.lease ?? LEASE_DEFAULTS.lease),
    bucket: o.lease_bucket ?? LEASE_DEFAULTS.bucket,
    connection: o,
    graphFor(p) {
      const { partitions: _p, lease: _l, lease_bucket: _b, ...rest } = o;
      const options = {
        ...rest,
        subject: subject.replace(PARTITION_TOKEN, String(p)),
        jetstream: {
          ...js,
          durable: `${js.durable}-${p}`,
          // A stream created by one partition's source must hold every partition.
          stream_subjects: js.stream_subjects ?? [subject.replace(PARTITION_TOKEN, '*')],
        },
      };
      return { ...graph, nodes: graph.nodes.map((n): LogicalNode => (n.id === node.id ? { ...n, options } : n)) };
    },
  };
}

const optionsOf = (n: LogicalNode) => n.options as unknown as PartitionedOptions;

function checkPartitioned(node: LogicalNode, issues: ConfigIssue[]): void {
  const o = optionsOf(node);
  const at = (field: string, message: string) => issues.push({ node: node.id, field: `options.${field}`, message });
  if (o.jetstream === undefined) at('jetstream', 'is required with "partitions": each partition is read by a durable consumer, which is what lets another instance take it over');
  const subject = o.subject;
  if (typeof subject !== 'string') {
    at('subject', `must be one subject holding ${PARTITION_TOKEN} with "partitions"`);
    return;
  }
  const tokens = subject.split('.');
  if (tokens.filter((t) => t === PARTITION_TOKEN).length !== 1 || subject.split(PARTITION_TOKEN).length !== 2) {
    at('subject', `must hold ${PARTITION_TOKEN} once, as a whole token (e.g. resin.part.${PARTITION_TOKEN}.>), got "${subject}"`);
  } else if (!isSubscribableSubject(subject.replace(PARTITION_TOKEN, '0'))) {
    at('subject', `"${subject}" is not a valid subject`);
  }
  if (o.lease !== undefined) {
    const ms = toMs(o.lease);
    if (!(ms >= 1000)) at('lease', `must be at least 1s (it is renewed every third of it), got ${o.lease}`);
  }
}

/**
 * The state (or dead-letter) file of partition `p`: `data/resin.duckdb` becomes
 * `data/resin.p07.duckdb`, numbered to the width of the partition count so that a
 * listing sorts by partition.
 */
export function partitionFile(path: string, p: number, count: number): string {
  const ext = extname(path);
  const width = String(count - 1).length;
  return join(dirname(path), `${basename(path, ext)}.p${String(p).padStart(width, '0')}${ext}`);
}
