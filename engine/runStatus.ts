/**
 * What a running pipeline is doing, for whoever watches it from outside: the sidecar's
 * readiness probe and metrics endpoint, the drain timeout's last words, and the soak
 * benchmark. The runtime and the session write it; nothing in the data path reads it.
 */
export type RunPhase = 'starting' | 'restoring' | 'running' | 'draining' | 'stopped' | 'failed';

export interface Readiness {
  readonly ready: boolean;
  readonly phase: RunPhase;
  /** Why the run is not ready, one entry per cause; empty when ready. */
  readonly reasons: string[];
}

/** What has not finished yet, when a stop takes too long. */
export interface InFlight {
  readonly phase: RunPhase;
  /** The step of the shutdown the run is in ("closing sinks", "checkpointing", ...). */
  readonly step: string;
  /** Sources whose read loop has not ended. */
  readonly sources_reading: string[];
  /** Asynchronous work (state-store writes, publishes) registered and not yet settled. */
  readonly async_work: number;
}

interface WatchedSource {
  readonly id: string;
  readonly ready: () => boolean;
}

export class RunStatus {
  phase: RunPhase = 'starting';
  step = 'starting';
  /** Whether the run's state store is open, or the run needs none (the session sets it around the run). */
  storeOpen = false;
  /** Newest event time (ms) any source has emitted; -Infinity before the first sample. */
  newestEvent = -Infinity;
  /** Wall-clock time (ms) the newest event time last moved. */
  newestEventAt = 0;
  /** Watermark (event-time ms) of each node's latest output that carries one. */
  readonly watermarks = new Map<string, number>();
  private readonly sources: WatchedSource[] = [];
  private readonly reading = new Set<string>();
  private pendingWork: () => number = () => 0;
  private checkpointAsked = false;

  /** Registers a source for the readiness probe; its `ready` hook, when it has one, is asked on each probe. */
  watchSource(id: string, ready?: () => boolean): void {
    this.sources.push({ id, ready: ready ?? (() => true) });
  }

  sourceReading(id: string, reading: boolean): void {
    if (reading) this.reading.add(id);
    else this.reading.delete(id);
  }

  /** How the runtime reports its pending asynchronous work. */
  countPendingWith(count: () => number): void {
    this.pendingWork = count;
  }

  /** Asks the runtime to checkpoint at the next point between batches. */
  requestCheckpoint(): void {
    this.checkpointAsked = true;
  }

  /** True once per request: the runtime calls it between batches. */
  takeCheckpointRequest(): boolean {
    const asked = this.checkpointAsked;
    this.checkpointAsked = false;
    return asked;
  }

  observeEventTime(ts: number): void {
    if (ts > this.newestEvent) {
      this.newestEvent = ts;
      this.newestEventAt = Date.now();
    }
  }

  /**
   * Ready means able to do its job now: the pipeline running (state restored, not
   * draining), the state store open, and every source able to deliver.
   */
  readiness(): Readiness {
    const reasons: string[] = [];
    if (this.phase !== 'running') reasons.push(`pipeline is ${this.phase}`);
    if (!this.storeOpen) reasons.push('state store is not open');
    for (const s of this.sources) {
      let ok: boolean;
      try {
        ok = s.ready();
      } catch {
        ok = false;
      }
      if (!ok) reasons.push(`source "${s.id}" is not connected`);
    }
    return { ready: reasons.length === 0, phase: this.phase, reasons };
  }

  inFlight(): InFlight {
    return { phase: this.phase, step: this.step, sources_reading: [...this.reading], async_work: this.pendingWork() };
  }
}
