/**
 * The payment paths whose histories are committed as replay fixtures (`record-histories.ts` records them on the real
 * dev server; `replay.test.ts` replays them). Each scenario runs one payment to its end in wall-clock time, so the
 * windows it waits out are short ones given in the workflow input. One more runs an idempotency key's workflow.
 */
import assert from 'node:assert/strict';
import { WorkflowUpdateStage } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { createActivities } from '../../activities';
import type { PaymentActivities } from '../../activities';
import { createTemporalIdempotencyStore } from '../../api/temporal-idempotency-store';
import { merchantEventId } from '../../merchant-webhooks';
import { callbackReceivedSignal, cancelUpdate, getPaymentQuery } from '../../workflows/definitions';
import { idempotencyWorkflowId } from '../../workflows/idempotency-definitions';
import type { PaymentWorkflowInput } from '../../workflows/definitions';
import type { paymentWorkflow } from '../../workflows/payment';
import type { SandboxOptions } from '../../plural-sandbox';
import { CARDS } from '../support/cards';
import { waitFor } from '../support/wait';
import {
  authenticateAtSandbox,
  captureRefusal,
  capturesRefused,
  refundOnDashboard,
  cancelsWithoutEffect,
  callbackSignal,
  cancel,
  capture,
  cardInput,
  CORRECT_OTP,
  laggingOrderReads,
  newReference,
  operatorGiveUp,
  operatorRetry,
  putCard,
  refund,
  startPayment,
  submitOtp,
  waitForState,
  waitForStatus,
  WRONG_OTP,
  WRONG_OTPS,
  whileOtpIsWithPlural,
  whilePluralFails,
  LOST_REFUND_PATHS,
  cancelledAtPlural,
  cancelParkedPastExpiry,
  heldCreateOrder,
  firstOtpExpires,
  gate,
  heldFirstOtp,
  queuedPastTheWindow,
} from './harness';
import type { Fixture, Gate, HeldCreateOrder, PaymentHandle } from './harness';

export interface Scenario {
  /** Runs one payment (or idempotency key) to the end of its workflow and returns its handle. */
  run(fx: Fixture): Promise<PaymentHandle | WorkflowHandle>;
  /**
   * Activities that replace real ones for this scenario, to produce a timing the sandbox cannot (they wrap the real
   * activity, which still talks to the sandbox).
   */
  activities?(fx: Fixture): Partial<PaymentActivities>;
  /** Sandbox options this scenario needs beside the recording's own (it then runs on a sandbox of its own). */
  sandbox?: SandboxOptions;
}

/**
 * A scenario's payment input: a processed payment takes refunds for 2 s here (180 days by default), so the recording
 * sees its refund window close in wall-clock time.
 */
function recInput(cardHandle: string, overrides: Partial<PaymentWorkflowInput> = {}): PaymentWorkflowInput {
  return cardInput(newReference('rec'), cardHandle, {
    ...overrides,
    durations: { refundWindowMs: 2_000, ...overrides.durations },
  });
}

/** A native-OTP pre-auth taken to AUTHORIZED and left uncaptured until its workflow ends (`durations` its own). */
async function leftUncaptured(fx: Fixture, durations: PaymentWorkflowInput['durations']): Promise<PaymentHandle> {
  const h = await startPayment(fx, recInput(await putCard(fx.vault, CARDS.nativeOtp), { durations }));
  await waitForStatus(h, 'AWAITING_OTP');
  await submitOtp(fx, h, 'right', CORRECT_OTP);
  await waitForStatus(h, 'AUTHORIZED');
  await h.result();
  return h;
}

/** Activities whose first cancel Plural answers with its order as it was (still AUTHORIZED); the next ones cancel. */
const firstCancelWithoutEffect = (fx: Fixture) => cancelsWithoutEffect(fx, 1);

/** The Create Order held by the scenario running now (set by its `activities`, released by its `run`). */
let heldOrder: HeldCreateOrder | undefined;
/** The first OTP submission held by the scenario running now (set by its `activities`, released by its `run`). */
let heldOtp: ReturnType<typeof heldFirstOtp> | undefined;

/** A card payment that reached AWAITING_OTP (`asTheApiStartsIt`: see `startPayment`). */
async function otpPayment(fx: Fixture, asTheApiStartsIt = false): Promise<PaymentHandle> {
  const h = await startPayment(fx, recInput(await putCard(fx.vault, CARDS.nativeOtp)), asTheApiStartsIt);
  await waitForStatus(h, 'AWAITING_OTP');
  return h;
}

/** Captures an AUTHORIZED pre-auth payment in full and waits for the workflow to end. */
async function captureAndFinish(h: PaymentHandle): Promise<PaymentHandle> {
  await capture(h, 'cap');
  await h.result();
  return h;
}

/** A sale processed after its OTP, in a refund window of 60 s (`overrides` beside it): its handle and Plural order. */
async function saleInRefundWindow(fx: Fixture, overrides: Partial<PaymentWorkflowInput> = {}) {
  const h = await startPayment(
    fx,
    recInput(await putCard(fx.vault, CARDS.nativeOtp), {
      preAuth: false,
      ...overrides,
      durations: { refundWindowMs: 60_000, ...overrides.durations },
    }),
  );
  await waitForStatus(h, 'AWAITING_OTP');
  await submitOtp(fx, h, 'right', CORRECT_OTP);
  const state = await waitForState(h, (s) => s.nextActions.includes('REFUND'), 'the refund window open');
  return { h, orderId: state.pluralOrderId ?? '' };
}

/** A dashboard refund of 1,500 of the sale's 5,000, recorded (`EXTERNAL`); then the merchant refunds the rest. */
async function dashboardRefundThenRest(fx: Fixture, h: PaymentHandle, orderId: string): Promise<PaymentHandle> {
  await fx.plural.refundOrder(orderId, {
    merchant_order_reference: `dash-${orderId}`,
    order_amount: { value: 1_500, currency: 'INR' },
  });
  await waitForState(h, (s) => s.refunds[0]?.reason === 'EXTERNAL', 'the dashboard refund recorded');
  assert.equal((await refund(h, 'rest')).refund.amount.value, 3_500);
  await h.result();
  return h;
}

