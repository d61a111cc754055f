/**
 * Messages received by callback, waiting for the source to read them: a FIFO with a
 * bound (the oldest are dropped, and counted, beyond it) and a way to wait for the
 * next message with a deadline, so that a batch can be closed by time as well as by
 * size. Callbacks push; one reader shifts.
 */
export class Inbox<M> {
  private items: (M | undefined)[] = [];
  private head = 0;
  private waiter: (() => void) | null = null;
  /** Messages dropped because the inbox was full. */
  dropped = 0;
  private ended = false;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`"capacity" must be a positive integer, got ${capacity}`);
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** True once `close` was called: nothing more will arrive. */
  get closed(): boolean {
    return this.ended;
  }

  push(m: M): void {
    if (this.ended) return;
    if (this.length >= this.capacity) {
      this.items[this.head++] = undefined;
      this.dropped++;
    }
    this.items.push(m);
    this.wake();
  }

  shift(): M | undefined {
    if (this.head >= this.items.length) return undefined;
    const m = this.items[this.head];
    this.items[this.head++] = undefined;
    // Compact once the consumed prefix dominates, so the array does not grow forever.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return m;
  }

  /** Ends waiting for good: `wait` resolves at once from now on. */
  close(): void {
    this.ended = true;
    this.wake();
  }

  /**
   * Resolves once a message is there, `deadline` (a performance.now() time) passes,
   * `signal` aborts or the inbox is closed; whichever comes first.
   */
  wait(deadline: number, signal: AbortSignal): Promise<void> {
    if (this.length > 0 || this.ended || signal.aborted) return Promise.resolve();
    const delay = deadline - performance.now();
    if (delay <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiter = null;
        resolve();
      };
      const timer = Number.isFinite(delay) ? setTimeout(done, delay) : undefined;
      signal.addEventListener('abort', done, { once: true });
      this.waiter = done;
    });
  }

  private wake(): void {
    this.waiter?.();
  }
}
