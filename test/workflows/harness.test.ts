/**
 * The workflow harness's own guard: a test that hangs inside `withWorker` (it times out) must not take the rest of its
 * file down with it. `abandon` prints what the hung workflows were doing, ends them and frees the task queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPaymentQuery } from '../../workflows/definitions';
import { CARDS } from '../support/cards';
import { waitFor } from '../support/wait';
import {
  bundle,
  cardInput,
  createFixture,
  historySummary,
  newReference,
  openTimersDueBy,
  putCard,
  secretsFound,
  startPayment,
  waitForStatus,
  whileTimeHeld,
} from './harness';
import type { Fixture, PaymentHandle } from './harness';

describe('the workflow test harness', () => {
  let fx: Fixture;
  const logged: string[] = [];

  beforeAll(async () => {
    fx = await createFixture(await bundle(), {}, { log: (text) => logged.push(text) });
  });
  afterAll(async () => {
    await fx?.teardown();
  });

  it('abandons a withWorker that never returns: prints its workflows without payloads, ends them, frees the queue', async () => {
    let hungPayment: PaymentHandle | undefined;
    const hung = fx.withWorker(async () => {
      hungPayment = await startPayment(fx, cardInput(newReference('hang'), await putCard(fx.vault, CARDS.nativeOtp)));
      await waitForStatus(hungPayment, 'AWAITING_OTP');
      await new Promise(() => undefined); // as a test whose awaited result never comes
    });
    const payment = await waitFor('the hung test to park its payment at AWAITING_OTP', async () => {
      if (!hungPayment) return undefined;
      const { status } = await hungPayment.query(getPaymentQuery).catch(() => ({ status: undefined }));
      return status === 'AWAITING_OTP' && hungPayment;
    });

    await fx.abandon();

    await expect(hung).rejects.toThrow(/did not resolve/);
    expect((await payment.describe()).status.name).toBe('TERMINATED');
    const printed = logged.join('\n');
    expect(printed).toContain(`${payment.workflowId}: RUNNING`);
    expect(printed).toMatch(/EVENT_TYPE_ACTIVITY_TASK_SCHEDULED createPayment/);
    expect(printed).toMatch(/EVENT_TYPE_TIMER_STARTED/);
    expect(secretsFound(printed)).toEqual([]);

    // The file goes on: the next test's worker registers on the same task queue and runs a payment.
    await fx.withWorker(async () => {
      const next = await startPayment(fx, cardInput(newReference('next'), await putCard(fx.vault, CARDS.nativeOtp)));
      await waitForStatus(next, 'AWAITING_OTP');
    });
  });

  it('has nothing to abandon once withWorker has returned', async () => {
    const before = logged.length;
    await fx.withWorker(() => Promise.resolve());
    await fx.abandon();
    expect(logged.length).toBe(before);
  });

  it('holds the server clock while it forwards a webhook, though the test is skipping an hour meanwhile', async () => {
    let skipping: Promise<void> | undefined;
    let before = 0;
    const moved = await whileTimeHeld(fx.env, async () => {
      before = await fx.env.currentTimeMs();
      skipping = fx.env.sleep(3_600_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      return (await fx.env.currentTimeMs()) - before;
    });
    // Held, the clock keeps the wall clock's pace: no timer is skipped to under a signal's workflow task.
    expect(moved).toBeLessThan(5_000);
    // Released, the hour is skipped (counted from the sleep's start: the skip may be over before a read after release).
    await skipping;
    expect((await fx.env.currentTimeMs()) - before).toBeGreaterThan(3_000_000);
  });

  it('sees a workflow task waiting for a worker, which the test server leaves out of its descriptions', async () => {
    // Leftovers are ended once idle: terminated with a task outstanding, a workflow leaves the server's clock locked.
    const handle = await startPayment(fx, cardInput(newReference('idle'), await putCard(fx.vault, CARDS.nativeOtp)));
    expect((await handle.describe()).raw.pendingWorkflowTask ?? undefined).toBeUndefined();
    expect(await historySummary(handle)).toMatch(/RUNNING, \d+ events, pending: a workflow task/);
    await fx.withWorker(() => waitForStatus(handle, 'AWAITING_OTP'));
    expect(await historySummary(handle)).toMatch(/pending: nothing/);
    await handle.terminate('test over');
  });

  it('counts the timers a signal must wait for: started, not fired or cancelled, due by then', () => {
    const at = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
    const started = (eventId: number, atMs: number, afterMs: number) => ({
      eventId,
      eventTime: at(atMs),
      timerStartedEventAttributes: { startToFireTimeout: at(afterMs) },
    });
    // Plain numbers where Temporal's protos hold Longs: openTimersDueBy reads both.
    const events = [
      started(5, 1_000, 30_000), // due at 31 s
      started(6, 1_000, 1_500), // due at 2.5 s, fired
      { eventId: 7, timerFiredEventAttributes: { startedEventId: 6 } },
      started(8, 2_000, 500), // due at 2.5 s, cancelled
      { eventId: 9, timerCanceledEventAttributes: { startedEventId: 8 } },
      started(10, 3_000, 2_000), // due at 5 s
    ] as unknown as Parameters<typeof openTimersDueBy>[0];
    expect(openTimersDueBy(events, 4_999)).toBe(0);
    expect(openTimersDueBy(events, 5_000)).toBe(1);
    expect(openTimersDueBy(events, 31_000)).toBe(2);
  });
});