/** A challenge payment started with `overrides`, once its challenge page is pending (AWAITING_CHALLENGE). */
async function awaitingChallenge(fx: Fixture, overrides: Partial<PaymentWorkflowInput> = {}) {
  const h = await startPayment(fx, recInput(await putCard(fx.vault, CARDS.challenge), overrides));
  const challenged = await waitForStatus(h, 'AWAITING_CHALLENGE');
  return { h, paymentId: challenged.pluralPaymentIds[0]! };
}

/** A challenge payment cancelled while its challenge page was pending: CLOSING, its challenge still open at Plural. */
async function cancelledDuringChallenge(fx: Fixture, overrides: Partial<PaymentWorkflowInput>) {
  const { h, paymentId } = await awaitingChallenge(fx, overrides);
  await cancel(h, 'rec-cancel', 'order withdrawn');
  await waitForStatus(h, 'CLOSING');
  return { h, paymentId };
}

/**
 * `h`'s first run, after `reach` has brought the payment to its long wait and it has continued as new (or 3 s have
 * passed without it: the build before a continue-as-new patch reads on in the same run).
 */
async function firstRunOnceContinued(fx: Fixture, h: PaymentHandle, reach: () => Promise<void>) {
  const firstRun = (await h.describe()).runId;
  await reach();
  const continued = async () => (await h.describe()).runId !== firstRun;
  await waitFor('the next run', continued, { timeoutMs: 3_000 }).catch(() => undefined);
  return fx.env.client.workflow.getHandle<typeof paymentWorkflow>(h.workflowId, firstRun);
}

/** Set by `sale-processing-cancelled-at-plural` once its sale is PROCESSING: Plural's Get Order then reads CANCELLED. */
let saleCancelledAtPlural = false;
/** Plural's order lagging its events, for `challenge-callback-ahead-of-the-order` (set up with its worker). */
let laggingReads: ReturnType<typeof laggingOrderReads>['reads'] | undefined;

/** Retries of a step that fails, few and quick: it parks within a second. */
const FAST_RETRIES = {
  activityMaxAttempts: 2,
  activityRetryInitialIntervalMs: 100,
  activityRetryMaximumIntervalMs: 100,
};

/** The next Get Order held until released, for `challenge-cancelled-during-the-final-read` (set up with its worker). */
let heldRead: { holdNext: boolean; gate: Gate } | undefined;

/** Activities whose next Get Order, once `heldRead.holdNext` is set, waits for `heldRead.gate` to be released. */
function heldGetOrder(fx: Fixture) {
  const real = createActivities({ plural: fx.plural, vault: fx.vault });
  const held = { holdNext: false, gate: gate() };
  heldRead = held;
  const getOrder: PaymentActivities['getOrder'] = async (input) => {
    if (held.holdNext) {
      held.holdNext = false;
      await held.gate.arrive();
    }
    return real.getOrder(input);
  };
  return { getOrder };
}

/** Activities whose Get Order lags (or fails) as `laggingReads`, set for the scenario that runs, says. */
function laggingGetOrder(fx: Fixture) {
  const { reads, getOrder } = laggingOrderReads(fx);
  laggingReads = reads;
  return { getOrder };
}

