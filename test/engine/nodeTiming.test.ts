import { Subject, map, share } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Histogram } from '../../engine/metrics.js';
import { FrameClock, timed } from '../../engine/nodeTiming.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin */ }
}

const hist = (name: string) => new Histogram(name, {}, Float64Array.from([0.001, 0.01, 0.1, 1]));

describe('per-node timing', () => {
  // Wall-clock spans: a stall of the whole process (another tenant on a loaded machine)
  // lands inside one node's frame and can push it past a bound, so a failure is retried.
  it('charges each node its own work, not the work of the nodes it emits to', { retry: 2 }, () => {
    const clock = new FrameClock();
    const a = hist('a'), b = hist('b'), c = hist('c');
    const source = new Subject<number>();
    // a (5 ms) feeds b (60 ms) and c (40 ms) through a shared output, as the runtime wires fan-out.
    const outA = timed(source, clock, a).pipe(map((x) => { busy(5); return x; }), share());
    timed(outA, clock, b).subscribe(() => busy(60));
    timed(outA, clock, c).subscribe(() => busy(40));
    source.next(1);
    source.next(2);
    expect([a.count, b.count, c.count]).toEqual([2, 2, 2]);
    // Inclusive time of a is >= 105 ms per item; its own is about 5 (more only if the machine stalls between frames).
    expect(a.sum / 2).toBeGreaterThanOrEqual(0.0049);
    expect(a.sum / 2).toBeLessThan(0.05);
    expect(b.sum / 2).toBeGreaterThanOrEqual(0.0599);
    expect(c.sum / 2).toBeGreaterThanOrEqual(0.0399);
    expect(c.sum / 2).toBeLessThan(0.06);
  });

  it('keeps its frames balanced when a node throws', () => {
    const clock = new FrameClock();
    const a = hist('a'), b = hist('b');
    const source = new Subject<number>();
    const errors: unknown[] = [];
    timed(source, clock, a).pipe(map((x) => { if (x === 1) throw new Error('boom'); return x; })).subscribe({ error: (e) => errors.push(e) });
    source.next(1);
    // A later, unrelated frame is not charged to the failed one: it is top level again.
    const other = new Subject<number>();
    timed(other, clock, b).subscribe(() => busy(5));
    other.next(1);
    expect(errors).toHaveLength(1);
    expect(a.count).toBe(1);
    expect(b.sum).toBeGreaterThanOrEqual(0.0049);
  });

  it('counts observations into cumulative-ready buckets', () => {
    const h = hist('h');
    for (const v of [0.0005, 0.001, 0.05, 2]) h.observe(v);
    expect([...h.counts]).toEqual([2, 0, 1, 0, 1]);
    expect(h.count).toBe(4);
    expect(() => new Histogram('bad', {}, Float64Array.from([1, 1]))).toThrow(/strictly ascending/);
  });
});
