import { packTimes, unpackTimes, type PackedTimes } from '../../engine/typedArrays.js';
import { grown } from './grow.js';
import { Quiet } from './alertText.js';

/** An open alert: the T0 its interval starts at, since when its process has not been reported (NaN: it is), and why. */
interface OpenAlert {
  t0: number;
  since: number;
  cause: number;
}

/**
 * Per series, where its process alert stands: the T0 its open alert follows, since when
 * and why it has not been reported, and how long the report rule has held. This is what
 * makes an alert open once, stay open while its interval holds, and resolve only after
 * `resolve_after` without a report, never while the rule is holding again.
 *
 * Only the streak is kept for every series; the rest only for the few with an open
 * alert (a Map), rather than 17 bytes for every series that has none.
 */
export class AlertTrack {
  /** Per series: consecutive periods the report rule has held. */
  streak = new Int32Array(0);
  /** Series with an open alert. */
  readonly open = new Map<number, OpenAlert>();

  ensure(need: number): void {
    if (need > this.streak.length) this.streak = grown(this.streak, need);
  }

  /** Asked of every process every period, while few have an open alert: most often none has. */
  isOpen(id: number): boolean {
    return this.open.size !== 0 && this.open.has(id);
  }

  /** T0 of the interval series `id`'s open alert follows (NaN: no open alert). */
  alertT0(id: number): number {
    return this.open.size === 0 ? NaN : this.open.get(id)?.t0 ?? NaN;
  }

  /** When series `id`'s open alert stopped being reported, and why (see `quiet`). */
  quietSince(id: number): number {
    return this.open.get(id)?.since ?? NaN;
  }

  quietCause(id: number): number {
    return this.open.get(id)?.cause ?? 0;
  }

  /** Series `id` is reported with its interval starting at t0. */
  reported(id: number, t0: number): void {
    const a = this.open.get(id);
    if (a === undefined) {
      this.open.set(id, { t0, since: NaN, cause: 0 });
    } else {
      a.t0 = t0;
      a.since = NaN;
    }
  }

  /**
   * Series `id`, which has an open alert, was not reported at ts, for `cause`: true once
   * that has lasted `resolveAfter`, unless the report rule is holding again (waiting out
   * `confirm`), which would resolve and reopen.
   */
  quiet(id: number, ts: number, cause: number, resolveAfter: number): boolean {
    const a = this.open.get(id)!;
    if (a.since !== a.since) {
      a.since = ts;
      a.cause = cause;
    } else if (cause === Quiet.restart || cause === Quiet.shared) {
      a.cause = cause;
    }
    return ts - a.since >= resolveAfter && this.streak[id]! === 0;
  }

  close(id: number): void {
    this.open.delete(id);
  }

  /** Per series as before (NaN, NaN, 0 without an open alert); event times packed when that is exact (an earlier checkpoint holds them as Float64Array). */
  checkpoint(count: number): { alertT0: Float64Array | PackedTimes; quietSince: Float64Array | PackedTimes; quietCause: Uint8Array; streak: Int32Array } {
    const alertT0 = new Float64Array(count).fill(NaN), quietSince = new Float64Array(count).fill(NaN), quietCause = new Uint8Array(count);
    for (const [id, a] of this.open) {
      if (id >= count) continue;
      alertT0[id] = a.t0;
      quietSince[id] = a.since;
      quietCause[id] = a.cause;
    }
    return { alertT0: packTimes(alertT0), quietSince: packTimes(quietSince), quietCause, streak: this.streak.slice(0, count) };
  }

  restore(st: ReturnType<AlertTrack['checkpoint']>): void {
    const alertT0 = unpackTimes(st.alertT0), quietSince = unpackTimes(st.quietSince);
    this.ensure(alertT0.length);
    this.streak.set(st.streak);
    this.open.clear();
    for (let id = 0; id < alertT0.length; id++) {
      if (alertT0[id] === alertT0[id]) this.open.set(id, { t0: alertT0[id]!, since: quietSince[id]!, cause: st.quietCause[id]! });
    }
  }
}
