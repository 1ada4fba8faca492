/**
 * Types shared by the payment activities and the workflow (which imports them as types only).
 * No value here may carry card data or an OTP (only vault handles): activities return ids, statuses, amounts and
 * last-4 digits only.
 */
import type { CustomerDetails, DeviceInfo, Money } from '../workflows/definitions/terms';

export type { CardSecret, CardVault } from '../card-vault';

/** Logger subset the activities use (pino-compatible); never given card data, OTPs or tokens. */
export interface ActivityLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** One payment of an order, as the workflow sees it. */
export interface PaymentSnapshot {
  id: string;
  method: string;
  status: string;
  amount: Money;
  capturedValue: number;
  errorCode: string | undefined;
  errorMessage: string | undefined;
}

/**
 * The card Plural saved for the customer after a `save: true` payment, as Get Customer Tokens reports it: the
 * token id (pay with it as `card_token`), its status and what a receipt shows. No card data.
 */
export interface SavedCardSnapshot {
  tokenId: string;
  /** Plural's token status: INITIATED, ACTIVE (can pay), SUSPENDED, FAILED or DEACTIVATED. */
  status: string | undefined;
  last4: string;
  expiryMonth: string | undefined;
  expiryYear: string | undefined;
}

/** An order, as the workflow sees it. */
export interface OrderSnapshot {
  orderId: string;
  status: string;
  amount: Money;
  payments: PaymentSnapshot[];
  /** Sum of the payments' capture data, minor units. */
  capturedValue: number;
  /**
   * Whether any payment lists capture data (false: `capturedValue` comes from the statuses alone). Absent in answers
   * recorded before it existed.
   */
  capturesListed?: boolean;
  /**
   * Set by `getOrder` when asked (`savedCardOf`) and Plural has saved the card: once the card payment is
   * authorized and Plural lists a token for the customer's card. Absent otherwise (ask again later).
   */
  savedCard?: SavedCardSnapshot;
}

/** Get Order; `savedCardOf` also looks up the card a `save: true` payment saved for the customer. */
export interface GetOrderInput {
  orderId: string;
  savedCardOf?: { customerId: string; last4: string };
}

export interface CreateOrderInput {
  workflowId: string;
  merchantOrderReference: string;
  amount: Money;
  preAuth: boolean;
  /**
   * When the payment began (ISO 8601): an order Plural already holds under this reference that was created well
   * before it is another payment's, never adopted. Absent in activities scheduled before the field existed.
   */
  notBefore?: string;
  customer?: CustomerDetails;
  callbackUrl?: string;
  failureCallbackUrl?: string;
  notes?: string;
  merchantMetadata?: Record<string, string>;
  /**
   * Look the card up once the order is created, in the same attempt (one workflow step fewer than a `lookupCard` of
   * its own). Best effort: the result's `card` is absent when the lookup failed or was not asked for.
   */
  thenLookupCard?: CardLookupInput;
}

/** Create Order's result: the order, and the card lookup when `thenLookupCard` asked and it succeeded. */
export type CreateOrderResult = OrderSnapshot & { card?: CardLookupResult };

export interface CheckoutLinkResult {
  orderId: string;
  redirectUrl: string;
}

/** What the card lookup needs: the card's vault handle and the amount. */
export interface CardLookupInput {
  cardHandle: string;
  amount: number;
}

export interface CardLookupResult {
  nativeOtpSupported: boolean;
  network: string | undefined;
}

export interface PointsBalanceInput {
  cardHandle: string;
  last4: string;
  registeredMobileNumber: string;
  amount: Money;
}

export interface PointsBalanceResult {
  eligible: boolean;
  redeemable: Money;
}

/** What the create-payment activity needs; handles only, never card data. */
export type PaymentInstrument =
  | { kind: 'card'; cardHandle: string; save: boolean }
  | { kind: 'card_token'; tokenId: string; cvvHandle: string }
  | { kind: 'network_token'; handle: string; last4?: string }
  | { kind: 'card_points'; cardHandle: string; last4: string; registeredMobileNumber: string; pointsAmount: Money };

/** The card hand-offs a payment that will make no Create Payment leaves in the vault (see `discardHandOff`). */
export interface DiscardHandOffInput {
  handles: string[];
}

export interface CreatePaymentInput {
  workflowId: string;
  orderId: string;
  amount: Money;
  preAuth: boolean;
  instrument: PaymentInstrument;
  /** Browser details for 3-D Secure, sent with the card payment. */
  deviceInfo?: DeviceInfo;
  /**
   * Run again after an operator's retry of the parked step: an earlier activity may have created the payment (its
   * answer lost), so Plural's order is read first, as on any retried attempt.
   */
  retried?: true;
  /**
   * Generate the native OTP once the payment is created and its card payment pending, in the same attempt (one
   * workflow step fewer than a `generateOtp` of its own). Best effort: the result's `otp` is absent when the
   * generation failed, was not asked for, or the payment was found created by an earlier attempt.
   */
  thenGenerateOtp?: true;
}

