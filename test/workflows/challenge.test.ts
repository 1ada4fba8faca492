import { WorkflowUpdateStage } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import type { PaymentActivities } from '../../activities';
import { callbackReceivedSignal, cancelUpdate, FAILURE_TYPE, webhookReceivedSignal } from '../../workflows/definitions';
import type { PaymentState } from '../../workflows/definitions';
import { waitFor } from '../support/wait';
import { CARDS } from '../support/cards';
import {
  auditOccurrences,
  approvedAfterWindowClosed,
  authenticateAtSandbox,
  bundle,
  callbackSignal,
  cancel,
  cardInput,
  createFixture,
  gate,
  laggingOrderReads,
  newReference,
  putCard,
  scanHistories,
  startPayment,
  waitForState,
  waitForStatus,
} from './harness';
import type { Fixture, PaymentHandle } from './harness';

let fx: Fixture;

beforeAll(async () => {
  fx = await createFixture(await bundle());
});
afterAll(async () => {
  await fx?.teardown();
});

async function startChallenge(card: string = CARDS.challenge, preAuth = true, durations = {}) {
  const ref = newReference('chl');
  const handle = await startPayment(fx, cardInput(ref, await putCard(fx.vault, card), { preAuth, durations }));
  const state = await waitForStatus(handle, 'AWAITING_CHALLENGE');
  return { handle, state, paymentId: state.pluralPaymentIds[0]! };
}

const transitionsTo = (s: PaymentState, status: string) => s.audit.filter((e) => e.to === status && e.from !== status);

const RECEIVED = / received; confirming with Get Order$/;
/** Every gateway event the payment received has been confirmed with a Get Order (its label shows in a later entry). */
const allConfirmed = (s: PaymentState): boolean =>
  s.audit
    .filter((e) => RECEIVED.test(e.cause))
    .every((e) => {
      const label = e.cause.replace(RECEIVED, '');
      return s.audit.some((o) => !RECEIVED.test(o.cause) && o.cause.includes(label));
    });

function webhooksFor(orderId: string, count: number) {
  const got = () => fx.webhooks.received.filter((w) => w.orderId === orderId);
  return waitFor(`${count} webhooks for ${orderId}`, () => (got().length >= count ? got() : undefined), {
    timeoutMs: 10_000,
    intervalMs: 50,
    describeLast: () => `got ${got().length}`,
  });
}

async function withForwarding<T>(
  forward: boolean,
  fn: () => Promise<T>,
  activities?: Parameters<Fixture['withWorker']>[1],
): Promise<T> {
  fx.webhooks.forward = forward;
  try {
    return await fx.withWorker(fn, activities);
  } finally {
    fx.webhooks.forward = true;
  }
}

