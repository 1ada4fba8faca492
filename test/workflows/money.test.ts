/**
 * The engine never disagrees with Plural about money: what a customer can still do on Plural's pages after the merchant
 * cancelled, after a declined attempt, or after the engine's own window closed, ends in a payment whose status and
 * amounts agree with Plural's order (money taken after a cancel is refunded). Every test ends by comparing the
 * engine's net captured amount (captured − refunded) with the sandbox's own record of the order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowBundle } from '@temporalio/worker';
import { paymentWorkflow } from '../../workflows';
import { getPaymentQuery, webhookReceivedSignal } from '../../workflows/definitions';
import type { PaymentState, PaymentWorkflowInput } from '../../workflows/definitions';
import { createActivities } from '../../activities';
import { CANCEL_ANSWERED_AUTHORIZED_NOTE } from '../../workflows/phases/settle';
import type { RunningSandbox } from '../../plural-sandbox';
import { CARDS } from '../support/cards';
import { waitFor } from '../support/wait';
import {
  auditOccurrences,
  approvedAfterWindowClosed,
  authenticateAtSandbox,
  bundle,
  cancel as cancelPayment,
  cancelsWithoutEffect,
  refundOnDashboard,
  capture,
  cardInput,
  CORRECT_OTP,
  createFixture,
  newReference,
  operatorGiveUp,
  putCard,
  rejection,
  scanHistories,
  startPayment,
  submitOtp,
  waitForState,
  waitForStatus,
  whilePluralFails,
  cancelledAtPlural,
} from './harness';
import type { Fixture, PaymentHandle } from './harness';

let code: WorkflowBundle;
let fx: Fixture;

beforeAll(async () => {
  code = await bundle();
  fx = await createFixture(code);
});
afterAll(async () => {
  await fx?.teardown();
});

/** The engine's and the sandbox's net captured amounts for the payment, which must be equal. */
function netMoney(sandbox: RunningSandbox, s: PaymentState): { engine: number; plural: number } {
  const order = sandbox.order(s.pluralOrderId!);
  return {
    engine: (s.amountCaptured?.value ?? 0) - (s.amountRefunded?.value ?? 0),
    plural: (order?.capturedAmount ?? 0) - (order?.refundedAmount ?? 0),
  };
}

function expectMoneyAgrees(sandbox: RunningSandbox, s: PaymentState, net: number): void {
  expect(netMoney(sandbox, s)).toEqual({ engine: net, plural: net });
}

