import { createWriteStream, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  ProfileError, type HeapSnapshot, type ProfileTarget, type Profiler, type ProfilerSession, type TargetMemory,
} from '../../../engine/diagnosis.js';
import { assertAlive, assertLocal, cmdline, exePath, isAlive, listeningPorts, sharesNetwork, toProfileError } from '../proc.js';
import { CdpConnection } from './cdp.js';
import { debuggerUrl, inspectorAddress, isLoopback, portTaken } from './inspectorPort.js';
import { toStacks, type SamplingHeapProfile } from './samplingProfile.js';
import { CLOSE_DELAY_MS, closeInspector, MEMORY_USAGE, renewLease, takeLease } from './targetScripts.js';

export interface NodeProfilerOptions {
  /** The name this host's agent reports, when set with `resin agent --host` (default: the hostname). */
  host?: string;
  /** Mean bytes between two sampled allocations (V8 default 32 KiB); smaller is finer and costlier. */
  samplingInterval?: number;
  /** How long the target may take to open its inspector after the signal. */
  openTimeoutMs?: number;
  /** Deadline of each inspector command (a sampling profile of a large heap takes a while). */
  commandTimeoutMs?: number;
  /**
   * Opt-in: also write one full V8 heap snapshot here when the session closes. It stops
   * the target while it runs and can take several times the heap in memory (on a
   * 130 MB heap: 18 s, and 4x the memory), so it is never the default.
   */
  heapSnapshotDir?: string | null;
  /**
   * How long the target keeps an inspector we opened if we stop renewing it (we renew
   * every third of it): the target closes it by itself, should resin die while attached.
   */
  leaseMs?: number;
}

/** Node.js processes profiled live through their inspector, with no restart (docs/diagnosis.md). */
export class NodeProfiler implements Profiler {
  readonly kind = 'node';
  constructor(private readonly options: NodeProfilerOptions = {}) {}

  async accepts(target: ProfileTarget): Promise<boolean> {
    assertLocal(target, this.options.host);
    const exe = exePath(target.pid);
    let name = exe ? basename(exe) : null;
    if (name === null) {
      try {
        name = basename(cmdline(target.pid)[0] ?? '');
      } catch {
        return false;
      }
    }
    return /^(node|nodejs)(\d+(\.\d+)*)?$/.test(name);
  }

  async open(target: ProfileTarget, signal: AbortSignal): Promise<ProfilerSession> {
    const session = new NodeSession(target.pid, this.options);
    // An abort closes the session whenever it comes, while attaching or long after.
    const onAbort = () => void session.close().catch(() => {});
    signal.addEventListener('abort', onAbort, { once: true });
    session.onClose = () => signal.removeEventListener('abort', onAbort);
    try {
      if (signal.aborted) throw new ProfileError('failed', 'aborted before the profiler was attached');
      await session.attach(signal);
      return session;
    } catch (err) {
      await session.close().catch(() => {});
      throw toProfileError(err, target.pid, 'inspector');
    }
  }
}

class NodeSession implements ProfilerSession {
  private cdp: CdpConnection | null = null;
  private port = -1;
  /** Whether we opened the inspector, and so must close it; one opened by someone else stays. */
  private opened = false;
  private closing: Promise<void> | null = null;
  /** The target is exiting: Node holds the exit until every inspector session disconnects. */
  private exiting = false;
  private heartbeat: NodeJS.Timeout | null = null;
  onClose: () => void = () => {};

  constructor(private readonly pid: number, private readonly options: NodeProfilerOptions) {}

  async attach(signal: AbortSignal): Promise<void> {
    assertAlive(this.pid);
    const { host, port } = inspectorAddress(this.pid);
    if (!isLoopback(host)) {
      throw new ProfileError('unsupported', `process ${this.pid} would open its inspector on ${host}:${port}; only loopback is allowed`);
    }
    if (!sharesNetwork(this.pid)) {
      throw new ProfileError('unsupported', `process ${this.pid} is in another network namespace: its inspector would not be reachable on our loopback`);
    }
    this.port = port;
    if (!listeningPorts(this.pid).some((l) => l.port === port)) {
      if (portTaken(port)) throw new ProfileError('port-taken', `inspector port ${port} of process ${this.pid} is taken by another process`);
      this.signalInspector();
      await this.waitForPort(signal);
    }
    const cdp = await CdpConnection.connect(await debuggerUrl(port, this.commandTimeout), this.commandTimeout);
    this.cdp = cdp;
    // Otherwise a target that exits while we are attached hangs in "Waiting for the debugger to disconnect".
    cdp.on('NodeRuntime.waitingForDisconnect', () => {
      this.exiting = true;
      void cdp.close();
    });
    await cdp.send('NodeRuntime.notifyWhenWaitingForDisconnect', { enabled: true }, this.commandTimeout).catch(() => {});
    if (this.opened) await this.lease(cdp);
    await this.cdp.send('HeapProfiler.startSampling', { samplingInterval: this.options.samplingInterval ?? 32_768 }, this.commandTimeout);
  }

