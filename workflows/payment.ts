/**
 * The payment lifecycle workflow: one per order, from order creation through authentication (native OTP, the 3-D
 * Secure challenge page or Plural's hosted checkout), authorization, and capture or cancellation.
 *
 * Signal handlers only record what arrived (deduplicated gateway events are applied to the state at once, since that
 * is pure bookkeeping); every activity call happens in the main body, one at a time, so the state moves in one place.
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { OrderSnapshot, PaymentActivities } from '../activities';
import { isoAt, nowMs } from './clock';
import {
  callbackReceivedSignal,
  cancelRequestedSignal,
  captureRequestedSignal,
  DEFAULT_DURATIONS,
  DEFAULT_LIMITS,
  ENGINE_FAILURE_CODE,
  FAILURE_TYPE,
  getPaymentQuery,
  NEXT_ACTION,
  operatorRetrySignal,
  otpResendRequestedSignal,
  otpSubmittedSignal,
  PAYMENT_STATUS,
  SEARCH_ATTRIBUTE,
  TERMINAL_STATUSES,
  webhookReceivedSignal,
} from './definitions';
import type {
  CancelRequestedSignal,
  CaptureRequestedSignal,
  Money,
  NextAction,
  OtpResendRequestedSignal,
  OtpSubmittedSignal,
  ParkedOperation,
  PaymentDurations,
  PaymentLimits,
  PaymentState,
  PaymentStatus,
  PaymentWorkflowInput,
} from './definitions';
import {
  AUTO_CANCEL_REASON,
  CAPTURE_KIND,
  CAPTURE_OUTCOME,
  OTP_RESEND_OUTCOME,
  OTP_SUBMISSION_RESULT,
  paymentMetrics,
  RECONCILE_OUTCOME,
  RECONCILE_TRIGGER,
} from './metrics';
import type { ReconcileTrigger } from './metrics';
import { observationFromCallback, observationFromOrder, observationFromWebhook } from './observations';
import type { Observation } from './observations';

/** Workflow changes made after histories existed (`patched`), so older histories still replay. */
export const PATCH = {
  /** Skip the post-OTP Get Order once a webhook or callback has already confirmed the outcome. */
  SKIP_CONFIRMED_OTP_RECONCILE: 'skip-confirmed-otp-reconcile',
  /** Confirm an OTP refusal with Get Order: a retried submission is refused once Plural has accepted the first. */
  CONFIRM_OTP_REFUSAL: 'confirm-otp-refusal',
} as const;

/** Rank of each status: a payment only moves to an equal or higher rank, and never out of a terminal status. */
const RANK: Record<PaymentStatus, number> = {
  CREATED: 0,
  AWAITING_OTP: 1,
  AWAITING_CHALLENGE: 1,
  AUTHORIZED: 2,
  PROCESSED: 3,
  CANCELLED: 3,
  FAILED: 3,
};

const isTerminal = (status: PaymentStatus): boolean => TERMINAL_STATUSES.includes(status);

interface FailureInfo {
  type: string;
  code: string;
  message: string;
}

/** The activity failure's type, code and message (ApplicationFailure raised by our activities, or a timeout). */
function failureInfo(err: unknown): FailureInfo {
  if (err instanceof ActivityFailure) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      const details = cause.details?.[0] as { code?: unknown } | undefined;
      const type = cause.type ?? FAILURE_TYPE.GATEWAY_UNAVAILABLE;
      return { type, code: typeof details?.code === 'string' ? details.code : type, message: cause.message };
    }
    return {
      type: FAILURE_TYPE.GATEWAY_UNAVAILABLE,
      code: ENGINE_FAILURE_CODE.GATEWAY_UNAVAILABLE,
      message: cause?.message ?? err.message,
    };
  }
  throw err;
}

