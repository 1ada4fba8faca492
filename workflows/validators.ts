/**
 * The Update validators: what the payment refuses before anything is written to history. Pure functions of the
 * payment's state (as the query shows it) and the request, so the rules live here only — the API maps a refusal's
 * `type` (`UPDATE_REJECTION`) to an HTTP status and keeps no copy of them.
 */
import { ApplicationFailure } from '@temporalio/common';
import { NEXT_ACTION, PAYMENT_STATUS, TERMINAL_STATUSES, UPDATE_REJECTION } from './definitions';
import type {
  CaptureRequest,
  OpenPaymentRequest,
  PaymentState,
  PaymentWorkflowInput,
  UpdateRejection,
} from './definitions';

/**
 * Refuse the request. The failure's `type` is the kind of refusal (the API's HTTP status), its one detail
 * `{ code, ...more }` the API's error code (`payment_not_authorized`…), so the API answers without knowing the rule.
 */
function reject(type: UpdateRejection, code: string, message: string, more?: Record<string, unknown>): never {
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

export function validateSubmitOtp(s: PaymentState): void {
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
  validateSubmitOtp(s);
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

export function validateCapture(s: PaymentState, request: CaptureRequest): void {
  if (s.status !== PAYMENT_STATUS.AUTHORIZED) {
    reject(
      UPDATE_REJECTION.INVALID_STATE,
      'payment_not_authorized',
      `payment ${ref(s)} is ${s.status}, not AUTHORIZED; it cannot be captured`,
    );
  }
  if (!s.nextActions.includes(NEXT_ACTION.CAPTURE)) {
    reject(
      UPDATE_REJECTION.LIMIT_REACHED,
      'capture_limit_reached',
      `order ${s.pluralOrderId ?? ref(s)} was already captured once (Plural allows one capture)`,
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
