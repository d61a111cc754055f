import { describe, expect, it } from 'vitest';
import { simulatedProfiler } from '../../../connectors/simulator/profiler.js';
import { FleetSimulator } from '../../../connectors/simulator/simulator.js';
import { StackModel } from '../../../connectors/simulator/stacks.js';
import { ProfileError, type HeapSnapshot } from '../../../engine/diagnosis.js';
import { silentLogger } from '../../../engine/log.js';
import { stackKey } from '../../../operators/diagnose/localise.js';

const HOUR = 3_600_000;
const FLEET = { hosts: 30, components: 6, days: 10, seed: 5, leak_fraction: 0.1 };

function profilerAt(options: unknown = FLEET) {
  const clock = { t: 0, now() { return this.t; } };
  return { clock, profiler: simulatedProfiler({ clock, options, log: silentLogger }) };
}

const bytesOf = (snap: HeapSnapshot, key: string) => snap.stacks.find((s) => stackKey(s.frames) === key)?.live_bytes ?? 0;

describe('simulated profiler', () => {
  const sim = new FleetSimulator(FLEET);
  const truth = sim.truth();
  const model = new StackModel(sim.plan);
  // A leak with a day without restarts after it began.
  const leak = truth.leaks.find((l) => l.pattern === 'steady' && !l.restarts.some((r) => r < l.start + 48 * HOUR))!;
  const s = model.seriesOf(leak.host, leak.component, leak.process);
  const target = { host: leak.host, component: leak.component, process: leak.process, pid: model.pidAt(s, leak.start + HOUR) };

  it('grows the culprit stack with the leak, as the truth names it', async () => {
    const { clock, profiler } = profilerAt();
    expect(await profiler.accepts(target)).toBe(true);
    clock.t = leak.start + HOUR;
    const session = await profiler.open(target, new AbortController().signal);
    const a = await session.snapshot();
    clock.t = leak.start + 25 * HOUR;
    const b = await session.snapshot();
    await session.close();
    const key = stackKey(leak.culprit_stack);
    const grew = bytesOf(b, key) - bytesOf(a, key);
    // A day of the leak's mean rate, within the noise of the site's own pool.
    expect(grew / leak.bytes_per_day).toBeGreaterThan(0.9);
    expect(grew / leak.bytes_per_day).toBeLessThan(1.1);
    expect(b.memory!.rss).toBeGreaterThan(a.memory!.rss);
    // Some benign stack moves too: the profile is not the leak alone.
    expect(b.stacks.filter((st) => stackKey(st.frames) !== key && st.live_bytes !== a.stacks.find((x) => stackKey(x.frames) === stackKey(st.frames))?.live_bytes).length).toBeGreaterThan(3);
    await expect(session.snapshot()).rejects.toThrow(ProfileError);
  });

  it('answers the same for the same seed and time, and differently for another seed', async () => {
    const one = profilerAt(), two = profilerAt();
    one.clock.t = two.clock.t = leak.start + 5 * HOUR;
    const x = await (await one.profiler.open(target, new AbortController().signal)).snapshot();
    const y = await (await two.profiler.open(target, new AbortController().signal)).snapshot();
    expect(x).toEqual(y);
    const other = profilerAt({ ...FLEET, seed: 6 });
    other.clock.t = leak.start + 5 * HOUR;
    const z = await (await other.profiler.open({ ...target, pid: 0 }, new AbortController().signal)).snapshot().catch(() => null);
    expect(z).not.toEqual(x);
  });

  it('fails with "exited" once the target has restarted', async () => {
    const restarted = truth.leaks.find((l) => l.restarts.length > 0)!;
    const rs = model.seriesOf(restarted.host, restarted.component, restarted.process);
    const before = restarted.restarts[0]! - HOUR;
    const t = { host: restarted.host, component: restarted.component, process: restarted.process, pid: model.pidAt(rs, before) };
    const { clock, profiler } = profilerAt();
    clock.t = before;
    const session = await profiler.open(t, new AbortController().signal);
    await session.snapshot();
    clock.t = restarted.restarts[0]! + HOUR;
    await expect(session.snapshot()).rejects.toMatchObject({ name: 'ProfileError', reason: 'exited' });
    expect(await profiler.accepts({ ...t, host: 'no-such-host' })).toBe(false);
  });

  it('rejects options that do not describe a fleet, naming the field', () => {
    expect(() => profilerAt({ ...FLEET, interval: '1ms' })).toThrow(/interval/);
  });
});
