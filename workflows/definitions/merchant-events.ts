/**
 * Merchant webhooks: what the engine tells the merchant's backend (signed the Standard Webhooks way by the worker).
 */
import type { PaymentFailure, RefundRecord } from './state';
import type { PaymentStatus } from './statuses';
import type { PaymentSummary } from './visibility';

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
  /**
   * 2: the event's id also covers the payment's creation time (`merchantEventId`). Absent in deliveries scheduled
   * before, whose retries keep the id their first attempt sent.
   */
  idVersion?: 2;
}
