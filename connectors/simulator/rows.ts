/** Column arrays a generator writes rows into; string columns hold dictionary indices. */
export interface RowBuffers {
  ts: Float64Array;
  rss: Float64Array;
  hostMem: Float64Array;
  pid: Int32Array;
  host: Int32Array;
  component: Int32Array;
  process: Int32Array;
  region: Int32Array;
  cluster: Int32Array;
  version: Int32Array;
  /** 1-based sequence number of the row in the whole stream. */
  record: Float64Array;
}

export function allocRows(n: number): RowBuffers {
  return {
    ts: new Float64Array(n), rss: new Float64Array(n), hostMem: new Float64Array(n), pid: new Int32Array(n),
    host: new Int32Array(n), component: new Int32Array(n), process: new Int32Array(n), region: new Int32Array(n),
    cluster: new Int32Array(n), version: new Int32Array(n), record: new Float64Array(n),
  };
}
