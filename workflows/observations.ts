/**
 * What a callback, a webhook or a Get Order answer says about an order, in the workflow's terms. Plural's status
 * strings are matched here only (ORDER_STATUS / PAYMENT_STATUS / WEBHOOK_EVENT of the Plural client).
 */
import type { OrderSnapshot } from '../activities';
import type { CallbackReceivedSignal, WebhookReceivedSignal } from './definitions';

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

/** Plural order status → observation kind. ATTEMPTED: the (single) payment attempt failed. */
function kindOfOrderStatus(status: string): Observation['kind'] {
  switch (status) {
    case 'AUTHORIZED':
      return 'AUTHORIZED';
    case 'PROCESSED':
    case 'PARTIALLY_CAPTURED':
    case 'PARTIALLY_REFUNDED':
    case 'FULLY_REFUNDED':
      return 'PROCESSED';
    case 'CANCELLED':
      return 'CANCELLED';
    case 'FAILED':
    case 'ATTEMPTED':
      return 'FAILED';
    default:
      return 'NONE';
  }
}

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
