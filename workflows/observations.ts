/**
 * What a callback, a webhook or a Get Order answer says about an order, in the workflow's terms. Plural's webhook
 * event names are matched here (WEBHOOK_EVENT of the Plural client); its order statuses in `plural-order.ts` only.
 */
import type { OrderSnapshot } from '../activities';
import type { CallbackReceivedSignal, WebhookReceivedSignal } from './definitions';
import { stageOf } from './plural-order';
import type { OrderStage } from './plural-order';

export interface Observation {
  kind: 'AUTHORIZED' | 'PROCESSED' | 'CANCELLED' | 'FAILED' | 'NONE';
  source: 'callback' | 'webhook' | 'order';
  orderId: string;
  /** Captured minor units, when known. */
  capturedValue?: number;
  errorCode?: string;
  errorMessage?: string;
  /** For the audit trail. */
  label: string;
}

/** What each stage of Plural's order says (ATTEMPTED: the payment attempt failed; CREATED, PENDING: nothing yet). */
const KIND_OF_STAGE: Record<OrderStage, Observation['kind']> = {
  OPEN: 'NONE',
  ATTEMPT_FAILED: 'FAILED',
  AUTHORIZED: 'AUTHORIZED',
  CAPTURED: 'PROCESSED',
  REFUNDED: 'PROCESSED',
  CANCELLED: 'CANCELLED',
  FAILED: 'FAILED',
};

/** Plural order status → observation kind. */
const kindOfOrderStatus = (status: string): Observation['kind'] => KIND_OF_STAGE[stageOf(status)];

/** A verified browser callback: its `status` is the payment's status. */
export function observationFromCallback(sig: CallbackReceivedSignal): Observation {
  return {
    kind: kindOfOrderStatus(sig.status),
    source: 'callback',
    orderId: sig.orderId,
    errorCode: sig.errorCode,
    errorMessage: sig.errorMessage,
    label: `callback ${sig.status}`,
  };
}

/** A verified webhook: the event type decides; refund and unknown events change nothing. */
export function observationFromWebhook(sig: WebhookReceivedSignal): Observation {
  const base = {
    source: 'webhook' as const,
    orderId: sig.orderId,
    errorCode: sig.errorCode,
    errorMessage: sig.errorMessage,
    label: `webhook ${sig.eventType} (${sig.webhookId})`,
  };
  switch (sig.eventType) {
    case 'ORDER_AUTHORIZED':
      return { ...base, kind: 'AUTHORIZED' };
    case 'ORDER_PROCESSED':
      return { ...base, kind: 'PROCESSED', capturedValue: sig.capturedAmount?.value };
    case 'ORDER_CANCELLED':
      return { ...base, kind: 'CANCELLED' };
    case 'ORDER_FAILED':
      return { ...base, kind: 'FAILED' };
    case 'PAYMENT_FAILED':
      // A failed attempt on a pending order (ATTEMPTED) or a failed order: either ends this workflow's attempt.
      return { ...base, kind: kindOfOrderStatus(sig.orderStatus) === 'FAILED' ? 'FAILED' : 'NONE' };
    default:
      return { ...base, kind: 'NONE' };
  }
}

/** A Get Order (or capture/cancel) answer. */
export function observationFromOrder(order: OrderSnapshot, label: string): Observation {
  const failed = order.payments.find((p) => p.status === 'FAILED' && p.errorCode !== undefined);
  return {
    kind: kindOfOrderStatus(order.status),
    source: 'order',
    orderId: order.orderId,
    capturedValue: order.capturedValue,
    errorCode: failed?.errorCode,
    errorMessage: failed?.errorMessage,
    label: `${label}: Plural order ${order.status}`,
  };
}
