/**
 * The payment workflow's public contract: task queue, workflow type and id, signals, the query, merchant-facing
 * statuses, failure types, search attributes, input and state types, and duration defaults. Callers (the API, the
 * worker, operators' scripts) import this module; it holds no workflow body.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { SavedCardSnapshot } from '../activities/types';

/** Task queue the payment worker polls. */
export const PAYMENT_TASK_QUEUE = 'payments';

/** Workflow type name (the exported workflow function's name). */
export const PAYMENT_WORKFLOW_TYPE = 'paymentWorkflow';

/**
 * The merchant account of the single-merchant configuration (`API_KEYS`, `PLURAL_*`), and of a payment whose input
 * names none. Its payments keep the workflow ids they had before merchants existed (`payment:<ref>`).
 */
export const DEFAULT_MERCHANT_ID = 'default';

/**
 * A merchant id: a lowercase slug, so it needs no escaping in a workflow id, a URL path or a visibility query, and
 * cannot contain the `:` that separates it from the reference.
 */
export const MERCHANT_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/**
 * One workflow per order and merchant: its id is derived from the merchant and the merchant order reference, so a
 * second start is rejected and two merchants may use the same reference. `payment:<merchantId>:<ref>`; the default
 * merchant's payments keep `payment:<ref>` (references have no `:`, so the two forms never collide).
 */
export function paymentWorkflowId(merchantOrderReference: string, merchantId: string = DEFAULT_MERCHANT_ID): string {
  return merchantId === DEFAULT_MERCHANT_ID
    ? `payment:${merchantOrderReference}`
    : `payment:${merchantId}:${merchantOrderReference}`;
}

/** The merchant and reference a payment workflow id names, or undefined for an id {@link paymentWorkflowId} never makes. */
export function parsePaymentWorkflowId(
  workflowId: string,
): { merchantId: string; merchantOrderReference: string } | undefined {
  const m = /^payment:(?:([a-z0-9-]{1,32}):)?([A-Za-z0-9_-]{1,50})$/.exec(workflowId);
  if (!m?.[2]) return undefined;
  const merchantId = m[1] ?? DEFAULT_MERCHANT_ID;
  if (!MERCHANT_ID_PATTERN.test(merchantId)) return undefined;
  return { merchantId, merchantOrderReference: m[2] };
}

// ---------------------------------------------------------------------------------------------------------------
// Statuses and failure types
// ---------------------------------------------------------------------------------------------------------------

/**
 * Payment statuses exposed to merchants. PROCESSED, CANCELLED and FAILED are terminal, and a payment reaches one only
 * once Plural's order is final: until then the status says the engine is still working (`PROCESSING`, `CLOSING`).
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

// ---------------------------------------------------------------------------------------------------------------
// Search attributes (register them on the namespace before starting workers: the worker adds missing ones)
// ---------------------------------------------------------------------------------------------------------------

export const SEARCH_ATTRIBUTE = {
  PAYMENT_STATUS: defineSearchAttributeKey('PaymentStatus', SearchAttributeType.KEYWORD),
  MERCHANT_ORDER_REFERENCE: defineSearchAttributeKey('MerchantOrderReference', SearchAttributeType.KEYWORD),
  PLURAL_ORDER_ID: defineSearchAttributeKey('PluralOrderId', SearchAttributeType.KEYWORD),
  /** The parked operation (e.g. `capture`) while the payment waits for an operator; removed once resolved. */
  PARKED_OPERATION: defineSearchAttributeKey('PaymentParkedOperation', SearchAttributeType.KEYWORD),
  /** The merchant account the payment belongs to (`MerchantId = "acme"` in the Temporal UI). */
  MERCHANT_ID: defineSearchAttributeKey('MerchantId', SearchAttributeType.KEYWORD),
  /**
   * When the payment last changed (its `updatedAt`), upserted with each status change by payments started with
   * {@link PaymentWorkflowInput.summaryInSearchAttributes}; absent before the first change.
   */
  UPDATED_AT: defineSearchAttributeKey('PaymentUpdatedAt', SearchAttributeType.DATETIME),
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------------------------

/** Money as integer minor units (paise for INR) plus an ISO 4217 code. */
export interface Money {
  value: number;
  currency: string;
}

/** A new card. The PAN/CVV/expiry live in the card vault under `cardHandle`; only the handle enters history. */
export interface NewCardMethod {
  kind: 'card';
  cardHandle: string;
  last4: string;
  /** Save the card on Plural for the customer (`customer.customerId` required). */
  save?: boolean;
}

