import { spawn, type ChildProcess } from 'node:child_process';

export interface SupervisorOptions {
  command: string;
  args: readonly string[];
  /** Time between SIGTERM to the group and SIGKILL to what is left of it. */
  graceMs: number;
  stdio?: 'inherit' | 'ignore';
  env?: Record<string, string>;
}

export interface RestartReport {
  oldPid: number | null;
  newPid: number;
  /** From SIGTERM until the new child was running, ms. */
  durationMs: number;
  /** Whether the group outlived the grace period and was killed. */
  killed: boolean;
}

/** Whether any process of group `pgid` still exists. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch { /* the group is gone */ }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs a service as a child in a process group of its own, so a restart reaches every
 * process it forked: SIGTERM to the group, a grace period, SIGKILL to what is left,
 * and a fresh start. The child learns how many times it was restarted from
 * RESIN_SUPERVISED_RESTARTS. When the child exits by itself the supervisor reports it
 * (`onExit`) and does not restart it: that is the job of whatever runs the supervisor.
 */
export class Supervisor {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private restarting: Promise<RestartReport> | null = null;
  private stopping = false;
  restarts = 0;
  /** Called when the child exits without being asked to. */
  onExit: (code: number | null, signal: NodeJS.Signals | null) => void = () => {};

  constructor(private readonly o: SupervisorOptions) {
    if (!(o.graceMs >= 0)) throw new RangeError(`"grace" must be 0 or more, got ${o.graceMs}`);
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Starts the child; resolves with its pid once it runs. */
  start(): Promise<number> {
    const child = spawn(this.o.command, [...this.o.args], {
      detached: true, stdio: this.o.stdio ?? 'inherit',
      env: { ...process.env, ...this.o.env, RESIN_SUPERVISED_RESTARTS: String(this.restarts) },
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      if (this.child === child && !this.stopping && this.restarting === null) this.onExit(code, signal);
      resolve();
    }));
    return new Promise((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!));
      child.once('error', (err) => reject(new Error(`cannot start ${this.o.command}: ${err.message}`, { cause: err })));
    });
  }

  /** Terminates the current child's group; true when it had to be killed. */
  private async terminate(): Promise<boolean> {
    const child = this.child;
    if (!child?.pid) return false;
    const pgid = child.pid;
    let leaderGone = false;
    const exited = this.exited.then(() => { leaderGone = true; });
    signalGroup(pgid, 'SIGTERM');
    const deadline = performance.now() + this.o.graceMs;
    // Polled: the group has no event for "empty", and grandchildren are not ours to wait on.
    while ((!leaderGone || groupAlive(pgid)) && performance.now() < deadline) await sleep(5);
    if (leaderGone && !groupAlive(pgid)) return false;
    signalGroup(pgid, 'SIGKILL');
    await Promise.race([exited, sleep(5000)]);
    return true;
  }

  /** Restarts the child; concurrent calls share one restart. */
  restart(): Promise<RestartReport> {
    this.restarting ??= (async () => {
      const started = performance.now();
      const oldPid = this.pid;
      try {
        const killed = await this.terminate();
        this.restarts++;
        const newPid = await this.start();
        return { oldPid, newPid, durationMs: performance.now() - started, killed };
      } finally {
        this.restarting = null;
      }
    })();
    return this.restarting;
  }

  /** Terminates the child for good. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.restarting?.catch(() => {});
    await this.terminate();
  }
}
