/**
 * What a payment can be and why: the merchant-facing statuses, the failure types the activities throw and the
 * workflow branches on, closing reasons and next actions.
 */

/**
 * Payment statuses exposed to merchants. PROCESSED, CANCELLED and FAILED are terminal, and a payment reaches one only
 * once Plural's order is final, or can take no money (none was created, or the engine never made a payment on its
 * seamless order): until then the status says the engine is still working (`PROCESSING`, `CLOSING`).
 */
export const PAYMENT_STATUS = {
  /** The order is being created at Plural. */
  CREATED: 'CREATED',
  /** The native OTP was sent to the card holder. */
  AWAITING_OTP: 'AWAITING_OTP',
  /** The customer must complete the 3-D Secure challenge page or pay on Plural's hosted checkout page. */
  AWAITING_CHALLENGE: 'AWAITING_CHALLENGE',
  /** A pre-authorization is authorized: capture it or cancel it. */
  AUTHORIZED: 'AUTHORIZED',
  /** A sale is authorized at Plural and on its way to PROCESSED; nothing to do but wait. */
  PROCESSING: 'PROCESSING',
  /**
   * The payment is being stopped (the merchant cancelled before authorization, or the customer did not authenticate
   * in time) while Plural's order could still take money: the engine cancels an authorization that arrives, refunds a
   * payment Plural completes, and ends the payment CANCELLED or FAILED once Plural's order is final.
   */
  CLOSING: 'CLOSING',
  PROCESSED: 'PROCESSED',
  CANCELLED: 'CANCELLED',
  FAILED: 'FAILED',
} as const;
export type PaymentStatus = (typeof PAYMENT_STATUS)[keyof typeof PAYMENT_STATUS];

/** Terminal statuses: nothing moves a payment out of them. */
export const TERMINAL_STATUSES: readonly PaymentStatus[] = [
  PAYMENT_STATUS.PROCESSED,
  PAYMENT_STATUS.CANCELLED,
  PAYMENT_STATUS.FAILED,
];

/** `ApplicationFailure.type` values thrown by the payment activities; the workflow branches on these. */
export const FAILURE_TYPE = {
  /** The card hand-off handle is missing (expired or already destroyed): ask the customer to pay again. */
  CARD_DATA_UNAVAILABLE: 'CardDataUnavailable',
  /** The OTP hand-off handle is missing (expired or already destroyed): Plural never saw it; submit the OTP again. */
  OTP_UNAVAILABLE: 'OtpUnavailable',
  /** Plural refused to create the order (validation or business rule). */
  ORDER_REJECTED: 'OrderRejected',
  /** Plural refused the payment (card expired, declined, invalid token, amount limit…). */
  PAYMENT_REJECTED: 'PaymentRejected',
  /** The card's reward points cannot pay the requested split. */
  POINTS_NOT_ELIGIBLE: 'PointsNotEligible',
  /** Plural refused the capture. */
  CAPTURE_REJECTED: 'CaptureRejected',
  /** Plural refused the cancellation. */
  CANCEL_REJECTED: 'CancelRejected',
  /** Plural refused the refund. */
  REFUND_REJECTED: 'RefundRejected',
  /** Any other business rejection (4xx) that retrying cannot fix. */
  GATEWAY_REJECTED: 'GatewayRejected',
  /** Plural is unreachable, timing out, rate limiting or failing (5xx): retryable. */
  GATEWAY_UNAVAILABLE: 'GatewayUnavailable',
} as const;
export type FailureType = (typeof FAILURE_TYPE)[keyof typeof FAILURE_TYPE];

/** Engine failure codes (besides Plural's own codes such as PAYMENT_DECLINED) reported in `PaymentState.failure`. */
export const ENGINE_FAILURE_CODE = {
  AUTHENTICATION_WINDOW_CLOSED: 'AUTHENTICATION_WINDOW_CLOSED',
  CARD_DATA_UNAVAILABLE: 'CARD_DATA_UNAVAILABLE',
  /** Plural holds an order under the payment's merchant reference that is another payment's: it was not adopted. */
  DUPLICATE_REFERENCE: 'DUPLICATE_REFERENCE',
  POINTS_CONSENT_REQUIRED: 'POINTS_CONSENT_REQUIRED',
  POINTS_NOT_ELIGIBLE: 'POINTS_NOT_ELIGIBLE',
  OTP_ATTEMPTS_EXHAUSTED: 'OTP_ATTEMPTS_EXHAUSTED',
  CANCELLED_BEFORE_AUTHORIZATION: 'CANCELLED_BEFORE_AUTHORIZATION',
  GATEWAY_UNAVAILABLE: 'GATEWAY_UNAVAILABLE',
} as const;

/** Why a payment is {@link PAYMENT_STATUS.CLOSING}, and so how it ends (CANCELLED, or FAILED for a closed window). */
export const CLOSING_REASON = {
  /** The merchant cancelled before authorization. */
  MERCHANT_CANCEL: 'MERCHANT_CANCEL',
  /** An operator gave up on a parked step. */
  OPERATOR_CANCEL: 'OPERATOR_CANCEL',
  /** Temporal's own cancellation of the workflow (the UI's "Request Cancellation"), handled as a cancel. */
  WORKFLOW_CANCELLED: 'WORKFLOW_CANCELLED',
  /** The customer did not complete authentication within the window. */
  AUTHENTICATION_WINDOW_CLOSED: 'AUTHENTICATION_WINDOW_CLOSED',
} as const;
export type ClosingReason = (typeof CLOSING_REASON)[keyof typeof CLOSING_REASON];

/** Plural's smallest refund (₹1), minor units. */
export const MIN_REFUND_VALUE = 100;

/** What the customer or merchant can do next (`PaymentState.nextActions`). */
export const NEXT_ACTION = {
  SUBMIT_OTP: 'SUBMIT_OTP',
  RESEND_OTP: 'RESEND_OTP',
  COMPLETE_CHALLENGE: 'COMPLETE_CHALLENGE',
  REDIRECT_TO_CHECKOUT: 'REDIRECT_TO_CHECKOUT',
  CAPTURE: 'CAPTURE',
  CANCEL: 'CANCEL',
  /** A PROCESSED payment within its refund window with something left to refund. */
  REFUND: 'REFUND',
  OPERATOR_RETRY: 'OPERATOR_RETRY',
} as const;
export type NextAction = (typeof NEXT_ACTION)[keyof typeof NEXT_ACTION];