/** A card saved on Plural; the CVV for this payment is in the vault under `cvvHandle`. */
export interface SavedCardTokenMethod {
  kind: 'card_token';
  tokenId: string;
  cvvHandle: string;
}

/** A network/alt token created on another PA/PG; token, cryptogram and expiry are in the vault under `handle`. */
export interface NetworkTokenMethod {
  kind: 'network_token';
  handle: string;
  last4?: string;
}

/** Card + reward points split: points pay what the balance check allows, the card pays the rest. */
export interface CardPointsMethod {
  kind: 'card_points';
  cardHandle: string;
  last4: string;
  /** The customer's mobile number registered with the issuer (required by Plural for points). */
  registeredMobileNumber: string;
  /** The customer's explicit consent to redeem points; without it the payment fails before any call. */
  customerConsent: boolean;
}

/** Plural-hosted checkout: the customer pays on Plural's page (`redirect_url`); no card data touches the engine. */
export interface HostedCheckoutMethod {
  kind: 'hosted_checkout';
}

export type PaymentMethodDescriptor =
  NewCardMethod | SavedCardTokenMethod | NetworkTokenMethod | CardPointsMethod | HostedCheckoutMethod;
export type PaymentMethodKind = PaymentMethodDescriptor['kind'];

/** A postal address, as Plural's `billing_address` / `shipping_address` carry it (every field a string). */
export interface Address {
  address1?: string;
  address2?: string;
  address3?: string;
  pincode?: string;
  city?: string;
  state?: string;
  country?: string;
}

export interface CustomerDetails {
  /** Plural customer id (needed to save a card). */
  customerId?: string;
  firstName?: string;
  lastName?: string;
  email?: string;
  mobileNumber?: string;
  countryCode?: string;
  /** Sent as `purchase_details.customer.billing_address`. */
  billingAddress?: Address;
  /** Sent as `purchase_details.customer.shipping_address`. */
  shippingAddress?: Address;
}

/**
 * The customer's browser, sent with a card payment for 3-D Secure (Plural's `device_info`). Every value is a string,
 * as Plural's guides send them (`"768"`, `"true"`, `"-330"`).
 */
export interface DeviceInfo {
  /** `browser` for a web checkout. */
  deviceChannel?: string;
  browserAcceptHeader?: string;
  browserUserAgent?: string;
  browserLanguage?: string;
  browserScreenHeight?: string;
  browserScreenWidth?: string;
  /** Minutes from UTC as the browser reports them (`"-330"` for IST). */
  browserTimezone?: string;
  /** `"1366x768"`. */
  browserWindowSize?: string;
  browserScreenColorDepth?: string;
  browserJavaEnabled?: string;
  browserJavascriptEnabled?: string;
}

