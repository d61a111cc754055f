import { grown } from '../../engine/typedArrays.js';

/** Rows held back to be sent later: duplicates and late samples. */
export class DelaySlot {
  n = 0;
  series = new Int32Array(64);
  ts = new Float64Array(64);
  rss = new Float64Array(64);
  pid = new Int32Array(64);
  version = new Int32Array(64);

  push(s: number, ts: number, rss: number, pid: number, version: number): void {
    const i = this.n++;
    if (i === this.series.length) {
      this.series = grown(this.series, i + 1);
      this.ts = grown(this.ts, i + 1);
      this.rss = grown(this.rss, i + 1);
      this.pid = grown(this.pid, i + 1);
      this.version = grown(this.version, i + 1);
    }
    this.series[i] = s;
    this.ts[i] = ts;
    this.rss[i] = rss;
    this.pid[i] = pid;
    this.version[i] = version;
  }
}
