import type { Data, RecordBatch, Utf8 } from 'apache-arrow';
import { makeSampleBatch, utf8Data } from '../../engine/telemetry/arrowData.js';
import type { SampleColumns, StringField } from '../../engine/telemetry/schema.js';
import { buildFleet, type FleetPlan } from './fleet.js';
import { FleetStream } from './generator.js';
import { allocRows, type RowBuffers } from './rows.js';
import { resolveOptions, type ResolvedOptions, type SimulatorOptions } from './options.js';
import { buildTruth, writeTruth, type FleetTruth } from './truth.js';

/** One generated batch: the canonical Arrow rows, their sequence numbers and the watermark. */
export interface SimulatedBatch {
  readonly data: RecordBatch<SampleColumns>;
  /** 1-based sequence number of each row in the stream. */
  readonly records: Float64Array;
  readonly watermark: number;
}

/**
 * A simulated fleet with labelled leaks (docs/simulator.md). Deterministic: the same
 * options give the same rows, bit for bit, and the same truth.
 *
 *   const sim = new FleetSimulator({ hosts: 50, days: 7, seed: 3 });
 *   const truth = sim.truth();
 *   for (const batch of sim.batches()) ...
 */
export class FleetSimulator {
  readonly options: ResolvedOptions;
  readonly plan: FleetPlan;
  /**
   * Dictionaries of the string columns, built once: every batch shares these Data
   * objects, so downstream remaps keyed by dictionary identity are computed once.
   */
  readonly dictionaries: Readonly<Record<StringField, Data<Utf8>>>;

  /** Throws a RangeError on bad options. */
  constructor(options: Partial<SimulatorOptions> = {}) {
    this.options = resolveOptions(options);
    this.plan = buildFleet(this.options);
    const p = this.plan;
    this.dictionaries = {
      host: utf8Data(p.hostNames),
      component: utf8Data(p.profiles.map((c) => c.name)),
      process: utf8Data(p.processNames),
      region: utf8Data(p.regionNames),
      cluster: utf8Data(p.clusterNames),
      version: utf8Data(p.versions),
    };
  }

  truth(): FleetTruth {
    return buildTruth(this.plan);
  }

  writeTruth(path: string): void {
    writeTruth(this.plan, path);
  }

  /** A fresh pass over the fleet from the start. */
  stream(): FleetStream {
    return new FleetStream(this.plan);
  }

  /**
   * The whole stream in batches of `batch_size` rows (the last may be shorter). Pass a
   * stream to read its counters (missing, duplicates, late) along the way.
   */
  *batches(stream: FleetStream = this.stream(), batchSize = this.options.batch_size): Generator<SimulatedBatch> {
    for (;;) {
      // Fresh arrays per batch: Arrow wraps them without copying and the batch may outlive this loop.
      const rows = allocRows(batchSize);
      const n = stream.fill(rows, batchSize);
      if (n === 0) return;
      yield { data: this.toArrow(rows, n), records: rows.record.subarray(0, n), watermark: stream.watermark };
    }
  }

  /** Arrow view of the first n rows of `rows`. */
  toArrow(rows: RowBuffers, n: number): RecordBatch<SampleColumns> {
    const d = this.dictionaries;
    return makeSampleBatch({
      length: n,
      ts: rows.ts,
      rss: rows.rss,
      pid: rows.pid,
      host_mem: rows.hostMem,
      strings: {
        host: { indices: rows.host, dictionary: d.host },
        component: { indices: rows.component, dictionary: d.component },
        process: { indices: rows.process, dictionary: d.process },
        region: { indices: rows.region, dictionary: d.region },
        cluster: { indices: rows.cluster, dictionary: d.cluster },
        version: { indices: rows.version, dictionary: d.version },
      },
    });
  }
}
