/**
 * Refunds Plural reports PENDING (the sandbox keeps each refund PENDING for a day unless settled through its control
 * API): confirmed by the REFUND_* webhook, or by Get Order when no webhook comes; a failed one frees its amount.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authenticateAtSandbox,
  bundle,
  cancel,
  capture,
  cardInput,
  CORRECT_OTP,
  createFixture,
  newReference,
  putCard,
  refund,
  startPayment,
  submitOtp,
  waitForState,
} from './harness';
import { CARDS } from '../support/cards';
import type { Fixture } from './harness';

const DAY = 24 * 3600_000;
let fx: Fixture;

beforeAll(async () => {
  fx = await createFixture(await bundle(), { refundPendingMs: DAY });
});
afterAll(async () => {
  await fx?.teardown();
});

const INR = (value: number) => ({ value, currency: 'INR' });

/** A pre-auth OTP payment of 5000, captured in full: PROCESSED, in its refund window. */
async function processed() {
  const handle = await startPayment(fx, cardInput(newReference('rfp'), await putCard(fx.vault, CARDS.nativeOtp)));
  await waitForState(handle, (s) => s.status === 'AWAITING_OTP', 'AWAITING_OTP');
  await submitOtp(fx, handle, 'otp', CORRECT_OTP);
  await waitForState(handle, (s) => s.status === 'AUTHORIZED', 'AUTHORIZED');
  await capture(handle, 'cap');
  const state = await waitForState(handle, (s) => s.nextActions.includes('REFUND'), 'the refund window open');
  return { handle, orderId: state.pluralOrderId! };
}

