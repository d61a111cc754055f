import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it, vi } from 'vitest';
import { assignPartitions } from '../../../connectors/nats/assign.js';
import { natsSource } from '../../../connectors/nats/nats.js';
import { partitionFile, partitionPlan } from '../../../connectors/nats/partitions.js';
import { main } from '../../../engine/cli/main.js';
import { PACKAGE_ROOT } from '../../../engine/cli/paths.js';
import { ConfigError, type ConfigIssue } from '../../../engine/errors.js';
import { defaultRegistry } from '../../../engine/nodes.js';
import { compile } from '../../../engine/pipeline/compile.js';
import { testContext } from '../../helpers/samples.js';

const shipped = (name: string) => parse(readFileSync(join(PACKAGE_ROOT, 'pipelines', name), 'utf8'));

/** pipelines/nats-partitioned.yaml with the telemetry node's options changed. */
function withTelemetry(change: (o: Record<string, unknown>) => void): unknown {
  const def = shipped('nats-partitioned.yaml');
  change(def.nodes.telemetry.options);
  return def;
}

function issuesOf(def: unknown): ConfigIssue[] {
  try {
    partitionPlan(compile(def, defaultRegistry()));
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  return [];
}

describe('partition plan', () => {
  it('is absent for an unpartitioned pipeline', () => {
    expect(partitionPlan(compile(shipped('nats.yaml'), defaultRegistry()))).toBeNull();
  });

  it('gives each partition its subject, durable consumer and the stream every partition shares', () => {
    const graph = compile(shipped('nats-partitioned.yaml'), defaultRegistry());
    const plan = partitionPlan(graph)!;
    expect(plan).toMatchObject({ node: 'telemetry', count: 12, leaseMs: 15_000, bucket: 'RESIN_PARTITIONS' });
    const g7 = plan.graphFor(7);
    const o = g7.nodes.find((n) => n.id === 'telemetry')!.options as Record<string, any>;
    expect(o.subject).toBe('resin.part.7.>');
    expect(o.jetstream).toMatchObject({ stream: 'RESIN_TELEMETRY', durable: 'resin-engine-7', stream_subjects: ['resin.part.>'] });
    expect(o).not.toHaveProperty('partitions');
    expect(o).not.toHaveProperty('lease');
    // The rest of the pipeline is the same for every partition.
    expect(g7.nodes.filter((n) => n.id !== 'telemetry')).toEqual(graph.nodes.filter((n) => n.id !== 'telemetry'));
    // The plan does not change the graph it came from.
    expect((graph.nodes.find((n) => n.id === 'telemetry')!.options as Record<string, unknown>).subject).toBe('resin.part.{partition}.>');
  });

  it('creates a missing stream with every partition\'s subjects when none are given', () => {
    const def = withTelemetry((o) => { delete (o.jetstream as Record<string, unknown>).stream_subjects; });
    const o = partitionPlan(compile(def, defaultRegistry()))!.graphFor(3).nodes[0]!.options as Record<string, any>;
    expect(o.jetstream.stream_subjects).toEqual(['resin.part.*.>']);
  });

  it('names the node and field of each problem', () => {
    expect(issuesOf(withTelemetry((o) => { delete o.jetstream; }))).toEqual([
      expect.objectContaining({ node: 'telemetry', field: 'options.jetstream', message: expect.stringMatching(/is required with "partitions"/) }),
    ]);
    for (const subject of ['resin.part.>', 'resin.part.p{partition}.>', 'resin.{partition}.{partition}.>']) {
      expect(issuesOf(withTelemetry((o) => { o.subject = subject; }))).toEqual([
        expect.objectContaining({ node: 'telemetry', field: 'options.subject', message: expect.stringMatching(/must hold \{partition\} once, as a whole token/) }),
      ]);
    }
    expect(issuesOf(withTelemetry((o) => { o.subject = ['resin.part.{partition}.>']; }))[0]).toMatchObject({ field: 'options.subject' });
    expect(issuesOf(withTelemetry((o) => { o.lease = '500ms'; }))[0]).toMatchObject({ field: 'options.lease', message: expect.stringMatching(/at least 1s/) });
    const unpartitioned = shipped('nats.yaml');
    unpartitioned.nodes.telemetry.options.lease = '10s';
    expect(issuesOf(unpartitioned)[0]).toMatchObject({ node: 'telemetry', field: 'options.lease', message: expect.stringMatching(/partitioned source only/) });
  });

  it('makes `resin run` exit 2 naming the node and field, before connecting to anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'resin-partitions-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(file, stringify(withTelemetry((o) => { o.subject = 'resin.part.>'; o.servers = 'nats://127.0.0.1:1'; })));
    let err = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s) => { err += String(s); return true; });
    try {
      expect(await main(['run', '--pipeline', file, '--http', 'off', '--state', join(dir, 's.duckdb')])).toBe(2);
    } finally {
      spy.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(err).toMatch(/node "telemetry": options\.subject: must hold \{partition\} once/);
  });

  it('is refused by the schema when out of range', () => {
    expect(() => compile(withTelemetry((o) => { o.partitions = 0; }), defaultRegistry())).toThrow(/options\.partitions/);
    expect(() => compile(withTelemetry((o) => { o.lease_bucket = 'a.b'; }), defaultRegistry())).toThrow(/options\.lease_bucket/);
  });

  it('is the only way to run a partitioned source', () => {
    const base = { servers: 'nats://127.0.0.1:1', batch_size: 10, max_wait: '10ms', max_pending: 10 };
    expect(() => natsSource({ ...base, subject: 'resin.part.{partition}.>', partitions: 4 } as never, testContext('telemetry').ctx))
      .toThrow(/"partitions": a partitioned source runs one pipeline per partition/);
    expect(() => natsSource({ ...base, subject: 'resin.part.{partition}.>' } as never, testContext('telemetry').ctx))
      .toThrow(/"subject".*needs "partitions"/);
  });

  it('puts each partition\'s state beside the configured path, numbered to sort', () => {
    expect(partitionFile('/var/lib/resin/state.duckdb', 7, 12)).toBe('/var/lib/resin/state.p07.duckdb');
    expect(partitionFile('data/rejected.ndjson', 3, 6)).toBe('data/rejected.p3.ndjson');
    expect(partitionFile('state', 0, 100)).toBe('state.p00');
  });
});

describe('assignPartitions', () => {
  it('gives every partition to one live member, evenly, the same way on every instance', () => {
    const owners = assignPartitions(12, ['b', 'a', 'c']);
    expect(owners).toHaveLength(12);
    expect(assignPartitions(12, ['c', 'b', 'a', 'a'])).toEqual(owners);
    const load = (o: string[]) => ['a', 'b', 'c'].map((m) => o.filter((x) => x === m).length);
    expect(load(owners)).toEqual([4, 4, 4]);
    expect(load(assignPartitions(7, ['a', 'b', 'c'])).every((n) => n === 2 || n === 3)).toBe(true);
    expect(assignPartitions(5, ['solo'])).toEqual(new Array(5).fill('solo'));
    expect(assignPartitions(5, [])).toEqual([]);
  });

  it('moves the partitions of a member that left to the others, and gives them back when it returns', () => {
    const before = assignPartitions(12, ['a', 'b', 'c']);
    const after = assignPartitions(12, ['a', 'c']);
    for (let p = 0; p < 12; p++) expect(['a', 'c']).toContain(after[p]);
    expect(after.filter((m) => m === 'a')).toHaveLength(6);
    expect(assignPartitions(12, ['a', 'b', 'c'])).toEqual(before);
  });
});