export interface CreatePaymentResult {
  order: OrderSnapshot;
  challengeUrl: string | undefined;
  /** Id of the card payment (the one native OTP applies to). */
  cardPaymentId: string | undefined;
  /** Plural's answer to Generate OTP (when `thenGenerateOtp` asked and Plural answered). */
  otp?: OtpGenerateResult;
}

/** What Generate OTP needs: the payment's workflow (its idempotency key) and the card payment. */
export interface GenerateOtpInput {
  workflowId: string;
  paymentId: string;
}

export interface OtpGenerateResult {
  eligible: boolean;
  next: string[];
  resendAfterSeconds: number | undefined;
}

/** What the submit-OTP activity needs: the OTP's vault handle, never the OTP. */
export interface SubmitOtpInput {
  workflowId: string;
  paymentId: string;
  otpHandle: string;
  /** 1-based submission number: part of the idempotency key, so each submission is a distinct call. */
  submission: number;
  /**
   * Read Plural's order once the OTP is accepted, in the same attempt (one workflow step fewer than a `getOrder` of
   * its own). Best effort: the result's `order` is absent when the read failed or was not asked for.
   */
  thenGetOrder?: GetOrderInput;
}

export type OtpSubmitResult =
  | {
      outcome: 'ACCEPTED';
      /** Plural's order read right after (when `thenGetOrder` asked and the read succeeded). */
      order?: OrderSnapshot;
    }
  | {
      outcome: 'INCORRECT';
      next: string[];
      resendAfterSeconds: number | undefined;
      message: string;
      /** False when the OTP was malformed and never reached Plural (no attempt used). */
      counted: boolean;
    }
  | { outcome: 'FAILED'; code: string; message: string };

export type OtpResendResult =
  | { outcome: 'SENT'; next: string[]; resendAfterSeconds: number | undefined }
  | {
      outcome: 'REJECTED';
      code: string;
      message: string;
      resendAfterSeconds: number | undefined;
      /** What Plural's refusal says the customer can do next (absent in results recorded before it was passed on). */
      next?: string[];
    };

export interface CaptureInput {
  workflowId: string;
  orderId: string;
  /** Omit for a full capture. */
  amount?: Money;
  /**
   * Run again after an operator's retry of the parked capture: an earlier activity may have captured (its answer
   * lost), so Plural's order is read first, as on any retried attempt.
   */
  retried?: true;
  /**
   * The operator's retries of a capture Plural refused (leaving the order AUTHORIZED) so far: from the first such retry
   * on, each goes under an idempotency key and capture reference of its own (`<workflowId>:capture-<n>`), so that a
   * Plural that replays a key's answer does not answer the refusal again. Absent for the first capture and its
   * retries after an outage, which must reuse the key Plural may have seen.
   */
  afterRefusals?: number;
}

export interface RefundInput {
  workflowId: string;
  /** The order to refund (its captured money). */
  orderId: string;
  amount: Money;
  /** Names the refund in its idempotency key and merchant reference (e.g. `auto-refund`). */
  step: string;
  /**
   * Run again after an operator's retry of the parked refund: an earlier activity may have refunded (its answer lost),
   * so the refund is looked up under its reference first, as on any retried attempt.
   */
  retried?: true;
}

/** A refund order as the workflow sees it. */
export interface RefundSnapshot {
  refundOrderId: string;
  /** The refund's merchant reference at Plural. */
  reference: string;
  /** Plural's refund status: CREATED, PENDING, PROCESSED or FAILED. */
  status: string;
  amount: Money;
}

/**
 * A refund order a gateway event named (`readRefund`): `steps` are the payment's own refund steps, whose merchant
 * references tell its own refunds from those made outside the engine.
 */
export interface ReadRefundInput {
  workflowId: string;
  /** The payment's order: the refund order must name it as its parent. */
  orderId: string;
  refundOrderId: string;
  steps: string[];
}

/** A refund of the payment's order read at Plural; `ownStep` when its reference is one of the payment's own steps. */
export interface ReadRefundResult extends RefundSnapshot {
  ownStep?: string;
}

/** `readRefund`'s answer when Plural had no order under the id, read again within the activity (it may lag). */
export interface RefundOrderNotFound {
  refundOrderId: string;
  notFound: true;
}

export interface CancelInput {
  workflowId: string;
  orderId: string;
  /** Distinguishes cancellations by cause in the idempotency key (e.g. `cancel`, `late-authorization-cancel`). */
  step: string;
}
