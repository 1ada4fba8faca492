/**
 * Phase 1, open the order: validate the input, create the order (or the hosted checkout link) and the payment at
 * Plural, and send the customer to authenticate (native OTP when the card supports it, else the challenge page).
 * Leaves the payment awaiting the customer, authorized, or terminal.
 */
import { patched } from '@temporalio/workflow';
import { isoAt, nowMs } from '../clock';
import { CLOSING_REASON, ENGINE_FAILURE_CODE, PAYMENT_STATUS } from '../definitions';
import type { Money } from '../definitions';
import { RECONCILE_TRIGGER } from '../metrics';
import { PATCH } from '../patches';
import type { PaymentRun } from '../run';
import type { FailureInfo } from '../steps';
import { closingReasonOf } from './authenticate';

export async function openOrder(run: PaymentRun): Promise<void> {
  const { input, durations, limits, payment, steps, workflowId } = run;
  const { acts } = steps;
  const method = input.method;
  payment.upsertSearchAttributes();
  if (!Number.isSafeInteger(input.amount.value) || input.amount.value <= 0) {
    payment.fail('INVALID_AMOUNT', `amount ${input.amount.value} must be a positive integer of minor units`, 'input');
    return;
  }
  const badDuration = Object.entries(durations).find(([, ms]) => !Number.isFinite(ms) || ms <= 0);
  if (badDuration) {
    payment.fail('INVALID_DURATIONS', `duration ${badDuration[0]} must be a positive number of milliseconds`, 'input');
    return;
  }
  if (durations.autoCancelAfterMs >= durations.authorizationLifetimeMs) {
    payment.fail(
      'INVALID_DURATIONS',
      `autoCancelAfterMs ${durations.autoCancelAfterMs} must be below authorizationLifetimeMs ${durations.authorizationLifetimeMs}`,
      'input',
    );
    return;
  }
  const orderInput = {
    workflowId,
    merchantOrderReference: input.merchantOrderReference,
    amount: input.amount,
    preAuth: input.preAuth,
    notBefore: payment.s.createdAt,
    customer: input.customer,
    callbackUrl: input.callbackUrl,
    failureCallbackUrl: input.failureCallbackUrl,
    notes: input.notes,
    merchantMetadata: input.merchantMetadata,
  };
  const rejectAndFail = (f: FailureInfo): 'stop' => {
    payment.fail(f.code, f.message, `rejected by Plural (${f.type})`);
    return 'stop';
  };
  // A step that parks here waits for an operator only until the customer's authentication window, counted from the
  // payment's start, has passed: the customer has left by then and the card hand-off has expired (see `ended`).
  // Whether the deadline applies is decided at the first park: a payment that parked here under the build before (no
  // marker) keeps waiting for the operator, also when a retry of theirs parks it again.
  const windowMs =
    method.kind === 'hosted_checkout'
      ? durations.checkoutWindowMs
      : Math.max(durations.otpWindowMs, durations.challengeWindowMs);
  const openBy = (Date.parse(payment.s.createdAt) || nowMs()) + windowMs;
  let deadlineApplies: boolean | undefined;
  const parkUntil = (): number | undefined => {
    deadlineApplies ??= payment.s.parked === undefined && patched(PATCH.OPENING_PARK_ENDS_WITH_THE_WINDOW);
    return deadlineApplies ? openBy : undefined;
  };
  /**
   * The order could not be opened: an operator gave up on the parked step, or its deadline passed. Returned, not
   * awaited: the give-up's path takes no more microtask turns than it did before the deadline existed.
   */
  const ended = (): Promise<void> | void =>
    steps.parkDeadlinePassed
      ? windowClosedWhileParked(run, paymentAttempted)
      : cancelledWhileParked(run, paymentAttempted);
  /** Create Payment was called (from then on Plural's order may hold a payment of the engine's). */
  let paymentAttempted = false;

  if (method.kind === 'hosted_checkout') {
    const link = await steps.run(
      'create_order',
      () => acts.createCheckoutLink(orderInput),
      rejectAndFail,
      undefined,
      parkUntil,
    );
    if (!link) return ended();
    payment.setOrderId(link.orderId);
    payment.s.redirectUrl = link.redirectUrl;
    payment.advance(PAYMENT_STATUS.AWAITING_CHALLENGE, 'hosted checkout link created; customer redirected to Plural');
    return;
  }

  if (method.kind === 'card_points' && !method.customerConsent) {
    payment.fail(
      ENGINE_FAILURE_CODE.POINTS_CONSENT_REQUIRED,
      'paying with reward points needs the customer explicit consent (customerConsent: true)',
      'input',
    );
    return;
  }

  const cardLookup =
    method.kind === 'card' || method.kind === 'card_points'
      ? { cardHandle: method.cardHandle, amount: input.amount.value }
      : undefined;
  const order = await steps.run(
    'create_order',
    () => acts.createOrder({ ...orderInput, ...(cardLookup !== undefined ? { thenLookupCard: cardLookup } : {}) }),
    rejectAndFail,
    undefined,
    parkUntil,
  );
  if (!order) return ended();
  payment.applyOrder(order, 'order created');
  if (payment.terminal) return;

  let nativeOtp = false;
  let pointsAmount: Money | undefined;
  if (cardLookup !== undefined) {
    // Looked up by Create Order's activity when it could (one workflow step fewer); else a step of its own (and so in
    // every history from before that).
    const card =
      order.card ??
      (await steps.run('create_payment', () => acts.lookupCard(cardLookup), rejectAndFail, undefined, parkUntil));
    if (!card) return ended();
    nativeOtp = card.nativeOtpSupported;
  }
  if (method.kind === 'card_points') {
    const balance = await steps.run(
      'create_payment',
      () =>
        acts.checkPointsBalance({
          cardHandle: method.cardHandle,
          last4: method.last4,
          registeredMobileNumber: method.registeredMobileNumber,
          amount: input.amount,
        }),
      rejectAndFail,
      undefined,
      parkUntil,
    );
    if (!balance) return ended();
    const redeemable = Math.min(balance.redeemable.value, input.amount.value);
    if (!balance.eligible || redeemable <= 0 || balance.redeemable.currency !== input.amount.currency) {
      payment.fail(
        ENGINE_FAILURE_CODE.POINTS_NOT_ELIGIBLE,
        'the card has no redeemable reward points for this amount',
        'points balance check',
      );
      return;
    }
    pointsAmount = { value: redeemable, currency: input.amount.currency };
    payment.s.split = {
      card: { value: input.amount.value - redeemable, currency: input.amount.currency },
      points: pointsAmount,
    };
    payment.note(`points balance allows ${redeemable} of ${input.amount.value} in points`);
  }

  const instrument =
    method.kind === 'card'
      ? { kind: 'card' as const, cardHandle: method.cardHandle, save: method.save === true }
      : method.kind === 'card_token'
        ? { kind: 'card_token' as const, tokenId: method.tokenId, cvvHandle: method.cvvHandle }
        : method.kind === 'network_token'
          ? { kind: 'network_token' as const, handle: method.handle, last4: method.last4 }
          : {
              kind: 'card_points' as const,
              cardHandle: method.cardHandle,
              last4: method.last4,
              registeredMobileNumber: method.registeredMobileNumber,
              pointsAmount: pointsAmount ?? { value: 0, currency: input.amount.currency },
            };
  // A cancel that came while the order was opened (the merchant's, or an operator's give-up sent while a retried step
  // ran) is acted on before the card goes to Plural: no payment is made there, no OTP sent to the customer. Payments
  // that went on to Create Payment under the build before replay so.
  if (run.inbox.cancel !== undefined && patched(PATCH.CANCEL_BEFORE_CREATE_PAYMENT)) {
    return cancelledBeforePayment(run);
  }
  const orderId = order.orderId;
  paymentAttempted = true;
  const created = await steps.run(
    'create_payment',
    (afterOperatorRetry) =>
      acts.createPayment({
        workflowId,
        orderId,
        amount: input.amount,
        preAuth: input.preAuth,
        instrument,
        deviceInfo: input.deviceInfo,
        ...(afterOperatorRetry ? { retried: true } : {}),
        ...(nativeOtp ? { thenGenerateOtp: true } : {}),
      }),
    rejectAndFail,
    undefined,
    parkUntil,
  );
  if (!created) return ended();
  payment.s.pluralPaymentIds = created.order.payments.map((p) => p.id);
  payment.s.challengeUrl = created.challengeUrl;
  payment.cardPaymentId = created.cardPaymentId;
  payment.applyOrder(created.order, 'payment created');
  if (payment.terminal || payment.status === PAYMENT_STATUS.AUTHORIZED) return;

  if (nativeOtp && payment.cardPaymentId !== undefined) {
    const paymentId = payment.cardPaymentId;
    // Generated by Create Payment's activity when it could (one workflow step fewer); else a step of its own (and so
    // in every history from before that).
    const otp =
      created.otp ??
      (await steps.run(
        'authenticate',
        () => acts.generateOtp({ workflowId, paymentId }),
        () => 'stop',
        undefined,
        parkUntil,
      ));
    if (otp?.eligible && otp.next.includes('SUBMIT_OTP')) {
      payment.s.otp = {
        attemptsLeft: limits.otpMaxAttempts,
        resendsLeft: otp.next.includes('RESEND_OTP') ? limits.otpMaxResends : 0,
        resendAvailableAt: isoAt(nowMs() + (otp.resendAfterSeconds ?? 0) * 1000),
      };
      payment.advance(PAYMENT_STATUS.AWAITING_OTP, 'native OTP sent to the card holder');
      return;
    }
    if (payment.terminal) return;
    if (otp === undefined && steps.parkDeadlinePassed) return ended();
    payment.note('native OTP not available; falling back to the challenge page');
  }
  // `advance`, not `moveTo`: a gateway event may have moved the payment on while the calls above ran.
  payment.advance(PAYMENT_STATUS.AWAITING_CHALLENGE, 'customer sent to the 3-D Secure challenge page');
}