/** Pays on the hosted checkout page of `redirectUrl` with a sandbox test card, as the customer would. */
async function payOnCheckout(
  sandbox: RunningSandbox,
  redirectUrl: string,
  card: string,
  result: 'approve' | 'decline' = 'approve',
): Promise<{ status: string }> {
  const token = new URL(redirectUrl).searchParams.get('token') ?? '';
  const res = await fetch(`${sandbox.baseUrl}/__sandbox/checkout/${encodeURIComponent(token)}/payments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${sandbox.controlToken}` },
    body: JSON.stringify({ card, result }),
  });
  if (!res.ok) throw new Error(`checkout payment failed: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as { status: string };
}

async function hostedCheckout(
  preAuth: boolean,
  overrides: Partial<PaymentWorkflowInput> = {},
): Promise<{ handle: PaymentHandle; state: PaymentState }> {
  const input: PaymentWorkflowInput = {
    ...cardInput(newReference('hc'), 'unused', { preAuth, ...overrides }),
    method: { kind: 'hosted_checkout' },
  };
  const handle = await startPayment(fx, input);
  return { handle, state: await waitForStatus(handle, 'AWAITING_CHALLENGE') };
}

async function challenge(preAuth: boolean, durations = {}) {
  const handle = await startPayment(
    fx,
    cardInput(newReference('chm'), await putCard(fx.vault, CARDS.challenge), { preAuth, durations }),
  );
  const state = await waitForStatus(handle, 'AWAITING_CHALLENGE');
  return { handle, state, paymentId: state.pluralPaymentIds[0]! };
}

const cancel = (handle: PaymentHandle) => cancelPayment(handle, 'merchant-cancel', 'order withdrawn');

describe('an order is over only when Plural says so', () => {
  it('hosted checkout: a declined card, then another card on the same link, ends PROCESSED as at Plural', async () => {
    await fx.withWorker(async () => {
      const { handle, state } = await hostedCheckout(false);
      expect((await payOnCheckout(fx.sandbox, state.redirectUrl!, 'visa-declined')).status).toBe('ATTEMPTED');
      const attempted = await waitForState(
        handle,
        (s) => s.audit.some((e) => /payment failed \(PAYMENT_DECLINED\); they may retry$/.test(e.cause)),
        'the declined attempt confirmed',
      );
      expect(attempted.status).toBe('AWAITING_CHALLENGE');
      expect(attempted.failure).toBeUndefined();
      expect((await payOnCheckout(fx.sandbox, state.redirectUrl!, 'mastercard-challenge')).status).toBe('PROCESSED');
      const result = await handle.result();
      expect(result.status).toBe('PROCESSED');
      expect(result.amountCaptured).toEqual({ value: 5000, currency: 'INR' });
      expectMoneyAgrees(fx.sandbox, result, 5000);
    });
  });

  it('hosted checkout pre-auth (cards only) authorizes on the link, then captures', async () => {
    await fx.withWorker(async () => {
      const { handle, state } = await hostedCheckout(true);
      await payOnCheckout(fx.sandbox, state.redirectUrl!, 'mastercard-challenge');
      const authorized = await waitForStatus(handle, 'AUTHORIZED');
      expect(authorized.nextActions).toEqual(['CAPTURE', 'CANCEL']);
      expect(fx.sandbox.order(state.pluralOrderId!)).toMatchObject({ status: 'AUTHORIZED', preAuth: true });
      expect((await capture(handle, 'hc-capture')).outcome).toBe('CAPTURED');
      const result = await handle.result();
      expect(result.status).toBe('PROCESSED');
      expect(fx.sandbox.order(state.pluralOrderId!)).toMatchObject({ status: 'PROCESSED', captureCount: 1 });
      expectMoneyAgrees(fx.sandbox, result, 5000);
    });
  });
});

describe('a cancel before authorization, then the customer pays on the old page', () => {
  it('hosted checkout sale: the money Plural takes is refunded and the payment ends CANCELLED', async () => {
    await fx.withWorker(async () => {
      const { handle, state } = await hostedCheckout(false);
      await cancel(handle);
      const closing = await waitForStatus(handle, 'CLOSING');
      expect(closing.closing).toMatchObject({ reason: 'MERCHANT_CANCEL', detail: 'order withdrawn' });
      expect(closing.nextActions).toEqual([]);
      expect((await payOnCheckout(fx.sandbox, state.redirectUrl!, 'mastercard-challenge')).status).toBe('PROCESSED');
      const result = await handle.result();
      expect(result.status).toBe('CANCELLED');
      expect(result.amountCaptured).toEqual({ value: 5000, currency: 'INR' });
      expect(result.amountRefunded).toEqual({ value: 5000, currency: 'INR' });
      expect(result.refunds).toMatchObject([{ reason: 'AUTO', status: 'PROCESSED', amount: { value: 5000 } }]);
      expect(fx.sandbox.order(state.pluralOrderId!)?.status).toBe('FULLY_REFUNDED');
      expectMoneyAgrees(fx.sandbox, result, 0);
    });
  });

  it('hosted checkout sale: a link Plural keeps open is watched over runs that continue as new', async () => {
    await fx.withWorker(async () => {
      // A limit a few reads long: every run of the watch continues as new after them.
      const { handle, state } = await hostedCheckout(false, { limits: { continueAsNewAfterEvents: 40 } });
      const firstRun = (await handle.describe()).runId;
      await cancel(handle);
      await waitForStatus(handle, 'CLOSING');
      // Twenty minutes of reads on the backoff, the checkout link open at Plural (it expires unpaid after an hour).
      for (let i = 0; i < 4; i++) await fx.skip(5 * 60_000);
      const watching = await handle.query(getPaymentQuery);
      expect(watching.status).toBe('CLOSING');
      expect(
        auditOccurrences(watching.audit).filter((e) => e.cause.startsWith('continued as new')).length,
      ).toBeGreaterThanOrEqual(2);
      expect((await handle.describe()).runId).not.toBe(firstRun);
      // The customer pays on the old page: the run then watching refunds it.
      expect((await payOnCheckout(fx.sandbox, state.redirectUrl!, 'mastercard-challenge')).status).toBe('PROCESSED');
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'CANCELLED', closing: { reason: 'MERCHANT_CANCEL' } });
      expect(result.amountRefunded).toEqual({ value: 5000, currency: 'INR' });
      expect(fx.sandbox.order(state.pluralOrderId!)?.status).toBe('FULLY_REFUNDED');
      expectMoneyAgrees(fx.sandbox, result, 0);
    });
  });

  it('challenge sale: approved on the old challenge page, refunded, CANCELLED', async () => {
    await fx.withWorker(async () => {
      const { handle, state, paymentId } = await challenge(false);
      await cancel(handle);
      await waitForStatus(handle, 'CLOSING');
      expect((await authenticateAtSandbox(fx.sandbox, paymentId)).status).toBe('PROCESSED');
      const result = await handle.result();
      expect(result.status).toBe('CANCELLED');
      expect(result.amountRefunded).toEqual({ value: 5000, currency: 'INR' });
      expect(fx.sandbox.order(state.pluralOrderId!)?.status).toBe('FULLY_REFUNDED');
      expectMoneyAgrees(fx.sandbox, result, 0);
    });
  });

  it('challenge pre-auth: the late authorization is cancelled at Plural, CANCELLED', async () => {
    await fx.withWorker(async () => {
      const { handle, state, paymentId } = await challenge(true);
      await cancel(handle);
      await waitForStatus(handle, 'CLOSING');
      expect((await authenticateAtSandbox(fx.sandbox, paymentId)).status).toBe('AUTHORIZED');
      const result = await handle.result();
      expect(result.status).toBe('CANCELLED');
      expect(result.refunds).toEqual([]);
      expect(fx.sandbox.order(state.pluralOrderId!)?.status).toBe('CANCELLED');
      expectMoneyAgrees(fx.sandbox, result, 0);
    });
  });

  it('challenge pre-auth: a late authorization whose cancel Plural keeps failing is tried again on its own', async () => {
    await fx.withWorker(async () => {
      const fast = { activityMaxAttempts: 2, activityRetryInitialIntervalMs: 100, activityRetryMaximumIntervalMs: 100 };
      const handle = await startPayment(
        fx,
        cardInput(newReference('chm'), await putCard(fx.vault, CARDS.challenge), { preAuth: true, limits: fast }),
      );
      const state = await waitForStatus(handle, 'AWAITING_CHALLENGE');
      await cancel(handle);
      await waitForStatus(handle, 'CLOSING');
      await whilePluralFails(fx, ['/cancel'], async () => {
        expect((await authenticateAtSandbox(fx.sandbox, state.pluralPaymentIds[0]!)).status).toBe('AUTHORIZED');
        const parked = await waitForState(handle, (s) => s.parked?.operation === 'cancel', 'the late cancel parked');
        expect(parked.status).toBe('CLOSING');
      });
      // Plural answers again; no operator acts: the next try comes after the longest reconciliation delay, not never
      // (a payment that closed before it was AUTHORIZED has no authorization expiry to bound the wait).
      await fx.skip(6 * 60_000);
      const result = await handle.result();
      expect(result.status).toBe('CANCELLED');
      expect(result.parked).toBeUndefined();
      expect(fx.sandbox.order(state.pluralOrderId!)?.status).toBe('CANCELLED');
      expectMoneyAgrees(fx.sandbox, result, 0);
    });
  }, 60_000);

  it("challenge pre-auth: a late authorization's cancel parked past its retries ends with Plural's ORDER_CANCELLED webhook", async () => {
    await fx.withWorker(async () => {
      const fast = { activityMaxAttempts: 2, activityRetryInitialIntervalMs: 100, activityRetryMaximumIntervalMs: 100 };
      const handle = await startPayment(
        fx,
        cardInput(newReference('chm-wh'), await putCard(fx.vault, CARDS.challenge), {
          preAuth: true,
          limits: fast,
          durations: { authorizationLifetimeMs: 120_000, autoCancelAfterMs: 60_000, reconcileMaxDelayMs: 25_000 },
        }),
      );
      const state = await waitForStatus(handle, 'AWAITING_CHALLENGE');
      const orderId = state.pluralOrderId!;
      await cancel(handle);
      await waitForStatus(handle, 'CLOSING');
      // Plural cannot be reached to cancel the late authorization: tried again until an authorization's lifetime from
      // when it was seen, then parked for an operator.
      await whilePluralFails(fx, ['/cancel'], async () => {
        expect((await authenticateAtSandbox(fx.sandbox, state.pluralPaymentIds[0]!)).status).toBe('AUTHORIZED');
        await waitForState(handle, (s) => s.parked?.operation === 'cancel', 'the late cancel parked');
        await fx.skip(130_000);
        await waitForState(
          handle,
          (s) => {
            // Tried again until an authorization's lifetime from when the late authorization was first seen.
            const seen = s.audit.find((e) => e.cause.startsWith('Plural authorized the payment while it was closing'));
            return (
              s.parked?.operation === 'cancel' &&
              seen !== undefined &&
              Date.parse(s.parked.since) >= Date.parse(seen.at) + 120_000
            );
          },
          'the late cancel parked past its retries',
        );
      });
      // Plural cancels the order after all (its dashboard, say); its webhook ends the park and the payment.
      const result = await cancelledAtPlural(fx, handle, orderId, 'msg_late_cancelled_while_parked');
      expect(result.status).toBe('CANCELLED');
      expect(result.parked).toBeUndefined();
      expectMoneyAgrees(fx.sandbox, result, 0);
    });
  }, 60_000);

  it('challenge pre-auth: a late authorization whose cancel Plural answers without effect is cancelled again on the backoff', async () => {
    const cancelAt: number[] = [];
    // Plural answers the first two cancels with its order as it was (AUTHORIZED), then cancels.
    const { cancelOrder } = cancelsWithoutEffect(fx, 2, (_input, at) => cancelAt.push(at));
    await fx.withWorker(
      async () => {
        const handle = await startPayment(
          fx,
          cardInput(newReference('chm-lag'), await putCard(fx.vault, CARDS.challenge), { preAuth: true }),
        );
        const state = await waitForStatus(handle, 'AWAITING_CHALLENGE');
        await cancel(handle);
        await waitForStatus(handle, 'CLOSING');
        expect((await authenticateAtSandbox(fx.sandbox, state.pluralPaymentIds[0]!)).status).toBe('AUTHORIZED');
        const result = await handle.result();
        expect(result.status).toBe('CANCELLED');
        expect(cancelAt).toHaveLength(3);
        const tries = auditOccurrences(result.audit).filter((e) =>
          e.cause.startsWith('Plural authorized the payment while it was closing'),
        );
        expect(tries).toHaveLength(3);
        // Each cancel again waits for the closing phase's next look (its backoff), never comes at once.
        for (let i = 1; i < cancelAt.length; i++) {
          expect(cancelAt[i]! - cancelAt[i - 1]!).toBeGreaterThanOrEqual(1_000);
        }
        expect(auditOccurrences(result.audit).filter((e) => e.cause === CANCEL_ANSWERED_AUTHORIZED_NOTE)).toHaveLength(
          1,
        );
        expect(fx.sandbox.order(state.pluralOrderId!)?.status).toBe('CANCELLED');
        expectMoneyAgrees(fx.sandbox, result, 0);
      },
      { cancelOrder },
    );
  });

  it('challenge sale: a part refunded by hand on Plural’s dashboard counts, and only the rest is refunded', async () => {
    await fx.withWorker(async () => {
      const handle = await startPayment(
        fx,
        cardInput(newReference('chm-hand'), await putCard(fx.vault, CARDS.challenge), {
          preAuth: false,
          limits: { activityMaxAttempts: 2, activityRetryInitialIntervalMs: 100, activityRetryMaximumIntervalMs: 100 },
        }),
      );
      const state = await waitForStatus(handle, 'AWAITING_CHALLENGE');
      const orderId = state.pluralOrderId!;
      await cancel(handle);
      await waitForStatus(handle, 'CLOSING');
      // The customer pays on the old page while Plural's refunds fail: the engine's refund of the 5,000 parks.
      await whilePluralFails(fx, ['/api/pay/v1/refunds/'], async () => {
        expect((await authenticateAtSandbox(fx.sandbox, state.pluralPaymentIds[0]!)).status).toBe('PROCESSED');
        await waitForState(handle, (s) => s.parked?.operation === 'refund', 'the engine’s refund parked');
      });
      // The operator refunds 1,500 by hand on Plural's dashboard (its webhook names the refund order), then gives up
      // on the engine's refund: the payment counts the 1,500 and refunds the 3,500 Plural still holds.
      await refundOnDashboard(fx, orderId, 1500);
      await operatorGiveUp(handle, 'ops@example', 'refunded part by hand');
      const result = await handle.result();
      expect(result.status).toBe('CANCELLED');
      expect(result.refunds.map((r) => [r.reason, r.amount.value, r.status])).toEqual([
        ['EXTERNAL', 1500, 'PROCESSED'],
        ['AUTO', 3500, 'PROCESSED'],
      ]);
      expect(result.amountRefunded).toEqual({ value: 5000, currency: 'INR' });
      expect(fx.sandbox.order(orderId)).toMatchObject({ status: 'FULLY_REFUNDED', refundedAmount: 5000 });
      expectMoneyAgrees(fx.sandbox, result, 0);
    });
  });

  it('with nothing paid, the payment is CANCELLED once Plural has ended the pending payment', async () => {
    await fx.withWorker(async () => {
      const { handle, state } = await challenge(false);
      await cancel(handle);
      const result = await handle.result();
      expect(result.status).toBe('CANCELLED');
      expect(result.failure).toEqual({ code: 'CANCELLED_BEFORE_AUTHORIZATION', message: 'order withdrawn' });
      expect(['ATTEMPTED', 'FAILED']).toContain(fx.sandbox.order(state.pluralOrderId!)?.status);
      expectMoneyAgrees(fx.sandbox, result, 0);
    });
  });
});

describe("after the engine's authentication window closed", () => {
  it('a late approval of a sale is refunded, and the payment ends FAILED with the money returned', async () => {
    const { result, state } = await approvedAfterWindowClosed(fx, (durations) => challenge(false, durations));
    expect(result.failure?.code).toBe('AUTHENTICATION_WINDOW_CLOSED');
    expect(result.amountCaptured).toEqual({ value: 5000, currency: 'INR' });
    expect(result.amountRefunded).toEqual({ value: 5000, currency: 'INR' });
    expect(fx.sandbox.order(state.pluralOrderId!)?.status).toBe('FULLY_REFUNDED');
    expectMoneyAgrees(fx.sandbox, result, 0);
  });
});

describe("Temporal's own cancellation of the workflow", () => {
  it('cancels an authorization at Plural instead of abandoning it, and completes CANCELLED', async () => {
    await fx.withWorker(async () => {
      const handle = await startPayment(
        fx,
        cardInput(newReference('tcancel'), await putCard(fx.vault, CARDS.nativeOtp)),
      );
      await waitForStatus(handle, 'AWAITING_OTP');
      await submitOtp(fx, handle, 'otp', CORRECT_OTP);
      const authorized = await waitForStatus(handle, 'AUTHORIZED');
      await handle.cancel();
      const result = await handle.result();
      expect(result.status).toBe('CANCELLED');
      expect((await handle.describe()).status.name).toBe('COMPLETED');
      expect(fx.sandbox.order(authorized.pluralOrderId!)?.status).toBe('CANCELLED');
      expectMoneyAgrees(fx.sandbox, result, 0);
    });
  });
});

describe('a sale Plural reports AUTHORIZED before PROCESSED', () => {
  let sfx: Fixture;
  beforeAll(async () => {
    sfx = await createFixture(code, { saleSettlement: { throughAuthorized: true, delayMs: 90_000 } });
  });
  afterAll(async () => {
    await sfx?.teardown();
  });

  /** A sale whose OTP Plural accepted, AUTHORIZED at Plural until it processes it (90 s later): PROCESSING. */
  async function processingSale(prefix: string) {
    const handle = await startPayment(
      sfx,
      cardInput(newReference(prefix), await putCard(sfx.vault, CARDS.nativeOtp), { preAuth: false }),
    );
    await waitForStatus(handle, 'AWAITING_OTP');
    await submitOtp(sfx, handle, 'otp', CORRECT_OTP);
    return { handle, processing: await waitForStatus(handle, 'PROCESSING') };
  }

  it('is PROCESSING with nothing to capture or cancel, is never cancelled, and ends PROCESSED', async () => {
    await sfx.withWorker(async () => {
      const { handle, processing } = await processingSale('sale');
      expect(processing.nextActions).toEqual([]);
      expect(sfx.sandbox.order(processing.pluralOrderId!)?.status).toBe('AUTHORIZED');
      // The cancel Update's validator refuses it: a sale Plural is processing is refunded once processed, never
      // cancelled.
      expect(await rejection(cancel(handle))).toMatchObject({ type: 'InvalidState' });
      expect((await handle.query(getPaymentQuery)).status).toBe('PROCESSING');
      const result = await handle.result();
      expect(result.status).toBe('PROCESSED');
      expect(result.audit.map((e) => e.to)).not.toContain('AUTHORIZED');
      expect(result.amountCaptured).toEqual({ value: 5000, currency: 'INR' });
      expect(sfx.sandbox.order(result.pluralOrderId!)).toMatchObject({ status: 'PROCESSED', cancelCount: 0 });
      expectMoneyAgrees(sfx.sandbox, result, 5000);
    });
  });

  it('ends CANCELLED, as Plural says, when Plural cancels the sale it was processing', async () => {
    // Plural's answers from some point on read the order CANCELLED (the sandbox never cancels a sale: this stands in).
    const real = createActivities({ plural: sfx.plural, vault: sfx.vault });
    let cancelledThere = false;
    const getOrder: typeof real.getOrder = async (input) => {
      const order = await real.getOrder(input);
      return cancelledThere ? { ...order, status: 'CANCELLED' } : order;
    };
    await sfx.withWorker(
      async () => {
        const { handle } = await processingSale('sale-void');
        cancelledThere = true;
        // The next look at the order (the reconciliation backoff, skipped) finds it cancelled: the payment ends.
        const result = await handle.result();
        expect(result.status).toBe('CANCELLED');
        expect(result.audit.filter((e) => e.from !== e.to).map((e) => e.to)).toEqual([
          'AWAITING_OTP',
          'PROCESSING',
          'CANCELLED',
        ]);
        expect(result.amountCaptured).toBeUndefined();
        expect(result.nextActions).toEqual([]);
      },
      { getOrder },
    );
  });

  it('records a dashboard refund whose webhook is the first word of the sale being processed', async () => {
    await sfx.withWorker(async () => {
      const { handle, processing } = await processingSale('sale-dash');
      const orderId = processing.pluralOrderId!;
      // Plural processes the sale and the merchant refunds part of it on the dashboard; of the webhooks, only the
      // refund's reaches the payment (the order's are lost).
      sfx.webhooks.forward = false;
      let refundOrderId: string;
      try {
        sfx.sandbox.settle(orderId);
        refundOrderId = (
          await sfx.plural.refundOrder(orderId, {
            merchant_order_reference: `dash-${orderId}`,
            order_amount: { value: 1500, currency: 'INR' },
          })
        ).order_id;
        await waitFor('the refund’s webhook', () => sfx.webhooks.received.some((w) => w.orderId === refundOrderId));
      } finally {
        sfx.webhooks.forward = true;
      }
      const webhook = sfx.webhooks.received.find((w) => w.orderId === refundOrderId)!;
      await handle.signal(webhookReceivedSignal, webhook.signal);
      const state = await waitForState(handle, (s) => s.refunds.length > 0, 'the dashboard refund recorded');
      expect(state).toMatchObject({
        status: 'PROCESSED',
        amountCaptured: { value: 5000, currency: 'INR' },
        amountRefunded: { value: 1500, currency: 'INR' },
        amountRefundable: { value: 3500, currency: 'INR' },
      });
      expect(state.refunds[0]).toMatchObject({ reason: 'EXTERNAL', refundOrderId, status: 'PROCESSED' });
      expect(sfx.sandbox.order(orderId)).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmount: 1500 });
    });
  });
});

describe('a sale Plural leaves unprocessed for days', () => {
  let lfx: Fixture;
  beforeAll(async () => {
    lfx = await createFixture(code, { saleSettlement: { throughAuthorized: true, delayMs: 30 * 24 * 3_600_000 } });
  });
  afterAll(async () => {
    await lfx?.teardown();
  });

  /** A sale whose OTP Plural accepted, PROCESSING, continuing as new from `continueAsNewAfterEvents` events. */
  async function waitingSale(prefix: string, continueAsNewAfterEvents: number) {
    const handle = await startPayment(
      lfx,
      cardInput(newReference(prefix), await putCard(lfx.vault, CARDS.nativeOtp), {
        preAuth: false,
        limits: { continueAsNewAfterEvents },
      }),
    );
    const firstRun = (await handle.describe()).runId;
    await waitForStatus(handle, 'AWAITING_OTP');
    await submitOtp(lfx, handle, 'otp', CORRECT_OTP);
    return { handle, firstRun, orderId: (await waitForStatus(handle, 'PROCESSING')).pluralOrderId! };
  }

  it('continues as new while it reads Plural’s order, and ends PROCESSED in a later run', async () => {
    await lfx.withWorker(async () => {
      // A limit a few reads long: every run of the waiting sale continues as new after them.
      const { handle, firstRun, orderId } = await waitingSale('slow-sale', 40);
      // An hour of reads on the backoff (30 s doubling to every 5 minutes), Plural's order AUTHORIZED throughout.
      for (let i = 0; i < 6; i++) await lfx.skip(10 * 60_000);
      const waiting = await handle.query(getPaymentQuery);
      expect(waiting.status).toBe('PROCESSING');
      expect(
        auditOccurrences(waiting.audit).filter((e) => e.cause.startsWith('continued as new')).length,
      ).toBeGreaterThanOrEqual(2);
      expect((await handle.describe()).runId).not.toBe(firstRun);
      expect(lfx.sandbox.order(orderId)?.status).toBe('AUTHORIZED');
      // Plural processes the sale: the run then waiting hears it and goes on to the refund window.
      lfx.sandbox.settle(orderId);
      const result = await handle.result();
      expect(result.status).toBe('PROCESSED');
      expect(result.audit.filter((e) => e.from !== e.to).map((e) => e.to)).toEqual([
        'AWAITING_OTP',
        'PROCESSING',
        'PROCESSED',
      ]);
      expect(result.amountCaptured).toEqual({ value: 5000, currency: 'INR' });
      expectMoneyAgrees(lfx.sandbox, result, 5000);
    });
    // Many short runs, each a workflow task or more: slow on a loaded machine, so a longer test timeout.
  }, 90_000);

  it('reads Plural’s order in every run before it continues as new, never continuing in a loop', async () => {
    await lfx.withWorker(async () => {
      // A limit every run starts past (as a server's own suggestion could be).
      const { handle, orderId } = await waitingSale('can-loop', 1);
      for (let i = 0; i < 3; i++) await lfx.skip(5 * 60_000);
      const waiting = await handle.query(getPaymentQuery);
      const runs = auditOccurrences(waiting.audit).filter((e) => e.cause.startsWith('continued as new')).length;
      expect(runs).toBeGreaterThanOrEqual(2);
      // One read at least per run (the Get Order after the OTP was the first run's).
      expect(waiting.reconciliations).toBeGreaterThanOrEqual(runs);
      expect(runs).toBeLessThan(30);
      lfx.sandbox.settle(orderId);
      expect((await handle.result()).status).toBe('PROCESSED');
    });
    // Many short runs, each a workflow task or more: slow on a loaded machine, so a longer test timeout.
  }, 90_000);
});

describe('a merchant reference Plural already knows', () => {
  it("fails DUPLICATE_REFERENCE and leaves the other payment's order alone, never taking its money for this one", async () => {
    // The reference's earlier payment is past Temporal's retention (or was made outside the engine): Plural still
    // holds its captured order.
    const ref = newReference('reused');
    // Started inside the worker's turn, so that it ends with it: left running, a webhook of its reaching it later
    // would wait for a worker and hold the test server's clock through the skip below.
    const earlierState = await fx.withWorker(async () => {
      const earlier = await startPayment(fx, cardInput(ref, await putCard(fx.vault, CARDS.nativeOtp)));
      await waitForStatus(earlier, 'AWAITING_OTP');
      await submitOtp(fx, earlier, 'o', CORRECT_OTP);
      const answer = await capture(earlier, 'full');
      expect(answer.outcome).toBe('CAPTURED');
      return answer.state;
    });
    await fx.skip(3 * 24 * 3_600_000);

    // A workflow id of its own: in production the earlier payment's would still be open (its refund window).
    const again = await fx.env.client.workflow.start(paymentWorkflow, {
      taskQueue: fx.taskQueue,
      workflowId: `payment:reused:${ref}`,
      args: [cardInput(ref, await putCard(fx.vault, CARDS.nativeOtp))],
    });
    const result = await fx.withWorker(() => again.result());
    expect(result.status).toBe('FAILED');
    expect(result.failure?.code).toBe('DUPLICATE_REFERENCE');
    expect(result.pluralOrderId).toBeUndefined();
    expect(result.amountCaptured).toBeUndefined();
    const order = fx.sandbox.order(earlierState.pluralOrderId!);
    expect(order).toMatchObject({ status: 'PROCESSED', capturedAmount: 5000 });
    expect(order?.payments).toHaveLength(1);
  });
});

describe('card data', () => {
  it('never appears in any workflow history of this file', async () => {
    const scans = [...(await scanHistories(fx))];
    expect(scans.length).toBeGreaterThan(5);
    expect(scans.filter((s) => s.found.length > 0)).toEqual([]);
  });
});
