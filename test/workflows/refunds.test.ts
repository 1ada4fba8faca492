/**
 * The merchant's refunds of a PROCESSED payment, through the payment workflow on the time-skipping test server against
 * the Plural sandbox (refunds processed at once; `refund-pending.test.ts` covers refunds Plural reports PENDING).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../activities';
import type { RefundInput } from '../../activities';
import { getPaymentQuery, PAYMENT_MEMO_KEY, webhookReceivedSignal } from '../../workflows/definitions';
import type { PaymentState, PaymentSummary, PaymentWorkflowInput } from '../../workflows/definitions';
import {
  auditOccurrences,
  bundle,
  capture,
  cardInput,
  CORRECT_OTP,
  createFixture,
  newReference,
  operatorGiveUp,
  operatorRetry,
  putCard,
  refund,
  refundOnDashboard,
  rejection,
  scanHistories,
  startPayment,
  submitOtp,
  waitForState,
  whilePluralFails,
  LOST_REFUND_PATHS,
} from './harness';
import { CARDS } from '../support/cards';
import { waitFor } from '../support/wait';
import type { Fixture, PaymentHandle } from './harness';

let fx: Fixture;

beforeAll(async () => {
  fx = await createFixture(await bundle());
});
afterAll(async () => {
  await fx?.teardown();
});

const INR = (value: number) => ({ value, currency: 'INR' });

/** Runs `fn` with Plural's webhooks received but not forwarded to the payments (lost on their way). */
async function withoutWebhooks<T>(fn: () => Promise<T>): Promise<T> {
  fx.webhooks.forward = false;
  try {
    return await fn();
  } finally {
    fx.webhooks.forward = true;
  }
}

/** A pre-auth OTP payment of 5000, captured in full: PROCESSED, in its refund window. */
async function processed(overrides: Partial<PaymentWorkflowInput> = {}) {
  const handle = await startPayment(
    fx,
    cardInput(newReference('rf'), await putCard(fx.vault, CARDS.nativeOtp), overrides),
  );
  await waitForState(handle, (s) => s.status === 'AWAITING_OTP', 'AWAITING_OTP');
  await submitOtp(fx, handle, 'otp', CORRECT_OTP);
  await waitForState(handle, (s) => s.status === 'AUTHORIZED', 'AUTHORIZED');
  const captured = await capture(handle, 'cap');
  expect(captured.outcome).toBe('CAPTURED');
  // The capture's own answer already offers the refund (as GET does a moment later).
  expect(captured.state).toMatchObject({ status: 'PROCESSED', nextActions: ['REFUND'], amountRefundable: INR(5000) });
  const state = await waitForState(handle, (s) => s.nextActions.includes('REFUND'), 'the refund window open');
  return { handle, state, orderId: state.pluralOrderId! };
}

