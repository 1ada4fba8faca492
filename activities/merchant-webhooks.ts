/**
 * `deliverMerchantEvent`: one attempt at POSTing one merchant event to one endpoint, signed the Standard Webhooks way.
 * The endpoint's URL and secret come from the worker's configuration (the directory), by merchant id and endpoint
 * id: history holds neither. Any answer but a 2xx, a refused connection or a timeout is a retryable failure (the
 * workflow's retry policy backs off for up to a day). So is an endpoint missing from this worker's configuration: a
 * worker not yet restarted with a merchant's new endpoint, or a worker whose `MERCHANT_WEBHOOK_URL` was forgotten,
 * is a mistake an operator mends within the delivery window, and the event must not be lost meanwhile.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { deliveryEventId, merchantEventBody } from '../merchant-webhooks';
import type { MerchantDelivery } from '../workflows/definitions';
import type { ActivityContext, MerchantWebhookDeps } from './context';

/** `ApplicationFailure.type` of a failed delivery attempt. */
export const MERCHANT_WEBHOOK_FAILURE = {
  /** The endpoint answered, but not with a 2xx (retryable). */
  REJECTED: 'MerchantEndpointRejected',
  /** No answer: connection refused or reset, DNS, timeout (retryable). */
  UNREACHABLE: 'MerchantEndpointUnreachable',
  /** The merchant has no such endpoint in this worker's configuration (retryable: configuration can be mended). */
  UNKNOWN_ENDPOINT: 'MerchantEndpointUnknown',
  /**
   * Not sent: the worker already had its limit of attempts in flight in all, or to that endpoint's address while it
   * is known to fail (a slow or dead endpoint), so that such an endpoint holds few of the worker's activity slots;
   * retryable: in 1–3 s while the address is not known to fail (busy), else on the backoff (failing).
   */
  DEFERRED: 'MerchantDeliveryDeferred',
} as const;

/** The least wait before a delivery deferred from a busy but answering endpoint is tried again, ms (plus 0–2 s). */
const DEFERRED_RETRY_MS = 1_000;

export function createMerchantWebhookActivities(ctx: ActivityContext, deps: MerchantWebhookDeps | undefined) {
  return {
    /** Delivers one event to one endpoint; resolves with the endpoint's status code once it answered 2xx. */
    async deliverMerchantEvent(delivery: MerchantDelivery): Promise<{ webhookId: string; status: number }> {
      const { merchantId, endpointId, event } = delivery;
      const endpoint = deps?.directory.merchantWebhookEndpoint(merchantId, endpointId);
      if (!deps || !endpoint) {
        const message = `merchant ${merchantId} has no webhook endpoint ${endpointId} in this worker's configuration`;
        ctx.log('warn', { endpointId, type: delivery.event.type, sequence: delivery.event.sequence }, message);
        throw ApplicationFailure.create({ message, type: MERCHANT_WEBHOOK_FAILURE.UNKNOWN_ENDPOINT });
      }
      const webhookId = deliveryEventId(delivery);
      const body = JSON.stringify(merchantEventBody(merchantId, webhookId, event));
      const { signal, attempt } = ctx.call();
      const result = await deps.sender.send(endpoint, webhookId, body, signal);
      const fields = { endpointId, webhookId, type: event.type, sequence: event.sequence };
      if (result.kind === 'deferred') {
        const message = `merchant webhook to endpoint ${endpointId} deferred: ${result.inFlight} attempts in flight (limit ${result.limit})`;
        ctx.log('info', fields, 'merchant webhook deferred: too many attempts in flight');
        // A busy endpoint that answers is tried again in 1–3 s (not further up the backoff, which is for failures); a
        // failing one follows the backoff.
        throw ApplicationFailure.create({
          message,
          type: MERCHANT_WEBHOOK_FAILURE.DEFERRED,
          ...(result.addressHealthy ? { nextRetryDelay: DEFERRED_RETRY_MS + Math.floor(Math.random() * 2_000) } : {}),
        });
      }
      if (result.kind === 'answered' && result.status >= 200 && result.status < 300) {
        ctx.log('info', { ...fields, status: result.status }, 'merchant webhook delivered');
        return { webhookId, status: result.status };
      }
      const what = result.kind === 'answered' ? `answered ${result.status}` : `unreachable (${result.code})`;
      ctx.log('warn', { ...fields, outcome: what }, 'merchant webhook attempt failed; retrying with backoff');
      throw ApplicationFailure.create({
        message: `merchant webhook endpoint ${endpointId} ${what} on attempt ${attempt}`,
        type: result.kind === 'answered' ? MERCHANT_WEBHOOK_FAILURE.REJECTED : MERCHANT_WEBHOOK_FAILURE.UNREACHABLE,
        details: [result.kind === 'answered' ? { httpStatus: result.status } : { code: result.code }],
      });
    },
  };
}
