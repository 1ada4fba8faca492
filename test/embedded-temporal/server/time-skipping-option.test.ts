import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './harness';
import { startHarness } from './harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness('auto-skip', {}, { timeSkipping: true });
});

afterAll(async () => {
  await h?.stop();
});

describe('startEmbeddedTemporal({ timeSkipping: true })', () => {
  it('skips a seven-day workflow timer without any TestService call', async () => {
    const started = Date.now();
    const result = await h.client.workflow.execute('longSleep', { taskQueue: h.taskQueue, workflowId: 'long-1' });
    expect(result).toBe('woke');
    expect(Date.now() - started).toBeLessThan(20_000);
    const events = (await h.client.workflow.getHandle('long-1').fetchHistory()).events!;
    const fired = events.find((e) => e.timerFiredEventAttributes)!;
    const startedAt = Number(events[0]!.eventTime!.seconds);
    expect(Number(fired.eventTime!.seconds) - startedAt).toBeGreaterThanOrEqual(7 * 24 * 3600);
  });
});