/** Durations in milliseconds; every field is optional in the input and defaults to {@link DEFAULT_DURATIONS}. */
export interface PaymentDurations {
  /** How long the customer has to enter the native OTP. */
  otpWindowMs: number;
  /** How long the customer has to complete the 3-D Secure challenge page. */
  challengeWindowMs: number;
  /** How long the customer has to pay on Plural's hosted checkout page. */
  checkoutWindowMs: number;
  /** First Get Order reconciliation after this long without a callback or webhook; doubles each time. */
  reconcileInitialDelayMs: number;
  /** Cap of the reconciliation backoff. */
  reconcileMaxDelayMs: number;
  /**
   * Cap of the Get Order backoff while a payment is CLOSING (watching Plural's order until it is final). Plural's
   * webhooks, confirmed with Get Order, usually end the watch sooner.
   */
  closingReconcileMaxDelayMs: number;
  /** Cancel an uncaptured pre-authorization automatically this long after it was authorized. */
  autoCancelAfterMs: number;
  /** Authorization lifetime assumed for `authorizationExpiresAt` (Plural documents none; cards commonly 7 days). */
  authorizationLifetimeMs: number;
  /**
   * How long a PROCESSED payment takes refunds: its workflow stays open this long after PROCESSED (waiting on a
   * timer), then completes once no refund is pending. It completes sooner when everything captured is refunded.
   */
  refundWindowMs: number;
  /** Cap of the Get Order backoff on a refund Plural reports PENDING (its REFUND_* webhook usually comes first). */
  refundReconcileMaxDelayMs: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Documented defaults of {@link PaymentDurations}. */
export const DEFAULT_DURATIONS: Readonly<PaymentDurations> = Object.freeze({
  otpWindowMs: 10 * MINUTE,
  challengeWindowMs: 15 * MINUTE,
  checkoutWindowMs: 30 * MINUTE,
  reconcileInitialDelayMs: 30_000,
  reconcileMaxDelayMs: 5 * MINUTE,
  closingReconcileMaxDelayMs: HOUR,
  autoCancelAfterMs: 5 * DAY,
  authorizationLifetimeMs: 7 * DAY,
  refundWindowMs: 180 * DAY,
  refundReconcileMaxDelayMs: 6 * HOUR,
});

/** Limits; optional in the input, defaulting to {@link DEFAULT_LIMITS}. */
export interface PaymentLimits {
  /** Wrong OTPs the engine shows as allowed (Plural's own limit is authoritative and undocumented). */
  otpMaxAttempts: number;
  /** OTP resends the engine allows. */
  otpMaxResends: number;
  /** Attempts per activity for transient gateway failures before the step is parked for an operator. */
  activityMaxAttempts: number;
  /** First retry delay of an activity; doubles per attempt. */
  activityRetryInitialIntervalMs: number;
  /** Cap of the activity retry delay. */
  activityRetryMaximumIntervalMs: number;
  /** First retry delay of a merchant webhook delivery; doubles per attempt. */
  webhookRetryInitialIntervalMs: number;
  /** Cap of the merchant webhook delivery's retry delay. */
  webhookRetryMaximumIntervalMs: number;
  /**
   * How long one merchant event is retried (the delivery activity's schedule-to-close timeout); after it the event
   * is noted as undelivered and the next one goes.
   */
  webhookDeliveryWindowMs: number;
  /**
   * History length from which a payment waiting out its refund window continues as new (carrying its state), once
   * it has handled something in this run and nothing is in flight. The server's own suggestion is followed too.
   */
  continueAsNewAfterEvents: number;
}

export const DEFAULT_LIMITS: Readonly<PaymentLimits> = Object.freeze({
  otpMaxAttempts: 3,
  otpMaxResends: 2,
  activityMaxAttempts: 8,
  activityRetryInitialIntervalMs: 1_000,
  activityRetryMaximumIntervalMs: 30_000,
  webhookRetryInitialIntervalMs: 1_000,
  webhookRetryMaximumIntervalMs: 60 * 60_000,
  webhookDeliveryWindowMs: 24 * 60 * 60_000,
  continueAsNewAfterEvents: 5_000,
});

/** Workflow input. Holds no card data: only vault handles and the last 4 digits. */
export interface PaymentWorkflowInput {
  /**
   * The merchant account (config/merchants.ts) the payment belongs to; absent: {@link DEFAULT_MERCHANT_ID}. Only the
   * id: the activities look the merchant's Plural credentials up, so no secret enters the history.
   */
  merchantId?: string;
  merchantOrderReference: string;
  amount: Money;
  /** Authorize now and capture later (cards and points only). */
  preAuth: boolean;
  method: PaymentMethodDescriptor;
  customer?: CustomerDetails;
  callbackUrl?: string;
  failureCallbackUrl?: string;
  durations?: Partial<PaymentDurations>;
  limits?: Partial<PaymentLimits>;
  /** The order's `notes` at Plural. */
  notes?: string;
  /** The merchant's own key-value pairs, sent as `purchase_details.merchant_metadata`. */
  merchantMetadata?: Record<string, string>;
  /**
   * The merchant's page the browser returns to after Plural's pages (an allowed host, checked by the API; not a
   * secret). Never sent to Plural: Plural returns the browser to the API's callback, which redirects it here.
   */
  returnUrl?: string;
  /** Browser details for 3-D Secure, sent with the card payment as `device_info`. */
  deviceInfo?: DeviceInfo;
  /** The id of the API request that created the payment (see {@link OpenPaymentRequest}). */
  requestId?: string;
  /** HMAC of the creating request, no card data: a repeat with another fingerprint is refused. */
  requestFingerprint?: string;
  /**
   * Ids of the merchant's webhook endpoints that hear of this payment's status changes and refunds (see
   * {@link MerchantEvent}); absent or empty, the payment sends none. Only ids: the worker looks each endpoint's URL
   * and secret up in its configuration, so neither enters history.
   */
  webhookEndpointIds?: string[];
  /**
   * The payment's search-attribute upserts carry only the attributes whose value changed (none when none did, as in
   * the first task of a payment started with its attributes). Set by the API for every payment it starts; absent in
   * payments started before this flag existed, which replay their upserts of all five attributes. An input field and
   * not `patched()`, whose marker would itself upsert the `TemporalChangeVersion` attribute: the write this saves.
   */
  searchAttributeChangesOnly?: boolean;
  /**
   * The payment's summary is split between search attributes and memo: its status, Plural order id and last change
   * (`PaymentUpdatedAt`) are search attributes, and the memo is written again only when the rest of the summary
   * changes (the amounts captured and refunded). Readers lay the attributes over the memo (api/temporal-engine.ts).
   * The Plural order id waits for the payment's next move, so that it costs no visibility write of its own. Set by
   * the API, with {@link searchAttributeChangesOnly}, for every payment it starts; absent in payments started before
   * it existed, which replay writing the memo at every move.
   */
  summaryInSearchAttributes?: boolean;
  /**
   * Set only by the workflow itself when a PROCESSED payment waiting out its refund window continues as new: the
   * state it carries on with (the new run skips straight to the refund window).
   */
  continued?: ContinuedPayment;
}

/** What a payment's next run carries over when it continues as new in its refund window. */
export interface ContinuedPayment {
  state: PaymentState;
  /** Gateway events already seen (deduplication of Plural's resends). */
  seenEvents: string[];
  /** Merchant events not yet delivered, and the next event's sequence number. */
  merchantOutbox?: MerchantOutboxState;
}

// ---------------------------------------------------------------------------------------------------------------
// Merchant webhooks: what the engine tells the merchant's backend (signed the Standard Webhooks way by the worker)
// ---------------------------------------------------------------------------------------------------------------

/**
 * Event types of merchant webhooks: `payment.<status>` at every status change, `refund.<status>` when a refund is
 * taken by Plural (PENDING or at once PROCESSED), settles (PROCESSED, FAILED), or is refused.
 */
export const MERCHANT_EVENT_TYPE = {
  PAYMENT_AWAITING_OTP: 'payment.awaiting_otp',
  PAYMENT_AWAITING_CHALLENGE: 'payment.awaiting_challenge',
  PAYMENT_AUTHORIZED: 'payment.authorized',
  PAYMENT_PROCESSING: 'payment.processing',
  PAYMENT_CLOSING: 'payment.closing',
  PAYMENT_PROCESSED: 'payment.processed',
  PAYMENT_CANCELLED: 'payment.cancelled',
  PAYMENT_FAILED: 'payment.failed',
  REFUND_PENDING: 'refund.pending',
  REFUND_PROCESSED: 'refund.processed',
  REFUND_FAILED: 'refund.failed',
} as const;
export type MerchantEventType = (typeof MERCHANT_EVENT_TYPE)[keyof typeof MERCHANT_EVENT_TYPE];

/** The event type of a payment's move to `status` (a payment starts CREATED: no event moves it there). */
export function paymentEventType(status: Exclude<PaymentStatus, 'CREATED'>): MerchantEventType {
  return `payment.${status.toLowerCase()}` as MerchantEventType;
}

/** The event type of a refund's `status`. */
export function refundEventType(status: RefundRecord['status']): MerchantEventType {
  return `refund.${status.toLowerCase()}` as MerchantEventType;
}

/**
 * One event for the merchant, as the workflow records it: the payment's public fields at that moment (never card
 * data, OTP or secrets) and, for a refund's event, the refund. Its id (`webhook-id`) derives from the workflow id
 * and `sequence` (`merchantEventId` in `merchant-webhooks/`), so every retry and every endpoint sees the same id.
 */
export interface MerchantEvent {
  /** 1, 2, 3… per payment, in the order the events happened (carried across continue-as-new). */
  sequence: number;
  type: MerchantEventType;
  /** ISO 8601 workflow time of the event. */
  at: string;
  payment: PaymentSummary & { failure: PaymentFailure | undefined };
  refund?: RefundRecord;
}

/** A merchant endpoint's events not yet delivered, oldest first (the first may be in flight). */
export interface MerchantEndpointQueue {
  endpointId: string;
  events: MerchantEvent[];
}

/** What a payment's run carries of its merchant events. */
export interface MerchantOutboxState {
  nextSequence: number;
  queues: MerchantEndpointQueue[];
}

/** What the `deliverMerchantEvent` activity is given: ids only; the worker's configuration has URL and secret. */
export interface MerchantDelivery {
  merchantId: string;
  endpointId: string;
  workflowId: string;
  event: MerchantEvent;
}

// ---------------------------------------------------------------------------------------------------------------
// Messages: Updates for requests that want an answer, Signals for Plural's fire-and-forget events, the query
// ---------------------------------------------------------------------------------------------------------------

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

/** A transition (or a noted non-transition, where `from === to`) in the audit trail. */
export interface AuditEntry {
  from: PaymentStatus;
  to: PaymentStatus;
  cause: string;
  /** ISO 8601 workflow time. */
  at: string;
}

export interface PaymentFailure {
  code: string;
  message: string;
}

/** A step that failed for good and waits for an operator (`operatorRetry` or `cancelRequested`). */
export interface ParkedOperation {
  operation: 'create_order' | 'create_payment' | 'authenticate' | 'capture' | 'cancel' | 'refund' | 'reconcile';
  code: string;
  message: string;
  since: string;
  retries: number;
}

export type OtpSubmissionOutcome = 'ACCEPTED' | 'INCORRECT' | 'FAILED' | 'IGNORED';
export type OtpResendOutcome = 'SENT' | 'TOO_EARLY' | 'LIMIT_REACHED' | 'REJECTED' | 'IGNORED';

export interface OtpState {
  attemptsLeft: number;
  resendsLeft: number;
  /** ISO time from which a resend is allowed. */
  resendAvailableAt: string | undefined;
  lastSubmission?: { outcome: OtpSubmissionOutcome; message?: string };
  lastResend?: { outcome: OtpResendOutcome; message?: string };
}

export interface CaptureOutcome {
  outcome: 'CAPTURED' | 'REJECTED' | 'PARKED';
  message?: string;
}

/** Why the engine refunded: `AUTO` = money Plural took while the payment was closing; `MERCHANT` = asked for. */
export type RefundReason = 'AUTO' | 'MERCHANT';

/** A refund the engine asked Plural for (or, for a merchant's refund, is about to). */
export interface RefundRecord {
  reason: RefundReason;
  amount: Money;
  /** The merchant's id for the refund (`MERCHANT` refunds): unique per payment. */
  merchantRefundReference?: string;
  /** The merchant's request omitted the amount (refund the rest): a repeat must omit it too. */
  rest?: boolean;
  /** The merchant's words (`MERCHANT` refunds). */
  note?: string;
  /** The refund's own merchant reference at Plural (its idempotency key), once Plural has answered. */
  reference: string | undefined;
  /** Plural's refund order, once created. */
  refundOrderId: string | undefined;
  /** PENDING until Plural says PROCESSED or FAILED (including a merchant's refund not yet sent to Plural). */
  status: 'PENDING' | 'PROCESSED' | 'FAILED';
  /** Why a refund FAILED. */
  failure?: PaymentFailure;
  at: string;
}

/** Why and since when a payment is CLOSING. */
export interface ClosingInfo {
  reason: ClosingReason;
  since: string;
  /** The cancel request's reason, when a person asked. */
  detail?: string;
}

/** What `getPayment` returns. Never holds card data. */
export interface PaymentState {
  workflowId: string;
  merchantOrderReference: string;
  method: PaymentMethodKind;
  preAuth: boolean;
  status: PaymentStatus;
  amount: Money;
  pluralOrderId: string | undefined;
  pluralPaymentIds: string[];
  challengeUrl: string | undefined;
  redirectUrl: string | undefined;
  nextActions: NextAction[];
  otp: OtpState | undefined;
  /** For card + points: the split the balance check allowed. */
  split: { card: Money; points: Money } | undefined;
  amountAuthorized: Money | undefined;
  /** What Plural took (captured), whether or not it was refunded since. */
  amountCaptured: Money | undefined;
  /** What the engine refunded and Plural confirmed; net money taken = captured − refunded. */
  amountRefunded: Money | undefined;
  /** What a refund may still take (captured − refunded − refunds in flight), while the refund window is open. */
  amountRefundable: Money | undefined;
  refunds: RefundRecord[];
  /** A PROCESSED payment takes refunds until then (ISO 8601); its workflow completes after it. */
  refundWindowEndsAt: string | undefined;
  /** Plural's order status at the last answer the engine had (create, Get Order, capture, cancel). */
  pluralOrderStatus: string | undefined;
  /** Set while (and after) the payment was CLOSING. */
  closing: ClosingInfo | undefined;
  /** The card a `save: true` payment saved for the customer at Plural, once Plural lists it (pay with `tokenId`). */
  savedCard: SavedCardSnapshot | undefined;
  authorizedAt: string | undefined;
  authorizationExpiresAt: string | undefined;
  autoCancelAt: string | undefined;
  lastCapture: CaptureOutcome | undefined;
  failure: PaymentFailure | undefined;
  parked: ParkedOperation | undefined;
  /** Get Order calls made to reconcile (no callback or webhook, window closing, after a capture). */
  reconciliations: number;
  lastReconciledAt: string | undefined;
  audit: AuditEntry[];
  /** The merchant's return page for this payment ({@link PaymentWorkflowInput.returnUrl}). */
  returnUrl: string | undefined;
  /** The merchant's metadata, as sent with the create (and to Plural). */
  merchantMetadata: Record<string, string> | undefined;
  /** When the payment's workflow started (ISO 8601). */
  createdAt: string;
  updatedAt: string;
}

/** What a payment is known by before anything has happened to it; read from its memo, all the API knows of it. */
export type PaymentStateBasis = Pick<
  PaymentState,
  | 'workflowId'
  | 'merchantOrderReference'
  | 'method'
  | 'preAuth'
  | 'status'
  | 'amount'
  | 'pluralOrderId'
  | 'amountCaptured'
  | 'amountRefunded'
  | 'returnUrl'
  | 'merchantMetadata'
  | 'createdAt'
  | 'updatedAt'
>;

/**
 * A payment's state knowing only `basis`: every other field unset, empty or zero. The workflow starts from it, and
 * the API answers with it from the memo when no worker does (marked stale).
 */
export function paymentStateOf(basis: PaymentStateBasis): PaymentState {
  return {
    workflowId: basis.workflowId,
    merchantOrderReference: basis.merchantOrderReference,
    method: basis.method,
    preAuth: basis.preAuth,
    status: basis.status,
    amount: basis.amount,
    pluralOrderId: basis.pluralOrderId,
    pluralOrderStatus: undefined,
    pluralPaymentIds: [],
    challengeUrl: undefined,
    redirectUrl: undefined,
    nextActions: [],
    otp: undefined,
    split: undefined,
    amountAuthorized: undefined,
    amountCaptured: basis.amountCaptured,
    amountRefunded: basis.amountRefunded,
    amountRefundable: undefined,
    refunds: [],
    refundWindowEndsAt: undefined,
    authorizedAt: undefined,
    authorizationExpiresAt: undefined,
    autoCancelAt: undefined,
    lastCapture: undefined,
    failure: undefined,
    parked: undefined,
    closing: undefined,
    savedCard: undefined,
    reconciliations: 0,
    lastReconciledAt: undefined,
    audit: [],
    returnUrl: basis.returnUrl,
    merchantMetadata: basis.merchantMetadata,
    createdAt: basis.createdAt,
    updatedAt: basis.updatedAt,
  };
}

/** A new payment's state, from its input: CREATED, nothing done yet. */
export function newPaymentState(
  input: PaymentWorkflowInput,
  at: { workflowId: string; createdAt: string; updatedAt: string },
): PaymentState {
  return paymentStateOf({
    workflowId: at.workflowId,
    merchantOrderReference: input.merchantOrderReference,
    method: input.method.kind,
    preAuth: input.preAuth,
    status: PAYMENT_STATUS.CREATED,
    amount: { ...input.amount },
    pluralOrderId: undefined,
    amountCaptured: undefined,
    amountRefunded: undefined,
    returnUrl: input.returnUrl,
    merchantMetadata: input.merchantMetadata === undefined ? undefined : { ...input.merchantMetadata },
    createdAt: at.createdAt,
    updatedAt: at.updatedAt,
  });
}

export const getPaymentQuery = defineQuery<PaymentState>('getPayment');

/** Memo key of the payment's {@link PaymentSummary}, kept current by the workflow at every status change. */
export const PAYMENT_MEMO_KEY = 'payment';
/** Memo key of the creating request's fingerprint, set at start. */
export const FINGERPRINT_MEMO_KEY = 'requestFingerprint';

/** What the memo holds: enough to answer a read when no worker answers the query (marked stale by the API). */
export interface PaymentSummary {
  merchantOrderReference: string;
  method: PaymentMethodKind;
  preAuth: boolean;
  status: PaymentStatus;
  pluralOrderId: string | undefined;
  amount: Money;
  amountCaptured: Money | undefined;
  amountRefunded: Money | undefined;
  /** Set at the create; absent in memos written before return URLs existed. */
  returnUrl?: string;
  merchantMetadata?: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}
