/**
 * Pull-based flow control over push-based RxJS. Sources emit one batch, then wait for
 * `idle()` before reading the next, so a fast source can never make the graph buffer
 * without bound. Synchronous operators finish inside `next()`; operators with async
 * effects (database writes, network publishes) register them with `track()`.
 */
export class Flow {
  private readonly pending = new Set<Promise<unknown>>();
  private failure: unknown = null;

  track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    work.then(
      () => this.pending.delete(work),
      (err) => {
        this.pending.delete(work);
        this.failure ??= err;
      },
    );
    return work;
  }

  /** Resolves once all tracked work has settled; rejects with the first failure. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    if (this.failure !== null) {
      const err = this.failure;
      this.failure = null;
      throw err;
    }
  }

  get busy(): number {
    return this.pending.size;
  }
}
