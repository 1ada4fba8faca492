/**
 * A merchant event on the wire: its stable id (the `webhook-id` header, the same for every retry and every endpoint)
 * and its JSON body, in the API's snake_case vocabulary. Neither holds card data, an OTP or a secret.
 */
import { createHash } from 'node:crypto';
import { paymentSummaryResource, refundResource } from '../api/resource';
import type { MerchantDelivery, MerchantEvent } from '../workflows/definitions';

/**
 * The event's id: `evt_` + 32 base64url characters of SHA-256 over the workflow id, the payment's creation time and
 * the event's sequence number. Deterministic, so a retry (Temporal's, or a new run after continue-as-new) sends the
 * same id and the merchant can deduplicate on it; the creation time tells apart two payments under one workflow id (a
 * reference used again once Temporal no longer holds the first); opaque, so it does not echo the order reference into
 * logs that keep only ids. Without `paymentCreatedAt`: the id of deliveries scheduled before it was part of the id.
 */
export function merchantEventId(workflowId: string, sequence: number, paymentCreatedAt?: string): string {
  const text =
    paymentCreatedAt === undefined ? `${workflowId}\n${sequence}` : `${workflowId}\n${paymentCreatedAt}\n${sequence}`;
  return `evt_${createHash('sha256').update(text).digest('base64url').slice(0, 32)}`;
}

/** The id of `event` as a delivery names it (see {@link MerchantDelivery.idVersion}). */
export function deliveryEventId(delivery: Pick<MerchantDelivery, 'workflowId' | 'event' | 'idVersion'>): string {
  const { workflowId, event } = delivery;
  return merchantEventId(workflowId, event.sequence, delivery.idVersion === 2 ? event.payment.createdAt : undefined);
}

/**
 * The body of `event`, as the merchant receives it (`MerchantWebhookEvent` in the OpenAPI document): the payment as a
 * search lists it (the same memo fields), with its merchant, its failure and the refund the event is about.
 */
export function merchantEventBody(merchantId: string, id: string, event: MerchantEvent) {
  const p = event.payment;
  const { object: _summary, ...summary } = paymentSummaryResource(p);
  return {
    id,
    type: event.type,
    timestamp: event.at,
    sequence: event.sequence,
    data: {
      object: 'payment' as const,
      merchant_id: merchantId,
      ...summary,
      failure: p.failure ? { code: p.failure.code, message: p.failure.message } : null,
      refund: event.refund ? refundResource(event.refund) : null,
    },
  };
}
export type MerchantEventBody = ReturnType<typeof merchantEventBody>;
