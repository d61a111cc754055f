import { packTimes, unpackTimes, type PackedTimes } from '../../engine/typedArrays.js';
import { grown } from './grow.js';
import { Quiet } from './alertText.js';

/**
 * Per series, where its process alert stands: the T0 its open alert follows, since when
 * and why it has not been reported, and how long the report rule has held. This is what
 * makes an alert open once, stay open while its interval holds, and resolve only after
 * `resolve_after` without a report, never while the rule is holding again.
 */
export class AlertTrack {
  /** Per series: T0 of the interval its open alert follows (NaN: no open alert). */
  alertT0 = new Float64Array(0);
  /** Per series: when its open alert's process stopped being reported (NaN: it is reported), and why. */
  quietSince = new Float64Array(0);
  quietCause = new Uint8Array(0);
  /** Per series: consecutive periods the report rule has held. */
  streak = new Int32Array(0);
  /** Series with an open alert. */
  readonly open = new Set<number>();

  ensure(need: number): void {
    if (need <= this.alertT0.length) return;
    this.alertT0 = grown(this.alertT0, need, NaN);
    this.quietSince = grown(this.quietSince, need, NaN);
    this.quietCause = grown(this.quietCause, need);
    this.streak = grown(this.streak, need);
  }

  isOpen(id: number): boolean {
    return this.alertT0[id] === this.alertT0[id];
  }

  /** Series `id` is reported with its interval starting at t0. */
  reported(id: number, t0: number): void {
    this.alertT0[id] = t0;
    this.quietSince[id] = NaN;
    this.open.add(id);
  }

  /**
   * Series `id` with an open alert was not reported at ts, for `cause`: true once that
   * has lasted `resolveAfter`, unless the report rule is holding again (waiting out
   * `confirm`), which would resolve and reopen.
   */
  quiet(id: number, ts: number, cause: number, resolveAfter: number): boolean {
    if (this.quietSince[id] !== this.quietSince[id]) {
      this.quietSince[id] = ts;
      this.quietCause[id] = cause;
    } else if (cause === Quiet.restart || cause === Quiet.shared) {
      this.quietCause[id] = cause;
    }
    return ts - this.quietSince[id]! >= resolveAfter && this.streak[id]! === 0;
  }

  close(id: number): void {
    this.alertT0[id] = NaN;
    this.quietSince[id] = NaN;
    this.quietCause[id] = 0;
    this.open.delete(id);
  }

  /** Event times packed when that is exact (an earlier checkpoint holds them as Float64Array). */
  checkpoint(count: number): { alertT0: Float64Array | PackedTimes; quietSince: Float64Array | PackedTimes; quietCause: Uint8Array; streak: Int32Array } {
    return {
      alertT0: packTimes(this.alertT0.slice(0, count)),
      quietSince: packTimes(this.quietSince.slice(0, count)),
      quietCause: this.quietCause.slice(0, count),
      streak: this.streak.slice(0, count),
    };
  }

  restore(st: ReturnType<AlertTrack['checkpoint']>): void {
    const alertT0 = unpackTimes(st.alertT0);
    this.ensure(alertT0.length);
    this.alertT0.set(alertT0);
    this.quietSince.set(unpackTimes(st.quietSince));
    this.quietCause.set(st.quietCause);
    this.streak.set(st.streak);
    this.open.clear();
    for (let id = 0; id < alertT0.length; id++) if (alertT0[id] === alertT0[id]) this.open.add(id);
  }
}