describe('3-D Secure challenge', () => {
  it('waits on the challenge page when the card has no native OTP, exposing challenge_url', async () => {
    await fx.withWorker(async () => {
      const { state } = await startChallenge();
      expect(state.challengeUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/web\/auth\/landing\/\?token=/);
      expect(state.nextActions).toEqual(['COMPLETE_CHALLENGE', 'CANCEL']);
      expect(state.otp).toBeUndefined();
    });
  });

  it('authorizes on the signed callback alone', async () => {
    await withForwarding(false, async () => {
      const { handle, paymentId } = await startChallenge();
      const acs = await authenticateAtSandbox(fx.sandbox, paymentId);
      await handle.signal(callbackReceivedSignal, callbackSignal(acs.callback.fields));
      const s = await waitForStatus(handle, 'AUTHORIZED');
      // The callback is confirmed with Get Order: the payment moves on Plural's order, not on the callback.
      expect(transitionsTo(s, 'AUTHORIZED')[0]?.cause).toBe(
        'Get Order to confirm callback AUTHORIZED: Plural order AUTHORIZED',
      );
    });
  });

  it('authorizes on the webhook alone', async () => {
    await withForwarding(true, async () => {
      const { handle, paymentId } = await startChallenge();
      await authenticateAtSandbox(fx.sandbox, paymentId);
      const s = await waitForStatus(handle, 'AUTHORIZED');
      expect(transitionsTo(s, 'AUTHORIZED')[0]?.cause).toMatch(
        /^Get Order to confirm webhook ORDER_AUTHORIZED \(msg_.*\): Plural order AUTHORIZED$/,
      );
    });
  });

  it('authorizes once when the callback arrives before the webhook', async () => {
    await withForwarding(false, async () => {
      const { handle, paymentId, state } = await startChallenge();
      const acs = await authenticateAtSandbox(fx.sandbox, paymentId);
      const [hook] = await webhooksFor(state.pluralOrderId!, 1);
      await handle.signal(callbackReceivedSignal, callbackSignal(acs.callback.fields));
      await handle.signal(webhookReceivedSignal, hook!.signal);
      const s = await waitForState(
        handle,
        (x) =>
          x.audit.some((e) =>
            /webhook ORDER_AUTHORIZED .*(payment stays AUTHORIZED|read as AUTHORIZED.*nothing to confirm)$/.test(
              e.cause,
            ),
          ),
        'both events handled',
      );
      expect(s.status).toBe('AUTHORIZED');
      expect(transitionsTo(s, 'AUTHORIZED')).toHaveLength(1);
      expect(transitionsTo(s, 'AUTHORIZED')[0]?.cause).toMatch(/^Get Order to confirm callback AUTHORIZED/);
      // The webhook claims what the callback's Get Order read: it costs no second Get Order.
      const history = await handle.fetchHistory();
      const getOrders = (history.events ?? []).filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'getOrder',
      );
      expect(getOrders).toHaveLength(1);
    });
  });

  it('authorizes once when the webhook arrives before the callback', async () => {
    await withForwarding(false, async () => {
      const { handle, paymentId, state } = await startChallenge();
      const acs = await authenticateAtSandbox(fx.sandbox, paymentId);
      const [hook] = await webhooksFor(state.pluralOrderId!, 1);
      await handle.signal(webhookReceivedSignal, hook!.signal);
      await handle.signal(callbackReceivedSignal, callbackSignal(acs.callback.fields));
      const s = await waitForStatus(handle, 'AUTHORIZED');
      expect(transitionsTo(s, 'AUTHORIZED')).toHaveLength(1);
      expect(transitionsTo(s, 'AUTHORIZED')[0]?.cause).toMatch(/^Get Order to confirm webhook ORDER_AUTHORIZED/);
    });
  });

  it('ignores duplicated webhooks (same webhook-id) and a repeated callback', async () => {
    fx.sandbox.setFaults({ webhookDuplicateRate: 1 });
    try {
      await withForwarding(true, async () => {
        const { handle, paymentId, state } = await startChallenge();
        const acs = await authenticateAtSandbox(fx.sandbox, paymentId);
        const copies = await webhooksFor(state.pluralOrderId!, 2);
        expect(copies[0]!.webhookId).toBe(copies[1]!.webhookId);
        await handle.signal(callbackReceivedSignal, callbackSignal(acs.callback.fields));
        await handle.signal(callbackReceivedSignal, callbackSignal(acs.callback.fields));
        const id = copies[0]!.webhookId;
        const s = await waitForState(handle, (x) => x.status === 'AUTHORIZED' && allConfirmed(x), 'events confirmed');
        expect(
          auditOccurrences(s.audit).filter((e) => e.cause.startsWith(`webhook ORDER_AUTHORIZED (${id}) received`)),
        ).toHaveLength(1);
        await handle.signal(webhookReceivedSignal, copies[0]!.signal);
        const after = await handle.query('getPayment');
        expect(transitionsTo(after as PaymentState, 'AUTHORIZED')).toHaveLength(1);
        console.log(
          JSON.stringify(
            (after as PaymentState).audit.map((e) => e.cause),
            null,
            1,
          ),
          JSON.stringify(s.audit.map((e) => e.cause)),
        );
        expect((after as PaymentState).audit).toEqual(s.audit);
      });
    } finally {
      fx.sandbox.setFaults({ webhookDuplicateRate: 0 });
    }
  });

  it("does not move on a validly signed event that Plural's order contradicts (a forged ORDER_PROCESSED)", async () => {
    await withForwarding(false, async () => {
      const { handle, state } = await startChallenge(CARDS.challenge, false);
      const orderId = state.pluralOrderId!;
      // What a leaked webhook secret would let an attacker send: well formed, signed, for this payment's order.
      await handle.signal(webhookReceivedSignal, {
        webhookId: 'w-forged-processed',
        eventType: 'ORDER_PROCESSED',
        orderId,
        orderStatus: 'PROCESSED',
        capturedAmount: { value: 5000, currency: 'INR' },
      });
      await handle.signal(callbackReceivedSignal, { orderId, status: 'PROCESSED' });
      // Plural's order may lag its events: it is read again, three times 20 s apart, before the events are let go.
      await waitForState(
        handle,
        (x) => x.audit.some((e) => /: Plural's order is PENDING; read again in 20 s \(look 1 of 3\)$/.test(e.cause)),
        'the first look again',
      );
      await fx.skip(70_000);
      const s = await waitForState(
        handle,
        (x) =>
          x.audit.some((e) =>
            /ORDER_PROCESSED.*: Plural's order is PENDING, payment stays AWAITING_CHALLENGE$/.test(e.cause),
          ),
        'the forged events confirmed against Plural',
      );
      expect(s.status).toBe('AWAITING_CHALLENGE');
      expect(s.amountCaptured).toBeUndefined();
      // Each event read again up to three times (the two came apart: each had its own first look), then let go.
      const looks = s.audit.filter((e) => /read again in 20 s/.test(e.cause)).map((e) => e.cause.slice(-13));
      expect(looks.at(-1)).toBe('(look 3 of 3)');
      expect(looks.length).toBeLessThanOrEqual(4);
      expect(fx.sandbox.order(orderId)?.status).toBe('PENDING');
    });
  });

  /**
   * A challenge pre-auth whose customer approves half a minute before its 15-minute window closes, while Plural's
   * order lags the callback for `lagging` reads: once the callback's first read has found it PENDING.
   */
  async function approvedAsTheWindowCloses(reads: { lagging: number }, lagging: number) {
    const { handle, state, paymentId } = await startChallenge(CARDS.challenge, true);
    await fx.skip(14.5 * 60_000);
    reads.lagging = lagging;
    const acs = await authenticateAtSandbox(fx.sandbox, paymentId);
    await handle.signal(callbackReceivedSignal, callbackSignal(acs.callback.fields));
    await waitForState(handle, (s) => s.audit.some((e) => e.cause.endsWith('(look 1 of 3)')), 'the first look again');
    return { handle, orderId: state.pluralOrderId! };
  }

  it("authorizes a customer who completed the challenge as the window closed, though Plural's order lagged the callback", async () => {
    const { reads, getOrder } = laggingOrderReads(fx);
    await withForwarding(
      false,
      async () => {
        const { handle, orderId } = await approvedAsTheWindowCloses(reads, 2);
        // The window closes while the order still lags; the next look, 20 s later, finds it authorized.
        await fx.skip(60_000);
        const authorized = await waitForStatus(handle, 'AUTHORIZED');
        expect(reads.lagging).toBe(0);
        expect(transitionsTo(authorized, 'CLOSING')).toEqual([]);
        expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'AUTHORIZED', cancelCount: 0 });
      },
      { getOrder },
    );
  });

  it('closes the window at most a minute late when Plural stops answering the looks again', async () => {
    const { reads, getOrder } = laggingOrderReads(fx);
    await withForwarding(
      false,
      async () => {
        const { handle } = await approvedAsTheWindowCloses(reads, 1);
        reads.down = true;
        await fx.skip(3 * 60_000);
        const closed = await waitForState(handle, (s) => s.status !== 'AWAITING_CHALLENGE', 'the window closed');
        expect(closed.status).toBe('CLOSING');
        // The window (15 minutes from the challenge) and at most the looks' minute after it, plus the final read.
        const at = Date.parse(transitionsTo(closed, 'CLOSING')[0]!.at) - Date.parse(closed.createdAt);
        expect(at).toBeGreaterThanOrEqual(15 * 60_000);
        expect(at).toBeLessThanOrEqual(16 * 60_000 + 15_000);
      },
      { getOrder },
    );
  });

  it('never downgrades an AUTHORIZED payment on a late ORDER_FAILED', async () => {
    await withForwarding(false, async () => {
      const { handle, paymentId, state } = await startChallenge();
      const acs = await authenticateAtSandbox(fx.sandbox, paymentId);
      await handle.signal(callbackReceivedSignal, callbackSignal(acs.callback.fields));
      await waitForStatus(handle, 'AUTHORIZED');
      await handle.signal(webhookReceivedSignal, {
        webhookId: 'w-late-failed',
        eventType: 'ORDER_FAILED',
        orderId: state.pluralOrderId!,
        orderStatus: 'FAILED',
        errorCode: 'USER_AUTHENTICATION_FAILED',
      });
      const s = await waitForState(
        handle,
        (x) => x.audit.at(-1)?.cause.endsWith("Plural's order is AUTHORIZED, payment stays AUTHORIZED") === true,
        'the late event confirmed against Plural',
      );
      expect(s.status).toBe('AUTHORIZED');
      expect(s.failure).toBeUndefined();
    });
  });

  it('reconciles with Get Order when both the callback and the webhook are lost', async () => {
    fx.sandbox.setFaults({ webhookDropRate: 1 });
    try {
      await fx.withWorker(async () => {
        const { handle, paymentId } = await startChallenge(CARDS.challenge, false);
        await authenticateAtSandbox(fx.sandbox, paymentId);
        const result = await handle.result();
        expect(result.status).toBe('PROCESSED');
        expect(transitionsTo(result, 'PROCESSED')[0]?.cause).toMatch(/^reconciliation with Get Order/);
      });
    } finally {
      fx.sandbox.setFaults({ webhookDropRate: 0 });
    }
  });

  it('fails the payment when the customer abandons the challenge, once Plural has ended the payment', async () => {
    await fx.withWorker(async () => {
      // The window (10 min) closes before Plural times the pending payment out (the sandbox's 15 min).
      const { handle, state } = await startChallenge(CARDS.challenge, false, { challengeWindowMs: 10 * 60_000 });
      const result = await handle.result();
      expect(result.status).toBe('FAILED');
      expect(result.failure?.code).toBe('AUTHENTICATION_WINDOW_CLOSED');
      expect(result.audit.map((e) => e.to)).toContain('CLOSING');
      expect(result.closing?.reason).toBe('AUTHENTICATION_WINDOW_CLOSED');
      expect(result.reconciliations).toBeGreaterThanOrEqual(3);
      // Final only once Plural's order could take no money: the pending payment had expired there.
      expect(['ATTEMPTED', 'FAILED']).toContain(fx.sandbox.order(state.pluralOrderId!)?.status);
      expect(result.amountCaptured).toBeUndefined();
    });
  });

  it('cancels at Plural an authorization that arrives after the engine gave up on authentication', async () => {
    const { result, state } = await approvedAfterWindowClosed(fx, (durations) =>
      startChallenge(CARDS.challenge, true, durations),
    );
    expect(result.status).toBe('FAILED');
    expect(result.failure?.code).toBe('AUTHENTICATION_WINDOW_CLOSED');
    expect(result.audit.map((e) => e.cause)).toContain(
      'Plural authorized the payment while it was closing: cancelling the authorization at Plural',
    );
    expect(fx.sandbox.order(state.pluralOrderId!)?.status).toBe('CANCELLED');
    expect(result.pluralOrderStatus).toBe('CANCELLED');
  });

  it("reads Plural's order until it answers before the window closes on a read that failed, and follows the authorization given in time", async () => {
    const real = createActivities({ plural: fx.plural, vault: fx.vault });
    let down = true;
    const getOrder: typeof real.getOrder = (input) =>
      down
        ? Promise.reject(ApplicationFailure.retryable('Plural cannot be reached', FAILURE_TYPE.GATEWAY_UNAVAILABLE))
        : real.getOrder(input);
    fx.sandbox.setFaults({ webhookDropRate: 1 });
    try {
      await fx.withWorker(
        async () => {
          const { handle, paymentId, state } = await startChallenge(CARDS.challenge, true, {
            challengeWindowMs: 60_000,
            reconcileMaxDelayMs: 20_000,
          });
          // The customer completes the challenge in time; its webhook is lost, and Plural cannot be read meanwhile.
          expect((await authenticateAtSandbox(fx.sandbox, paymentId)).status).toBe('AUTHORIZED');
          await fx.skip(70_000);
          const waiting = await waitForState(
            handle,
            (s) => s.audit.some((e) => e.cause.startsWith("Plural's order could not be read as the window closed")),
            'reading again as the window closed',
          );
          expect(waiting.status).toBe('AWAITING_CHALLENGE');
          down = false;
          await fx.skip(30_000);
          const authorized = await waitForStatus(handle, 'AUTHORIZED');
          expect(authorized.closing).toBeUndefined();
          expect(fx.sandbox.order(state.pluralOrderId!)?.status).toBe('AUTHORIZED');
        },
        { getOrder },
      );
    } finally {
      fx.sandbox.setFaults({ webhookDropRate: 0 });
    }
  });

  it("closes as the merchant's cancel a payment cancelled while the window's last reads wait for Plural", async () => {
    const real = createActivities({ plural: fx.plural, vault: fx.vault });
    let down = true;
    const getOrder: PaymentActivities['getOrder'] = (input) =>
      down
        ? Promise.reject(ApplicationFailure.retryable('Plural cannot be reached', FAILURE_TYPE.GATEWAY_UNAVAILABLE))
        : real.getOrder(input);
    await fx.withWorker(
      async () => {
        const { handle } = await startChallenge(CARDS.challenge, true, { challengeWindowMs: 60_000 });
        await fx.skip(70_000);
        await waitForState(
          handle,
          (s) => s.audit.some((e) => e.cause.startsWith("Plural's order could not be read as the window closed")),
          'reading again as the window closed',
        );
        const answered = await cancel(handle, 'late-cancel', 'order withdrawn');
        expect(answered.status).toBe('CLOSING');
        expect(answered.closing?.reason).toBe('MERCHANT_CANCEL');
        // Plural answers again: the payment closes as Plural ends the pending payment.
        down = false;
        const result = await handle.result();
        expect(result.status).toBe('CANCELLED');
        expect(result.closing?.reason).toBe('MERCHANT_CANCEL');
      },
      { getOrder },
    );
  });

  it("closes as the merchant's cancel a payment cancelled during the window's final Get Order", async () => {
    const real = createActivities({ plural: fx.plural, vault: fx.vault });
    const held = gate();
    let holdNext = false;
    const getOrder: PaymentActivities['getOrder'] = async (input) => {
      if (holdNext) {
        holdNext = false;
        await held.arrive();
      }
      return real.getOrder(input);
    };
    await fx.withWorker(
      async () => {
        // No reconciliation before the window's end: the first Get Order is the window's final one.
        const { handle } = await startChallenge(CARDS.challenge, true, {
          challengeWindowMs: 60_000,
          reconcileInitialDelayMs: 10 * 60_000,
        });
        holdNext = true;
        await fx.skip(61_000);
        await held.holding;
        const cancelled = await handle.startUpdate(cancelUpdate, {
          args: [{ reason: 'order withdrawn' }],
          waitForStage: WorkflowUpdateStage.ACCEPTED,
        });
        held.release();
        // Closed as the cancel it is, as before the window's end, not as the window's (FAILED).
        const answered = (await cancelled.result()).state;
        expect(answered).toMatchObject({ status: 'CLOSING', closing: { reason: 'MERCHANT_CANCEL' } });
        const result = await handle.result();
        expect(result.status).toBe('CANCELLED');
        expect(result.failure).toEqual({ code: 'CANCELLED_BEFORE_AUTHORIZATION', message: 'order withdrawn' });
      },
      { getOrder },
    );
  });

  it('cancels a payment whose authentication is still pending when the merchant asks', async () => {
    await fx.withWorker(async () => {
      const { handle } = await startChallenge(CARDS.challenge, false);
      expect((await cancel(handle, 'c', 'order withdrawn')).status).toBe('CLOSING');
      const result = await handle.result();
      expect(result.status).toBe('CANCELLED');
      expect(result.failure).toEqual({ code: 'CANCELLED_BEFORE_AUTHORIZATION', message: 'order withdrawn' });
    });
  });

  it('fails with the issuer code when the card is declined', async () => {
    await withForwarding(false, async () => {
      const { handle, paymentId } = await startChallenge(CARDS.declined, false);
      const acs = await authenticateAtSandbox(fx.sandbox, paymentId);
      await handle.signal(callbackReceivedSignal, callbackSignal(acs.callback.fields));
      const result = await handle.result();
      expect(result.status).toBe('FAILED');
      expect(result.failure?.code).toBe('PAYMENT_DECLINED');
    });
  });

  it('fails without waiting when Plural rejects the card at payment creation, and destroys the hand-off', async () => {
    await fx.withWorker(async () => {
      const ref = newReference('exp');
      const cardHandle = await putCard(fx.vault, CARDS.expired);
      const handle: PaymentHandle = await startPayment(fx, cardInput(ref, cardHandle));
      const result = await handle.result();
      expect(result.status).toBe('FAILED');
      expect(result.failure?.code).toBe('CARD_EXPIRED');
      expect(await fx.vault.get(cardHandle)).toBeUndefined();
    });
  });

  it('fails clearly when the card hand-off has expired', async () => {
    await fx.withWorker(async () => {
      const handle = await startPayment(fx, cardInput(newReference('gone'), 'card_missing'));
      const result = await handle.result();
      expect(result.status).toBe('FAILED');
      expect(result.failure?.code).toBe('CARD_DATA_UNAVAILABLE');
      expect(result.failure?.message).toMatch(/enter the card again/);
    });
  });

  it('never puts card data in any workflow history of this file', async () => {
    const scans = await scanHistories(fx);
    expect(scans.length).toBeGreaterThan(10);
    expect(scans.filter((s) => !s.decodedInput).map((s) => s.workflowId)).toEqual([]);
    expect(scans.filter((s) => s.found.length > 0)).toEqual([]);
  });
});