describe('refunds Plural reports PENDING', () => {
  it('confirms a pending refund when its REFUND_PROCESSED webhook arrives', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await processed();
      const answer = await refund(handle, 'slow-1', INR(3000));
      expect(answer.outcome).toBe('REFUNDED');
      expect(answer.refund.status).toBe('PENDING');
      const refundOrderId = answer.refund.refundOrderId!;
      // Held back while pending: counted neither as refunded nor as refundable.
      expect(answer.state).toMatchObject({ amountRefundable: INR(2000) });
      expect(answer.state.amountRefunded).toBeUndefined();

      fx.sandbox.settle(refundOrderId);
      // The workflow's Get Order backoff starts at 30 s of virtual time, which does not pass here: the webhook confirms it.
      const state = await waitForState(handle, (s) => s.refunds[0]?.status === 'PROCESSED', 'the refund PROCESSED');
      expect(state.amountRefunded).toEqual(INR(3000));
      expect(state.audit.map((e) => e.cause)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^webhook REFUND_PROCESSED \(msg_\w+\) received; confirming with Get Order$/),
          `refund slow-1 of 3000 processed by Plural (order ${refundOrderId})`,
        ]),
      );
      expect(fx.webhooks.received.some((w) => w.eventType === 'REFUND_PROCESSED' && w.orderId === refundOrderId)).toBe(
        true,
      );
      expect(fx.sandbox.order(orderId)).toMatchObject({ refundedAmount: 3000, status: 'PARTIALLY_REFUNDED' });
    });
  });

  it('ends a closing payment only once the refund of the money Plural took is confirmed, never with it PENDING', async () => {
    await fx.withWorker(async () => {
      const handle = await startPayment(
        fx,
        cardInput(newReference('rfc'), await putCard(fx.vault, CARDS.challenge), { preAuth: false }),
      );
      const challenged = await waitForState(handle, (s) => s.status === 'AWAITING_CHALLENGE', 'AWAITING_CHALLENGE');
      await cancel(handle, 'merchant-cancel', 'order withdrawn');
      await waitForState(handle, (s) => s.status === 'CLOSING', 'CLOSING');
      // The customer pays on the old challenge page anyway: the engine refunds it, and Plural keeps the refund PENDING.
      expect((await authenticateAtSandbox(fx.sandbox, challenged.pluralPaymentIds[0]!)).status).toBe('PROCESSED');
      const refunding = await waitForState(handle, (s) => s.refunds[0]?.status === 'PENDING', 'the refund PENDING');
      // Plural completes it: its webhook confirms the parent order (refunded in full) before the refund's own record.
      fx.sandbox.settle(refunding.refunds[0]!.refundOrderId!);
      const result = await handle.result();
      expect(result.status).toBe('CANCELLED');
      expect(result.refunds).toMatchObject([{ reason: 'AUTO', status: 'PROCESSED', amount: INR(5000) }]);
      expect(result.amountRefunded).toEqual(INR(5000));
      expect(fx.sandbox.order(result.pluralOrderId!)).toMatchObject({ status: 'FULLY_REFUNDED', refundedAmount: 5000 });
    });
  });

  it('frees the amount of a pending refund that fails at Plural', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await processed();
      const answer = await refund(handle, 'doomed', INR(5000));
      expect(answer.state.amountRefundable).toEqual(INR(0));
      fx.sandbox.settle(answer.refund.refundOrderId!, 'failed');
      const state = await waitForState(handle, (s) => s.refunds[0]?.status === 'FAILED', 'the refund FAILED');
      expect(state.refunds[0]?.failure?.code).toBe('REFUND_FAILED');
      expect(state).toMatchObject({ amountRefundable: INR(5000), nextActions: ['REFUND'] });
      expect(state.amountRefunded).toBeUndefined();
      // A new refund (a new reference) takes the freed amount.
      const again = await refund(handle, 'second-try', INR(5000));
      expect(again.refund.status).toBe('PENDING');
      expect(fx.sandbox.order(orderId)).toMatchObject({ refundedAmount: 0, refundPendingAmount: 5000 });
    });
  });

  it('records a refund made outside the engine once Plural processes it, and nothing of one that fails', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await processed();
      const dashboardRefund = (n: number, value: number) =>
        fx.plural.refundOrder(orderId, { merchant_order_reference: `dash-${n}-${orderId}`, order_amount: INR(value) });
      const failing = await dashboardRefund(1, 1000);
      const kept = await dashboardRefund(2, 1500);
      // Plural sends no event while they are PENDING; the first the engine hears of them is their outcome.
      fx.sandbox.settle(failing.order_id, 'failed');
      await waitForState(
        handle,
        (s) => s.audit.some((e) => e.cause.includes(`failed at Plural (order ${failing.order_id})`)),
        'the failed dashboard refund seen',
      );
      fx.sandbox.settle(kept.order_id);
      const state = await waitForState(handle, (s) => s.refunds.length > 0, 'the dashboard refund recorded');
      expect(state.refunds).toEqual([
        expect.objectContaining({ reason: 'EXTERNAL', refundOrderId: kept.order_id, status: 'PROCESSED' }),
      ]);
      expect(state).toMatchObject({ amountRefunded: INR(1500), amountRefundable: INR(3500) });
      expect(fx.sandbox.order(orderId)).toMatchObject({ refundedAmount: 1500, refundPendingAmount: 0 });
    });
  });

  it('confirms a pending refund with Get Order when no webhook comes', async () => {
    await fx.withWorker(async () => {
      const { handle } = await processed();
      fx.webhooks.forward = false;
      try {
        const answer = await refund(handle, 'quiet', INR(2000));
        fx.sandbox.settle(answer.refund.refundOrderId!);
        // The first Get Order of the pending refund comes after 30 s (virtual time).
        await fx.skip(31_000);
        const state = await waitForState(handle, (s) => s.refunds[0]?.status === 'PROCESSED', 'the refund PROCESSED');
        expect(state.amountRefunded).toEqual(INR(2000));
        expect(state.audit.some((e) => e.cause.startsWith('webhook REFUND'))).toBe(false);
      } finally {
        fx.webhooks.forward = true;
      }
    });
  });

  it('waits for a refund still pending when the window ends before it completes', async () => {
    await fx.withWorker(async () => {
      const handle = await startPayment(
        fx,
        cardInput(newReference('rfp'), await putCard(fx.vault, CARDS.nativeOtp), {
          durations: { refundWindowMs: 60_000 },
        }),
      );
      await waitForState(handle, (s) => s.status === 'AWAITING_OTP', 'AWAITING_OTP');
      await submitOtp(fx, handle, 'otp', CORRECT_OTP);
      await waitForState(handle, (s) => s.status === 'AUTHORIZED', 'AUTHORIZED');
      await capture(handle, 'cap');
      await waitForState(handle, (s) => s.nextActions.includes('REFUND'), 'the refund window open');
      await refund(handle, 'late', INR(1000));
      // The window (1 min) ends with the refund pending; the sandbox processes it after its day; the workflow keeps
      // asking Plural until then, and only then completes.
      const result = await handle.result();
      expect(result.refunds[0]).toMatchObject({ merchantRefundReference: 'late', status: 'PROCESSED' });
      expect(result.amountRefunded).toEqual(INR(1000));
      expect(Date.parse(result.updatedAt)).toBeGreaterThan(Date.parse(result.refundWindowEndsAt!));
    });
  });
});
