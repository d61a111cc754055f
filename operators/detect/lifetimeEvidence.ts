import { grown } from './grow.js';

/**
 * Growth evidence carried across a process's restarts. A leak resumes after every
 * restart, so a process that restarts every day or two shows the same growth in each
 * lifetime, each too short (or too noisy) for the report rule's `growth_z` alone.
 * Healthy processes do not: what one lifetime shows (a buffer, a shift, the tail of a
 * warm-up) is not there again in the next.
 *
 * Per series: the z (growth over the day rule's sigma, 0 when growth was too small or
 * not recent) of the latest judgement in the current lifetime, with its period and the
 * shift of its peer comparison, and the z of the last two lifetimes that ended showing
 * growth. When a lifetime ends (a restart) its last z is kept if it reached `zMin` and
 * the peers did not grow with it (asked then, once per lifetime, rather than at every
 * judgement: GrowthJudge.endLifetime); growth they share says nothing about the
 * process's own, so such a lifetime counts as not judged. A lifetime that was judged
 * and did not grow breaks the chain; one too short to be judged leaves it as it was.
 * The current lifetime's z pooled with the kept ones (Stouffer: the sum over the square
 * root of the count) may then stand for the report rule's z, once at least two
 * lifetimes count and the current one reaches `zMin` itself.
 */
export class LifetimeEvidence {
  /** Per series: z of the latest judgement of the current lifetime (NaN: not judged yet). */
  current = new Float32Array(0);
  /** Per series: period of that judgement, and the shift (periods) its peers are compared over. */
  at = new Float64Array(0);
  shift = new Uint16Array(0);
  /** Per series: z of the last and the last-but-one lifetime that grew (0: none). */
  last = new Float32Array(0);
  earlier = new Float32Array(0);

  constructor(readonly zMin: number) {}

  ensure(need: number): void {
    if (need <= this.current.length) return;
    this.current = grown(this.current, need, NaN);
    this.at = grown(this.at, need);
    this.shift = grown(this.shift, need);
    this.last = grown(this.last, need);
    this.earlier = grown(this.earlier, need);
  }

  /** The report rule judged series `id` at period p; z is 0 when growth was too small or not recent. */
  note(id: number, z: number, p = 0, shift = 0): void {
    this.current[id] = z;
    this.at[id] = p;
    this.shift[id] = shift;
  }

  /** Series `id` restarted: its lifetime's evidence is kept, drops the chain, or (never judged) changes nothing. */
  end(id: number): void {
    const z = this.current[id]!;
    this.current[id] = NaN;
    if (z !== z) return;
    if (z >= this.zMin) {
      this.earlier[id] = this.last[id]!;
      this.last[id] = z;
    } else {
      this.last[id] = 0;
      this.earlier[id] = 0;
    }
  }

  /** z of the current lifetime pooled with the kept ones; NaN unless it reaches zMin and another lifetime counts. */
  pooled(id: number, z: number): number {
    const a = this.last[id]!, b = this.earlier[id]!;
    if (!(z >= this.zMin) || !(a > 0)) return NaN;
    return b > 0 ? (z + a + b) / Math.sqrt(3) : (z + a) / Math.SQRT2;
  }

  checkpoint(count: number): { current: Float32Array; at: Float64Array; shift: Uint16Array; last: Float32Array; earlier: Float32Array } {
    return {
      current: this.current.slice(0, count), at: this.at.slice(0, count), shift: this.shift.slice(0, count),
      last: this.last.slice(0, count), earlier: this.earlier.slice(0, count),
    };
  }

  restore(state: ReturnType<LifetimeEvidence['checkpoint']>): void {
    this.ensure(state.current.length);
    this.current.set(state.current);
    this.at.set(state.at);
    this.shift.set(state.shift);
    this.last.set(state.last);
    this.earlier.set(state.earlier);
  }
}
