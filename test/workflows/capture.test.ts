import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import type { CaptureInput } from '../../activities';
import type { Order } from '../../plural-client';
import { CARDS } from '../support/cards';
import {
  auditOccurrences,
  authenticateAtSandbox,
  capturedAtPlural,
  captureRefusal,
  capturesRefused,
  cancelsWithoutEffect,
  bundle,
  cardInput,
  CORRECT_OTP,
  createFixture,
  newReference,
  putCard,
  scanHistories,
  startPayment,
  waitForState,
  waitForStatus,
  submitOtp,
  capture,
  cancel,
  operatorGiveUp,
  operatorRetry,
  gate,
  heldCreateOrder,
  counting,
  rejection,
  whilePluralFails,
  refund,
  cancelledAtPlural,
  cancelParkedPastExpiry,
} from './harness';
import type { Fixture, PaymentHandle } from './harness';
import { temporal } from '@temporalio/proto';
import { decodeOptionalSinglePayload } from '@temporalio/common/lib/internal-non-workflow';
import { currentSummary } from '../../api/payment-summary';
import { CANCEL_ANSWERED_AUTHORIZED_NOTE } from '../../workflows/phases/settle';
import { WorkflowUpdateStage } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  cancelUpdate,
  captureUpdate,
  DEFAULT_MERCHANT_ID,
  FAILURE_TYPE,
  operatorGiveUpUpdate,
  operatorRetryUpdate,
  PAYMENT_MEMO_KEY,
  SEARCH_ATTRIBUTE,
  webhookReceivedSignal,
} from '../../workflows/definitions';
import type { PaymentSummary, PaymentWorkflowInput } from '../../workflows/definitions';

let fx: Fixture;

beforeAll(async () => {
  fx = await createFixture(await bundle());
});
afterAll(async () => {
  await fx?.teardown();
});

/** A pre-auth OTP payment taken to AUTHORIZED (`asTheApiStartsIt`: see {@link startPayment}). */
async function authorized(
  card: string = CARDS.nativeOtp,
  overrides: Partial<PaymentWorkflowInput> = {},
  timeoutMs = 20_000,
  asTheApiStartsIt = false,
) {
  const input = cardInput(newReference('cap'), await putCard(fx.vault, card), overrides);
  const handle = await startPayment(fx, input, asTheApiStartsIt);
  await waitForState(handle, (s) => s.status === 'AWAITING_OTP', 'AWAITING_OTP', timeoutMs);
  await submitOtp(fx, handle, 'otp', CORRECT_OTP);
  const state = await waitForState(handle, (s) => s.status === 'AUTHORIZED', 'AUTHORIZED', timeoutMs);
  return { handle, state, orderId: state.pluralOrderId! };
}

/** Runs `fn` with the sandbox answering `paths` 1.5 s late (a cancel or a read under way), then as before. */
async function withSlowSandbox(paths: string[], fn: () => Promise<void>): Promise<void> {
  fx.sandbox.setFaults({ latencyMs: 1_500, paths });
  try {
    await fn();
  } finally {
    fx.sandbox.setFaults({ latencyMs: 0, paths: [] });
  }
}