/**
 * The payment stopped while its order opened (ended, or closing) before a Create Payment that succeeded, which destroys
 * the card hand-offs: they are destroyed now rather than left in the vault until their TTL. Best effort: the activity
 * never fails, and a workflow-side failure (its retries spent) is noted. `patched` only on that path.
 */
export async function discardUnusedHandOff(run: PaymentRun): Promise<void> {
  const { input, payment, steps, workflowId } = run;
  const handles = handOffHandles(input.method);
  const stopped = payment.terminal || payment.status === PAYMENT_STATUS.CLOSING;
  if (handles.length === 0 || !stopped || payment.s.pluralPaymentIds.length > 0) return;
  if (!patched(PATCH.UNUSED_HAND_OFF_DISCARDED)) return;
  try {
    await steps.chores.discardHandOff({ handles });
  } catch {
    payment.note(`the unused card hand-off of ${workflowId} could not be destroyed; it expires with its TTL`);
  }
}

/** The vault handles a payment method's card data waits under (none for the hosted checkout). */
function handOffHandles(method: PaymentRun['input']['method']): string[] {
  switch (method.kind) {
    case 'card':
    case 'card_points':
      return [method.cardHandle];
    case 'card_token':
      return [method.cvvHandle];
    case 'network_token':
      return [method.handle];
    case 'hosted_checkout':
      return [];
  }
}

