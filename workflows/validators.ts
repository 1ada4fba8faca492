/**
 * The Update validators: what the payment refuses before anything is written to history. Pure functions of the
 * payment's state (as the query shows it) and the request, so the rules live here only — the API maps a refusal's
 * `type` (`UPDATE_REJECTION`) to an HTTP status and keeps no copy of them.
 */
import { ApplicationFailure } from '@temporalio/common';
import {
  MIN_REFUND_VALUE,
  NEXT_ACTION,
  otpWindowClosed,
  PAYMENT_STATUS,
  TERMINAL_STATUSES,
  UPDATE_REJECTION,
} from './definitions';
import type {
  CaptureRequest,
  OpenPaymentRequest,
  PaymentState,
  PaymentWorkflowInput,
  RefundRecord,
  RefundRequest,
  UpdateRejection,
} from './definitions';

/**
 * Refuse the request. The failure's `type` is the kind of refusal (the API's HTTP status), its one detail
 * `{ code, ...more }` the API's error code (`payment_not_authorized`…), so the API answers without knowing the rule.
 */
export function reject(type: UpdateRejection, code: string, message: string, more?: Record<string, unknown>): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true, details: [{ code, ...more }] });
}

const ref = (s: PaymentState): string => s.merchantOrderReference;

/** A repeat of the creating request attaches; another request under the same reference is refused. */
export function validateOpen(input: PaymentWorkflowInput, request: OpenPaymentRequest): void {
  if (input.requestFingerprint !== undefined && request.requestFingerprint !== input.requestFingerprint) {
    reject(
      UPDATE_REJECTION.REQUEST_CONFLICT,
      'idempotency_conflict',
      `a payment with merchant_order_reference ${input.merchantOrderReference} already exists with a different request; use a new reference`,
    );
  }
}

/** An OTP request after the authentication window closed: refused with its own code, whatever else holds. */
function rejectAfterTheWindow(s: PaymentState, nowMs: number): void {
  if (s.status === PAYMENT_STATUS.AWAITING_OTP && otpWindowClosed(s.otp, nowMs)) {
    reject(
      UPDATE_REJECTION.INVALID_STATE,
      'authentication_window_closed',
      `the authentication window of payment ${ref(s)} has closed: no OTP is sent or resent; the payment ends as Plural's order says`,
    );
  }
}

/** @param nowMs the current time (workflow time inside the workflow) */
export function validateSubmitOtp(s: PaymentState, nowMs: number): void {
  rejectAfterTheWindow(s, nowMs);
  if (
    s.status === PAYMENT_STATUS.AWAITING_OTP &&
    s.otp?.resendRequired &&
    s.nextActions.includes(NEXT_ACTION.RESEND_OTP)
  ) {
    reject(
      UPDATE_REJECTION.INVALID_STATE,
      'otp_resend_required',
      `Plural takes no OTP for payment ${ref(s)} until one is resent (the last one expired, say): resend the OTP first`,
    );
  }
  if (s.status !== PAYMENT_STATUS.AWAITING_OTP || !s.nextActions.includes(NEXT_ACTION.SUBMIT_OTP)) {
    reject(
      UPDATE_REJECTION.INVALID_STATE,
      'payment_not_awaiting_otp',
      `payment ${ref(s)} is ${s.status}, not AWAITING_OTP; no OTP is expected`,
    );
  }
}

/** @param nowMs the current time (workflow time inside the workflow) */
export function validateResendOtp(s: PaymentState, nowMs: number): void {
  rejectAfterTheWindow(s, nowMs);
  const awaitingOtp =
    s.nextActions.includes(NEXT_ACTION.SUBMIT_OTP) || (s.otp?.resendRequired === true && s.otp.resendsLeft > 0);
  if (s.status !== PAYMENT_STATUS.AWAITING_OTP || !awaitingOtp) {
    reject(
      UPDATE_REJECTION.INVALID_STATE,
      'payment_not_awaiting_otp',
      `payment ${ref(s)} is ${s.status}, not AWAITING_OTP; no OTP is expected`,
    );
  }
  if (!s.nextActions.includes(NEXT_ACTION.RESEND_OTP) || (s.otp?.resendsLeft ?? 0) <= 0) {
    reject(UPDATE_REJECTION.LIMIT_REACHED, 'otp_resend_limit_reached', `no OTP resends left for payment ${ref(s)}`);
  }
  const availableAt = s.otp?.resendAvailableAt;
  if (availableAt !== undefined && Date.parse(availableAt) > nowMs) {
    reject(
      UPDATE_REJECTION.TOO_EARLY,
      'otp_resend_too_early',
      `an OTP for payment ${ref(s)} was sent recently; a resend is allowed from ${availableAt}`,
      { availableAt },
    );
  }
}

