import { closeSync, openSync, writeSync } from 'node:fs';
import { allocRows } from './rows.js';
import type { SimulatorOptions } from './options.js';
import { FleetSimulator } from './simulator.js';

export interface NdjsonResult {
  /** Lines written (duplicates included). */
  rows: number;
  bytes: number;
  /** Samples never written (dropped or in an agent gap), duplicates and late rows among `rows`. */
  missing: number;
  duplicates: number;
  late: number;
}

/**
 * Write a simulated fleet to NDJSON, one sample per line in the canonical field names
 * (`ts` in epoch ms), in stream order (duplicates and late rows included), to make
 * input files for tests and benchmarks. With `options.ground_truth` the truth is
 * written too. Streams: memory stays flat whatever the fleet's size.
 *
 *   {"ts":1767225600000,"host":"host-00000","component":"api-gateway","process":"api-gateway",
 *    "pid":81234,"rss":943718400,"host_mem":68719476736,"region":"eu-west","cluster":"eu-west-c01","version":"3.14.0"}
 */
export function writeFleetNdjson(options: Partial<SimulatorOptions>, path: string): NdjsonResult {
  const sim = new FleetSimulator(options);
  if (sim.options.ground_truth) sim.writeTruth(sim.options.ground_truth);
  const p = sim.plan;
  // Each string column's JSON fragments are built once; a line is a concatenation.
  const q = (s: string) => JSON.stringify(s);
  const hostPart = p.hostNames.map((h) => `,"host":${q(h)}`);
  const compPart = p.profiles.map((c) => `,"component":${q(c.name)}`);
  const procPart = p.processNames.map((x) => `,"process":${q(x)}`);
  const regionPart = p.regionNames.map((x) => `,"region":${q(x)}`);
  const clusterPart = p.clusterNames.map((x) => `,"cluster":${q(x)}`);
  const versionPart = p.versions.map((x) => `,"version":${q(x)}`);
  const memPart = Array.from(p.hostMem, (m) => `,"host_mem":${m}`);

  const stream = sim.stream();
  const size = 16384;
  const rows = allocRows(size);
  const fd = openSync(path, 'w');
  let written = 0, bytes = 0;
  try {
    for (;;) {
      const n = stream.fill(rows, size);
      if (n === 0) break;
      let chunk = '';
      // Rows of one tick share their time: format it once per run of equal times.
      let lastTs = NaN, tsPart = '';
      for (let i = 0; i < n; i++) {
        const ts = rows.ts[i]!;
        if (ts !== lastTs) {
          lastTs = ts;
          tsPart = `{"ts":${ts}`;
        }
        chunk += `${tsPart}${hostPart[rows.host[i]!]}${compPart[rows.component[i]!]}${procPart[rows.process[i]!]}`
          + `,"pid":${rows.pid[i]},"rss":${rows.rss[i]}${memPart[rows.host[i]!]}`
          + `${regionPart[rows.region[i]!]}${clusterPart[rows.cluster[i]!]}${versionPart[rows.version[i]!]}}\n`;
      }
      bytes += writeSync(fd, chunk);
      written += n;
    }
  } finally {
    closeSync(fd);
  }
  return { rows: written, bytes, missing: stream.missing, duplicates: stream.duplicates, late: stream.late };
}