/**
 * A step parked while the order opened was still parked when the customer's authentication window passed. Without an
 * order at Plural, or a payment the engine made on it, the payment fails (nothing could take money). With one,
 * Plural's order is read first, as at the end of an authentication window: Plural may have gone on without the engine
 * (a Create Payment whose answer was lost, authorized without a challenge), and then the payment follows it. Otherwise it closes until Plural's order is final
 * (an authorization Plural gives meanwhile is cancelled) and ends FAILED, as one whose customer did not authenticate
 * in time does.
 */
async function windowClosedWhileParked(run: PaymentRun, paymentAttempted: boolean): Promise<void> {
  const { payment, steps } = run;
  if (payment.terminal) return;
  const detail = "Plural could not be reached before the customer's authentication window closed";
  const cause = 'the parked step waited out the authentication window';
  if (payment.s.pluralOrderId === undefined || noPaymentOnTheOrder(paymentAttempted)) {
    payment.fail(ENGINE_FAILURE_CODE.GATEWAY_UNAVAILABLE, detail, cause);
    return;
  }
  await steps.reconcile(
    'final Get Order as the authentication window closed while parked',
    RECONCILE_TRIGGER.WINDOW_CLOSED,
  );
  if (payment.status !== PAYMENT_STATUS.CREATED) return;
  payment.close(CLOSING_REASON.AUTHENTICATION_WINDOW_CLOSED, cause, detail);
}

/**
 * Plural's (seamless) order exists but Create Payment was never called on it: only the engine could make a payment
 * there, so nothing can take money and the payment may end at once. Payments that closed on such an order under the
 * build before (a parked card lookup or points check given up on, or waited out) replay so.
 */
function noPaymentOnTheOrder(paymentAttempted: boolean): boolean {
  return !paymentAttempted && patched(PATCH.CANCEL_BEFORE_CREATE_PAYMENT);
}

/**
 * A cancel came while the order was opened, before Create Payment: no payment exists on Plural's order and, the
 * order being seamless, only the engine could make one (it will not), so nothing can take money on it. The payment
 * ends CANCELLED at once; Plural's order stays open, unused, until Plural expires it.
 */
function cancelledBeforePayment(run: PaymentRun): void {
  const { payment, inbox } = run;
  const request = inbox.takeCancel();
  const detail = request?.reason ?? 'cancelled';
  payment.s.failure = { code: ENGINE_FAILURE_CODE.CANCELLED_BEFORE_AUTHORIZATION, message: detail };
  payment.moveTo(PAYMENT_STATUS.CANCELLED, `cancelled before any payment was made on Plural's order (${detail})`);
  inbox.answerAll(request?.ids ?? [], { state: payment.snapshot() });
}

/**
 * The operator gave up on a parked step before the payment could be authorized. Without an order at Plural, or a
 * payment the engine made on it, nothing can take money; with one, the payment closes until Plural's order is final.
 */
function cancelledWhileParked(run: PaymentRun, paymentAttempted: boolean): void {
  const { payment, inbox } = run;
  if (payment.terminal) return;
  if (payment.s.pluralOrderId !== undefined && noPaymentOnTheOrder(paymentAttempted)) {
    cancelledBeforePayment(run);
    return;
  }
  const request = inbox.takeCancel();
  const detail = request?.reason ?? 'cancelled while parked';
  if (payment.s.pluralOrderId === undefined) {
    payment.s.failure = { code: ENGINE_FAILURE_CODE.CANCELLED_BEFORE_AUTHORIZATION, message: detail };
    payment.moveTo(PAYMENT_STATUS.CANCELLED, `cancelled while parked, before any order existed at Plural (${detail})`);
  } else {
    payment.close(closingReasonOf(request?.source ?? 'operator'), `cancelled while parked (${detail})`, detail);
  }
  inbox.answerAll(request?.ids ?? [], { state: payment.snapshot() });
}
