/**
 * The payment's messages: Updates for requests that want an answer (each refused by its validator with an
 * {@link UPDATE_REJECTION}), Signals for Plural's fire-and-forget events, and the query.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Money } from './terms';
import type { CaptureOutcome, OtpResendOutcome, OtpSubmissionOutcome, PaymentState, RefundRecord } from './state';

/**
 * Why an Update's validator refused a request, before anything was written to history (the failure's `type`). The
 * API answers each with its HTTP status; nothing else in the API knows the workflow's rules.
 */
export const UPDATE_REJECTION = {
  /** The payment is not in a status where the request applies (409). */
  INVALID_STATE: 'InvalidState',
  /** The request itself is wrong for this payment: a capture above the authorized amount, say (400). */
  INVALID_REQUEST: 'InvalidRequest',
  /** Not yet: details `[{ availableAt }]`, when it will be allowed (429). */
  TOO_EARLY: 'TooEarly',
  /** Nothing of the kind is left (no OTP resends; Plural's one capture used) (409). */
  LIMIT_REACHED: 'LimitReached',
  /** The same merchant reference (of the order, or of a refund) with a different request (409). */
  REQUEST_CONFLICT: 'RequestConflict',
} as const;
export type UpdateRejection = (typeof UPDATE_REJECTION)[keyof typeof UPDATE_REJECTION];

/**
 * Sent with the payment's start (update-with-start): answers once the payment is actionable (awaiting the customer,
 * authorized, parked, or final). A repeat of the creating request (same fingerprint) attaches to the running payment
 * and gets the same answer; another request under the same reference is refused (`RequestConflict`).
 */
export interface OpenPaymentRequest {
  /** The API's id for this HTTP request: the payment was created by it when it equals the input's `requestId`. */
  requestId: string;
  /** HMAC of the create request (no card data): equal fingerprints are the same request. */
  requestFingerprint: string;
}
export interface OpenPaymentAnswer {
  state: PaymentState;
  /** This request started the payment (201), rather than finding it running (200). */
  created: boolean;
}

/**
 * The customer's OTP, as a card-vault handle: the OTP itself never enters history (the API puts `{ otp }` in the
 * vault, the submit-OTP activity reads and destroys it).
 */
export interface SubmitOtpRequest {
  otpHandle: string;
  /**
   * A keyed hash of the OTP, per payment (the API's; never the OTP). The same OTP again while it is queued or being
   * sent joins that submission and gets its answer, and the OTP Plural last refused is answered INCORRECT without
   * being sent again (until a resend): a client retrying a request that timed out never spends a second attempt.
   */
  otpDigest?: string;
}
export interface SubmitOtpAnswer {
  /** ACCEPTED, INCORRECT (attempts left), FAILED (Plural ended it, or the OTP never reached Plural), IGNORED. */
  outcome: OtpSubmissionOutcome;
  attemptsLeft: number;
  message?: string;
  state: PaymentState;
}

export interface ResendOtpAnswer {
  outcome: OtpResendOutcome;
  message?: string;
  state: PaymentState;
}

/** Capture an AUTHORIZED pre-auth payment; omit `amount` for a full capture. */
export interface CaptureRequest {
  amount?: Money;
}
export interface CaptureAnswer {
  outcome: CaptureOutcome['outcome'];
  /** What this capture took, when it did. */
  amountCaptured?: Money;
  message?: string;
  state: PaymentState;
}

/**
 * Longest free text a person adds to a payment (a cancel's `reason`, an operator's name or reason): the API refuses
 * more, and the workflow keeps at most this much of what reaches it another way (Temporal's CLI or UI), so its
 * history, audit trail and log lines stay bounded.
 */
export const FREE_TEXT_MAX_LENGTH = 200;

export interface CancelRequest {
  /** At most {@link FREE_TEXT_MAX_LENGTH} characters are kept. */
  reason?: string;
}
/** The payment after the cancel: CANCELLED, or CLOSING (not authorized yet: Plural cancels only authorizations). */
export interface PaymentAnswer {
  state: PaymentState;
}

export interface OperatorRequest {
  /** Who asked (for the audit trail). At most {@link FREE_TEXT_MAX_LENGTH} characters are kept, as of `reason`. */
  operator?: string;
  reason?: string;
}

/**
 * Refund a PROCESSED payment, in full or in part. `merchantRefundReference` is the merchant's id for the refund,
 * unique per payment: a repeat with the same amount is answered with that refund, another amount is refused.
 */
export interface RefundRequest {
  merchantRefundReference: string;
  /** Omit to refund the rest: captured − refunded − refunds in flight. */
  amount?: Money;
  /** The merchant's words, for the audit trail and the refund's record. */
  reason?: string;
}
export interface RefundAnswer {
  /**
   * `REFUNDED`: Plural created it (the refund's `status` says PROCESSED, PENDING or FAILED); `REPEATED`: the
   * reference was used before with this amount, `refund` is that refund; `REJECTED`: Plural refused it and nothing
   * was kept (the reference may be used again); `PARKED`: Plural kept failing, the refund waits for an operator.
   */
  outcome: 'REFUNDED' | 'REPEATED' | 'REJECTED' | 'PARKED';
  refund: RefundRecord;
  message?: string;
  state: PaymentState;
}

export const openPaymentUpdate = defineUpdate<OpenPaymentAnswer, [OpenPaymentRequest]>('openPayment');
export const submitOtpUpdate = defineUpdate<SubmitOtpAnswer, [SubmitOtpRequest]>('submitOtp');
export const resendOtpUpdate = defineUpdate<ResendOtpAnswer, []>('resendOtp');
export const captureUpdate = defineUpdate<CaptureAnswer, [CaptureRequest]>('capture');
export const cancelUpdate = defineUpdate<PaymentAnswer, [CancelRequest]>('cancel');
export const refundUpdate = defineUpdate<RefundAnswer, [RefundRequest]>('refund');
/** Retry the parked step; answers once it has run again (unparked, or parked again). */
export const operatorRetryUpdate = defineUpdate<PaymentAnswer, [OperatorRequest]>('operatorRetry');
/** Give up on the parked step: a cancel (an authorization is cancelled at Plural; otherwise the payment closes). */
export const operatorGiveUpUpdate = defineUpdate<PaymentAnswer, [OperatorRequest]>('operatorGiveUp');

/** A signed browser callback, already verified by the API. */
export interface CallbackReceivedSignal {
  orderId: string;
  /** The callback's `status` (a payment status: AUTHORIZED, PROCESSED, FAILED…). */
  status: string;
  errorCode?: string;
  errorMessage?: string;
}

/** A signed webhook, already verified by the API, reduced to what the workflow needs. */
export interface WebhookReceivedSignal {
  /** The `webhook-id` header: stable across Plural's resends, used to deduplicate. */
  webhookId: string;
  eventType: string;
  orderId: string;
  orderStatus: string;
  /** Amount captured, when the event carries capture data. */
  capturedAmount?: Money;
  /** For a refund's event (`REFUND_*`): the refunded order, whose payment the refund belongs to. */
  parentOrderId?: string;
  errorCode?: string;
  errorMessage?: string;
}

export const callbackReceivedSignal = defineSignal<[CallbackReceivedSignal]>('callbackReceived');
export const webhookReceivedSignal = defineSignal<[WebhookReceivedSignal]>('webhookReceived');

export const getPaymentQuery = defineQuery<PaymentState>('getPayment');
