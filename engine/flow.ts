/**
 * Pull-based flow control over push-based RxJS. Sources emit one batch, then wait for
 * `settle()` before reading the next, so a fast source can never make the graph buffer
 * without bound. Synchronous operators finish inside `next()`; operators with async
 * effects (database writes, network publishes) register them with `track()`.
 *
 * State-store writes may instead be registered with `trackBehind()`: the next batch is
 * worked on while they run (the store works on its own threads), and the source waits
 * for them before the batch after that. At most two batches' writes are in flight, and
 * `idle()` still waits for every one of them.
 */
export class Flow {
  private readonly pending = new Set<Promise<unknown>>();
  /** `trackBehind` work registered since the last `settle()`, and before it. */
  private current = new Set<Promise<unknown>>();
  private previous = new Set<Promise<unknown>>();
  private failure: unknown = null;

  track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    return this.watch(work);
  }

  /** Tracks work the next batch may overlap: `settle()` waits for it one batch later. */
  trackBehind<T>(work: Promise<T>): Promise<T> {
    this.current.add(work);
    return this.watch(work);
  }

  private watch<T>(work: Promise<T>): Promise<T> {
    const done = () => {
      this.pending.delete(work);
      this.current.delete(work);
      this.previous.delete(work);
    };
    work.then(done, (err) => {
      done();
      this.failure ??= err;
    });
    return work;
  }

  /**
   * Between batches: resolves once all `track`ed work and the `trackBehind` work of
   * the batch before the last has settled; rejects with the first failure.
   */
  async settle(): Promise<void> {
    while (this.pending.size > 0 || this.previous.size > 0) await Promise.allSettled([...this.pending, ...this.previous]);
    this.previous = this.current;
    this.current = new Set();
    this.rethrow();
  }

  /** Resolves once all tracked work has settled; rejects with the first failure. */
  async idle(): Promise<void> {
    while (this.busy > 0) await Promise.allSettled([...this.pending, ...this.previous, ...this.current]);
    this.rethrow();
  }

  private rethrow(): void {
    if (this.failure !== null) {
      const err = this.failure;
      this.failure = null;
      throw err;
    }
  }

  get busy(): number {
    return this.pending.size + this.previous.size + this.current.size;
  }
}