/**
 * @param cancelPending a cancel came first and is waiting or under way (the payment's own knowledge, not in the
 *   state): the first request wins, so a capture after it is refused rather than taking the money first.
 */
export function validateCapture(s: PaymentState, request: CaptureRequest, { cancelPending = false } = {}): void {
  if (s.status !== PAYMENT_STATUS.AUTHORIZED) {
    reject(
      UPDATE_REJECTION.INVALID_STATE,
      'payment_not_authorized',
      `payment ${ref(s)} is ${s.status}, not AUTHORIZED; it cannot be captured`,
    );
  }
  if (cancelPending || s.parked?.operation === 'cancel') {
    reject(
      UPDATE_REJECTION.INVALID_STATE,
      'cancel_pending',
      `payment ${ref(s)} is being cancelled (the cancel was asked for first); it cannot be captured`,
    );
  }
  if (!s.nextActions.includes(NEXT_ACTION.CAPTURE)) {
    reject(
      UPDATE_REJECTION.LIMIT_REACHED,
      'capture_limit_reached',
      s.parked?.operation === 'capture'
        ? `the capture of order ${s.pluralOrderId ?? ref(s)} is parked for an operator (Plural allows one capture)`
        : `a capture of order ${s.pluralOrderId ?? ref(s)} was already asked for (Plural allows one capture)`,
    );
  }
  const amount = request.amount;
  if (amount === undefined) return;
  const authorized = s.amountAuthorized ?? s.amount;
  if (amount.currency !== authorized.currency) {
    reject(
      UPDATE_REJECTION.INVALID_REQUEST,
      'capture_currency_mismatch',
      `capture currency ${amount.currency} differs from the authorized currency ${authorized.currency} for order ${ref(s)}`,
    );
  }
  if (!Number.isSafeInteger(amount.value) || amount.value <= 0) {
    reject(
      UPDATE_REJECTION.INVALID_REQUEST,
      'invalid_capture_amount',
      `capture amount ${amount.value} must be a positive integer of minor units`,
    );
  }
  if (amount.value > authorized.value) {
    reject(
      UPDATE_REJECTION.INVALID_REQUEST,
      'capture_amount_too_large',
      `capture amount ${amount.value} exceeds authorized ${authorized.value} for order ${ref(s)}`,
    );
  }
}

/** Anything not final can be cancelled, but a sale Plural is processing (refund it once processed). */
export function validateCancel(s: PaymentState): void {
  if (s.status === PAYMENT_STATUS.PROCESSING) {
    reject(
      UPDATE_REJECTION.INVALID_STATE,
      'payment_not_cancellable',
      `payment ${ref(s)} is a sale Plural has authorized and is processing; it cannot be cancelled (refund it once PROCESSED)`,
    );
  }
  if (TERMINAL_STATUSES.includes(s.status)) {
    reject(
      UPDATE_REJECTION.INVALID_STATE,
      'payment_not_cancellable',
      `payment ${ref(s)} is ${s.status} and cannot be cancelled`,
    );
  }
}

/** An operator's retry or give-up applies only to a parked step. */
export function validateOperator(s: PaymentState): void {
  if (s.parked === undefined) {
    reject(
      UPDATE_REJECTION.INVALID_STATE,
      'payment_not_parked',
      `payment ${ref(s)} has no parked step (it is ${s.status})`,
    );
  }
}

/**
 * What a refund may still take, minor units: captured − refunded − refunds in flight (PENDING: accepted and not yet
 * sent, or PENDING at Plural). A FAILED refund holds nothing back.
 */
export function refundableValue(s: PaymentState): number {
  return refundBalance(s).left;
}

/** Captured, refunded and in-flight refund amounts, and what is left, minor units. */
function refundBalance(s: PaymentState): { captured: number; refunded: number; inFlight: number; left: number } {
  const captured = s.amountCaptured?.value ?? 0;
  const refunded = s.amountRefunded?.value ?? 0;
  const inFlight = s.refunds.filter((r) => r.status === 'PENDING').reduce((sum, r) => sum + r.amount.value, 0);
  return { captured, refunded, inFlight, left: Math.max(0, captured - refunded - inFlight) };
}

