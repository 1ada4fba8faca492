/**
 * Plural's verified events as the payment workflow's Signals: what a browser callback and an order webhook say,
 * reduced to what the workflow needs (it confirms each with Get Order before anything moves), Plural's error texts
 * masked should they echo a card number, CVV or OTP. The one mapping the API and the workflow tests' webhook forwarder
 * both use.
 */
import type { Order, PluralCallback } from '../plural-client';
import { redactSensitive } from '../plural-client/redact';
import type { CallbackReceivedSignal, WebhookReceivedSignal } from '../workflows/definitions';
import { MAX_ERROR_CODE, MAX_ERROR_MESSAGE } from '../workflows/signal-guards';

/** A verified callback as the `callbackReceived` Signal. */
export function callbackSignalOf(callback: PluralCallback): CallbackReceivedSignal {
  return {
    orderId: callback.orderId,
    status: callback.status,
    ...(callback.errorCode !== undefined ? { errorCode: redactSensitive(callback.errorCode) } : {}),
    ...(callback.errorMessage !== undefined ? { errorMessage: redactSensitive(callback.errorMessage) } : {}),
  };
}

/** A verified order webhook as the `webhookReceived` Signal (`webhookId` is the `webhook-id` header). */
export function webhookSignalOf(webhookId: string, eventType: string, order: Order): WebhookReceivedSignal {
  const signal: WebhookReceivedSignal = { webhookId, eventType, orderId: order.order_id, orderStatus: order.status };
  // A refund's event carries the refund order; its payment is the parent order's.
  if (order.parent_order_id) signal.parentOrderId = order.parent_order_id;
  const captures = order.payments.flatMap((p) => p.capture_data ?? []);
  if (captures.length > 0) {
    signal.capturedAmount = {
      value: captures.reduce((sum, c) => sum + c.capture_amount.value, 0),
      currency: captures[0]?.capture_amount.currency ?? order.order_amount.currency,
    };
  }
  const failed = [...order.payments].reverse().find((p) => p.error_detail);
  if (failed?.error_detail) {
    // Cut to what the workflow keeps (it ignores a whole event whose texts are longer): the event still counts.
    signal.errorCode = redactSensitive(failed.error_detail.code).slice(0, MAX_ERROR_CODE);
    if (failed.error_detail.message) {
      signal.errorMessage = redactSensitive(failed.error_detail.message).slice(0, MAX_ERROR_MESSAGE);
    }
  }
  return signal;
}