describe('pre-auth capture and cancel', () => {
  it('captures the full authorized amount', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await authorized();
      const answer = await capture(handle, 'c1');
      expect(answer).toMatchObject({ outcome: 'CAPTURED', amountCaptured: { value: 5000, currency: 'INR' } });
      expect(answer.state.status).toBe('PROCESSED');
      const result = await handle.result();
      expect(result.status).toBe('PROCESSED');
      expect(result.amountCaptured).toEqual({ value: 5000, currency: 'INR' });
      expect(result.lastCapture).toEqual({ outcome: 'CAPTURED' });
      expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'PROCESSED', captureCount: 1, capturedAmount: 5000 });
    });
  });

  it('captures part of the authorization once', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await authorized();
      const answer = await capture(handle, 'p1', { value: 3000, currency: 'INR' });
      expect(answer).toMatchObject({ outcome: 'CAPTURED', amountCaptured: { value: 3000, currency: 'INR' } });
      const result = await handle.result();
      expect(result.status).toBe('PROCESSED');
      expect(result.amountCaptured).toEqual({ value: 3000, currency: 'INR' });
      expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'PARTIALLY_CAPTURED', capturedAmount: 3000 });
    });
  });

  it("keeps a partial capture's amount when Plural's order lists no capture, also at the reads after it", async () => {
    // Plural's answers list no capture data: the order says PARTIALLY_CAPTURED (later PARTIALLY_REFUNDED) and its
    // payment PROCESSED, which alone would read as the whole 5000 taken.
    const unlisted = (o: Order): Order => ({
      ...o,
      payments: o.payments.map((p) => ({ ...p, capture_data: undefined })),
    });
    const plural = new Proxy(fx.plural, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== 'captureOrder' && prop !== 'getOrder') return value;
        return async (...args: unknown[]) =>
          unlisted(await (value as (...a: unknown[]) => Promise<Order>).apply(target, args));
      },
    });
    const bare = createActivities({ plural, vault: fx.vault });
    const reads = counting(bare.getOrder);
    await fx.withWorker(
      async () => {
        const { handle, orderId } = await authorized(CARDS.nativeOtp, { durations: { refundWindowMs: 60_000 } });
        const answer = await capture(handle, 'part', { value: 1500, currency: 'INR' });
        expect(answer).toMatchObject({ outcome: 'CAPTURED', amountCaptured: { value: 1500, currency: 'INR' } });
        const before = reads.calls();
        // A refund; its REFUND_PROCESSED webhook is confirmed with a Get Order of the parent order.
        expect((await refund(handle, 'r1', { value: 1000, currency: 'INR' })).outcome).toBe('REFUNDED');
        await waitForState(handle, () => reads.calls() > before, 'a Get Order after the refund');
        await fx.skip(61_000);
        const result = await handle.result();
        expect(result.amountCaptured).toEqual({ value: 1500, currency: 'INR' });
        expect(result.amountRefunded).toEqual({ value: 1000, currency: 'INR' });
        expect(fx.sandbox.order(orderId)).toMatchObject({ capturedAmount: 1500, refundedAmount: 1000 });
      },
      { captureOrder: bare.captureOrder, getOrder: reads.fn },
    );
  });

  it('refuses a capture above the authorized amount, and a second capture, without calling Plural', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId, state } = await authorized();
      const big = await rejection(capture(handle, 'big', { value: 5001, currency: 'INR' }));
      expect(big).toEqual({
        type: 'InvalidRequest',
        message: `capture amount 5001 exceeds authorized 5000 for order ${state.merchantOrderReference}`,
      });
      expect(fx.sandbox.order(orderId)?.captureAttempts).toBe(0);
      expect((await capture(handle, 'part', { value: 3000, currency: 'INR' })).outcome).toBe('CAPTURED');
      // Plural allows one (partial) capture per order: the payment has ended, a second capture is refused.
      await rejection(capture(handle, 'again', { value: 1000, currency: 'INR' }));
      expect(fx.sandbox.order(orderId)?.captureAttempts).toBe(1);
    });
  });

  it('refuses a capture that comes after a cancel under way, never taking the money first', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId, state } = await authorized();
      await withSlowSandbox(['/cancel'], async () => {
        const cancelling = cancel(handle, 'first', 'order withdrawn');
        await waitForState(handle, (s) => s.audit.some((e) => /cancelling at Plural$/.test(e.cause)), 'cancel sent');
        expect(await rejection(capture(handle, 'second'))).toEqual({
          type: 'InvalidState',
          message: `payment ${state.merchantOrderReference} is being cancelled (the cancel was asked for first); it cannot be captured`,
        });
        expect((await cancelling).status).toBe('CANCELLED');
      });
      expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'CANCELLED', captureAttempts: 0 });
    });
  });

  it('refuses a capture after a cancel still waiting its turn (the payment busy confirming a webhook)', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await authorized();
      await withSlowSandbox(['/api/pay/v1/orders/'], async () => {
        // A webhook claiming what Plural's order was not last read to say: the payment confirms it with a (slow) Get
        // Order, and the merchant's requests wait their turn.
        await handle.signal(webhookReceivedSignal, {
          webhookId: 'msg_claims_processed',
          eventType: 'ORDER_PROCESSED',
          orderId,
          orderStatus: 'PROCESSED',
        });
        await waitForState(
          handle,
          (s) => s.audit.some((e) => /msg_claims_processed\) received; confirming with Get Order$/.test(e.cause)),
          'confirming the webhook',
        );
        const first = await handle.startUpdate(cancelUpdate, {
          args: [{ reason: 'order withdrawn' }],
          updateId: 'first',
          waitForStage: WorkflowUpdateStage.ACCEPTED,
        });
        // Taken first, it would capture the money the merchant had already asked to release.
        expect((await rejection(capture(handle, 'second'))).type).toBe('InvalidState');
        expect((await first.result()).state.status).toBe('CANCELLED');
      });
      expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'CANCELLED', captureAttempts: 0 });
    });
  });

  it('cancels an authorization on request', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await authorized();
      expect((await cancel(handle, 'x1', 'customer changed their mind')).status).toBe('CANCELLED');
      const result = await handle.result();
      expect(result.status).toBe('CANCELLED');
      expect(fx.sandbox.order(orderId)?.status).toBe('CANCELLED');
    });
  });

  it('cancels automatically before the authorization expires (days skipped)', async () => {
    await fx.withWorker(async () => {
      const { handle, state, orderId } = await authorized();
      expect(Date.parse(state.autoCancelAt!) - Date.parse(state.authorizedAt!)).toBe(5 * 24 * 3600 * 1000);
      const result = await handle.result();
      expect(result.status).toBe('CANCELLED');
      const auto = result.audit.find((e) => e.cause.startsWith('automatic cancel before the authorization expires'));
      expect(auto).toBeDefined();
      expect(Date.parse(auto!.at)).toBeGreaterThanOrEqual(Date.parse(state.autoCancelAt!));
      expect(Date.parse(auto!.at)).toBeLessThan(Date.parse(state.authorizationExpiresAt!));
      expect(fx.sandbox.order(orderId)?.status).toBe('CANCELLED');
    });
  });

  it('takes a payment without pre-auth straight to PROCESSED', async () => {
    await fx.withWorker(async () => {
      const handle = await startPayment(
        fx,
        cardInput(newReference('sale'), await putCard(fx.vault, CARDS.nativeOtp), { preAuth: false }),
      );
      await waitForStatus(handle, 'AWAITING_OTP');
      await submitOtp(fx, handle, 'otp', CORRECT_OTP);
      const result = await handle.result();
      expect(result.status).toBe('PROCESSED');
      expect(result.audit.map((e) => e.to)).not.toContain('AUTHORIZED');
      expect(result.amountCaptured).toEqual({ value: 5000, currency: 'INR' });
    });
  });

  it('fails the payment when Plural declines the capture and the order fails there', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await authorized(CARDS.captureDeclined);
      const answer = await capture(handle, 'd1');
      expect(answer).toMatchObject({ outcome: 'REJECTED', state: { status: 'FAILED' } });
      const result = await handle.result();
      expect(result.status).toBe('FAILED');
      expect(result.failure?.code).toBe('PAYMENT_DECLINED');
      expect(fx.sandbox.order(orderId)?.status).toBe('FAILED');
    });
  });

  it('parks a capture that keeps failing and completes it on operator retry', async () => {
    const real = createActivities({ plural: fx.plural, vault: fx.vault });
    const inputs: CaptureInput[] = [];
    const captureOrder = (input: CaptureInput) => {
      inputs.push(input);
      return real.captureOrder(input);
    };
    await fx.withWorker(
      async () => {
        const { handle, orderId } = await authorized(CARDS.nativeOtp, { limits: { activityMaxAttempts: 2 } });
        fx.sandbox.setFaults({ errorRate: 1, paths: ['/capture'] });
        try {
          const answer = await capture(handle, 'park');
          expect(answer.outcome).toBe('PARKED');
          const parked = await waitForState(handle, (x) => x.parked !== undefined, 'parked capture');
          expect(parked.status).toBe('AUTHORIZED');
          expect(parked.parked).toMatchObject({ operation: 'capture', retries: 0 });
          expect(parked.nextActions).toEqual(['OPERATOR_RETRY', 'CANCEL']);
          const described = await handle.describe();
          expect(described.searchAttributes.PaymentParkedOperation).toEqual(['capture']);
        } finally {
          fx.sandbox.setFaults({ errorRate: 0, paths: [] });
        }
        // The operator's Update answers once the step has run again.
        expect((await operatorRetry(handle, 'ops@example')).status).toBe('PROCESSED');
        const result = await handle.result();
        expect(result.status).toBe('PROCESSED');
        expect(result.parked).toBeUndefined();
        expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'PROCESSED', captureCount: 1 });
        const described = await handle.describe();
        expect(described.searchAttributes.PaymentParkedOperation).toEqual(['none']);
        expect(described.searchAttributes.PaymentStatus).toEqual(['PROCESSED']);
        // The operator's run reads Plural's order first (a parked attempt may have captured, its answer lost).
        expect(inputs.map((i) => i.retried)).toEqual([undefined, undefined, true]);
      },
      { captureOrder },
    );
  });

  it('a capture refused while an earlier attempt of it completes at Plural answers CAPTURED, as Plural says', async () => {
    const real = createActivities({ plural: fx.plural, vault: fx.vault });
    // Plural takes the capture, and the attempt ends in a refusal (a DUPLICATE_REQUEST to a retry whose read lagged).
    const captureOrder = async (input: CaptureInput) => {
      await real.captureOrder(input);
      throw captureRefusal('Duplicate request');
    };
    await fx.withWorker(
      async () => {
        const { handle, orderId } = await authorized();
        const answer = await capture(handle, 'taken');
        expect(answer.outcome).toBe('CAPTURED');
        expect(answer.amountCaptured).toEqual({ value: 5000, currency: 'INR' });
        expect(answer.state).toMatchObject({ status: 'PROCESSED', lastCapture: { outcome: 'CAPTURED' } });
        expect(answer.state.audit.map((e) => e.cause)).not.toContainEqual(expect.stringMatching(/^capture rejected/));
        expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'PROCESSED', captureCount: 1 });
      },
      { captureOrder },
    );
  });

  it("an operator's retry of a refused capture reads Plural's order first, and goes under a key of its own", async () => {
    const { captureOrder, inputs } = capturesRefused(fx, 1);
    await fx.withWorker(
      async () => {
        const { handle, orderId } = await authorized();
        expect((await capture(handle, 'refused')).outcome).toBe('PARKED');
        await waitForState(handle, (x) => x.parked?.operation === 'capture', 'parked capture');
        expect((await operatorRetry(handle, 'ops@example')).status).toBe('PROCESSED');
        expect(inputs.map((i) => i.retried)).toEqual([undefined, true]);
        // A Plural that replays a key's answer would refuse it again under the refused capture's key.
        expect(inputs.map((i) => i.afterRefusals)).toEqual([undefined, 1]);
        expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'PROCESSED', captureCount: 1 });
      },
      { captureOrder },
    );
  });

  it("an operator's retry of a refused capture that Plural refuses again is answered with the capture parked again", async () => {
    const { captureOrder } = capturesRefused(fx, 2);
    await fx.withWorker(
      async () => {
        const { handle, orderId } = await authorized();
        expect((await capture(handle, 'refused')).outcome).toBe('PARKED');
        const first = await waitForState(handle, (x) => x.parked?.operation === 'capture', 'parked capture');
        expect(first.parked?.retries).toBe(0);
        // Refused again: the answer says so (parked, one retry counted), not AUTHORIZED with nothing parked.
        const again = await operatorRetry(handle, 'ops@example');
        expect(again.status).toBe('AUTHORIZED');
        expect(again.parked).toMatchObject({ operation: 'capture', retries: 1 });
        expect(again.audit.filter((e) => e.cause.startsWith('capture parked for an operator'))).toHaveLength(1);
        expect((await operatorRetry(handle, 'ops@example')).status).toBe('PROCESSED');
        expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'PROCESSED', captureCount: 1 });
      },
      { captureOrder },
    );
  });

  /** Plural refuses every capture, its order staying AUTHORIZED: `then` runs once the payment's capture is parked. */
  const whileCaptureParkedOnARefusal = (then: (handle: PaymentHandle, orderId: string) => Promise<void>) =>
    fx.withWorker(
      async () => {
        const { handle, orderId } = await authorized();
        expect((await capture(handle, 'refused')).outcome).toBe('PARKED');
        await waitForState(handle, (x) => x.parked?.operation === 'capture', 'parked capture');
        await then(handle, orderId);
      },
      { captureOrder: () => Promise.reject(captureRefusal()) },
    );

  it('a capture parked on a refusal follows Plural when its webhook says the order was captured meanwhile', async () => {
    // Later the order is captured at Plural (say on its dashboard) and Plural's ORDER_PROCESSED webhook comes while
    // the capture waits for an operator.
    await whileCaptureParkedOnARefusal(async (handle, orderId) => {
      const after = await capturedAtPlural(fx, handle, orderId, 'msg_captured_on_dashboard');
      expect(after.parked).toBeUndefined();
      expect(after.lastCapture).toEqual({ outcome: 'CAPTURED' });
      expect(after.amountCaptured).toEqual({ value: 5000, currency: 'INR' });
      expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'PROCESSED', captureCount: 1 });
      await handle.terminate('test over');
    });
  });

  it('a give-up on a capture parked on a refusal ends CANCELLED, its last capture REJECTED rather than still PARKED', async () => {
    await whileCaptureParkedOnARefusal(async (handle, orderId) => {
      expect((await operatorGiveUp(handle, 'ops@example', 'Plural refuses it')).status).toBe('CANCELLED');
      const result = await handle.result();
      expect(result.status).toBe('CANCELLED');
      expect(result.amountCaptured).toBeUndefined();
      expect(result.parked).toBeUndefined();
      expect(result.lastCapture).toEqual({
        outcome: 'REJECTED',
        message: 'capture abandoned while parked: an operator gave up',
      });
      expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'CANCELLED', captureCount: 0 });
    });
  });

  it('refuses Updates sent by hand in another shape, and takes an operator give-up sent with no input at all', async () => {
    await whileCaptureParkedOnARefusal(async (handle, orderId) => {
      const byHand = (update: { name: string }, arg: unknown) =>
        rejection(handle.executeUpdate(update.name, { args: [arg] }));
      expect(await byHand(captureUpdate, { amount: { value: '5000', currency: 'INR' } })).toMatchObject({
        type: 'InvalidRequest',
        message: expect.stringMatching(/^the capture Update takes /),
      });
      expect(await byHand(cancelUpdate, { reason: 7 })).toMatchObject({ type: 'InvalidRequest' });
      expect(await byHand(operatorRetryUpdate, 'ops@example')).toMatchObject({ type: 'InvalidRequest' });
      // The CLI's `temporal workflow update execute --name operatorGiveUp` without `--input`: answered, not stuck.
      const state = (await handle.executeUpdate(operatorGiveUpUpdate, { args: [] as never })).state;
      expect(state.status).toBe('CANCELLED');
      expect((await handle.result()).status).toBe('CANCELLED');
      expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'CANCELLED', captureCount: 0 });
    });
  });

  it('a capture parked on an outage follows Plural when its webhook says the order was captured meanwhile', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await authorized(CARDS.nativeOtp, {
        limits: { activityMaxAttempts: 2, activityRetryInitialIntervalMs: 100, activityRetryMaximumIntervalMs: 100 },
      });
      await whilePluralFails(fx, ['/capture'], async () => {
        expect((await capture(handle, 'outage')).outcome).toBe('PARKED');
        await waitForState(handle, (x) => x.parked?.operation === 'capture', 'parked capture');
      });
      // Plural takes a capture of the order anyway (an attempt that reached it, or its dashboard); its webhook comes.
      const after = await capturedAtPlural(fx, handle, orderId, 'msg_captured_after_outage');
      expect(after.parked).toBeUndefined();
      expect(after.lastCapture).toEqual({ outcome: 'CAPTURED' });
      expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'PROCESSED', captureCount: 1 });
      await handle.terminate('test over');
    });
  });

  it('a give-up on a parked capture that Plural took ends PROCESSED, as Plural says, not parked on a refused cancel', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await authorized(CARDS.nativeOtp, {
        limits: { activityMaxAttempts: 2, activityRetryInitialIntervalMs: 100, activityRetryMaximumIntervalMs: 100 },
      });
      // The capture takes effect but its answer is lost, every Get Order after it fails, and its webhook is lost too:
      // the step parks, and nothing tells the workflow the order was captured.
      fx.sandbox.setFaults({ errorAfterCommitRate: 1, paths: ['/api/pay/v1/orders/'], webhookDropRate: 1 });
      try {
        expect((await capture(handle, 'lost')).outcome).toBe('PARKED');
        await waitForState(handle, (x) => x.parked?.operation === 'capture', 'parked capture');
        expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'PROCESSED', captureCount: 1 });
      } finally {
        fx.sandbox.setFaults({ errorAfterCommitRate: 0, paths: [], webhookDropRate: 0 });
      }
      // Giving up cancels at Plural, which refuses: the order was captured. The payment follows Plural's order.
      const after = await operatorGiveUp(handle, 'ops@example', 'gateway outage');
      expect(after.status).toBe('PROCESSED');
      expect(after.parked).toBeUndefined();
      expect(after.amountCaptured).toEqual({ value: 5000, currency: 'INR' });
      expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'PROCESSED', captureCount: 1 });
    });
  });

  it('a give-up on a parked OTP step of a sale Plural already authorized leaves it PROCESSING, refused, not crashed', async () => {
    const real = createActivities({ plural: fx.plural, vault: fx.vault });
    // Create Payment answers with the sale's order AUTHORIZED (PROCESSING here) and no OTP generated; Generate OTP, a
    // step of its own then, finds Plural unreachable and parks.
    const createPayment: typeof real.createPayment = async (input) => {
      const created = await real.createPayment({ ...input, thenGenerateOtp: undefined });
      return { ...created, order: { ...created.order, status: 'AUTHORIZED' } };
    };
    const generateOtp = () =>
      Promise.reject(
        ApplicationFailure.create({ message: 'Plural unreachable', type: FAILURE_TYPE.GATEWAY_UNAVAILABLE }),
      );
    await fx.withWorker(
      async () => {
        const input = cardInput(newReference('sale-park'), await putCard(fx.vault, CARDS.nativeOtp), {
          preAuth: false,
          limits: { activityMaxAttempts: 1 },
        });
        const handle = await startPayment(fx, input);
        const parked = await waitForState(handle, (x) => x.parked?.operation === 'authenticate', 'parked OTP step');
        expect(parked.status).toBe('PROCESSING');
        const after = await operatorGiveUp(handle, 'ops@example', 'gateway outage');
        expect(after.status).toBe('PROCESSING');
        expect(after.parked).toBeUndefined();
        expect(after.audit.map((e) => e.cause)).toContain(
          'cancel refused: a sale Plural has authorized is processed, not cancelled',
        );
        await handle.terminate('test over');
      },
      { createPayment, generateOtp },
    );
  });

  it("an operator's retry of a parked create payment finds the payment Plural made, card hand-off gone", async () => {
    await fx.withWorker(async () => {
      const cardHandle = await putCard(fx.vault, CARDS.challenge);
      const handle = await startPayment(
        fx,
        cardInput(newReference('cp'), cardHandle, {
          limits: { activityMaxAttempts: 2, activityRetryInitialIntervalMs: 100, activityRetryMaximumIntervalMs: 100 },
        }),
      );
      // Create Payment takes effect but its answer is lost, and every Get Order after it fails: the step parks.
      fx.sandbox.setFaults({ errorAfterCommitRate: 1, paths: ['/api/pay/v1/orders/'] });
      let orderId: string;
      try {
        const parked = await waitForState(handle, (x) => x.parked?.operation === 'create_payment', 'parked create');
        orderId = parked.pluralOrderId!;
        expect(fx.sandbox.order(orderId)?.payments).toHaveLength(1);
      } finally {
        fx.sandbox.setFaults({ errorAfterCommitRate: 0, paths: [] });
      }
      // The operator comes back after the card hand-off expired: the payment exists, its card data is not needed.
      await fx.vault.destroy(cardHandle);
      const after = await operatorRetry(handle, 'ops@example');
      expect(after.status).toBe('AWAITING_CHALLENGE');
      expect(after.failure).toBeUndefined();
      expect(fx.sandbox.order(orderId)?.payments).toHaveLength(1);
      expect((await cancel(handle, 'give-up')).status).toMatch(/^(CLOSING|CANCELLED)$/);
    });
  });

  describe('a parked step keeps the payment’s deadlines (nothing waits forever for an operator)', () => {
    const fast = {
      limits: { activityMaxAttempts: 2, activityRetryInitialIntervalMs: 100, activityRetryMaximumIntervalMs: 100 },
    };

    /**
     * A challenge-card payment whose Create Payment takes effect at Plural while its answer, and every Get Order after
     * it, is lost: the step parks. `whileLost` runs before Plural answers again.
     */
    async function parkedCreatePayment(
      prefix: string,
      whileLost: (handle: PaymentHandle) => Promise<void> = () => Promise.resolve(),
    ) {
      const handle = await startPayment(
        fx,
        cardInput(newReference(prefix), await putCard(fx.vault, CARDS.challenge), fast),
      );
      fx.sandbox.setFaults({ errorAfterCommitRate: 1, paths: ['/api/pay/v1/orders/'] });
      try {
        const parked = await waitForState(handle, (s) => s.parked?.operation === 'create_payment', 'parked create');
        await whileLost(handle);
        return { handle, orderId: parked.pluralOrderId! };
      } finally {
        fx.sandbox.setFaults({ errorAfterCommitRate: 0, paths: [] });
      }
    }

    it.each([
      ["an operator's give-up sent while a retried Create Order runs", true],
      ["a merchant's cancel sent while Create Order runs", false],
    ])('acts on %s before the card goes to Plural', async (_who, byOperator) => {
      const held = heldCreateOrder(fx, byOperator);
      const createPayment = counting(createActivities({ plural: fx.plural, vault: fx.vault }).createPayment);
      await fx.withWorker(
        async () => {
          const cardHandle = await putCard(fx.vault, CARDS.nativeOtp);
          const input = cardInput(newReference('gu'), cardHandle, {
            preAuth: false,
            limits: { activityMaxAttempts: 1 },
          });
          const handle = await startPayment(fx, input);
          let retried: Promise<unknown> = Promise.resolve();
          if (byOperator) {
            await waitForState(handle, (s) => s.parked?.operation === 'create_order', 'Create Order parked');
            retried = operatorRetry(handle, 'ops@example');
          }
          await held.holding;
          const cancelled = byOperator
            ? await handle.startUpdate(operatorGiveUpUpdate, {
                args: [{ operator: 'ops@example', reason: 'the customer called to cancel' }],
                waitForStage: WorkflowUpdateStage.ACCEPTED,
              })
            : await handle.startUpdate(cancelUpdate, {
                args: [{ reason: 'order withdrawn' }],
                waitForStage: WorkflowUpdateStage.ACCEPTED,
              });
          held.release();
          const after = (await cancelled.result()).state;
          await retried;
          // The order exists at Plural, but no payment was made on it: no card sent, no OTP to the customer, and
          // nothing can take money on it.
          expect(after).toMatchObject({ status: 'CANCELLED', failure: { code: 'CANCELLED_BEFORE_AUTHORIZATION' } });
          expect(after.parked).toBeUndefined();
          expect(createPayment.calls()).toBe(0);
          expect(fx.sandbox.order(after.pluralOrderId!)).toMatchObject({ status: 'CREATED', payments: [] });
          expect((await handle.result()).status).toBe('CANCELLED');
          // The card no longer waits in the vault for its TTL: no Create Payment will read it.
          expect(await fx.vault.get(cardHandle).then(Boolean)).toBe(false); // (a boolean: a failure prints no card)
        },
        { ...held.activities, createPayment: createPayment.fn },
      );
    });

    it.each([
      ['an operator gives up on it', 'CANCELLED', 'CANCELLED_BEFORE_AUTHORIZATION'],
      ['the authentication window passes', 'FAILED', 'GATEWAY_UNAVAILABLE'],
    ])(
      'ends a payment whose card lookup is parked, before any payment on Plural’s order, at once when %s',
      async (when, status, code) => {
        const real = createActivities({ plural: fx.plural, vault: fx.vault });
        // The order is created without its card lookup, which then finds Plural unreachable: the step parks.
        const createOrder: typeof real.createOrder = (input) =>
          real.createOrder({ ...input, thenLookupCard: undefined });
        const lookupCard = () =>
          Promise.reject(
            ApplicationFailure.create({ message: 'Plural unreachable', type: FAILURE_TYPE.GATEWAY_UNAVAILABLE }),
          );
        await fx.withWorker(
          async () => {
            const cardHandle = await putCard(fx.vault, CARDS.nativeOtp);
            const input = cardInput(newReference('lk'), cardHandle, { limits: { activityMaxAttempts: 1 } });
            const handle = await startPayment(fx, input);
            const parked = await waitForState(handle, (s) => s.parked?.operation === 'create_payment', 'lookup parked');
            if (when.startsWith('an operator')) await operatorGiveUp(handle, 'ops@example', 'Plural is down');
            // Not CLOSING: only the engine could make a payment on the order, and it made none.
            const result = await handle.result();
            expect(result).toMatchObject({ status, failure: { code } });
            expect(result.parked).toBeUndefined();
            expect(fx.sandbox.order(parked.pluralOrderId!)).toMatchObject({ status: 'CREATED', payments: [] });
            expect(await fx.vault.get(cardHandle).then(Boolean)).toBe(false); // (a boolean: a failure prints no card)
          },
          { createOrder, lookupCard },
        );
      },
    );

    it('fails a payment whose order Plural never opened once the customer’s authentication window has passed', async () => {
      await fx.withWorker(async () => {
        const handle = await startPayment(
          fx,
          cardInput(newReference('po'), await putCard(fx.vault, CARDS.challenge), fast),
        );
        await whilePluralFails(fx, ['/api/pay/v1/orders'], async () => {
          await waitForState(handle, (s) => s.parked?.operation === 'create_order', 'Create Order parked');
          // No operator acts: the window passes (skipped).
          const result = await handle.result();
          expect(result).toMatchObject({ status: 'FAILED', failure: { code: 'GATEWAY_UNAVAILABLE' } });
          expect(result.parked).toBeUndefined();
          expect(result.pluralOrderId).toBeUndefined();
          const failed = result.audit.find((e) => e.to === 'FAILED')!;
          expect(failed.cause).toBe('the parked step waited out the authentication window');
          expect(Date.parse(failed.at) - Date.parse(result.createdAt)).toBeGreaterThanOrEqual(15 * 60_000);
        });
      });
    });

    it('closes a payment whose Create Payment is still parked when the window passes, and ends it FAILED with Plural’s order', async () => {
      await fx.withWorker(async () => {
        // The window passes with Plural still failing: the last Get Order fails too, and the payment closes.
        const { handle, orderId } = await parkedCreatePayment('pp', async (handle) => {
          await fx.skip(16 * 60_000);
          const closing = await waitForStatus(handle, 'CLOSING');
          expect(closing.closing).toMatchObject({ reason: 'AUTHENTICATION_WINDOW_CLOSED' });
          expect(closing.parked).toBeUndefined();
        });
        // The customer never had the challenge page: Plural failed its payment meanwhile, and the payment ends with it.
        const result = await handle.result();
        expect(fx.sandbox.order(orderId)?.status).toBe('ATTEMPTED');
        expect(result).toMatchObject({ status: 'FAILED', failure: { code: 'AUTHENTICATION_WINDOW_CLOSED' } });
        expect(fx.sandbox.order(orderId)).toMatchObject({ captureCount: 0 });
      });
    });

    it('a card Plural declines on a retried Create Payment parks (its refusal may be of the lost first attempt), then ends FAILED', async () => {
      // The first attempt's answer is lost; the retries are refused (the card is expired) with nothing on the order.
      const real = createActivities({ plural: fx.plural, vault: fx.vault });
      let calls = 0;
      const createPayment: typeof real.createPayment = (input) => {
        calls += 1;
        if (calls === 1) {
          return Promise.reject(
            ApplicationFailure.create({ message: 'Plural timed out', type: FAILURE_TYPE.GATEWAY_UNAVAILABLE }),
          );
        }
        return real.createPayment(input);
      };
      await fx.withWorker(
        async () => {
          const handle = await startPayment(
            fx,
            cardInput(newReference('dr'), await putCard(fx.vault, CARDS.expired), {
              limits: { activityMaxAttempts: 3 },
            }),
          );
          const parked = await waitForState(handle, (s) => s.parked?.operation === 'create_payment', 'parked create');
          expect(parked.parked).toMatchObject({ code: 'CARD_EXPIRED' });
          expect(parked.status).toBe('CREATED');
          const result = await handle.result();
          expect(result.status).toBe('FAILED');
          expect(result.parked).toBeUndefined();
          expect(fx.sandbox.order(parked.pluralOrderId!)).toMatchObject({ payments: [], captureCount: 0 });
        },
        { createPayment },
      );
    });

    it('follows Plural’s order when it authorized while Create Payment was parked, rather than closing at the window', async () => {
      await fx.withWorker(async () => {
        const { handle, orderId } = await parkedCreatePayment('pa');
        // Plural authorizes the payment whose answer the engine lost (the customer reached the challenge page).
        await authenticateAtSandbox(fx.sandbox, fx.sandbox.order(orderId)!.payments[0]!.id, 'approve');
        await fx.skip(16 * 60_000);
        const state = await waitForStatus(handle, 'AUTHORIZED');
        expect(state.parked).toBeUndefined();
        expect(state.audit.map((e) => e.cause)).toContain(
          'final Get Order as the authentication window closed while parked: Plural order AUTHORIZED',
        );
        expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'AUTHORIZED', cancelCount: 0 });
        expect((await capture(handle, 'cap')).outcome).toBe('CAPTURED');
      });
    });

    it('abandons a capture still parked at the automatic cancel time and cancels the authorization', async () => {
      await fx.withWorker(async () => {
        const { handle, state, orderId } = await authorized(CARDS.nativeOtp, fast);
        fx.sandbox.setFaults({ errorRate: 1, paths: ['/capture'] });
        try {
          expect((await capture(handle, 'parked')).outcome).toBe('PARKED');
          // No operator acts: days pass (skipped).
          const result = await handle.result();
          expect(result.status).toBe('CANCELLED');
          expect(result.parked).toBeUndefined();
          expect(result.lastCapture?.message).toContain('the automatic cancel time came');
          const cancelled = result.audit.find((e) => e.to === 'CANCELLED');
          expect(Date.parse(cancelled!.at)).toBeLessThan(Date.parse(state.authorizationExpiresAt!));
          expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'CANCELLED', captureCount: 0 });
        } finally {
          fx.sandbox.setFaults({ errorRate: 0, paths: [] });
        }
      });
    });

    it('a capture abandoned at the automatic cancel time while Plural captured the order says CAPTURED, as Plural does', async () => {
      await fx.withWorker(async () => {
        const { handle, orderId } = await authorized(CARDS.nativeOtp, fast);
        fx.sandbox.setFaults({ errorRate: 1, paths: ['/capture'] });
        try {
          expect((await capture(handle, 'parked')).outcome).toBe('PARKED');
        } finally {
          fx.sandbox.setFaults({ errorRate: 0, paths: [] });
        }
        // Someone captures the order on Plural's dashboard; its webhook never reaches the payment.
        fx.webhooks.forward = false;
        try {
          await fx.plural.captureOrder(orderId, { merchant_capture_reference: 'dashboard-capture' });
          // No operator acts: the automatic cancel time comes (skipped), and Plural's order says it was captured.
          const result = await handle.result();
          expect(result).toMatchObject({ status: 'PROCESSED', amountCaptured: { value: 5000, currency: 'INR' } });
          expect(result.lastCapture).toMatchObject({ outcome: 'CAPTURED' });
          expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'PROCESSED', captureCount: 1, cancelCount: 0 });
        } finally {
          fx.webhooks.forward = true;
        }
      });
    });

    it('tries a parked automatic cancel again on its own, before the authorization expires', async () => {
      await fx.withWorker(async () => {
        const { handle, state, orderId } = await authorized(CARDS.nativeOtp, fast);
        await whilePluralFails(fx, ['/cancel'], async () => {
          await fx.skip(Date.parse(state.autoCancelAt!) - Date.parse(state.authorizedAt!) + 60_000);
          await waitForState(handle, (s) => s.parked?.operation === 'cancel', 'the automatic cancel parked');
        });
        // Plural answers again; no operator acts: the next try comes after the longest reconciliation delay.
        await fx.skip(6 * 60_000);
        const result = await handle.result();
        expect(result.status).toBe('CANCELLED');
        expect(result.parked).toBeUndefined();
        const cancelled = result.audit.find((e) => e.to === 'CANCELLED');
        expect(Date.parse(cancelled!.at)).toBeLessThan(Date.parse(state.authorizationExpiresAt!));
        expect(fx.sandbox.order(orderId)?.status).toBe('CANCELLED');
      });
    });

    it('asks again after a pause, never at once, when Plural answers the automatic cancel with its order still AUTHORIZED', async () => {
      const real = createActivities({ plural: fx.plural, vault: fx.vault });
      const cancels: number[] = [];
      // Plural answers the first two cancels with the order as it was (its order trailing its payment), then cancels.
      const { cancelOrder } = cancelsWithoutEffect(fx, 2, (_input, at) => cancels.push(at));
      let readsAfterACancel = 0;
      const getOrder: typeof real.getOrder = (input) => {
        if (cancels.length > 0) readsAfterACancel += 1;
        return real.getOrder(input);
      };
      await fx.withWorker(
        async () => {
          const { handle, state, orderId } = await authorized();
          const result = await handle.result();
          expect(result.status).toBe('CANCELLED');
          expect(cancels).toHaveLength(3);
          const notes = auditOccurrences(result.audit).filter((e) => e.cause === CANCEL_ANSWERED_AUTHORIZED_NOTE);
          expect(notes).toHaveLength(1);
          // Each cancel again comes after the longest reconciliation delay (5 minutes), with a Get Order before it;
          // the audit counts the three on one note.
          const tries = result.audit.filter(
            (e) => e.cause === 'automatic cancel before the authorization expires: cancelling at Plural',
          );
          expect(tries).toEqual([expect.objectContaining({ repeats: 2, lastAt: expect.any(String) })]);
          for (let i = 1; i < cancels.length; i++) {
            expect(cancels[i]! - cancels[i - 1]!).toBeGreaterThanOrEqual(5 * 60_000);
          }
          // Plural's order read before each cancel again.
          expect(readsAfterACancel).toBeGreaterThanOrEqual(2);
          const cancelled = result.audit.find((e) => e.to === 'CANCELLED');
          expect(Date.parse(cancelled!.at)).toBeLessThan(Date.parse(state.authorizationExpiresAt!));
          expect(fx.sandbox.order(orderId)?.status).toBe('CANCELLED');
        },
        { cancelOrder, getOrder },
      );
    });

    it('refuses captures from a cancel Plural answered without effect until it cancels again, also when an event ends the pause', async () => {
      const real = createActivities({ plural: fx.plural, vault: fx.vault });
      const steps: string[] = [];
      const { cancelOrder } = cancelsWithoutEffect(fx, 1, (input) => steps.push(input.step));
      // The second Get Order after the event (the first is the pause's own read; the second confirms the event) waits
      // until the test lets it go.
      let reads = 0;
      let holdRead = Infinity;
      const held = gate();
      const getOrder: typeof real.getOrder = async (input) => {
        reads += 1;
        if (reads === holdRead) await held.arrive();
        return real.getOrder(input);
      };
      await fx.withWorker(
        async () => {
          const { handle, orderId } = await authorized(CARDS.nativeOtp, {
            durations: { autoCancelAfterMs: 60_000, authorizationLifetimeMs: 24 * 60 * 60_000 },
          });
          await fx.skip(61_000);
          await waitForState(
            handle,
            (x) => x.audit.some((e) => e.cause === CANCEL_ANSWERED_AUTHORIZED_NOTE),
            'the cancel answered without effect',
          );
          holdRead = reads + 2;
          // An event that claims what the order does not read (a webhook ahead of its order) ends the pause early.
          await handle.signal(webhookReceivedSignal, {
            webhookId: 'msg_ahead',
            eventType: 'ORDER_PROCESSED',
            orderId,
            orderStatus: 'PROCESSED',
          });
          await held.holding;
          // Refused at once by the validator; one accepted (the build before) would wait for the read, let go after 1 s.
          const late = rejection(capture(handle, 'during-the-read')).then(
            (refused) => refused.message,
            (err: Error) => err.message,
          );
          const timer = setTimeout(held.release, 1_000);
          void late.finally(() => {
            clearTimeout(timer);
            held.release();
          });
          expect(await late).toMatch(/being cancelled/);
          const result = await handle.result();
          expect(result.status).toBe('CANCELLED');
          expect(steps).toEqual(['auto-cancel', 'auto-cancel-2']);
          expect(fx.sandbox.order(orderId)?.status).toBe('CANCELLED');
        },
        { cancelOrder, getOrder },
      );
    });

    it("asks a merchant's cancel again under a key of its own after Plural answered the one before without effect", async () => {
      const steps: string[] = [];
      // Plural answers the first cancel with its order as it was (a Plural that replays a key's answer would answer a
      // repeat under the same key the same), then cancels.
      const { cancelOrder } = cancelsWithoutEffect(fx, 1, (input) => steps.push(input.step));
      await fx.withWorker(
        async () => {
          const { handle, orderId } = await authorized();
          expect((await cancel(handle, 'cancel-1')).status).toBe('AUTHORIZED');
          expect((await cancel(handle, 'cancel-2')).status).toBe('CANCELLED');
          expect(steps).toEqual(['cancel', 'cancel-2']);
          expect(fx.sandbox.order(orderId)?.status).toBe('CANCELLED');
        },
        { cancelOrder },
      );
    });

    it('parks the automatic cancel for an operator once the authorization has expired with Plural still answering it without effect', async () => {
      const steps: string[] = [];
      // Plural answers every cancel with its order as it was.
      const { cancelOrder } = cancelsWithoutEffect(fx, Infinity, (input) => steps.push(input.step));
      await fx.withWorker(
        async () => {
          const { handle, orderId } = await authorized(CARDS.nativeOtp, {
            durations: { autoCancelAfterMs: 60_000, authorizationLifetimeMs: 120_000, reconcileMaxDelayMs: 25_000 },
          });
          await fx.skip(130_000);
          const parked = await waitForState(handle, (x) => x.parked?.operation === 'cancel', 'the cancel parked');
          expect(parked.status).toBe('AUTHORIZED');
          expect(parked.parked).toMatchObject({ code: 'CANCEL_WITHOUT_EFFECT' });
          // Each cancel asked again under a key of its own, a pause between them, until the expiry.
          expect(steps).toEqual(['auto-cancel', 'auto-cancel-2', 'auto-cancel-3', 'auto-cancel-4']);
          // Captures are refused while the engine is cancelling.
          expect((await rejection(capture(handle, 'late'))).message).toMatch(/cancel/i);
          // An operator's retry asks Plural once more; answered without effect again, the cancel parks afresh and the
          // retry hears so at once (the build before answered it only once the payment moved).
          const retried = await operatorRetry(handle, 'ops@example');
          expect(retried.status).toBe('AUTHORIZED');
          expect(retried.parked).toMatchObject({ operation: 'cancel', code: 'CANCEL_WITHOUT_EFFECT' });
          expect(steps).toEqual(['auto-cancel', 'auto-cancel-2', 'auto-cancel-3', 'auto-cancel-4', 'auto-cancel-5']);
          // Plural cancels the order after all (its dashboard, say); its webhook ends the park and the payment. (Sent
          // here, not by the sandbox: the time-skipping server's clock may have jumped far ahead of the sandbox's.)
          const result = await cancelledAtPlural(fx, handle, orderId, 'msg_cancelled_on_dashboard');
          expect(result.status).toBe('CANCELLED');
          expect(result.parked).toBeUndefined();
        },
        { cancelOrder },
      );
    });

    it("ends a cancel parked past the authorization's expiry with Plural's ORDER_CANCELLED webhook, not an operator", async () => {
      await fx.withWorker(async () => {
        const { handle, orderId } = await authorized(CARDS.nativeOtp, {
          ...fast,
          durations: { autoCancelAfterMs: 60_000, authorizationLifetimeMs: 120_000, reconcileMaxDelayMs: 25_000 },
        });
        // Plural cannot be reached to cancel: the automatic cancel parks, is tried again until the expiry, then waits.
        fx.sandbox.setFaults({ errorRate: 1, paths: ['/cancel'] });
        try {
          await fx.skip(130_000);
          await cancelParkedPastExpiry(handle);
        } finally {
          fx.sandbox.setFaults({ errorRate: 0, paths: [] });
        }
        // Plural cancels the order after all (its dashboard, say); its webhook ends the park and the payment.
        const result = await cancelledAtPlural(fx, handle, orderId, 'msg_cancelled_while_parked');
        expect(result.status).toBe('CANCELLED');
        expect(result.parked).toBeUndefined();
        expect(fx.sandbox.order(orderId)?.status).toBe('CANCELLED');
      });
    });

    it('answers a merchant cancel that parks at once, and cancels once Plural answers, without an operator', async () => {
      await fx.withWorker(async () => {
        const { handle, orderId } = await authorized(CARDS.nativeOtp, fast);
        fx.sandbox.setFaults({ errorRate: 1, paths: ['/cancel'] });
        try {
          const answered = await cancel(handle, 'while-down');
          expect(answered.status).toBe('AUTHORIZED');
          expect(answered.parked).toMatchObject({ operation: 'cancel' });
        } finally {
          fx.sandbox.setFaults({ errorRate: 0, paths: [] });
        }
        await fx.skip(6 * 60_000);
        const result = await handle.result();
        expect(result.status).toBe('CANCELLED');
        expect(fx.sandbox.order(orderId)?.status).toBe('CANCELLED');
      });
    });
  });

  it('cancels the authorization when the operator gives up on a parked capture', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId } = await authorized(CARDS.nativeOtp, { limits: { activityMaxAttempts: 1 } });
      fx.sandbox.setFaults({ errorRate: 1, paths: ['/capture'] });
      try {
        expect((await capture(handle, 'park')).outcome).toBe('PARKED');
        await waitForState(handle, (x) => x.parked?.operation === 'capture', 'parked capture');
        expect((await operatorGiveUp(handle, 'ops@example', 'capture keeps failing')).status).toBe('CANCELLED');
        const result = await handle.result();
        expect(result.status).toBe('CANCELLED');
        expect(result.parked).toBeUndefined();
        expect(result.lastCapture).toEqual({ outcome: 'REJECTED', message: 'capture abandoned while parked' });
        expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'CANCELLED', captureCount: 0 });
      } finally {
        fx.sandbox.setFaults({ errorRate: 0, paths: [] });
      }
    });
  });

  it('retries through a storm of Plural 5xx, 429 and lost answers to one order and one capture', async () => {
    // Webhooks dropped: the payment's reads follow Plural, and none lands under its second-long timers (harness.ts,
    // whileTimeHeld).
    fx.sandbox.setFaults({ errorRate: 0.4, rateLimitRate: 0.1, errorAfterCommitRate: 0.2, webhookDropRate: 1 });
    try {
      await fx.withWorker(async () => {
        // Retries back off in real time: short intervals keep the storm quick; still allow a minute per phase.
        // A retried create payment reads the order first, so an attempt needs two calls through the storm and fails
        // about 4 times in 5: 20 attempts left about 1 run in 270 parked (seen once in CI); 40 leave about 1 in 10^5.
        const limits = {
          activityMaxAttempts: 40,
          activityRetryInitialIntervalMs: 100,
          activityRetryMaximumIntervalMs: 1_000,
        };
        // Real time too for the reconciliation that follows an OTP whose answer the storm lost (time skipping is
        // locked while the test polls): looks a second or two apart, not the default 30 s doubling, which let one
        // failed look push AUTHORIZED past the minute (seen once in CI).
        const durations = { reconcileInitialDelayMs: 500, reconcileMaxDelayMs: 2_000 };
        const { handle, orderId } = await authorized(CARDS.nativeOtp, { limits, durations }, 60_000);
        expect((await capture(handle, 'storm')).outcome).toBe('CAPTURED');
        const result = await handle.result();
        expect(result.status).toBe('PROCESSED');
        const mine = fx.sandbox.orders().filter((o) => o.merchantOrderReference === result.merchantOrderReference);
        expect(mine).toHaveLength(1);
        expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'PROCESSED', captureCount: 1, paymentAttempts: 1 });
      });
    } finally {
      fx.sandbox.setFaults({ errorRate: 0, rateLimitRate: 0, errorAfterCommitRate: 0, webhookDropRate: 0 });
    }
  }, 240_000);

  it('refuses an automatic-cancel delay that is not below the authorization lifetime, before calling Plural', async () => {
    await fx.withWorker(async () => {
      const ref = newReference('dur');
      const handle = await startPayment(
        fx,
        cardInput(ref, await putCard(fx.vault, CARDS.nativeOtp), {
          durations: { autoCancelAfterMs: 8 * 24 * 3600 * 1000 },
        }),
      );
      const result = await handle.result();
      expect(result.status).toBe('FAILED');
      expect(result.failure?.code).toBe('INVALID_DURATIONS');
      expect(fx.sandbox.orderByReference(ref)).toBeUndefined();
    });
  });

  it('keeps the search attributes current', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId, state } = await authorized();
      const described = await handle.describe();
      expect(described.searchAttributes).toMatchObject({
        PaymentStatus: ['AUTHORIZED'],
        MerchantOrderReference: [state.merchantOrderReference],
        PluralOrderId: [orderId],
      });
    });
  });

  /** Per search-attribute upsert of the history, in order: the attributes it wrote, and whether a task ran before. */
  async function upserts(handle: PaymentHandle): Promise<{ keys: string[]; afterFirstTask: boolean }[]> {
    const { EventType } = temporal.api.enums.v1;
    const events = (await handle.fetchHistory()).events ?? [];
    const firstScheduled = events.findIndex((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    return events.flatMap((e, i) =>
      e.eventType === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
        ? [
            {
              keys: Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}),
              afterFirstTask: i > firstScheduled,
            },
          ]
        : [],
    );
  }

  /** The memo's payment summary after each memo write of the history, in order. */
  async function memoWrites(handle: PaymentHandle): Promise<PaymentSummary[]> {
    const { EventType } = temporal.api.enums.v1;
    const converter = fx.env.client.options.loadedDataConverter;
    const events = (await handle.fetchHistory()).events ?? [];
    const written = events.flatMap((e) =>
      e.eventType === EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED
        ? [e.workflowPropertiesModifiedEventAttributes?.upsertedMemo?.fields?.[PAYMENT_MEMO_KEY]]
        : [],
    );
    return Promise.all(
      written.map(async (payload) => (await decodeOptionalSinglePayload<PaymentSummary>(converter, payload))!),
    );
  }

  it('started as the API starts it, writes only what changed: the status and its time, the memo when amounts move', async () => {
    await fx.withWorker(async () => {
      const { handle, orderId, state } = await authorized(CARDS.nativeOtp, {}, 20_000, true);
      // Nothing in the first task (the start holds the attributes and the memo); the order id goes with the first
      // move (AWAITING_OTP), then the status and its time at each move, each with the creation time.
      expect((await upserts(handle)).map((u) => ({ ...u, keys: u.keys.sort() }))).toEqual([
        { keys: ['PaymentCreatedAt', 'PaymentStatus', 'PaymentUpdatedAt', 'PluralOrderId'], afterFirstTask: true },
        { keys: ['PaymentCreatedAt', 'PaymentStatus', 'PaymentUpdatedAt'], afterFirstTask: true },
      ]);
      const described = await handle.describe();
      expect(described.typedSearchAttributes.get(SEARCH_ATTRIBUTE.CREATED_AT)?.toISOString()).toBe(state.createdAt);
      expect(described.searchAttributes).toMatchObject({
        PaymentStatus: ['AUTHORIZED'],
        MerchantOrderReference: [state.merchantOrderReference],
        PluralOrderId: [orderId],
        PaymentParkedOperation: ['none'],
        MerchantId: [DEFAULT_MERCHANT_ID],
      });
      // No amount taken yet: the memo is still the API's, and readers lay the attributes over it.
      expect(await memoWrites(handle)).toEqual([]);
      const memo = described.memo?.[PAYMENT_MEMO_KEY] as PaymentSummary;
      expect([memo.status, memo.pluralOrderId]).toEqual(['CREATED', undefined]);
      expect(currentSummary(memo, described.typedSearchAttributes)).toEqual({
        ...memo,
        // The workflow's creation time, as GET shows it (the memo's is the API's clock, a moment earlier).
        createdAt: state.createdAt,
        status: 'AUTHORIZED',
        pluralOrderId: orderId,
        updatedAt: described.typedSearchAttributes.get(SEARCH_ATTRIBUTE.UPDATED_AT)?.toISOString(),
      });
      expect(Date.parse(currentSummary(memo, described.typedSearchAttributes).updatedAt)).toBeGreaterThan(
        Date.parse(memo.updatedAt),
      );

      // The capture moves money: one memo write, with the amount Plural took.
      expect((await capture(handle, 'api-start')).outcome).toBe('CAPTURED');
      const writes = await memoWrites(handle);
      expect(writes.map((w) => [w.status, w.amountCaptured])).toEqual([
        ['PROCESSED', { value: 5000, currency: 'INR' }],
      ]);
      const after = await handle.describe();
      expect(after.searchAttributes.PaymentStatus).toEqual(['PROCESSED']);
      expect(
        currentSummary(after.memo?.[PAYMENT_MEMO_KEY] as PaymentSummary, after.typedSearchAttributes),
      ).toMatchObject({
        status: 'PROCESSED',
        amountCaptured: { value: 5000, currency: 'INR' },
      });
    });
  });

  it('started without searchAttributeChangesOnly (as before it existed), upserts all of them each time', async () => {
    await fx.withWorker(async () => {
      const { handle } = await authorized();
      const all = [
        'MerchantId',
        'MerchantOrderReference',
        'PaymentCreatedAt',
        'PaymentParkedOperation',
        'PaymentStatus',
      ];
      expect((await upserts(handle)).map((u) => u.keys.sort())).toEqual([
        all,
        [...all, 'PluralOrderId'].sort(),
        [...all, 'PluralOrderId'].sort(),
        [...all, 'PluralOrderId'].sort(),
      ]);
    });
  });

  it('never puts card data in any workflow history of this file', async () => {
    const scans = await scanHistories(fx);
    expect(scans.length).toBeGreaterThan(8);
    expect(scans.filter((s) => !s.decodedInput).map((s) => s.workflowId)).toEqual([]);
    expect(scans.filter((s) => s.found.length > 0)).toEqual([]);
  });
});