  private async lease(cdp: CdpConnection): Promise<void> {
    const leaseMs = this.options.leaseMs ?? 60_000;
    await cdp.send('Runtime.evaluate', { expression: takeLease(leaseMs), includeCommandLineAPI: true, returnByValue: true }, this.commandTimeout);
    this.heartbeat = setInterval(() => {
      if (!cdp.closed) void cdp.send('Runtime.evaluate', { expression: renewLease(leaseMs), returnByValue: true }, leaseMs / 3).catch(() => {});
    }, leaseMs / 3);
    this.heartbeat.unref();
  }

  private get commandTimeout(): number {
    return this.options.commandTimeoutMs ?? 30_000;
  }

  /** SIGUSR1 through Node's own helper, which also works where the signal is handled differently. */
  private signalInspector(): void {
    try {
      (process as unknown as { _debugProcess(pid: number): void })._debugProcess(this.pid);
    } catch (err) {
      throw toProfileError(err, this.pid, 'signalling the inspector');
    }
    // From here on, an inspector may be open: close it whatever happens next.
    this.opened = true;
  }

  private async waitForPort(signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + (this.options.openTimeoutMs ?? 5_000);
    while (Date.now() < deadline && !signal.aborted) {
      assertAlive(this.pid);
      if (listeningPorts(this.pid).some((l) => l.port === this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (portTaken(this.port)) throw new ProfileError('port-taken', `inspector port ${this.port} of process ${this.pid} is taken by another process`);
    throw new ProfileError('timeout', `process ${this.pid} did not open its inspector on port ${this.port}`);
  }

  async snapshot(): Promise<HeapSnapshot> {
    if (this.closing || !this.cdp) throw new ProfileError('failed', 'the session is closed');
    try {
      const { profile } = await this.cdp.send<{ profile: SamplingHeapProfile }>('HeapProfiler.getSamplingProfile', {}, this.commandTimeout);
      const at = Date.now();
      return { at, stacks: toStacks(profile), memory: await this.memory() };
    } catch (err) {
      if (this.exiting || !isAlive(this.pid)) throw new ProfileError('exited', `process ${this.pid} exited`, { cause: err });
      throw toProfileError(err, this.pid, 'heap sampling profile');
    }
  }

  /** process.memoryUsage() of the target: shows leaks outside the JS heap (Buffers) the sampler cannot. */
  private async memory(): Promise<TargetMemory | null> {
    const r = await this.cdp!.send<{ result: { value?: string | null } }>(
      'Runtime.evaluate', { expression: MEMORY_USAGE, returnByValue: true }, this.commandTimeout,
    );
    if (typeof r.result.value !== 'string') return null;
    const m = JSON.parse(r.result.value) as { rss: number; heapUsed: number; external: number; arrayBuffers: number };
    return { rss: m.rss, heap_used: m.heapUsed, external: m.external, array_buffers: m.arrayBuffers };
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.onClose();
      this.closing = this.shutdown();
    }
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    const cdp = this.cdp;
    if (cdp && !cdp.closed) {
      if (this.options.heapSnapshotDir) await this.fullSnapshot(cdp, this.options.heapSnapshotDir).catch(() => {});
      await cdp.send('HeapProfiler.stopSampling', {}, 5_000).catch(() => {});
    }
    if (this.opened && !this.exiting && isAlive(this.pid)) {
      let conn = cdp && !cdp.closed ? cdp : null;
      // Attach failed after the signal: connect only to close what we opened.
      conn ??= await debuggerUrl(this.port, 5_000).then((url) => CdpConnection.connect(url, 5_000)).catch(() => null);
      if (conn) await conn.send('Runtime.evaluate', { expression: closeInspector(), includeCommandLineAPI: true, returnByValue: true }, 5_000).catch(() => {});
      await conn?.close();
      await this.waitClosed();
    }
    await cdp?.close();
  }

  /** Closing is only done once the port is gone: an open inspector is code execution for anyone on the host. */
  private async waitClosed(): Promise<void> {
    const deadline = Date.now() + CLOSE_DELAY_MS + 5_000;
    while (Date.now() < deadline) {
      try {
        if (!listeningPorts(this.pid).some((l) => l.port === this.port)) return;
      } catch {
        return; // exited
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new ProfileError('failed', `the inspector of process ${this.pid} is still open on port ${this.port}`);
  }

  private async fullSnapshot(cdp: CdpConnection, dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    const out = createWriteStream(join(dir, `node-${this.pid}-${Date.now()}.heapsnapshot`));
    const failed = new Promise<never>((_, reject) => out.once('error', reject));
    failed.catch(() => {});
    cdp.on('HeapProfiler.addHeapSnapshotChunk', (p) => out.write(String(p.chunk)));
    try {
      await Promise.race([cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, 10 * 60_000), failed]);
    } finally {
      cdp.on('HeapProfiler.addHeapSnapshotChunk', null);
      await new Promise((r) => out.end(r));
    }
  }
}