describe('refunds of a processed payment', () => {
  it('refunds the rest when no amount is given, and completes at once with nothing left to refund', async () => {
    await fx.withWorker(async () => {
      const { handle, state, orderId } = await processed();
      expect(state.amountRefundable).toEqual(INR(5000));
      expect(Date.parse(state.refundWindowEndsAt!)).toBeGreaterThan(Date.parse(state.updatedAt));

      const answer = await refund(handle, 'full-1', undefined, { reason: 'order returned' });
      expect(answer.outcome).toBe('REFUNDED');
      expect(answer.refund).toMatchObject({
        reason: 'MERCHANT',
        merchantRefundReference: 'full-1',
        note: 'order returned',
        amount: INR(5000),
        status: 'PROCESSED',
        rest: true,
      });
      expect(answer.refund.refundOrderId).toEqual(expect.any(String));
      expect(answer.state).toMatchObject({ amountRefunded: INR(5000), amountRefundable: INR(0), nextActions: [] });

      const result = await handle.result();
      expect(result).toMatchObject({ status: 'PROCESSED', amountCaptured: INR(5000), amountRefunded: INR(5000) });
      // Nothing left to refund: the workflow did not wait out the window.
      const closed = result.audit.find((e) => e.cause.startsWith('refund window closed'));
      expect(Date.parse(closed!.at)).toBeLessThan(Date.parse(result.refundWindowEndsAt!));
      expect(fx.sandbox.order(orderId)).toMatchObject({
        status: 'FULLY_REFUNDED',
        capturedAmount: 5000,
        refundedAmount: 5000,
      });
      expect(fx.sandbox.order(answer.refund.refundOrderId!)).toMatchObject({ type: 'REFUND', parentOrderId: orderId });
    });
  });

  it('takes two partial refunds, then completes when the refund window closes', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await processed();
      const first = await refund(handle, 'part-1', INR(1000));
      const second = await refund(handle, 'part-2', INR(1500));
      expect([first.refund.status, second.refund.status]).toEqual(['PROCESSED', 'PROCESSED']);
      expect(second.state).toMatchObject({
        amountRefunded: INR(2500),
        amountRefundable: INR(2500),
        nextActions: ['REFUND'],
      });
      expect(second.state.refunds.map((r) => [r.merchantRefundReference, r.amount.value, r.status])).toEqual([
        ['part-1', 1000, 'PROCESSED'],
        ['part-2', 1500, 'PROCESSED'],
      ]);
      expect(second.state.audit.map((e) => e.cause)).toEqual(
        expect.arrayContaining([
          'refund part-1 of 1000 requested by the merchant',
          expect.stringMatching(/^refund part-1 of 1000 processed by Plural/),
        ]),
      );

      // The window (180 days by default) passes in virtual time; the workflow then completes.
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'PROCESSED', amountRefunded: INR(2500), nextActions: [] });
      expect(result.audit.at(-1)?.cause).toBe('refund window closed: refunded 2500 of 5000 captured');
      const order = fx.sandbox.order(orderId)!;
      expect(order).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmount: 2500 });
      expect(order.capturedAmount - order.refundedAmount).toBe(
        result.amountCaptured!.value - result.amountRefunded!.value,
      );
    });
  });

  it('refuses a refund before PROCESSED, above what is left or in another currency, without calling Plural', async () => {
    await fx.withWorker(async () => {
      const handle = await startPayment(fx, cardInput(newReference('rf'), await putCard(fx.vault, CARDS.nativeOtp)));
      await waitForState(handle, (s) => s.status === 'AWAITING_OTP', 'AWAITING_OTP');
      await submitOtp(fx, handle, 'otp', CORRECT_OTP);
      const authorized = await waitForState(handle, (s) => s.status === 'AUTHORIZED', 'AUTHORIZED');
      const ref = authorized.merchantOrderReference;
      expect(await rejection(refund(handle, 'early', INR(1000)))).toEqual({
        type: 'InvalidState',
        message: `payment ${ref} is AUTHORIZED, not PROCESSED; only a processed payment can be refunded`,
      });
      await capture(handle, 'cap');
      await waitForState(handle, (s) => s.nextActions.includes('REFUND'), 'the refund window open');
      await refund(handle, 'first', INR(3000));
      expect(await rejection(refund(handle, 'too-much', INR(2001)))).toEqual({
        type: 'InvalidRequest',
        message: `refund amount 2001 exceeds the 2000 left to refund on payment ${ref} (captured 5000, refunded 3000, in refunds in flight 0)`,
      });
      expect((await rejection(refund(handle, 'dollars', { value: 1000, currency: 'USD' }))).type).toBe(
        'InvalidRequest',
      );
      expect((await rejection(refund(handle, 'tiny', INR(99)))).type).toBe('InvalidRequest');
      expect(fx.sandbox.order(authorized.pluralOrderId!)).toMatchObject({ refundedAmount: 3000 });
      expect(fx.sandbox.order(authorized.pluralOrderId!)?.refundIds).toHaveLength(1);
    });
  });

  it('accepts exactly one of two concurrent refunds that together exceed the captured amount', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await processed();
      const outcomes = await Promise.allSettled([
        refund(handle, 'race-a', INR(3000)),
        refund(handle, 'race-b', INR(3000)),
      ]);
      const accepted = outcomes.filter((o) => o.status === 'fulfilled');
      expect(accepted).toHaveLength(1);
      expect(accepted[0]!.value.outcome).toBe('REFUNDED');
      const refused = outcomes.find((o) => o.status === 'rejected')!;
      expect((refused.reason as { cause?: { type?: string } }).cause?.type).toBe('InvalidRequest');
      expect(fx.sandbox.order(orderId)).toMatchObject({ refundedAmount: 3000, refundIds: [expect.any(String)] });
      const state = await waitForState(handle, (s) => s.amountRefunded?.value === 3000, 'refunded 3000');
      expect(state.amountRefundable).toEqual(INR(2000));
    });
  });

  it('answers a repeated reference with the same refund, and refuses it with another amount', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await processed();
      const first = await refund(handle, 'once', INR(2000));
      const again = await refund(handle, 'once', INR(2000));
      expect(again.outcome).toBe('REPEATED');
      expect(again.refund).toEqual(first.refund);
      expect(await rejection(refund(handle, 'once', INR(2500)))).toMatchObject({ type: 'RequestConflict' });
      expect(await rejection(refund(handle, 'once'))).toMatchObject({ type: 'RequestConflict' });
      expect(fx.sandbox.order(orderId)).toMatchObject({
        refundedAmount: 2000,
        refundIds: [first.refund.refundOrderId],
      });
    });
  });

  it('refunds once through answers Plural loses (the retried call is the same refund)', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await processed({
        limits: { activityRetryInitialIntervalMs: 200, activityRetryMaximumIntervalMs: 400 },
      });
      fx.sandbox.setFaults({ errorAfterCommitRate: 1, paths: ['/api/pay/v1/refunds/'] });
      let answer;
      try {
        const pending = refund(handle, 'lost', INR(4000));
        // Plural took the refund and the engine never heard: the retries keep sending the same reference.
        await waitForState(
          handle,
          () => (fx.sandbox.order(orderId)?.refundIds?.length ?? 0) > 0,
          'the refund at Plural',
        );
        await new Promise((r) => setTimeout(r, 500));
        fx.sandbox.setFaults({ errorAfterCommitRate: 0, paths: [] });
        answer = await pending;
      } finally {
        fx.sandbox.setFaults({ errorAfterCommitRate: 0, paths: [] });
      }
      expect(answer.outcome).toBe('REFUNDED');
      expect(answer.refund.status).toBe('PROCESSED');
      expect(fx.sandbox.injectedFaults().errorAfterCommit).toBeGreaterThan(0);
      expect(fx.sandbox.order(orderId)).toMatchObject({
        refundedAmount: 4000,
        refundIds: [answer.refund.refundOrderId],
      });
      expect(answer.state.amountRefunded).toEqual(INR(4000));
    });
  });

  it('parks a refund Plural keeps failing and refunds it on the operator’s retry', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await processed({
        limits: { activityMaxAttempts: 2, activityRetryInitialIntervalMs: 100, activityRetryMaximumIntervalMs: 100 },
      });
      fx.sandbox.setFaults({ errorRate: 1, paths: ['/api/pay/v1/refunds/'] });
      try {
        const parked = await refund(handle, 'outage', INR(2500));
        expect(parked.outcome).toBe('PARKED');
        expect(parked.refund.status).toBe('PENDING');
        expect(parked.refund.refundOrderId).toBeUndefined();
        const state = await waitForState(handle, (s) => s.parked?.operation === 'refund', 'the refund parked');
        // Held back while parked: another refund is checked against what is left.
        expect(state.amountRefundable).toEqual(INR(2500));
        // What the validators take while it waits: another refund of what is left, not a cancel (it is PROCESSED).
        expect(state.nextActions).toEqual(['OPERATOR_RETRY', 'REFUND']);
      } finally {
        fx.sandbox.setFaults({ errorRate: 0, paths: [] });
      }
      const after = await operatorRetry(handle, 'ops');
      expect(after.parked).toBeUndefined();
      expect(after.refunds[0]).toMatchObject({ merchantRefundReference: 'outage', status: 'PROCESSED' });
      expect(after.amountRefunded).toEqual(INR(2500));
      expect(fx.sandbox.order(orderId)).toMatchObject({ refundedAmount: 2500 });
    });
  });

  describe("an operator's give-up on a parked refund asks Plural first", () => {
    const fastRetries = {
      limits: { activityMaxAttempts: 2, activityRetryInitialIntervalMs: 100, activityRetryMaximumIntervalMs: 100 },
    };

    /** A refund of 2000 Plural takes while every answer of its is lost: parked. Plural answers again after. */
    async function parkedRefundPluralTook(handle: PaymentHandle, reference: string): Promise<void> {
      fx.sandbox.setFaults({ errorAfterCommitRate: 1, paths: LOST_REFUND_PATHS });
      try {
        expect((await refund(handle, reference, INR(2000))).outcome).toBe('PARKED');
      } finally {
        fx.sandbox.setFaults({ errorAfterCommitRate: 0, paths: [] });
      }
    }

    it('records the refund Plural took (every answer lost) as Plural has it, not FAILED', async () => {
      await fx.withWorker(async () => {
        const { handle, orderId } = await processed(fastRetries);
        await parkedRefundPluralTook(handle, 'lost');
        expect(fx.sandbox.order(orderId)).toMatchObject({ refundedAmount: 2000 });
        await operatorGiveUp(handle, 'ops', 'gateway outage');
        const after = await waitForState(handle, (s) => s.refunds[0]?.status !== 'PENDING', 'the refund settled');
        expect(after.refunds[0]).toMatchObject({ merchantRefundReference: 'lost', status: 'PROCESSED' });
        expect(after.refunds[0]?.refundOrderId).toBe(fx.sandbox.order(orderId)?.refundIds?.[0]);
        expect(after).toMatchObject({ amountRefunded: INR(2000), amountRefundable: INR(3000) });
        expect(after.parked).toBeUndefined();
        // What is left is refundable once, as at Plural.
        expect((await refund(handle, 'rest')).refund).toMatchObject({ status: 'PROCESSED', amount: INR(3000) });
        expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'FULLY_REFUNDED', refundedAmount: 5000 });
      });
    });

    it('records a refund Plural never took as abandoned, its amount refundable again', async () => {
      await fx.withWorker(async () => {
        const { handle, orderId } = await processed(fastRetries);
        fx.sandbox.setFaults({ errorRate: 1, paths: ['/api/pay/v1/refunds/'] });
        try {
          expect((await refund(handle, 'never', INR(2000))).outcome).toBe('PARKED');
        } finally {
          fx.sandbox.setFaults({ errorRate: 0, paths: [] });
        }
        await operatorGiveUp(handle, 'ops', 'gateway outage');
        const after = await waitForState(handle, (s) => s.refunds[0]?.status !== 'PENDING', 'the refund settled');
        expect(after.refunds[0]).toMatchObject({ status: 'FAILED', failure: { code: 'REFUND_ABANDONED' } });
        expect(after.amountRefundable).toEqual(INR(5000));
        expect(fx.sandbox.order(orderId)).toMatchObject({ refundedAmount: 0 });
      });
    });

    it('takes a refund given up on as never taken onto its record when Plural’s webhook shows Plural has it', async () => {
      // Plural's lookup by reference lags behind the refund it made: the give-up hears "none".
      const lagging = { findRefund: () => Promise.resolve(null) };
      await fx.withWorker(async () => {
        const { handle, orderId } = await processed(fastRetries);
        await parkedRefundPluralTook(handle, 'lagging');
        const refundOrderId = fx.sandbox.order(orderId)!.refundIds![0]!;
        await operatorGiveUp(handle, 'ops', 'gateway outage');
        // The refund's REFUND_PROCESSED webhook (it came while the refund was parked) names Plural's refund order.
        const after = await waitForState(handle, (s) => s.refunds[0]?.status === 'PROCESSED', 'the refund taken');
        expect(after.refunds).toEqual([
          expect.objectContaining({ merchantRefundReference: 'lagging', refundOrderId, status: 'PROCESSED' }),
        ]);
        expect(after.refunds[0]?.failure).toBeUndefined();
        expect(after).toMatchObject({ amountRefunded: INR(2000), amountRefundable: INR(3000) });
        expect(after.audit.map((e) => e.cause)).toContain(
          `refund lagging given up on is at Plural as order ${refundOrderId}`,
        );
      }, lagging);
    });

    it('counts once a refund recorded as made outside the engine that a reference used again turns out to be', async () => {
      const real = createActivities({ plural: fx.plural, vault: fx.vault });
      let first = true;
      // Plural takes the first request but refuses it, and its lookup by reference finds nothing yet: REJECTED.
      const refusedButTaken = {
        refundOrder: async (input: RefundInput) => {
          const taken = await real.refundOrder(input);
          if (!first) return taken;
          first = false;
          throw ApplicationFailure.create({ type: 'RefundRejected', message: 'refused', nonRetryable: true });
        },
      };
      await fx.withWorker(async () => {
        const { handle, orderId } = await processed(fastRetries);
        expect((await refund(handle, 'again', INR(2000))).outcome).toBe('REJECTED');
        const refundOrderId = fx.sandbox.order(orderId)!.refundIds![0]!;
        // Its webhook names a refund order none of the payment's: recorded as made outside the engine.
        await waitForState(handle, (s) => s.refunds[0]?.reason === 'EXTERNAL', 'recorded as external');
        // The merchant sends the reference again; Plural answers with the same refund.
        const answer = await refund(handle, 'again', INR(2000));
        expect(answer.refund).toMatchObject({ merchantRefundReference: 'again', refundOrderId, status: 'PROCESSED' });
        expect(answer.state.refunds).toHaveLength(1);
        expect(answer.state).toMatchObject({ amountRefunded: INR(2000), amountRefundable: INR(3000) });
        expect(fx.sandbox.order(orderId)).toMatchObject({ refundedAmount: 2000 });
      }, refusedButTaken);
    });

    it('records the amount Plural holds when it answers a reference used again with the refund made under it', async () => {
      const real = createActivities({ plural: fx.plural, vault: fx.vault });
      let madeBefore: Awaited<ReturnType<typeof real.refundOrder>> | undefined;
      // Plural takes the first request but refuses it; asked again under the same reference for another amount, it
      // answers with the refund it made (a Plural that answers a known reference so, rather than DUPLICATE_REQUEST).
      const answersTheRefundItMade = {
        refundOrder: async (input: RefundInput) => {
          if (madeBefore !== undefined) return madeBefore;
          madeBefore = await real.refundOrder(input);
          throw ApplicationFailure.create({ type: 'RefundRejected', message: 'refused', nonRetryable: true });
        },
      };
      await fx.withWorker(async () => {
        const { handle, orderId } = await processed(fastRetries);
        await withoutWebhooks(async () => {
          expect((await refund(handle, 'again', INR(2000))).outcome).toBe('REJECTED');
          const answer = await refund(handle, 'again', INR(1000));
          expect(answer.outcome).toBe('REFUNDED');
          expect(answer.refund).toMatchObject({ merchantRefundReference: 'again', amount: INR(2000) });
          expect(answer.state).toMatchObject({ amountRefunded: INR(2000), amountRefundable: INR(3000) });
          expect(answer.state.audit.map((e) => e.cause)).toContainEqual(
            expect.stringMatching(
              /^refund again of 1000 is Plural's refund order .* of 2000 INR: recorded as Plural has it$/,
            ),
          );
        });
        expect(fx.sandbox.order(orderId)).toMatchObject({ refundedAmount: 2000 });
      }, answersTheRefundItMade);
    });

    it('keeps the refund parked while Plural cannot be asked, and refunds once on the next retry', async () => {
      const real = createActivities({ plural: fx.plural, vault: fx.vault });
      const retried: boolean[] = [];
      const seen = {
        refundOrder: (input: RefundInput) => {
          retried.push(input.retried === true);
          return real.refundOrder(input);
        },
      };
      await fx.withWorker(async () => {
        const { handle, orderId } = await processed(fastRetries);
        fx.sandbox.setFaults({ errorAfterCommitRate: 1, paths: LOST_REFUND_PATHS });
        try {
          expect((await refund(handle, 'unknown', INR(2000))).outcome).toBe('PARKED');
          // Plural took it; now it cannot be reached at all, not even to read the refund by its reference.
          fx.sandbox.setFaults({ errorRate: 1, errorAfterCommitRate: 0, paths: ['/api/pay/v1/'] });
          const held = await operatorGiveUp(handle, 'ops', 'gateway outage');
          expect(held.parked).toMatchObject({ operation: 'refund' });
          expect(held.parked?.message).toContain('Plural could not be asked whether it took refund unknown');
          expect(held.refunds[0]).toMatchObject({ status: 'PENDING' });
          expect(held.amountRefundable).toEqual(INR(3000));
        } finally {
          fx.sandbox.setFaults({ errorRate: 0, errorAfterCommitRate: 0, paths: [] });
        }
        const after = await operatorRetry(handle, 'ops');
        expect(after.parked).toBeUndefined();
        expect(after.refunds[0]).toMatchObject({ status: 'PROCESSED', amount: INR(2000) });
        expect(fx.sandbox.order(orderId)).toMatchObject({ refundedAmount: 2000 });
        expect(fx.sandbox.order(orderId)?.refundIds).toHaveLength(1);
        // The refund asked again after the operator's retry says so: the activity looks its reference up first.
        expect(retried.at(-1)).toBe(true);
        expect(retried[0]).toBe(false);
      }, seen);
    });
  });

  it('records a partial refund made on Plural’s dashboard when its webhook names it, so what is left agrees with Plural', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await processed();
      const dash = await fx.plural.refundOrder(orderId, {
        merchant_order_reference: `dash-${orderId}`,
        order_amount: INR(1500),
      });
      const state = await waitForState(handle, (s) => s.refunds.length > 0, 'the dashboard refund recorded');
      expect(state.refunds).toEqual([
        {
          reason: 'EXTERNAL',
          amount: INR(1500),
          reference: `dash-${orderId}`,
          refundOrderId: dash.order_id,
          status: 'PROCESSED',
          at: expect.any(String) as string,
        },
      ]);
      expect(state).toMatchObject({ amountRefunded: INR(1500), amountRefundable: INR(3500), nextActions: ['REFUND'] });
      expect(state.audit.map((e) => e.cause)).toEqual(
        expect.arrayContaining([
          `a refund of 1500 made outside the engine found at Plural as order ${dash.order_id} (PROCESSED)`,
          `refund made outside the engine of 1500 processed by Plural (order ${dash.order_id})`,
        ]),
      );
      // The merchant's refunds are held to what Plural still holds.
      const refused = await rejection(refund(handle, 'too-much', INR(4000)));
      expect(refused.message).toMatch(/3500/);
      const rest = await refund(handle, 'rest');
      expect(rest.refund).toMatchObject({ amount: INR(3500), status: 'PROCESSED' });
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'PROCESSED', amountRefunded: INR(5000) });
      expect(result.refunds.map((r) => [r.reason, r.amount.value])).toEqual([
        ['EXTERNAL', 1500],
        ['MERCHANT', 3500],
      ]);
      expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'FULLY_REFUNDED', refundedAmount: 5000 });
    });
  });

  it('reads a refund made outside the engine again later when Plural cannot be asked when its webhook comes', async () => {
    await fx.withWorker(async () => {
      // Short retries: the read's three tries pass in real time while the test waits for them.
      const { handle, orderId } = await processed({
        limits: { activityRetryInitialIntervalMs: 50, activityRetryMaximumIntervalMs: 50 },
      });
      const dash = await whilePluralFails(fx, ['/api/pay/v1/orders/'], async () => {
        const made = await fx.plural.refundOrder(orderId, {
          merchant_order_reference: `dash-${orderId}`,
          order_amount: INR(2000),
        });
        await waitForState(
          handle,
          (s) => s.audit.some((e) => e.cause.startsWith(`Get Order of refund order ${made.order_id} failed`)),
          'the refund order’s read failed',
        );
        return made;
      });
      expect((await handle.query(getPaymentQuery)).refunds).toEqual([]);
      // The next look at it (the reconciliation backoff, in virtual time) finds it.
      await fx.skip(5 * 60_000);
      const state = await waitForState(handle, (s) => s.refunds.length > 0, 'the dashboard refund recorded');
      expect(state.refunds[0]).toMatchObject({ reason: 'EXTERNAL', refundOrderId: dash.order_id, status: 'PROCESSED' });
      expect(state).toMatchObject({ amountRefunded: INR(2000), amountRefundable: INR(3000) });
    });
  });

  describe('a refund order its webhook names that Plural cannot find yet', () => {
    /** `readRefund` answering "not found" the first `notFoundReads` times (Plural's order lagging its event). */
    function lagging(notFoundReads: number) {
      const real = createActivities({ plural: fx.plural, vault: fx.vault }).readRefund;
      const reads: string[] = [];
      const readRefund: typeof real = async (input) => {
        reads.push(input.refundOrderId);
        return reads.length <= notFoundReads ? { refundOrderId: input.refundOrderId, notFound: true } : real(input);
      };
      return { reads, readRefund };
    }
    /** Skips the refund window's looks, 5 minutes of virtual time at a go, until `done` or 2 hours have passed. */
    async function skipLooks(handle: PaymentHandle, done: (s: PaymentState) => boolean): Promise<PaymentState> {
      let state = await handle.query(getPaymentQuery);
      for (let i = 0; i < 24 && !done(state); i++) {
        await fx.skip(5 * 60_000);
        state = await handle.query(getPaymentQuery);
      }
      return state;
    }

    it('is read again at the next looks and recorded once Plural has it', async () => {
      const { reads, readRefund } = lagging(4);
      await fx.withWorker(
        async () => {
          const { handle, orderId } = await processed();
          const dash = await fx.plural.refundOrder(orderId, {
            merchant_order_reference: `dash-${orderId}`,
            order_amount: INR(1500),
          });
          await waitFor('the first read of the refund order', () => reads.length > 0);
          expect((await handle.query(getPaymentQuery)).refunds).toEqual([]);
          const state = await skipLooks(handle, (s) => s.refunds.length > 0);
          expect(state.refunds[0]).toMatchObject({
            reason: 'EXTERNAL',
            refundOrderId: dash.order_id,
            status: 'PROCESSED',
          });
          expect(state).toMatchObject({ amountRefunded: INR(1500), amountRefundable: INR(3500) });
          expect(reads).toEqual(Array(5).fill(dash.order_id));
        },
        { readRefund },
      );
    });

    it('is given up, noted, after 8 reads in about an hour, and read no more', async () => {
      const { reads, readRefund } = lagging(Infinity);
      await fx.withWorker(
        async () => {
          const { handle, orderId } = await processed();
          // A REFUND_PROCESSED event (as the API maps it) naming a refund order Plural never has.
          await handle.signal(webhookReceivedSignal, {
            webhookId: 'msg_refund_never_made',
            eventType: 'REFUND_PROCESSED',
            orderId: 'v1-refund-never-made',
            orderStatus: 'PROCESSED',
            parentOrderId: orderId,
          });
          await waitFor('the first read of the refund order', () => reads.length > 0);
          const note = 'refund order v1-refund-never-made was not found at Plural in 8 reads: not recorded';
          const state = await skipLooks(handle, (s) => s.audit.some((e) => e.cause === note));
          expect(state.audit.map((e) => e.cause)).toContain(note);
          expect(state.refunds).toEqual([]);
          expect(reads).toHaveLength(8);
          await fx.skip(6 * 60 * 60_000);
          expect(reads).toHaveLength(8);
        },
        { readRefund },
      );
    });
  });

  it('keeps nothing of a refund Plural refuses (its own limit is the last guard)', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await processed();
      // Refunded on Plural's side (its dashboard), its webhook lost: unknown to the engine.
      await withoutWebhooks(async () => {
        const dash = await fx.plural.refundOrder(orderId, {
          merchant_order_reference: `dash-${orderId}`,
          order_amount: INR(4000),
        });
        await waitFor('the dashboard refund’s webhook', () =>
          fx.webhooks.received.some((w) => w.orderId === dash.order_id),
        );
      });
      const answer = await refund(handle, 'over', INR(2000));
      expect(answer.outcome).toBe('REJECTED');
      expect(answer.message).toMatch(/exceeds refundable 1000/);
      expect(answer.state.refunds).toEqual([]);
      expect(answer.state.audit.at(-1)?.cause).toBe('refund over of 2000 refused by Plural: AMOUNT_LIMIT_EXCEEDED');
      // The reference is free again: the merchant refunds what Plural still holds.
      const retry = await refund(handle, 'over', INR(1000));
      expect(retry.refund.status).toBe('PROCESSED');
      expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'FULLY_REFUNDED', refundedAmount: 5000 });
    });
  });

  it("rewrites the memo (what a search lists) when Plural's order moves the amounts with no change of status", async () => {
    await fx.withWorker(async () => {
      for (const summaryInSearchAttributes of [true, false]) {
        const { handle, orderId } = await processed({ summaryInSearchAttributes });
        // 4000 refunded on Plural's dashboard, its webhook lost: unknown to the engine.
        await withoutWebhooks(() => refundOnDashboard(fx, orderId, 4000));
        const answer = await refund(handle, `rest-${String(summaryInSearchAttributes)}`, INR(1000));
        expect(answer.state.amountRefunded).toEqual(INR(1000));
        // Plural's event for that refund reads the order FULLY_REFUNDED: 5000 refunded, nothing left, the payment ends.
        expect((await handle.result()).amountRefunded).toEqual(INR(5000));
        const memo = (await handle.describe()).memo?.[PAYMENT_MEMO_KEY] as PaymentSummary;
        expect(memo.amountRefunded).toEqual(INR(5000));
      }
    });
  });

  it('continues as new when its history grows, carrying its refunds', async () => {
    await fx.withWorker(async () => {
      // A limit below any refund's history: every run that handles a refund continues as new.
      const { handle, orderId } = await processed({ limits: { continueAsNewAfterEvents: 20 } });
      const firstRun = (await handle.describe()).runId;
      const first = await refund(handle, 'can-1', INR(1000));
      const continued = await waitForState(
        handle,
        (s) => s.audit.some((e) => e.cause.startsWith('continued as new')),
        'the next run',
      );
      expect(continued.refunds).toEqual([first.refund]);
      expect(continued).toMatchObject({ status: 'PROCESSED', amountRefunded: INR(1000), nextActions: ['REFUND'] });
      const second = await refund(handle, 'can-2', INR(1500));
      expect(second.state.amountRefunded).toEqual(INR(2500));
      // A repeat of an earlier run's refund is still recognised.
      expect((await refund(handle, 'can-1', INR(1000))).outcome).toBe('REPEATED');
      // The rest: nothing is left, so the last run completes without waiting out the window.
      await refund(handle, 'can-3');
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'PROCESSED', amountRefunded: INR(5000) });
      expect(result.refunds.map((r) => r.merchantRefundReference)).toEqual(['can-1', 'can-2', 'can-3']);
      expect((await handle.describe()).runId).not.toBe(firstRun);
      expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'FULLY_REFUNDED', refundedAmount: 5000 });
    });
  });

  it('continues as new after the merchant’s refund alone, with no webhook to wake it', async () => {
    await fx.withWorker(async () => {
      const { handle } = await processed({ limits: { continueAsNewAfterEvents: 20 } });
      const firstRun = (await handle.describe()).runId;
      await withoutWebhooks(async () => {
        const first = await refund(handle, 'quiet-1', INR(1000));
        expect(first.outcome).toBe('REFUNDED');
        // No webhook, no pending refund, no merchant endpoint: only the finished Update can end the window's wait.
        const continued = await waitForState(
          handle,
          (s) => s.audit.some((e) => e.cause.startsWith('continued as new')),
          'the next run',
        );
        expect(continued).toMatchObject({ amountRefunded: INR(1000), refunds: [first.refund] });
        expect((await handle.describe()).runId).not.toBe(firstRun);
      });
    });
  });

  it('carries the most recent gateway events to the next run, and drops only their repeats there', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await processed({ limits: { continueAsNewAfterEvents: 20, seenEventsCarried: 2 } });
      const firstRun = (await handle.describe()).runId;
      const event = (webhookId: string) =>
        handle.signal(webhookReceivedSignal, {
          webhookId,
          eventType: 'ORDER_PROCESSED',
          orderId,
          orderStatus: 'PROCESSED',
        });
      const seen = (s: PaymentState, webhookId: string) =>
        auditOccurrences(s.audit).filter((e) => e.cause.includes(`(${webhookId})`)).length;
      // Plural's own ORDER_PROCESSED first, so that the events below are the most recent.
      await waitForState(
        handle,
        (s) => s.audit.some((e) => e.cause.startsWith('webhook ORDER_PROCESSED')),
        'Plural’s ORDER_PROCESSED',
      );
      await withoutWebhooks(async () => {
        for (const id of ['wh-old-1', 'wh-old-2', 'wh-recent-1', 'wh-recent-2']) await event(id);
        await waitForState(handle, (s) => seen(s, 'wh-recent-2') === 1, 'the four events noted');
        expect((await refund(handle, 'seen-1', INR(1000))).outcome).toBe('REFUNDED');
        await waitForState(handle, (s) => s.audit.some((e) => e.cause.startsWith('continued as new')), 'the next run');
        expect((await handle.describe()).runId).not.toBe(firstRun);
        // The next run knows the two most recent ids: their repeats are dropped; an older one is noted once more.
        for (const id of ['wh-recent-1', 'wh-recent-2', 'wh-old-1']) await event(id);
        const after = await waitForState(handle, (s) => seen(s, 'wh-old-1') === 2, 'the older event noted again');
        expect(['wh-old-2', 'wh-recent-1', 'wh-recent-2'].map((id) => seen(after, id))).toEqual([1, 1, 1]);
        expect(after).toMatchObject({ status: 'PROCESSED', amountRefunded: INR(1000) });
      });
    });
  });

  it('keeps card data and OTPs out of every refunded payment’s history', async () => {
    const results = await scanHistories(fx);
    expect(results.length).toBeGreaterThan(0);
    for (const r of results) expect(r, r.workflowId).toMatchObject({ found: [], decodedInput: true });
  });
});
