/**
 * A payment's terms, as the merchant asks for them: money in minor units, the method (card-vault handles only, never
 * card data), the customer and the device, and the durations and limits with their defaults.
 */

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
  /**
   * Gateway event ids (webhook ids, callbacks) a continue-as-new carries to the next run, the most recent ones, so that
   * the next run still drops their repeats. An older event sent again is confirmed with Get Order once more, which can
   * only repeat what the payment holds; the bound keeps the state a payment carries from growing with every event.
   */
  seenEventsCarried: number;
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
  seenEventsCarried: 1_000,
});
