import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../embedded-temporal/time';

describe('VirtualClock', () => {
  it('fires timers in real time while locked (no skipping)', async () => {
    const clock = new VirtualClock({ autoSkip: false });
    let fired = false;
    clock.schedule(clock.now() + 60_000, () => (fired = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toBe(false);
    clock.stop();
  });

  it('jumps to the next deadline when unlocked and idle', async () => {
    const clock = new VirtualClock({ autoSkip: true });
    const start = clock.now();
    const fired = new Promise<number>((resolve) => clock.schedule(start + 3_600_000, () => resolve(clock.now())));
    expect(await fired).toBeGreaterThanOrEqual(start + 3_600_000);
    clock.stop();
  });

  it('does not skip while work is outstanding', async () => {
    const clock = new VirtualClock({ autoSkip: true });
    clock.busy(1);
    let fired = false;
    clock.schedule(clock.now() + 3_600_000, () => (fired = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toBe(false);
    clock.busy(-1);
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toBe(true);
    clock.stop();
  });

  it('unlockUntil advances exactly to its deadline and leaves later timers alone', async () => {
    const clock = new VirtualClock({ autoSkip: false });
    const start = clock.now();
    let laterFired = false;
    clock.schedule(start + 600_000, () => (laterFired = true));
    await clock.unlockUntil(start + 31_000);
    expect(clock.now()).toBeGreaterThanOrEqual(start + 31_000);
    expect(clock.now()).toBeLessThan(start + 600_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(laterFired).toBe(false);
    clock.stop();
  });
});

describe('VirtualClock with a running activity', () => {
  it('holds time for a running activity, but an explicit unlockUntil (env.sleep) still advances it', async () => {
    const clock = new VirtualClock({ autoSkip: true });
    const start = clock.now();
    clock.running(1);
    let fired = false;
    clock.schedule(start + 500_000, () => (fired = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toBe(false);
    await clock.unlockUntil(start + 1_000_000);
    expect(fired).toBe(true);
    expect(clock.now()).toBeGreaterThanOrEqual(start + 1_000_000);
    clock.stop();
  });
});