export const SCENARIOS: Record<string, Scenario> = {
  /** Native OTP (one wrong, then right), pre-auth, full capture. */
  'otp-preauth-capture': {
    run: async (fx) => {
      const h = await otpPayment(fx);
      assert.equal((await submitOtp(fx, h, 'wrong', WRONG_OTP)).outcome, 'INCORRECT');
      await submitOtp(fx, h, 'right', CORRECT_OTP);
      await waitForStatus(h, 'AUTHORIZED');
      return captureAndFinish(h);
    },
  },
  /**
   * Native OTP sent as the API sends it (with its digest): a wrong OTP sent twice while Plural is slow (the repeat joins
   * the first), the same wrong OTP a third time (answered without Plural), then the right one; full capture. Holds the
   * `otp-repeats-join` patch's marker.
   */
  'otp-repeats-join': {
    run: async (fx) => {
      const h = await otpPayment(fx);
      const send = (updateId: string, otp: string, otpDigest: string) => submitOtp(fx, h, updateId, otp, otpDigest);
      const both = await whileOtpIsWithPlural(
        fx,
        () => send('wrong', WRONG_OTP, 'otp1:wrong'),
        () => send('wrong-again', WRONG_OTP, 'otp1:wrong'),
      );
      assert.deepEqual(
        both.map((a) => [a.outcome, a.attemptsLeft]),
        [
          ['INCORRECT', 2],
          ['INCORRECT', 2],
        ],
      );
      assert.equal((await send('wrong-third', WRONG_OTP, 'otp1:wrong')).attemptsLeft, 2);
      assert.equal((await send('right', CORRECT_OTP, 'otp1:right')).outcome, 'ACCEPTED');
      await waitForStatus(h, 'AUTHORIZED');
      return captureAndFinish(h);
    },
  },
  /**
   * Native OTP, pre-auth, full capture, started as the API starts a payment: search attributes at start, and only
   * those that change upserted (`searchAttributeChangesOnly`).
   */
  'otp-preauth-capture-api-start': {
    run: async (fx) => {
      const h = await otpPayment(fx, true);
      await submitOtp(fx, h, 'right', CORRECT_OTP);
      await waitForStatus(h, 'AUTHORIZED');
      return captureAndFinish(h);
    },
  },
  /** Challenge page, sale (no pre-auth), completed by the callback; with a return URL and metadata in its state. */
  'challenge-callback-sale': {
    run: async (fx) => {
      const { h, paymentId } = await awaitingChallenge(fx, {
        preAuth: false,
        returnUrl: 'https://shop.example/return?cart=7',
        merchantMetadata: { cart_id: 'cart-7' },
      });
      const acs = await authenticateAtSandbox(fx.sandbox, paymentId);
      await h.signal(callbackReceivedSignal, callbackSignal(acs.callback.fields));
      await h.result();
      return h;
    },
  },
  /**
   * Challenge never completed: reconciliation rounds, CLOSING when the (6 s) window closes, then FAILED once Plural
   * has timed the pending payment out (the recorder's sandbox does after 8 s).
   */
  'challenge-abandoned': {
    run: async (fx) => {
      const h = await startPayment(
        fx,
        recInput(await putCard(fx.vault, CARDS.challenge), {
          preAuth: false,
          durations: {
            challengeWindowMs: 6_000,
            reconcileInitialDelayMs: 1_000,
            reconcileMaxDelayMs: 2_000,
            closingReconcileMaxDelayMs: 2_000,
          },
        }),
      );
      await h.result();
      return h;
    },
  },
  /** A sale cancelled while the customer is on the challenge page, approved there anyway: refunded, CANCELLED. */
  'challenge-sale-cancelled-then-paid': {
    run: async (fx) => {
      const { h, paymentId } = await cancelledDuringChallenge(fx, {
        preAuth: false,
        durations: { reconcileInitialDelayMs: 1_000, closingReconcileMaxDelayMs: 2_000 },
      });
      await authenticateAtSandbox(fx.sandbox, paymentId);
      await h.result();
      return h;
    },
  },
  /**
   * Pre-auth cancelled while the challenge was pending, then authorized on the old page; Plural fails the cancel of
   * that late authorization until it parks, and the cancel is tried again on its own (after 2 s here).
   */
  'challenge-preauth-late-cancel-retried': {
    run: async (fx) => {
      const { h, paymentId } = await cancelledDuringChallenge(fx, {
        preAuth: true,
        durations: { reconcileInitialDelayMs: 1_000, reconcileMaxDelayMs: 2_000, closingReconcileMaxDelayMs: 2_000 },
        limits: { activityMaxAttempts: 2 },
      });
      fx.sandbox.setFaults({ errorRate: 1, paths: ['/cancel'] });
      try {
        await authenticateAtSandbox(fx.sandbox, paymentId);
        await waitForState(h, (x) => x.parked?.operation === 'cancel', 'the late cancel parked');
      } finally {
        fx.sandbox.setFaults({ errorRate: 0, paths: [] });
      }
      await h.result();
      return h;
    },
  },
  /**
   * Sale cancelled while its challenge was pending, then paid on the old page; the engine refunds it and Plural keeps
   * the refund PENDING until it settles it (the webhook confirms the parent order first): the payment ends only once
   * the refund is confirmed.
   */
  'challenge-sale-cancelled-refund-pending': {
    sandbox: { refundPendingMs: 24 * 3600_000 },
    run: async (fx) => {
      const { h, paymentId } = await cancelledDuringChallenge(fx, {
        preAuth: false,
        durations: { reconcileInitialDelayMs: 1_000, closingReconcileMaxDelayMs: 2_000 },
      });
      await authenticateAtSandbox(fx.sandbox, paymentId);
      const refunding = await waitForState(h, (x) => x.refunds[0]?.status === 'PENDING', 'the refund PENDING');
      fx.sandbox.settle(refunding.refunds[0]!.refundOrderId!);
      await h.result();
      return h;
    },
  },
  /** Pre-auth left uncaptured: cancelled automatically (after 2 s here) before the authorization expires. */
  'otp-preauth-auto-cancel': {
    run: (fx) => leftUncaptured(fx, { autoCancelAfterMs: 2_000 }),
  },
  /**
   * Pre-auth left uncaptured whose automatic cancel Plural cannot take: parked, tried again until the authorization
   * expires (4 s here), then parked for an operator; Plural cancels the order on its own and its ORDER_CANCELLED
   * webhook, confirmed while the cancel is parked, ends the payment (the `parked-cancel-confirms-events` patch).
   */
  'otp-preauth-cancel-parked-past-expiry': {
    run: async (fx) => {
      const h = await startPayment(
        fx,
        recInput(await putCard(fx.vault, CARDS.nativeOtp), {
          durations: { autoCancelAfterMs: 2_000, authorizationLifetimeMs: 4_000, reconcileMaxDelayMs: 1_000 },
          limits: FAST_RETRIES,
        }),
      );
      await waitForStatus(h, 'AWAITING_OTP');
      await submitOtp(fx, h, 'right', CORRECT_OTP);
      const { pluralOrderId } = await waitForStatus(h, 'AUTHORIZED');
      const orderId = pluralOrderId!;
      await whilePluralFails(fx, ['/cancel'], () => cancelParkedPastExpiry(h));
      assert.equal((await cancelledAtPlural(fx, h, orderId, 'msg_cancelled_while_parked')).status, 'CANCELLED');
      return h;
    },
  },
  /**
   * Pre-auth left uncaptured: Plural answers the automatic cancel once with its order still AUTHORIZED; the engine reads
   * the order again after the longest reconciliation delay (1 s here) and cancels again (the
   * `cancel-again-after-a-pause` patch). The build before cancelled again at once
   * (`.before-cancel-again-after-a-pause.json`).
   */
  'otp-preauth-auto-cancel-answered-authorized': {
    activities: firstCancelWithoutEffect,
    run: (fx) => leftUncaptured(fx, { autoCancelAfterMs: 2_000, reconcileMaxDelayMs: 1_000 }),
  },
  /**
   * Pre-auth cancelled while the challenge was pending, then authorized on the old page; Plural answers the cancel of
   * that late authorization once with its order still AUTHORIZED, and the closing phase cancels again at its next look
   * (the `cancel-again-after-a-pause` patch), where the build before cancelled again at once.
   */
  'challenge-preauth-late-cancel-answered-authorized': {
    activities: firstCancelWithoutEffect,
    run: async (fx) => {
      const { h, paymentId } = await cancelledDuringChallenge(fx, {
        preAuth: true,
        durations: { reconcileInitialDelayMs: 1_000, closingReconcileMaxDelayMs: 2_000 },
      });
      await authenticateAtSandbox(fx.sandbox, paymentId);
      await h.result();
      return h;
    },
  },
  /**
   * Pre-auth left uncaptured: Plural answers every automatic cancel with its order still AUTHORIZED, so the cancel parks
   * once the authorization has expired; an operator's retry asks once more, the cancel parks afresh and the retry is
   * answered then (the `operator-retry-answers-a-new-park` patch); Plural's ORDER_CANCELLED webhook ends the payment.
   */
  'otp-preauth-auto-cancel-parked-operator-retry': {
    activities: (fx) => cancelsWithoutEffect(fx, Infinity),
    run: async (fx) => {
      const h = await startPayment(
        fx,
        recInput(await putCard(fx.vault, CARDS.nativeOtp), {
          durations: { autoCancelAfterMs: 2_000, authorizationLifetimeMs: 3_000, reconcileMaxDelayMs: 1_000 },
        }),
      );
      await waitForStatus(h, 'AWAITING_OTP');
      await submitOtp(fx, h, 'right', CORRECT_OTP);
      const { pluralOrderId } = await waitForStatus(h, 'AUTHORIZED');
      await waitForState(h, (s) => s.parked?.code === 'CANCEL_WITHOUT_EFFECT', 'the cancel parked past the expiry');
      const retried = await operatorRetry(h, 'ops');
      assert.equal(retried.parked?.code, 'CANCEL_WITHOUT_EFFECT');
      assert.equal((await cancelledAtPlural(fx, h, pluralOrderId!, 'msg_cancelled_on_dashboard')).status, 'CANCELLED');
      return h;
    },
  },
  /**
   * Card sale cancelled by the merchant while Create Order runs: the payment ends CANCELLED before Create Payment, the
   * card never sent to Plural (the `cancel-before-create-payment` patch).
   */
  'card-sale-cancelled-while-the-order-opens': {
    activities: (fx) => {
      heldOrder = heldCreateOrder(fx);
      return heldOrder.activities;
    },
    run: async (fx) => {
      const h = await startPayment(fx, recInput(await putCard(fx.vault, CARDS.nativeOtp), { preAuth: false }));
      const held = heldOrder!;
      await held.holding;
      const cancelled = await h.startUpdate(cancelUpdate, {
        args: [{ reason: 'order withdrawn' }],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      held.release();
      assert.equal((await cancelled.result()).state.status, 'CANCELLED');
      await h.result();
      return h;
    },
  },
  /**
   * Native-OTP pre-auth: an OTP queued while the one before was with Plural, which refuses that one offering only a
   * resend (expired), is answered IGNORED without being sent (the `otp-held-until-a-resend` patch); the merchant then
   * cancels, and the payment ends once Plural times the pending payment out.
   */
  'otp-queued-behind-an-expired-otp': {
    activities: (fx) => firstOtpExpires(fx).activities,
    run: async (fx) => {
      const h = await otpPayment(fx);
      const [expired, queued] = await whileOtpIsWithPlural(
        fx,
        () => submitOtp(fx, h, 'expired', WRONG_OTP),
        () => submitOtp(fx, h, 'queued', CORRECT_OTP),
      );
      assert.equal(expired.outcome, 'INCORRECT');
      assert.equal(queued.outcome, 'IGNORED');
      await cancel(h, 'cancel');
      await h.result();
      return h;
    },
  },
  /**
   * Native-OTP pre-auth: the authentication window (4 s) ends while a wrong OTP is with Plural, and a resend queued
   * behind it in time is answered IGNORED without being sent (the `no-resend-after-the-window` patch); the payment
   * closes as the window's and ends once Plural times the pending payment out.
   */
  'otp-resend-queued-past-the-window': {
    sandbox: { otp: { resendAfterSeconds: 1 } },
    activities: (fx) => {
      heldOtp = heldFirstOtp(fx);
      return heldOtp.activities;
    },
    run: async (fx) => {
      const held = heldOtp!;
      const h = await startPayment(
        fx,
        recInput(await putCard(fx.vault, CARDS.nativeOtp), { durations: { otpWindowMs: 4_000 } }),
      );
      await waitForStatus(h, 'AWAITING_OTP');
      const { first, resend } = await queuedPastTheWindow(fx, h, held, 4_000, false);
      assert.equal(first.outcome, 'INCORRECT');
      assert.equal(resend.outcome, 'IGNORED');
      assert.equal(held.resent(), 0);
      await h.result();
      return h;
    },
  },
  /** A capture parked after Plural kept failing, completed by an operator retry. */
  'capture-parked-operator-retry': {
    run: async (fx) => {
      const h = await startPayment(
        fx,
        recInput(await putCard(fx.vault, CARDS.nativeOtp), {
          limits: { activityMaxAttempts: 2 },
        }),
      );
      await waitForStatus(h, 'AWAITING_OTP');
      await submitOtp(fx, h, 'right', CORRECT_OTP);
      await waitForStatus(h, 'AUTHORIZED');
      fx.sandbox.setFaults({ errorRate: 1, paths: ['/capture'] });
      try {
        await capture(h, 'cap');
        await waitForState(h, (s) => s.parked !== undefined, 'parked');
      } finally {
        fx.sandbox.setFaults({ errorRate: 0, paths: [] });
      }
      await operatorRetry(h, 'ops');
      await h.result();
      return h;
    },
  },
  /**
   * Plural refuses the engine's capture (its order stays AUTHORIZED) and the capture parks; the order is then captured
   * at Plural (its dashboard, say) and Plural's ORDER_PROCESSED webhook comes while the capture waits: the park confirms
   * it and the payment ends PROCESSED (the `parked-capture-confirms-events` patch). The build before waited for an
   * operator until the automatic cancel time (4 s here), then confirmed the queued webhook and followed the order
   * (`.before-parked-capture-confirms-events.json`).
   */
  'capture-refused-then-captured-at-plural': {
    activities: () => ({
      captureOrder: () => Promise.reject(captureRefusal()),
    }),
    run: async (fx) => {
      const h = await startPayment(
        fx,
        recInput(await putCard(fx.vault, CARDS.nativeOtp), { durations: { autoCancelAfterMs: 4_000 } }),
      );
      await waitForStatus(h, 'AWAITING_OTP');
      await submitOtp(fx, h, 'right', CORRECT_OTP);
      const { pluralOrderId } = await waitForStatus(h, 'AUTHORIZED');
      await capture(h, 'refused');
      await waitForState(h, (s) => s.parked?.operation === 'capture', 'the refused capture parked');
      await fx.plural.captureOrder(pluralOrderId!, { merchant_capture_reference: 'dashboard-capture' });
      await h.result();
      return h;
    },
  },
  /**
   * Plural refuses the capture twice, its order staying AUTHORIZED: the operator's first retry is refused again and
   * answered with the capture parked again (the `capture-retry-stays-parked` patch); the second captures.
   */
  'capture-refused-retried-refused-again': {
    activities: (fx) => ({ captureOrder: capturesRefused(fx, 2).captureOrder }),
    run: async (fx) => {
      const h = await startPayment(fx, recInput(await putCard(fx.vault, CARDS.nativeOtp)));
      await waitForStatus(h, 'AWAITING_OTP');
      await submitOtp(fx, h, 'right', CORRECT_OTP);
      await waitForStatus(h, 'AUTHORIZED');
      await capture(h, 'refused');
      await waitForState(h, (s) => s.parked?.operation === 'capture', 'the refused capture parked');
      const again = await operatorRetry(h, 'ops');
      assert.equal(again.parked?.retries, 1);
      // (The build before answered that retry while the capture looked unparked, and parked it again after.)
      await waitForState(h, (s) => s.parked?.operation === 'capture', 'the capture parked again');
      await operatorRetry(h, 'ops');
      await h.result();
      return h;
    },
  },
  /** Plural hosted checkout, pre-auth, completed by the callback, full capture. */
  'hosted-checkout-capture': {
    run: async (fx) => {
      const h = await startPayment(fx, recInput('', { method: { kind: 'hosted_checkout' } }));
      const s = await waitForStatus(h, 'AWAITING_CHALLENGE');
      const url = new URL(s.redirectUrl!);
      await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: url.searchParams.get('token')!, card: 'mastercard-challenge' }).toString(),
      });
      const paymentId = fx.sandbox.order(s.pluralOrderId!)!.payments[0]!.id;
      const acs = await authenticateAtSandbox(fx.sandbox, paymentId);
      await h.signal(callbackReceivedSignal, callbackSignal(acs.callback.fields));
      await waitForStatus(h, 'AUTHORIZED');
      return captureAndFinish(h);
    },
  },
  /** Card + points split after the balance check, native OTP, full capture. */
  'points-split-capture': {
    run: async (fx) => {
      const h = await startPayment(
        fx,
        recInput('', {
          method: {
            kind: 'card_points',
            cardHandle: await putCard(fx.vault, CARDS.nativeOtp),
            last4: '1112',
            registeredMobileNumber: '9876543210',
            customerConsent: true,
          },
        }),
      );
      await waitForStatus(h, 'AWAITING_OTP');
      await submitOtp(fx, h, 'right', CORRECT_OTP);
      await waitForStatus(h, 'AUTHORIZED');
      return captureAndFinish(h);
    },
  },
  /**
   * Plural's ORDER_AUTHORIZED webhook arrives while the OTP submission's answer is still on its way: the event waits
   * for the main body, which takes the answer, then confirms the event with Get Order; full capture.
   */
  'otp-webhook-during-answer': {
    activities: (fx) => {
      const real = createActivities({ plural: fx.plural, vault: fx.vault });
      return {
        submitOtp: async (input) => {
          const result = await real.submitOtp(input);
          // Hold the answer back until the webhook has reached the workflow, as a slow network would.
          const h = fx.env.client.workflow.getHandle<typeof paymentWorkflow>(input.workflowId);
          await waitForState(
            h,
            (s) => s.audit.some((e) => /^webhook ORDER_AUTHORIZED .* received/.test(e.cause)),
            'the webhook received',
          );
          return result;
        },
      };
    },
    run: async (fx) => {
      const h = await otpPayment(fx);
      await submitOtp(fx, h, 'right', CORRECT_OTP);
      await waitForState(h, (s) => s.otp?.lastSubmission?.outcome === 'ACCEPTED', 'the OTP answer');
      return captureAndFinish(h);
    },
  },
  /**
   * Plural accepts the OTP but its answer is lost and no webhook comes: the retried submission is refused, and
   * Get Order finds the authorization; full capture.
   */
  'otp-answer-lost-get-order': {
    run: async (fx) => {
      const h = await otpPayment(fx);
      fx.webhooks.forward = false;
      fx.sandbox.setFaults({ errorAfterCommitRate: 1, paths: ['/otp/submit'] });
      try {
        // The Update answers once the lost answer is settled (through Get Order).
        await submitOtp(fx, h, 'lost', CORRECT_OTP);
      } finally {
        fx.sandbox.setFaults({ errorAfterCommitRate: 0, paths: [] });
        fx.webhooks.forward = true;
      }
      await waitForStatus(h, 'AUTHORIZED');
      return captureAndFinish(h);
    },
  },
  /**
   * A sale processed after the OTP, refunded by the merchant in two parts: a partial refund, then the rest, after
   * which nothing is left and the workflow completes without waiting out its window.
   */
  'otp-sale-refunds': {
    run: async (fx) => {
      const { h } = await saleInRefundWindow(fx);
      assert.equal((await refund(h, 'part', { value: 2_000, currency: 'INR' })).refund.status, 'PROCESSED');
      assert.equal((await refund(h, 'rest')).refund.status, 'PROCESSED');
      await h.result();
      return h;
    },
  },
  /**
   * A sale in its refund window, its history past the continue-as-new limit, refunded in part by the merchant with no
   * webhook coming: the window wakes once the refund's Update has finished and continues as new (the
   * `refund-window-wakes-to-continue` patch). The build before waited for the next event instead: there, after 3 s,
   * a second refund's webhook wakes it (`.before-wakes-to-continue.json`). The history is the first run's.
   */
  'otp-sale-refund-continues-quietly': {
    run: async (fx) => {
      const { h } = await saleInRefundWindow(fx, { limits: { continueAsNewAfterEvents: 20 } });
      const firstRun = (await h.describe()).runId;
      const continued = async () => (await h.describe()).runId !== firstRun;
      fx.webhooks.forward = false;
      try {
        assert.equal((await refund(h, 'part', { value: 2_000, currency: 'INR' })).refund.status, 'PROCESSED');
        await waitFor('the next run', continued, { timeoutMs: 3_000 }).catch(() => undefined);
      } finally {
        fx.webhooks.forward = true;
      }
      if (!(await continued())) {
        assert.equal((await refund(h, 'more', { value: 1_000, currency: 'INR' })).refund.status, 'PROCESSED');
        await waitFor('the next run', continued);
      }
      return fx.env.client.workflow.getHandle<typeof paymentWorkflow>(h.workflowId, firstRun);
    },
  },
  /**
   * Create Order parked (Plural down) and no operator: the step waits only until the customer's authentication window
   * has passed (short here), then the payment fails GATEWAY_UNAVAILABLE (the `opening-park-ends-with-the-window` patch).
   */
  'create-order-parked-window-closed': {
    run: async (fx) => {
      const h = await startPayment(
        fx,
        recInput(await putCard(fx.vault, CARDS.challenge), {
          durations: { otpWindowMs: 2_000, challengeWindowMs: 3_000 },
          limits: FAST_RETRIES,
        }),
      );
      await whilePluralFails(fx, ['/api/pay/v1/orders'], async () => {
        await waitForState(h, (s) => s.parked?.operation === 'create_order', 'Create Order parked');
        assert.equal((await h.result()).failure?.code, 'GATEWAY_UNAVAILABLE');
      });
      return h;
    },
  },
  /**
   * A sale refunded in part on Plural's dashboard: its REFUND_PROCESSED webhook names a refund order none of the
   * payment's, which is read and recorded (`EXTERNAL`, the `external-refunds-recorded` patch); the merchant refunds
   * the rest, what Plural still holds.
   */
  'otp-sale-external-refund': {
    run: async (fx) => {
      const { h, orderId } = await saleInRefundWindow(fx);
      return dashboardRefundThenRest(fx, h, orderId);
    },
  },
  /**
   * A sale refunded in part (4,000 of 5,000) on Plural's dashboard, its webhook lost; the merchant refunds 1,000, and
   * Plural's event for that refund reads the order FULLY_REFUNDED: the memo (what a search lists) takes the 5,000
   * Plural has refunded before the payment ends (the `memo-follows-plurals-amounts` patch). The build before kept the
   * merchant's 1,000 there for good (`.before-memo-follows-plurals-amounts.json`).
   */
  'otp-sale-unseen-dashboard-refund': {
    run: async (fx) => {
      const { h, orderId } = await saleInRefundWindow(fx);
      fx.webhooks.forward = false;
      try {
        await refundOnDashboard(fx, orderId, 4_000);
      } finally {
        fx.webhooks.forward = true;
      }
      assert.equal((await refund(h, 'rest', { value: 1_000, currency: 'INR' })).outcome, 'REFUNDED');
      assert.equal((await h.result()).amountRefunded?.value, 5_000);
      return h;
    },
  },
  /**
   * A sale refunded in part on Plural's dashboard whose refund order Plural cannot find yet when its webhook comes
   * (twice: Plural's order lags its event): read again at the refund window's next looks (short here) and recorded
   * (`EXTERNAL`) once Plural has it; the merchant refunds the rest. The build before dropped it at the first "not found".
   */
  'otp-sale-external-refund-lagging': {
    activities: (fx) => {
      const real = createActivities({ plural: fx.plural, vault: fx.vault });
      let notFound = 2;
      return {
        readRefund: async (input) =>
          notFound-- > 0 ? { refundOrderId: input.refundOrderId, notFound: true } : real.readRefund(input),
      };
    },
    run: async (fx) => {
      const { h, orderId } = await saleInRefundWindow(fx, { durations: { reconcileInitialDelayMs: 200 } });
      return dashboardRefundThenRest(fx, h, orderId);
    },
  },
  /**
   * A sale Plural reports AUTHORIZED (PROCESSING) whose order Plural then cancels (Get Order stands in: the sandbox never
   * cancels a sale): the payment ends CANCELLED (the `processing-follows-plurals-cancel` patch). The build before noted
   * the move as not in its table and kept reading the order (`.before-processing-follows-cancel.json`, taken at that
   * note).
   */
  'sale-processing-cancelled-at-plural': {
    sandbox: { saleSettlement: { throughAuthorized: true, delayMs: 10 * 60_000 } },
    activities: (fx) => {
      const real = createActivities({ plural: fx.plural, vault: fx.vault });
      return {
        getOrder: async (input) => {
          const order = await real.getOrder(input);
          return saleCancelledAtPlural ? { ...order, status: 'CANCELLED' } : order;
        },
      };
    },
    run: async (fx) => {
      saleCancelledAtPlural = false;
      const h = await startPayment(
        fx,
        recInput(await putCard(fx.vault, CARDS.nativeOtp), {
          preAuth: false,
          durations: { reconcileInitialDelayMs: 200 },
        }),
      );
      await waitForStatus(h, 'AWAITING_OTP');
      await submitOtp(fx, h, 'right', CORRECT_OTP);
      await waitForStatus(h, 'PROCESSING');
      saleCancelledAtPlural = true;
      const state = await waitForState(
        h,
        (s) => s.status === 'CANCELLED' || s.audit.some((e) => e.cause.startsWith('ignored CANCELLED')),
        'Plural’s cancel followed (or ignored by the build before)',
      );
      if (state.status === 'CANCELLED') await h.result();
      return h;
    },
  },
  /**
   * A challenge pre-auth whose signed AUTHORIZED callback comes before Plural's order shows it (Get Order stands in:
   * the sandbox updates its order with the event), 2 s before its 3 s window closes: the Get Order confirming it reads
   * PENDING, and the window waits for the event's next look, 20 s later, which finds the order AUTHORIZED (the
   * `events-ahead-of-the-order-read-again` patch). The build before let the event go after that read and made its
   * final read as the window closed (`.before-events-ahead-of-the-order.json`), which found it AUTHORIZED there.
   */
  'challenge-callback-ahead-of-the-order': {
    activities: laggingGetOrder,
    run: async (fx) => {
      const { h, paymentId } = await awaitingChallenge(fx, {
        durations: { challengeWindowMs: 3_000, reconcileInitialDelayMs: 60_000 },
      });
      fx.webhooks.forward = false;
      try {
        laggingReads!.lagging = 1;
        const acs = await authenticateAtSandbox(fx.sandbox, paymentId);
        await h.signal(callbackReceivedSignal, callbackSignal(acs.callback.fields));
        // The look again comes 20 s after the callback's first read.
        await waitForState(h, (x) => x.status === 'AUTHORIZED', 'AUTHORIZED', 40_000);
      } finally {
        fx.webhooks.forward = true;
      }
      return h;
    },
  },
  /**
   * Challenge pre-auth whose customer completes the challenge in time while its webhook is lost and Plural's order
   * cannot be read: the window (3 s here) does not close on the failed last read; the order is read again until Plural
   * answers, AUTHORIZED (the `window-closes-on-an-answer` patch), and the payment is captured.
   */
  'challenge-window-closes-on-an-answer': {
    activities: laggingGetOrder,
    run: async (fx) => {
      const { h, paymentId } = await awaitingChallenge(fx, {
        durations: { challengeWindowMs: 3_000, reconcileInitialDelayMs: 1_000, reconcileMaxDelayMs: 2_000 },
        limits: FAST_RETRIES,
      });
      fx.webhooks.forward = false;
      try {
        laggingReads!.down = true;
        await authenticateAtSandbox(fx.sandbox, paymentId);
        await waitForState(
          h,
          (x) => x.audit.some((e) => e.cause.startsWith("Plural's order could not be read as the window closed")),
          'reading again as the window closed',
        );
        laggingReads!.down = false;
        await waitForStatus(h, 'AUTHORIZED');
      } finally {
        laggingReads!.down = false;
        fx.webhooks.forward = true;
      }
      return captureAndFinish(h);
    },
  },
  /**
   * Challenge pre-auth whose merchant cancels during the authentication window's final Get Order (the window 3 s here,
   * no reconciliation before it; the read held until the cancel is in): the payment closes as the merchant's cancel
   * and ends CANCELLED once Plural times its pending payment out (the `window-end-honours-a-cancel` patch). The build
   * before closed it as the window's and ended it FAILED (`.before-window-end-honours-a-cancel.json`).
   */
  'challenge-cancelled-during-the-final-read': {
    activities: heldGetOrder,
    run: async (fx) => {
      const { h } = await awaitingChallenge(fx, {
        durations: { challengeWindowMs: 3_000, reconcileInitialDelayMs: 5_000 },
      });
      heldRead!.holdNext = true;
      await heldRead!.gate.holding;
      const cancelled = await h.startUpdate(cancelUpdate, {
        args: [{ reason: 'order withdrawn' }],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      heldRead!.gate.release();
      await cancelled.result();
      // CANCELLED (FAILED on the build before).
      assert.ok(['CANCELLED', 'FAILED'].includes((await h.result()).status));
      return h;
    },
  },
  /**
   * A sale Plural leaves AUTHORIZED (PROCESSING), its history past a low continue-as-new limit: the run continues as
   * new while it reads Plural's order (the `processing-sale-continues-as-new` patch). The build before read on in the
   * same run (`.before-processing-sale-continues-as-new.json`, taken after 3 s of reads). The history is the first
   * run's.
   */
  'sale-processing-continues-as-new': {
    sandbox: { saleSettlement: { throughAuthorized: true, delayMs: 10 * 60_000 } },
    run: async (fx) => {
      const h = await startPayment(
        fx,
        recInput(await putCard(fx.vault, CARDS.nativeOtp), {
          preAuth: false,
          durations: { reconcileInitialDelayMs: 200 },
          limits: { continueAsNewAfterEvents: 40 },
        }),
      );
      return firstRunOnceContinued(fx, h, async () => {
        await waitForStatus(h, 'AWAITING_OTP');
        await submitOtp(fx, h, 'right', CORRECT_OTP);
        await waitForStatus(h, 'PROCESSING');
      });
    },
  },
  /**
   * A hosted checkout cancelled before the customer pays, its link open at Plural, its history past a low
   * continue-as-new limit: the closing watch continues as new while it reads Plural's order (the
   * `closing-watch-continues-as-new` patch). The build before read on in the same run
   * (`.before-closing-watch-continues-as-new.json`, taken after 3 s of reads). The history is the first run's.
   */
  'hosted-checkout-closing-continues-as-new': {
    run: async (fx) => {
      const h = await startPayment(
        fx,
        recInput('', {
          method: { kind: 'hosted_checkout' },
          durations: { reconcileInitialDelayMs: 200 },
          limits: { continueAsNewAfterEvents: 40 },
        }),
      );
      return firstRunOnceContinued(fx, h, async () => {
        await waitForStatus(h, 'AWAITING_CHALLENGE');
        await cancel(h, 'rec-cancel', 'order withdrawn');
        await waitForStatus(h, 'CLOSING');
      });
    },
  },
  /**
   * A challenge sale cancelled, then paid on the old page while Plural's refunds fail: the engine's refund of the 5,000
   * parks; the operator refunds 1,500 by hand on Plural's dashboard (its webhook names the refund order) and gives up
   * on the engine's refund: the payment records the 1,500 (`EXTERNAL`) and refunds the 3,500 left, CANCELLED (the
   * `closing-counts-named-refunds` patch). The build before refunded the 5,000 again, Plural refused it, and it parked
   * again (`.before-closing-counts-named-refunds.json`, taken there).
   */
  'challenge-sale-closing-hand-refund': {
    run: async (fx) => {
      const { h, paymentId } = await cancelledDuringChallenge(fx, {
        preAuth: false,
        limits: FAST_RETRIES,
      });
      const orderId = (await h.query(getPaymentQuery)).pluralOrderId ?? '';
      await whilePluralFails(fx, ['/api/pay/v1/refunds/'], async () => {
        await authenticateAtSandbox(fx.sandbox, paymentId);
        await waitForState(h, (s) => s.parked?.operation === 'refund', 'the engine’s refund parked');
      });
      await refundOnDashboard(fx, orderId, 1_500);
      await operatorGiveUp(h, 'ops', 'refunded part by hand');
      const state = await waitForState(
        h,
        (s) =>
          s.status !== 'CLOSING' ||
          s.audit.filter((e) => e.cause.startsWith('refund parked for an operator')).length > 1,
        'the rest refunded (or, with the build before, the whole refused)',
      );
      if (state.status !== 'CLOSING') await h.result();
      return h;
    },
  },
  /**
   * A sale's refund taken by Plural whose every answer is lost: parked; the operator gives up, and the refund is found
   * at Plural by its reference and recorded PROCESSED (the `refund-give-up-asks-plural` patch); the rest is refunded.
   */
  'refund-parked-give-up': {
    run: async (fx) => {
      const { h } = await saleInRefundWindow(fx, {
        limits: FAST_RETRIES,
      });
      fx.sandbox.setFaults({ errorAfterCommitRate: 1, paths: LOST_REFUND_PATHS });
      try {
        assert.equal((await refund(h, 'lost', { value: 2_000, currency: 'INR' })).outcome, 'PARKED');
      } finally {
        fx.sandbox.setFaults({ errorAfterCommitRate: 0, paths: [] });
      }
      await operatorGiveUp(h, 'ops', 'gateway outage');
      assert.equal((await waitForState(h, (s) => s.refunds[0]?.status === 'PROCESSED', 'found')).parked, undefined);
      assert.equal((await refund(h, 'rest')).refund.status, 'PROCESSED');
      await h.result();
      return h;
    },
  },
  /**
   * Native OTP pre-auth with a merchant webhook endpoint: captured, refunded in full; each status change and the refund
   * go through the outbox (the merchant's endpoint accepts each event on its first attempt).
   */
  'otp-preauth-merchant-webhooks': {
    run: async (fx) => {
      const h = await startPayment(
        fx,
        recInput(await putCard(fx.vault, CARDS.nativeOtp), { webhookEndpointIds: ['default'] }),
      );
      await waitForStatus(h, 'AWAITING_OTP');
      await submitOtp(fx, h, 'right', CORRECT_OTP);
      await waitForStatus(h, 'AUTHORIZED');
      await capture(h, 'cap');
      await waitForState(h, (s) => s.nextActions.includes('REFUND'), 'the refund window open');
      assert.equal((await refund(h, 'all')).refund.status, 'PROCESSED');
      await h.result();
      return h;
    },
    // The merchant's endpoint: answers 204 at once (the real activity's HTTP is tested elsewhere).
    activities: () => ({
      deliverMerchantEvent: (d) =>
        Promise.resolve({ webhookId: merchantEventId(d.workflowId, d.event.sequence), status: 204 }),
    }),
  },
  /** Three wrong OTPs: Plural refuses the third and fails the payment, which Get Order confirms. */
  'otp-attempts-exhausted': {
    run: async (fx) => {
      const h = await otpPayment(fx);
      for (const [i, otp] of WRONG_OTPS.entries()) await submitOtp(fx, h, `wrong-${i + 1}`, otp);
      await h.result();
      return h;
    },
  },
  /**
   * An idempotency key (remembered 2 s here, 24 h by default): claimed, claimed again while in progress, released
   * bound to its request, claimed again and completed, replayed, refused to another request, then expired.
   */
  'idempotency-key': {
    run: async (fx) => {
      const store = createTemporalIdempotencyStore({
        client: fx.env.client,
        taskQueue: fx.taskQueue,
        retentionMs: 2_000,
      });
      const id = idempotencyWorkflowId('default', `${'ab'.repeat(28)}${Date.now().toString(16).slice(-8)}`);
      const claim = (claimId: string, fingerprint = 'ik1:recorded') =>
        store.claim(id, 'default', { claimId, fingerprint, leaseMs: 60_000 });
      assert.equal((await claim('c1')).outcome, 'CLAIMED');
      assert.equal((await claim('c2')).outcome, 'IN_PROGRESS');
      assert.equal(await store.release(id, { claimId: 'c1', keepBinding: true }), true);
      assert.equal((await claim('c3')).outcome, 'CLAIMED');
      const response = { status: 201, body: { object: 'payment', status: 'AWAITING_OTP' }, location: '/v1/payments/x' };
      assert.equal(await store.complete(id, { claimId: 'c3', fingerprint: 'ik1:recorded', response }), true);
      assert.deepEqual(await claim('c4'), { outcome: 'COMPLETED', response });
      assert.equal((await claim('c5', 'ik1:another')).outcome, 'MISMATCH');
      const h = fx.env.client.workflow.getHandle(id);
      await h.result();
      return h;
    },
  },
};
