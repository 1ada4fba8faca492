/** What the engine sends the merchant's backend (the document's `webhooks`): one signed event per type. */
import { ref } from './parts';

const webhookHeader = (name: string, description: string, pattern?: string) => ({
  name,
  in: 'header',
  required: true,
  description,
  schema: { type: 'string', ...(pattern !== undefined ? { pattern } : {}) },
});

/**
 * One merchant webhook (OpenAPI 3.1 `webhooks`): the engine POSTs it to the merchant's endpoint, signed the Standard
 * Webhooks way; the same operation for every event type, its body's `type` naming it.
 */
export function merchantWebhook(type: string) {
  const kind = type.startsWith('refund.') ? 'a refund of the payment reached' : 'the payment moved to';
  return {
    post: {
      tags: ['merchant-webhooks'],
      operationId: `merchantWebhook_${type.replace('.', '_')}`,
      summary: `\`${type}\`: ${kind} ${type.split('.')[1]!.toUpperCase()}`,
      description:
        'Sent to each of the merchant’s webhook endpoints (`MERCHANT_WEBHOOK_URL`), in order per payment, one at a ' +
        'time: the next event of a payment goes once this one is answered with a 2xx (or given up on). Any other ' +
        'answer, a redirect, a refused connection or a 15 s timeout is retried with exponential backoff (1 s, ' +
        'doubling, at most 1 h apart) for 24 h; then the event is noted in the payment’s `events` as undelivered ' +
        'and the next one goes. Verify `webhook-signature` over the raw body with the endpoint’s `whsec_` secret ' +
        '(the `standardwebhooks` package, README “Merchant webhooks”), and skip a `webhook-id` you have already ' +
        'processed: a retry, or a redelivery after a lost answer, carries the same id.',
      security: [],
      parameters: [
        webhookHeader(
          'webhook-id',
          'The event’s id, the same for every attempt (the body’s `id`): deduplicate on it.',
          '^evt_[A-Za-z0-9_-]{32}$',
        ),
        webhookHeader('webhook-timestamp', 'Unix seconds of this attempt; refuse one far from now.', '^\\d+$'),
        webhookHeader(
          'webhook-signature',
          '`v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<raw body>">` with the base64-decoded ' +
            'secret after `whsec_` (several, space-separated, while a secret is rotated).',
        ),
      ],
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: { allOf: [ref('MerchantWebhookEvent'), { properties: { type: { const: type } } }] },
          },
        },
      },
      responses: {
        '2XX': { description: 'Received: the next event of the payment follows.' },
        default: { description: 'Not received: retried with backoff for 24 h.' },
      },
    },
  };
}