/** Carries a card payment from order creation to a terminal status; returns the final state. */
export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<PaymentState> {
  const durations: PaymentDurations = { ...DEFAULT_DURATIONS, ...input.durations };
  const limits: PaymentLimits = { ...DEFAULT_LIMITS, ...input.limits };
  const workflowId = workflowInfo().workflowId;
  const method = input.method;
  // Business counters (workflows/metrics.ts): not called while replaying, counted once per run by the worker's sink.
  const metrics = paymentMetrics();
  const retry = {
    initialInterval: limits.activityRetryInitialIntervalMs,
    backoffCoefficient: 2,
    maximumInterval: limits.activityRetryMaximumIntervalMs,
    maximumAttempts: limits.activityMaxAttempts,
  };
  const acts = proxyActivities<PaymentActivities>({ startToCloseTimeout: '30 seconds', retry });
  // Reconciliation is best effort: a short retry budget, the next round will try again.
  const lookups = proxyActivities<PaymentActivities>({
    startToCloseTimeout: '30 seconds',
    retry: { ...retry, maximumAttempts: Math.min(3, limits.activityMaxAttempts) },
  });

  const s: PaymentState = {
    workflowId,
    merchantOrderReference: input.merchantOrderReference,
    method: method.kind,
    preAuth: input.preAuth,
    status: PAYMENT_STATUS.CREATED,
    amount: { ...input.amount },
    pluralOrderId: undefined,
    pluralPaymentIds: [],
    challengeUrl: undefined,
    redirectUrl: undefined,
    nextActions: [],
    otp: undefined,
    split: undefined,
    amountAuthorized: undefined,
    amountCaptured: undefined,
    authorizedAt: undefined,
    authorizationExpiresAt: undefined,
    autoCancelAt: undefined,
    lastCapture: undefined,
    failure: undefined,
    parked: undefined,
    reconciliations: 0,
    lastReconciledAt: undefined,
    audit: [],
    updatedAt: isoAt(nowMs()),
  };

  // Inbox filled by signal handlers, drained by the main body.
  const otpInbox: OtpSubmittedSignal[] = [];
  const resendInbox: OtpResendRequestedSignal[] = [];
  const captureInbox: CaptureRequestedSignal[] = [];
  let cancelRequest: CancelRequestedSignal | undefined;
  let operatorRetries = 0;
  const seenEvents = new Set<string>();
  let otpSubmissions = 0;
  let otpResends = 0;
  let otpAccepted = false;
  let captureAttempted = false;
  /** Set when Plural authorizes or processes after the engine gave up on authentication. */
  let lateOutcome: 'AUTHORIZED' | 'PROCESSED' | undefined;
  let watchingLateOutcome = false;

  // ---- state helpers --------------------------------------------------------------------------------------------

  const touch = (): void => {
    s.updatedAt = isoAt(nowMs());
  };

  const note = (cause: string): void => {
    s.audit.push({ from: s.status, to: s.status, cause, at: isoAt(nowMs()) });
    touch();
  };

  const searchAttributes = (): void => {
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTE.PAYMENT_STATUS, value: s.status },
      { key: SEARCH_ATTRIBUTE.MERCHANT_ORDER_REFERENCE, value: s.merchantOrderReference },
      ...(s.pluralOrderId === undefined ? [] : [{ key: SEARCH_ATTRIBUTE.PLURAL_ORDER_ID, value: s.pluralOrderId }]),
      { key: SEARCH_ATTRIBUTE.PARKED_OPERATION, value: s.parked?.operation ?? 'none' },
    ]);
  };

  /** Moves forward only; returns whether the status changed. */
  const transition = (to: PaymentStatus, cause: string): boolean => {
    const from = s.status;
    if (from === to) return false;
    if (isTerminal(from) || RANK[to] < RANK[from]) {
      note(`ignored ${to} (${cause}): payment is already ${from}`);
      return false;
    }
    s.status = to;
    s.audit.push({ from, to, cause, at: isoAt(nowMs()) });
    touch();
    searchAttributes();
    // The SDK's workflow logger adds workflowId, runId and workflowType, and stays silent while replaying.
    log.info('payment status changed', { from, to, cause });
    if (isTerminal(to)) metrics.completed(to, method.kind);
    return true;
  };

  const fail = (code: string, message: string, cause: string): void => {
    if (isTerminal(s.status)) return;
    s.failure = { code, message };
    transition(PAYMENT_STATUS.FAILED, cause);
  };

  const setOrderId = (orderId: string): void => {
    if (s.pluralOrderId === orderId) return;
    s.pluralOrderId = orderId;
    searchAttributes();
  };

  const markAuthorized = (cause: string): void => {
    if (!transition(PAYMENT_STATUS.AUTHORIZED, cause)) return;
    const at = nowMs();
    s.amountAuthorized = { ...s.amount };
    s.authorizedAt = isoAt(at);
    s.authorizationExpiresAt = isoAt(at + durations.authorizationLifetimeMs);
    s.autoCancelAt = isoAt(at + durations.autoCancelAfterMs);
  };

  const markProcessed = (capturedValue: number | undefined, cause: string): void => {
    if (!transition(PAYMENT_STATUS.PROCESSED, cause)) return;
    s.amountAuthorized ??= { ...s.amount };
    const value = capturedValue !== undefined && capturedValue > 0 ? capturedValue : s.amountAuthorized.value;
    s.amountCaptured = { value, currency: s.amount.currency };
  };

  /**
   * Applies what Plural says about the order. `afterCapture`: the observation follows our own capture attempt, so
   * a FAILED order after authorization is real (a declined capture) rather than a late authentication failure.
   */
  const observe = (o: Observation, afterCapture = false): void => {
    if (s.pluralOrderId !== undefined && o.orderId !== s.pluralOrderId) {
      note(`ignored ${o.source} for another order ${o.orderId}`);
      return;
    }
    const auditLength = s.audit.length;
    applyObservation(o, afterCapture);
    // Record that a gateway event arrived even when it changed nothing (e.g. the webhook after the callback).
    if (s.audit.length === auditLength && o.source !== 'order') note(`${o.label}: no change, payment is ${s.status}`);
  };

  const applyObservation = (o: Observation, afterCapture: boolean): void => {
    const cause = o.label;
    switch (o.kind) {
      case 'AUTHORIZED':
      case 'PROCESSED':
        if (s.status === PAYMENT_STATUS.FAILED || s.status === PAYMENT_STATUS.CANCELLED) {
          if (watchingLateOutcome && lateOutcome === undefined) {
            lateOutcome = o.kind;
            note(`late ${o.kind} at Plural after the payment was ${s.status} (${cause})`);
          }
          return;
        }
        if (o.kind === 'AUTHORIZED') markAuthorized(cause);
        else markProcessed(o.capturedValue, cause);
        return;
      case 'CANCELLED':
        transition(PAYMENT_STATUS.CANCELLED, cause);
        return;
      case 'FAILED':
        if (s.status === PAYMENT_STATUS.AUTHORIZED && !afterCapture) {
          note(`ignored FAILED (${cause}): an authorized payment is not downgraded`);
          return;
        }
        fail(o.errorCode ?? 'PAYMENT_FAILED', o.errorMessage ?? 'Plural reported the payment as failed', cause);
        return;
      case 'NONE':
        return;
    }
  };

  const applyOrder = (order: OrderSnapshot, source: string, afterCapture = false): void => {
    setOrderId(order.orderId);
    observe(observationFromOrder(order, source), afterCapture);
  };

  // ---- handlers -------------------------------------------------------------------------------------------------

  const nextActions = (): NextAction[] => {
    if (s.parked) return [NEXT_ACTION.OPERATOR_RETRY, NEXT_ACTION.CANCEL];
    switch (s.status) {
      case PAYMENT_STATUS.AWAITING_OTP: {
        const actions: NextAction[] = [NEXT_ACTION.SUBMIT_OTP];
        if (s.otp && s.otp.resendsLeft > 0) actions.push(NEXT_ACTION.RESEND_OTP);
        return [...actions, NEXT_ACTION.CANCEL];
      }
      case PAYMENT_STATUS.AWAITING_CHALLENGE:
        return [
          method.kind === 'hosted_checkout' ? NEXT_ACTION.REDIRECT_TO_CHECKOUT : NEXT_ACTION.COMPLETE_CHALLENGE,
          NEXT_ACTION.CANCEL,
        ];
      case PAYMENT_STATUS.AUTHORIZED:
        return captureAttempted ? [NEXT_ACTION.CANCEL] : [NEXT_ACTION.CAPTURE, NEXT_ACTION.CANCEL];
      default:
        return [];
    }
  };

  setHandler(getPaymentQuery, () => ({
    ...s,
    nextActions: nextActions(),
    pluralPaymentIds: [...s.pluralPaymentIds],
    audit: s.audit.map((e) => ({ ...e })),
    otp: s.otp === undefined ? undefined : { ...s.otp },
  }));

  setHandler(otpSubmittedSignal, (sig) => {
    otpInbox.push(sig);
  });
  setHandler(otpResendRequestedSignal, (sig) => {
    resendInbox.push(sig);
  });
  setHandler(captureRequestedSignal, (sig) => {
    captureInbox.push(sig);
  });
  setHandler(cancelRequestedSignal, (sig) => {
    cancelRequest ??= sig;
  });
  setHandler(operatorRetrySignal, (sig) => {
    operatorRetries += 1;
    if (s.parked) note(`operator retry of ${s.parked.operation}${sig.operator ? ` by ${sig.operator}` : ''}`);
  });
  setHandler(callbackReceivedSignal, (sig) => {
    const id = `callback:${sig.orderId}:${sig.status}`;
    if (seenEvents.has(id)) return;
    seenEvents.add(id);
    observe(observationFromCallback(sig));
  });
  setHandler(webhookReceivedSignal, (sig) => {
    const id = `webhook:${sig.webhookId}`;
    if (seenEvents.has(id)) return;
    seenEvents.add(id);
    observe(observationFromWebhook(sig));
  });

  // ---- steps ----------------------------------------------------------------------------------------------------

  const park = (operation: ParkedOperation['operation'], f: FailureInfo): void => {
    s.parked = { operation, code: f.code, message: f.message, since: isoAt(nowMs()), retries: 0 };
    note(`${operation} parked for an operator: ${f.code}`);
    searchAttributes();
    log.warn('payment operation parked for an operator', { operation, code: f.code });
    metrics.parked(operation);
  };

  const unpark = (): void => {
    if (!s.parked) return;
    s.parked = undefined;
    touch();
    searchAttributes();
  };

  /** Parks `operation` until an operator retries it (true) or a cancel / terminal status ends the wait (false). */
  async function parkUntilOperator(operation: ParkedOperation['operation'], f: FailureInfo): Promise<boolean> {
    if (s.parked?.operation === operation) {
      s.parked = { ...s.parked, code: f.code, message: f.message };
    } else {
      park(operation, f);
    }
    const retriesBefore = operatorRetries;
    await condition(() => operatorRetries > retriesBefore || cancelRequest !== undefined || isTerminal(s.status));
    if (operatorRetries > retriesBefore && !isTerminal(s.status)) {
      if (s.parked) s.parked.retries += 1;
      return true;
    }
    unpark();
    return false;
  }

  /**
   * Runs one step. Business rejections go to `onRejected` (which returns whether to park); a missing card hand-off
   * fails the payment; a gateway outage that outlasted the retries parks the step until an operator retries it
   * (`operatorRetry`) or gives up (`cancelRequested`, then the result is undefined).
   */
  async function step<T>(
    operation: ParkedOperation['operation'],
    run: () => Promise<T>,
    onRejected: (f: FailureInfo) => 'park' | 'stop',
  ): Promise<T | undefined> {
    for (;;) {
      try {
        const result = await run();
        unpark();
        return result;
      } catch (err) {
        const f = failureInfo(err);
        if (f.type === FAILURE_TYPE.CARD_DATA_UNAVAILABLE) {
          fail(ENGINE_FAILURE_CODE.CARD_DATA_UNAVAILABLE, f.message, `${operation}: card data unavailable`);
          return undefined;
        }
        if (f.type !== FAILURE_TYPE.GATEWAY_UNAVAILABLE && onRejected(f) === 'stop') return undefined;
        if (isTerminal(s.status)) return undefined;
        if (!(await parkUntilOperator(operation, f))) return undefined;
      }
    }
  }

  /** Get Order and apply it; failures are noted, not fatal (the next round tries again). */
  async function reconcile(cause: string, trigger: ReconcileTrigger, afterCapture = false): Promise<void> {
    if (s.pluralOrderId === undefined) return;
    let order: OrderSnapshot;
    try {
      order = await lookups.getOrder({ orderId: s.pluralOrderId });
    } catch (err) {
      note(`${cause} failed: ${failureInfo(err).code}`);
      metrics.reconciliation(trigger, RECONCILE_OUTCOME.ERROR);
      return;
    }
    const before = s.status;
    s.reconciliations += 1;
    s.lastReconciledAt = isoAt(nowMs());
    applyOrder(order, cause, afterCapture);
    metrics.reconciliation(trigger, s.status === before ? RECONCILE_OUTCOME.UNCHANGED : RECONCILE_OUTCOME.CHANGED);
  }

  const isAwaiting = (): boolean =>
    s.status === PAYMENT_STATUS.AWAITING_OTP || s.status === PAYMENT_STATUS.AWAITING_CHALLENGE;

  async function submitOtp(sig: OtpSubmittedSignal): Promise<void> {
    const otp = s.otp;
    if (s.status !== PAYMENT_STATUS.AWAITING_OTP || !otp || otpAccepted || s.pluralPaymentIds.length === 0) {
      if (otp)
        otp.lastSubmission = { submissionId: sig.submissionId, outcome: 'IGNORED', message: `payment is ${s.status}` };
      return;
    }
    otpSubmissions += 1;
    const paymentId = cardPaymentId ?? s.pluralPaymentIds[0] ?? '';
    let result;
    try {
      result = await acts.submitOtp({ workflowId, paymentId, otpHandle: sig.otpHandle, submission: otpSubmissions });
    } catch (err) {
      const f = failureInfo(err);
      if (f.type === FAILURE_TYPE.OTP_UNAVAILABLE) {
        // Plural never saw this OTP: not an attempt; the customer submits again within the window.
        otp.lastSubmission = { submissionId: sig.submissionId, outcome: 'FAILED', message: f.message };
        note('OTP submission failed: the OTP hand-off was unavailable, nothing was sent to Plural');
        metrics.otpSubmission(OTP_SUBMISSION_RESULT.UNAVAILABLE);
        return;
      }
      otp.lastSubmission = { submissionId: sig.submissionId, outcome: 'IGNORED', message: f.message };
      note(`OTP submission could not reach Plural: ${f.code}`);
      metrics.otpSubmission(OTP_SUBMISSION_RESULT.ERROR);
      return;
    }
    switch (result.outcome) {
      case 'ACCEPTED':
        otpAccepted = true;
        otp.lastSubmission = { submissionId: sig.submissionId, outcome: 'ACCEPTED' };
        note('OTP accepted');
        metrics.otpSubmission(OTP_SUBMISSION_RESULT.ACCEPTED);
        // A webhook or callback that already confirmed the outcome makes this Get Order redundant, and it would
        // only hold up a capture the merchant sends as soon as it sees AUTHORIZED.
        if (isAwaiting() || !patched(PATCH.SKIP_CONFIRMED_OTP_RECONCILE)) {
          await reconcile('Get Order after the OTP was accepted', RECONCILE_TRIGGER.OTP_ACCEPTED);
        }
        return;
      case 'INCORRECT':
        // Plural's own verdict ends the attempts (FAILED below); the engine's count never shows 0 before that.
        if (result.counted) otp.attemptsLeft = Math.max(1, otp.attemptsLeft - 1);
        if (result.resendAfterSeconds !== undefined) {
          otp.resendAvailableAt = isoAt(nowMs() + result.resendAfterSeconds * 1000);
        }
        otp.lastSubmission = { submissionId: sig.submissionId, outcome: 'INCORRECT', message: result.message };
        note('incorrect OTP');
        metrics.otpSubmission(OTP_SUBMISSION_RESULT.INCORRECT);
        return;
      case 'FAILED': {
        // Plural refuses a retried submission whose first answer was lost (a timeout or a 5xx after it had accepted
        // the OTP, or a worker that died mid-call): the payment is no longer pending. Ask Plural before failing, and
        // never fail a payment that has moved on meanwhile.
        if (patched(PATCH.CONFIRM_OTP_REFUSAL)) {
          if (isAwaiting()) await reconcile('Get Order after the OTP was refused', RECONCILE_TRIGGER.OTP_REFUSED);
          const now = s.status as PaymentStatus;
          if (now === PAYMENT_STATUS.AUTHORIZED || now === PAYMENT_STATUS.PROCESSED) {
            otpAccepted = true;
            otp.lastSubmission = { submissionId: sig.submissionId, outcome: 'ACCEPTED' };
            note('OTP refused on a retry, but Plural had accepted it (the first answer was lost)');
            metrics.otpSubmission(OTP_SUBMISSION_RESULT.ACCEPTED);
            return;
          }
        }
        otp.attemptsLeft = 0;
        otp.lastSubmission = { submissionId: sig.submissionId, outcome: 'FAILED', message: result.message };
        metrics.otpSubmission(OTP_SUBMISSION_RESULT.FAILED);
        // Get Order may already have failed it (Plural fails the payment when the attempts run out).
        if (!isTerminal(s.status)) fail(result.code, result.message, 'OTP authentication failed');
        return;
      }
    }
  }

  async function resendOtp(sig: OtpResendRequestedSignal): Promise<void> {
    const otp = s.otp;
    if (!otp || s.status !== PAYMENT_STATUS.AWAITING_OTP || otpAccepted) {
      if (otp) otp.lastResend = { requestId: sig.requestId, outcome: 'IGNORED', message: `payment is ${s.status}` };
      return;
    }
    if (otp.resendsLeft <= 0) {
      otp.lastResend = { requestId: sig.requestId, outcome: 'LIMIT_REACHED', message: 'no OTP resends left' };
      metrics.otpResend(OTP_RESEND_OUTCOME.LIMIT_REACHED);
      return;
    }
    const availableAt = otp.resendAvailableAt === undefined ? 0 : Date.parse(otp.resendAvailableAt);
    if (nowMs() < availableAt) {
      otp.lastResend = {
        requestId: sig.requestId,
        outcome: 'TOO_EARLY',
        message: `resend allowed from ${otp.resendAvailableAt}`,
      };
      metrics.otpResend(OTP_RESEND_OUTCOME.TOO_EARLY);
      return;
    }
    otpResends += 1;
    let result;
    try {
      result = await acts.resendOtp({ workflowId, paymentId: cardPaymentId ?? '', resend: otpResends });
    } catch (err) {
      otp.lastResend = { requestId: sig.requestId, outcome: 'IGNORED', message: failureInfo(err).message };
      metrics.otpResend(OTP_RESEND_OUTCOME.ERROR);
      return;
    }
    if (result.resendAfterSeconds !== undefined) {
      otp.resendAvailableAt = isoAt(nowMs() + result.resendAfterSeconds * 1000);
    }
    if (result.outcome === 'SENT') {
      otp.resendsLeft -= 1;
      if (!result.next.includes('RESEND_OTP')) otp.resendsLeft = 0;
      otp.lastResend = { requestId: sig.requestId, outcome: 'SENT' };
      note('OTP resent');
      metrics.otpResend(OTP_RESEND_OUTCOME.SENT);
    } else {
      otp.lastResend = { requestId: sig.requestId, outcome: 'REJECTED', message: result.message };
      metrics.otpResend(OTP_RESEND_OUTCOME.REJECTED);
    }
  }

  // ---- phases ---------------------------------------------------------------------------------------------------

  let cardPaymentId: string | undefined;

  /** Creates the order (or checkout link) and the payment; leaves the payment awaiting authentication or terminal. */
  async function start(): Promise<void> {
    searchAttributes();
    if (!Number.isSafeInteger(input.amount.value) || input.amount.value <= 0) {
      fail('INVALID_AMOUNT', `amount ${input.amount.value} must be a positive integer of minor units`, 'input');
      return;
    }
    const badDuration = Object.entries(durations).find(([, ms]) => !Number.isFinite(ms) || ms <= 0);
    if (badDuration) {
      fail('INVALID_DURATIONS', `duration ${badDuration[0]} must be a positive number of milliseconds`, 'input');
      return;
    }
    if (durations.autoCancelAfterMs >= durations.authorizationLifetimeMs) {
      fail(
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
      customer: input.customer,
      callbackUrl: input.callbackUrl,
      failureCallbackUrl: input.failureCallbackUrl,
    };
    const rejectAndFail = (f: FailureInfo): 'stop' => {
      fail(f.code, f.message, `rejected by Plural (${f.type})`);
      return 'stop';
    };

    if (method.kind === 'hosted_checkout') {
      const link = await step('create_order', () => acts.createCheckoutLink(orderInput), rejectAndFail);
      if (!link) return cancelledWhileParked();
      setOrderId(link.orderId);
      s.redirectUrl = link.redirectUrl;
      transition(PAYMENT_STATUS.AWAITING_CHALLENGE, 'hosted checkout link created; customer redirected to Plural');
      return;
    }

    if (method.kind === 'card_points' && !method.customerConsent) {
      fail(
        ENGINE_FAILURE_CODE.POINTS_CONSENT_REQUIRED,
        'paying with reward points needs the customer explicit consent (customerConsent: true)',
        'input',
      );
      return;
    }

    const order = await step('create_order', () => acts.createOrder(orderInput), rejectAndFail);
    if (!order) return cancelledWhileParked();
    applyOrder(order, 'order created');
    if (isTerminal(s.status)) return;

    let nativeOtp = false;
    let pointsAmount: Money | undefined;
    if (method.kind === 'card' || method.kind === 'card_points') {
      const card = await step(
        'create_payment',
        () => acts.lookupCard({ cardHandle: method.cardHandle, amount: input.amount.value }),
        rejectAndFail,
      );
      if (!card) return cancelledWhileParked();
      nativeOtp = card.nativeOtpSupported;
    }
    if (method.kind === 'card_points') {
      const balance = await step(
        'create_payment',
        () =>
          acts.checkPointsBalance({
            cardHandle: method.cardHandle,
            last4: method.last4,
            registeredMobileNumber: method.registeredMobileNumber,
            amount: input.amount,
          }),
        rejectAndFail,
      );
      if (!balance) return cancelledWhileParked();
      const redeemable = Math.min(balance.redeemable.value, input.amount.value);
      if (!balance.eligible || redeemable <= 0 || balance.redeemable.currency !== input.amount.currency) {
        fail(
          ENGINE_FAILURE_CODE.POINTS_NOT_ELIGIBLE,
          'the card has no redeemable reward points for this amount',
          'points balance check',
        );
        return;
      }
      pointsAmount = { value: redeemable, currency: input.amount.currency };
      s.split = {
        card: { value: input.amount.value - redeemable, currency: input.amount.currency },
        points: pointsAmount,
      };
      note(`points balance allows ${redeemable} of ${input.amount.value} in points`);
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
    const orderId = order.orderId;
    const payment = await step(
      'create_payment',
      () => acts.createPayment({ workflowId, orderId, amount: input.amount, preAuth: input.preAuth, instrument }),
      rejectAndFail,
    );
    if (!payment) return cancelledWhileParked();
    s.pluralPaymentIds = payment.order.payments.map((p) => p.id);
    s.challengeUrl = payment.challengeUrl;
    cardPaymentId = payment.cardPaymentId;
    applyOrder(payment.order, 'payment created');
    if (isTerminal(s.status) || s.status === PAYMENT_STATUS.AUTHORIZED) return;

    if (nativeOtp && cardPaymentId !== undefined) {
      const paymentId = cardPaymentId;
      const otp = await step(
        'authenticate',
        () => acts.generateOtp({ workflowId, paymentId }),
        () => 'stop',
      );
      if (otp?.eligible && otp.next.includes('SUBMIT_OTP')) {
        s.otp = {
          attemptsLeft: limits.otpMaxAttempts,
          resendsLeft: otp.next.includes('RESEND_OTP') ? limits.otpMaxResends : 0,
          resendAvailableAt: isoAt(nowMs() + (otp.resendAfterSeconds ?? 0) * 1000),
        };
        transition(PAYMENT_STATUS.AWAITING_OTP, 'native OTP sent to the card holder');
        return;
      }
      if (isTerminal(s.status)) return;
      note('native OTP not available; falling back to the challenge page');
    }
    transition(PAYMENT_STATUS.AWAITING_CHALLENGE, 'customer sent to the 3-D Secure challenge page');
  }

  function cancelledWhileParked(): void {
    if (isTerminal(s.status)) return;
    s.failure = { code: ENGINE_FAILURE_CODE.CANCELLED_BEFORE_AUTHORIZATION, message: 'cancelled while parked' };
    transition(PAYMENT_STATUS.CANCELLED, `cancelled by ${cancelRequest?.reason ?? 'request'} while parked`);
  }

  /** Waits for OTP / challenge / checkout completion, reconciling on a backoff, until the window closes. */
  async function authenticate(): Promise<boolean> {
    const windowMs =
      s.status === PAYMENT_STATUS.AWAITING_OTP
        ? durations.otpWindowMs
        : method.kind === 'hosted_checkout'
          ? durations.checkoutWindowMs
          : durations.challengeWindowMs;
    const deadline = nowMs() + windowMs;
    let delay = durations.reconcileInitialDelayMs;
    let nextReconcileAt = nowMs() + delay;
    while (isAwaiting()) {
      if (cancelRequest) {
        s.failure = {
          code: ENGINE_FAILURE_CODE.CANCELLED_BEFORE_AUTHORIZATION,
          message: cancelRequest.reason ?? 'cancelled before authorization',
        };
        transition(PAYMENT_STATUS.CANCELLED, `cancel requested before authorization (${cancelRequest.requestId})`);
        return true;
      }
      const sub = otpInbox.shift();
      if (sub) {
        await submitOtp(sub);
        continue;
      }
      const resend = resendInbox.shift();
      if (resend) {
        await resendOtp(resend);
        continue;
      }
      const t = nowMs();
      if (t >= deadline) break;
      const reconciling = s.status === PAYMENT_STATUS.AWAITING_CHALLENGE || otpAccepted;
      if (reconciling && t >= nextReconcileAt) {
        await reconcile('reconciliation with Get Order (no callback or webhook yet)', RECONCILE_TRIGGER.NO_EVENT);
        delay = Math.min(delay * 2, durations.reconcileMaxDelayMs);
        nextReconcileAt = nowMs() + delay;
        continue;
      }
      const wakeAt = reconciling ? Math.min(deadline, nextReconcileAt) : deadline;
      await condition(
        () => !isAwaiting() || otpInbox.length > 0 || resendInbox.length > 0 || cancelRequest !== undefined,
        Math.max(1, wakeAt - t),
      );
    }
    if (!isAwaiting()) return false;
    await reconcile('final Get Order as the authentication window closed', RECONCILE_TRIGGER.WINDOW_CLOSED);
    if (!isAwaiting()) return false;
    fail(
      ENGINE_FAILURE_CODE.AUTHENTICATION_WINDOW_CLOSED,
      `the customer did not complete authentication within ${Math.round(windowMs / 1000)} s`,
      'authentication window closed',
    );
    return true;
  }

  /** After giving up on authentication: watch for a late authorization and cancel it at Plural. */
  async function watchLateOutcome(): Promise<void> {
    if (s.pluralOrderId === undefined) return;
    watchingLateOutcome = true;
    const until = nowMs() + durations.lateAuthorizationWatchMs;
    let delay = durations.reconcileInitialDelayMs;
    while (lateOutcome === undefined && nowMs() < until) {
      const wait = Math.max(1, Math.min(delay, until - nowMs()));
      if (await condition(() => lateOutcome !== undefined, wait)) break;
      await reconcile('watch for a late authorization', RECONCILE_TRIGGER.LATE_WATCH);
      delay = Math.min(delay * 2, durations.reconcileMaxDelayMs);
    }
    watchingLateOutcome = false;
    if (lateOutcome === 'AUTHORIZED') {
      metrics.autoCancel(AUTO_CANCEL_REASON.LATE_AUTHORIZATION);
      const orderId = s.pluralOrderId;
      const cancelled = await step(
        'cancel',
        () => acts.cancelOrder({ workflowId, orderId, step: 'late-authorization-cancel' }),
        () => 'stop',
      );
      note(
        cancelled?.status === 'CANCELLED'
          ? 'late authorization cancelled at Plural'
          : 'late authorization could not be cancelled at Plural; check the order',
      );
    } else if (lateOutcome === 'PROCESSED') {
      note('Plural processed the payment after it was given up; Plural auto-refunds late authorizations');
    }
  }

  async function capture(req: CaptureRequestedSignal): Promise<void> {
    const authorized = s.amountAuthorized ?? s.amount;
    const reject = (message: string): void => {
      s.lastCapture = { requestId: req.requestId, outcome: 'REJECTED', message };
      note(`capture ${req.requestId} rejected: ${message}`);
    };
    if (captureAttempted) return reject(`order ${s.pluralOrderId ?? ''} was already captured once`);
    const amount = req.amount;
    if (amount !== undefined) {
      if (amount.currency !== authorized.currency) {
        return reject(`capture currency ${amount.currency} differs from authorized ${authorized.currency}`);
      }
      if (!Number.isSafeInteger(amount.value) || amount.value <= 0) {
        return reject(`capture amount ${amount.value} must be a positive integer of minor units`);
      }
      if (amount.value > authorized.value) {
        return reject(
          `capture amount ${amount.value} exceeds authorized ${authorized.value} for order ${s.pluralOrderId ?? ''}`,
        );
      }
    }
    captureAttempted = true;
    const partial = amount !== undefined && amount.value < authorized.value ? amount : undefined;
    const orderId = s.pluralOrderId ?? '';
    for (;;) {
      let rejected: FailureInfo | undefined;
      const order = await step(
        'capture',
        () => acts.captureOrder({ workflowId, orderId, amount: partial }),
        (f) => {
          rejected = f;
          return 'stop';
        },
      );
      if (order) {
        applyOrder(order, `captured (${req.requestId})`, true);
        if (order.status === 'PROCESSED' || order.status === 'PARTIALLY_CAPTURED') {
          const value = order.capturedValue || (partial ?? authorized).value;
          s.amountCaptured = { value, currency: authorized.currency };
          s.lastCapture = { requestId: req.requestId, outcome: 'CAPTURED' };
        }
        return;
      }
      if (!rejected) {
        s.lastCapture = { requestId: req.requestId, outcome: 'REJECTED', message: 'capture abandoned while parked' };
        return;
      }
      // Plural said no: a declined capture fails the order there; anything else leaves it AUTHORIZED (park it).
      await reconcile('Get Order after a rejected capture', RECONCILE_TRIGGER.CAPTURE_REJECTED, true);
      if (s.status !== PAYMENT_STATUS.AUTHORIZED) {
        s.lastCapture = { requestId: req.requestId, outcome: 'REJECTED', message: rejected.message };
        return;
      }
      s.lastCapture = { requestId: req.requestId, outcome: 'PARKED', message: rejected.message };
      if (!(await parkUntilOperator('capture', rejected))) return;
    }
  }

  /** One count per capture request, once its outcome is known (`lastCapture` answers that request). */
  function countCapture(req: CaptureRequestedSignal): void {
    const authorized = s.amountAuthorized ?? s.amount;
    const kind =
      req.amount !== undefined && req.amount.value < authorized.value ? CAPTURE_KIND.PARTIAL : CAPTURE_KIND.FULL;
    const captured = s.lastCapture?.requestId === req.requestId && s.lastCapture.outcome === 'CAPTURED';
    metrics.capture(kind, captured ? CAPTURE_OUTCOME.CAPTURED : CAPTURE_OUTCOME.REJECTED);
  }

  async function cancelAuthorization(stepName: string, cause: string): Promise<void> {
    const orderId = s.pluralOrderId ?? '';
    note(`${cause}: cancelling at Plural`);
    const order = await step(
      'cancel',
      () => acts.cancelOrder({ workflowId, orderId, step: stepName }),
      () => 'park',
    );
    if (order) applyOrder(order, cause, true);
    else await reconcile(`Get Order after ${stepName} was not completed`, RECONCILE_TRIGGER.CANCEL_INCOMPLETE, true);
  }

  /** AUTHORIZED pre-auth: wait for capture or cancel; cancel automatically before the authorization expires. */
  async function awaitCaptureOrCancel(): Promise<void> {
    while (s.status === PAYMENT_STATUS.AUTHORIZED) {
      const req = captureInbox.shift();
      if (req) {
        await capture(req);
        countCapture(req);
        continue;
      }
      if (cancelRequest) {
        const reason = cancelRequest.reason ?? 'merchant request';
        cancelRequest = undefined;
        await cancelAuthorization('cancel', `cancelled: ${reason}`);
        continue;
      }
      const remaining = Date.parse(s.autoCancelAt ?? isoAt(nowMs())) - nowMs();
      if (remaining <= 0) {
        metrics.autoCancel(AUTO_CANCEL_REASON.AUTHORIZATION_EXPIRY);
        await cancelAuthorization('auto-cancel', 'automatic cancel before the authorization expires');
        continue;
      }
      await condition(
        () => s.status !== PAYMENT_STATUS.AUTHORIZED || captureInbox.length > 0 || cancelRequest !== undefined,
        remaining,
      );
    }
  }

  // ---- main -----------------------------------------------------------------------------------------------------

  metrics.started(method.kind);
  await start();
  if (isAwaiting()) {
    const gaveUp = await authenticate();
    if (gaveUp && input.preAuth) await watchLateOutcome();
  }
  if (s.status === PAYMENT_STATUS.AUTHORIZED && !input.preAuth) {
    note('authorized without pre-auth; waiting for Plural to process it');
  }
  await awaitCaptureOrCancel();
  // Captures requested after the payment ended get an answer instead of silence.
  for (const req of captureInbox.splice(0)) {
    s.lastCapture = { requestId: req.requestId, outcome: 'REJECTED', message: `payment is ${s.status}` };
    countCapture(req);
  }
  await condition(allHandlersFinished);
  touch();
  return { ...s, nextActions: [] };
}
