/** What Plural and the customer's browser call (api/routes/gateway-events.ts): signed callbacks and webhooks. */
import { errorResponse, json, RETURN_REDIRECT_DESCRIPTION } from '../parts';

function webhookOperation(operationId: string, merchantPath: boolean) {
  return {
    tags: ['plural'],
    operationId,
    summary: 'Plural webhook (Standard Webhooks signature)',
    description:
      'Verifies `webhook-signature` over `webhook-id.webhook-timestamp.body` (timestamp within 300 s), then ' +
      'signals the payment; answers 2xx only once the signal is accepted. Redeliveries are harmless. A ' +
      'refund’s events (`REFUND_PROCESSED`, `REFUND_FAILED`) go to the payment of the refunded (parent) order. ' +
      'Events that carry no order (`TOKEN_*`, `CUSTOMER_*`, `SUBSCRIPTION_*`) are verified and acknowledged ' +
      'with `delivered: false`; only their type is logged.' +
      eventPathNote(merchantPath, 'webhook'),
    security: [],
    parameters: [
      ...(merchantPath ? [merchantIdParam] : []),
      ...['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => ({
        name,
        in: 'header',
        required: true,
        schema: { type: 'string' },
      })),
    ],
    requestBody: { required: true, content: json({ type: 'object' }) },
    responses: {
      '200': {
        description: 'Received (and delivered to a running payment when `delivered` is true).',
        content: json({
          type: 'object',
          properties: { received: { const: true }, delivered: { type: 'boolean' } },
        }),
      },
      '400': errorResponse('Signed, but not a webhook body the engine understands, or ids the payment could not use.'),
      '401': errorResponse(
        'Missing, malformed (not exactly base64 of the digest) or bad signature, or a timestamp outside the ' +
          'tolerance.',
      ),
      ...(merchantPath ? { '404': errorResponse('No such merchant.') } : {}),
      '413': errorResponse('Body larger than the limit.'),
      '503': errorResponse('The payment engine is unavailable; Plural will redeliver.'),
    },
  };
}

/** The merchant a callback or webhook path names (its secrets verify the event). */
const merchantIdParam = {
  name: 'merchant_id',
  in: 'path',
  required: true,
  description: 'The merchant account (`MERCHANTS_FILE`) the event is for; its own Plural secret verifies it.',
  schema: { type: 'string', pattern: '^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$' },
};

/** Where a callback or webhook of the default merchant, or of merchant `{merchant_id}`, arrives. */
const eventPathNote = (merchantPath: boolean, what: string): string =>
  merchantPath
    ? ` This path is merchant \`{merchant_id}\`'s (with merchant accounts): the ${what} is verified with that ` +
      'merchant’s secret and reaches that merchant’s payments only; an unknown merchant is 404.'
    : ` This path is the default merchant’s (\`API_KEYS\` and the \`PLURAL_*\` secrets, or a merchant account ` +
      'named `default`); without one it is 404.';

function callbackOperation(operationId: string, where: string, merchantPath: boolean) {
  return {
    tags: ['plural'],
    operationId,
    summary: 'Return URL for the customer’s browser after Plural’s page',
    description:
      `Verifies Plural’s signature over the fields received in the ${where}, signals the payment, and redirects ` +
      '(303) to the merchant’s success or failure page with `merchant_order_reference` and `status` (the payment’s ' +
      'own once the engine has confirmed the result, waiting up to 3 s; the callback’s claim while it has not). ' +
      'The callback ' +
      'carries no timestamp: one already delivered (a reload of the return URL, or a replay) and one for a payment ' +
      'that started longer ago than its customer could still be paying are redirected the same way but signal ' +
      'nothing, as is one for a payment that has already ended (a webhook settled it first). The merchant’s page ' +
      'reads the payment’s status from `GET /v1/payments/{ref}`. ' +
      RETURN_REDIRECT_DESCRIPTION +
      eventPathNote(merchantPath, 'callback'),
    security: [],
    ...(merchantPath ? { parameters: [merchantIdParam] } : {}),
    responses: {
      '303': {
        description:
          'Redirect to the payment’s `return_url` (signed: `merchant_order_reference`, `status`, `timestamp`, ' +
          '`signature`), or to the merchant’s configured return page (also for a repeated or stale callback, or an ended ' +
          'payment’s).',
        headers: { Location: { schema: { type: 'string', format: 'uri' } } },
      },
      '400': errorResponse('Signed, but the fields are not a Plural callback.'),
      '401': errorResponse('Missing or bad signature; nothing reached the payment.'),
      '404': errorResponse(
        merchantPath
          ? 'No payment of this merchant for this Plural order, or no such merchant.'
          : 'No payment for this Plural order.',
      ),
      '503': {
        description:
          'The payment engine is unavailable; nothing was delivered. A browser (`Accept` preferring HTML) gets a ' +
          'page asking it to reload (`Retry-After: 5`), which delivers the callback once the engine is back; a ' +
          'client asking for JSON gets the error.',
        headers: { 'Retry-After': { schema: { type: 'integer' } } },
        content: {
          'text/html': { schema: { type: 'string' } },
          ...errorResponse('').content,
        },
      },
    },
  };
}

export const gatewayEventPaths = {
  '/v1/callbacks/plural': {
    get: callbackOperation('callbackGet', 'query string', false),
    post: callbackOperation('callbackPost', 'form body (application/x-www-form-urlencoded)', false),
  },
  '/v1/callbacks/plural/{merchant_id}': {
    get: callbackOperation('merchantCallbackGet', 'query string', true),
    post: callbackOperation('merchantCallbackPost', 'form body (application/x-www-form-urlencoded)', true),
  },
  '/v1/webhooks/plural': { post: webhookOperation('pluralWebhook', false) },
  '/v1/webhooks/plural/{merchant_id}': { post: webhookOperation('pluralMerchantWebhook', true) },
};
