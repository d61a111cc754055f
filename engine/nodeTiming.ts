import { Observable } from 'rxjs';
import type { Histogram } from './metrics.js';

/**
 * Exclusive processing time of nodes in a synchronous push graph. When a source emits,
 * every operator downstream runs inside that one call: an operator's `next` contains
 * the work of everything it emits to. Each timed node opens a frame around the item it
 * receives; a frame that closes hands its elapsed time to the frame around it, which
 * subtracts it, so each node is charged for its own work only. Two clock reads per
 * item per node: items are batches, so this costs nothing next to the batch.
 */
export class FrameClock {
  private starts = new Float64Array(32);
  private inner = new Float64Array(32);
  private depth = 0;

  enter(): void {
    if (this.depth === this.starts.length) {
      const starts = new Float64Array(this.depth * 2);
      starts.set(this.starts);
      const inner = new Float64Array(this.depth * 2);
      inner.set(this.inner);
      this.starts = starts;
      this.inner = inner;
    }
    this.inner[this.depth] = 0;
    this.starts[this.depth++] = performance.now();
  }

  /** Closes the innermost frame; its exclusive time in seconds. */
  exit(): number {
    const d = --this.depth;
    const elapsed = performance.now() - this.starts[d]!;
    if (d > 0) this.inner[d - 1]! += elapsed;
    return Math.max(0, elapsed - this.inner[d]!) / 1000;
  }
}

/** `input` unchanged, with the time each item takes downstream of this point, minus other timed nodes, observed in `into`. */
export function timed<T>(input: Observable<T>, clock: FrameClock, into: Histogram): Observable<T> {
  return new Observable<T>((sub) => input.subscribe({
    next: (item) => {
      clock.enter();
      try {
        sub.next(item);
      } finally {
        into.observe(clock.exit());
      }
    },
    error: (err) => sub.error(err),
    complete: () => sub.complete(),
  }));
}