const balanceText = (b: ReturnType<typeof refundBalance>): string =>
  `captured ${b.captured}, refunded ${b.refunded}, in refunds in flight ${b.inFlight}`;

/**
 * The merchant's earlier refund that `request` repeats: the same reference, and the same amount (or no amount both
 * times). Undefined when the reference is new.
 * @throws ApplicationFailure `RequestConflict` when the reference was used for another amount
 */
export function repeatedRefund(s: PaymentState, request: RefundRequest): RefundRecord | undefined {
  const earlier = s.refunds.find((r) => r.merchantRefundReference === request.merchantRefundReference);
  if (!earlier) return undefined;
  const amount = request.amount;
  const same =
    amount === undefined
      ? earlier.rest === true
      : earlier.rest !== true && amount.value === earlier.amount.value && amount.currency === earlier.amount.currency;
  if (!same) {
    reject(
      UPDATE_REJECTION.REQUEST_CONFLICT,
      'refund_reference_conflict',
      `refund reference ${request.merchantRefundReference} of payment ${ref(s)} was used for a refund of ` +
        `${earlier.rest === true ? `the rest (${earlier.amount.value})` : earlier.amount.value}; use a new reference for another refund`,
    );
  }
  return earlier;
}

/**
 * A refund applies to a PROCESSED payment within its refund window, for at most what is left (never more than was
 * captured, counting the refunds in flight), in the payment's currency, and at least Plural's minimum. A repeat of
 * an earlier refund (same reference and amount) is accepted: the handler answers it with that refund.
 * @param nowMs the current time (workflow time inside the workflow)
 */
export function validateRefund(s: PaymentState, request: RefundRequest, nowMs: number): void {
  if (repeatedRefund(s, request)) return;
  if (s.status !== PAYMENT_STATUS.PROCESSED) {
    reject(
      UPDATE_REJECTION.INVALID_STATE,
      'payment_not_refundable',
      `payment ${ref(s)} is ${s.status}, not PROCESSED; only a processed payment can be refunded`,
    );
  }
  const windowEnd = s.refundWindowEndsAt === undefined ? NaN : Date.parse(s.refundWindowEndsAt);
  if (!(nowMs < windowEnd)) {
    reject(
      UPDATE_REJECTION.INVALID_STATE,
      'refund_window_closed',
      `payment ${ref(s)} took refunds until ${s.refundWindowEndsAt ?? 'its workflow ended'}; refund it from Plural's dashboard`,
    );
  }
  const balance = refundBalance(s);
  const left = balance.left;
  const amount = request.amount;
  if (amount === undefined) {
    if (left < MIN_REFUND_VALUE) {
      reject(
        UPDATE_REJECTION.LIMIT_REACHED,
        'nothing_to_refund',
        `payment ${ref(s)} has ${left} left to refund (${balanceText(balance)}), below Plural's minimum refund of ` +
          `${MIN_REFUND_VALUE}`,
      );
    }
    return;
  }
  const currency = s.amountCaptured?.currency ?? s.amount.currency;
  if (amount.currency !== currency) {
    reject(
      UPDATE_REJECTION.INVALID_REQUEST,
      'refund_currency_mismatch',
      `refund currency ${amount.currency} differs from the captured currency ${currency} of payment ${ref(s)}`,
    );
  }
  if (!Number.isSafeInteger(amount.value) || amount.value <= 0) {
    reject(
      UPDATE_REJECTION.INVALID_REQUEST,
      'invalid_refund_amount',
      `refund amount ${amount.value} must be a positive integer of minor units`,
    );
  }
  if (amount.value > left) {
    reject(
      UPDATE_REJECTION.INVALID_REQUEST,
      'refund_amount_too_large',
      `refund amount ${amount.value} exceeds the ${left} left to refund on payment ${ref(s)} (${balanceText(balance)})`,
    );
  }
  if (amount.value < MIN_REFUND_VALUE) {
    reject(
      UPDATE_REJECTION.INVALID_REQUEST,
      'refund_amount_too_small',
      `refund amount ${amount.value} is below Plural's minimum refund of ${MIN_REFUND_VALUE}`,
    );
  }
}
