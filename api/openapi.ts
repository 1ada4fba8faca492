/**
 * The API's OpenAPI 3.1 document, written by hand. Tests keep it true: `test/api/ops.test.ts` that every route the
 * app serves is documented here (and nothing else), `test/api/openapi.test.ts` that every request body documented
 * here has the fields and rules of the zod schema its route parses with, and the route tests that the API's answers
 * conform to its response schemas (validated with ajv in several of them).
 */
import { MERCHANT_EVENT_TYPE, PAYMENT_STATUS } from '../workflows/definitions';
import { withIdempotencyKey } from './openapi-idempotency';
import { EMAIL_PATTERN, LIST_LIMIT } from './schemas';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ 'application/json': { schema } });
const errorResponse = (description: string) => ({ description, content: json(ref('Error')) });
const paymentResponse = (description: string) => ({ description, content: json(ref('Payment')) });

const referenceParam = {
  name: 'merchant_order_reference',
  in: 'path',
  required: true,
  description: 'The merchant order reference the payment was created with.',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,50}$' },
};

const merchantErrors = {
  '400': errorResponse('Malformed JSON or a field of the wrong type or format (`error.issues` names each field).'),
  '401': errorResponse('Missing or invalid API key.'),
  '404': errorResponse(
    'No payment of your merchant with this reference (another merchant’s payment answers exactly the same).',
  ),
  '413': errorResponse('Request body larger than the limit.'),
  '415': errorResponse('Body is not JSON.'),
  '503': errorResponse('The payment engine (Temporal) is unavailable; retry later.'),
};

/** `GET /v1/payments`'s query parameters. */
const listParameters = [
  {
    name: 'status',
    in: 'query',
    description:
      'Payments in this status, or in any of several separated by commas (`status=PROCESSED,CANCELLED,FAILED`). ' +
      `One of ${Object.values(PAYMENT_STATUS).join(', ')}.`,
    schema: {
      type: 'string',
      pattern: `^(${Object.values(PAYMENT_STATUS).join('|')})(,(${Object.values(PAYMENT_STATUS).join('|')}))*$`,
    },
  },
  {
    name: 'created_from',
    in: 'query',
    description:
      'Created at or after this instant: ISO 8601 with a time zone, at most millisecond precision. "Created" is ' +
      'when the payment’s workflow started (Temporal’s `StartTime`).',
    schema: { type: 'string', format: 'date-time', examples: ['2026-01-31T00:00:00+05:30'] },
  },
  {
    name: 'created_to',
    in: 'query',
    description: 'Created before this instant (excluded, so consecutive ranges do not overlap); after `created_from`.',
    schema: { type: 'string', format: 'date-time' },
  },
  {
    name: 'reference_prefix',
    in: 'query',
    description: 'The merchant order reference starts with this (case-sensitive).',
    schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,50}$' },
  },
  {
    name: 'limit',
    in: 'query',
    description: 'Largest number of payments on the page.',
    schema: { type: 'integer', minimum: 1, maximum: LIST_LIMIT.MAX, default: LIST_LIMIT.DEFAULT },
  },
  {
    name: 'cursor',
    in: 'query',
    description:
      'The `next_cursor` of the previous page, unchanged, sent with the same filters as the request that returned ' +
      'it (`limit` may change). Opaque and signed: a made-up or altered cursor, or one sent with other filters, is a 400.',
    schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,4096}$' },
  },
];

const accepted = paymentResponse(
  'The payment accepted the request, but its outcome was not known within the wait (it goes on in the payment); ' +
    'read `GET /v1/payments/{merchant_order_reference}` later.',
);

const money = {
  type: 'object',
  additionalProperties: false,
  required: ['value', 'currency'],
  properties: {
    value: { type: 'integer', minimum: 1, description: 'Amount in minor units (paise for INR).' },
    currency: { type: 'string', pattern: '^[A-Z]{3}$', examples: ['INR'] },
  },
};
const nullable = (schema: unknown) => ({ oneOf: [schema, { type: 'null' }] });
const digits = (min: number, max: number) => ({ type: 'string', pattern: `^\\d{${min},${max}}$` });
/** Free text: printable characters only (no control characters) and no card number. */
const text = (maxLength: number, description?: string) => ({
  type: 'string',
  maxLength,
  description: `${description ? `${description} ` : ''}Printable characters only; no card number.`,
});
/** Free text that must not be empty. */
const nonEmptyText = (maxLength: number, description?: string) => ({ ...text(maxLength, description), minLength: 1 });
const address = {
  type: 'object',
  additionalProperties: false,
  description: 'Sent to Plural as `purchase_details.customer.billing_address` / `shipping_address`.',
  properties: {
    address1: nonEmptyText(200),
    address2: text(200),
    address3: text(200),
    pincode: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9 -]{0,19}$' },
    city: nonEmptyText(100),
    state: nonEmptyText(100),
    country: nonEmptyText(100),
  },
};
/** A customer's details, as a payment's `customer` and `POST /v1/customers` both take them. */
const customerDetails = {
  first_name: nonEmptyText(100),
  last_name: nonEmptyText(100),
  email: { type: 'string', format: 'email', maxLength: 254, pattern: EMAIL_PATTERN.source },
  mobile_number: digits(6, 15),
  country_code: digits(1, 4),
  billing_address: ref('Address'),
  shipping_address: ref('Address'),
};
const stringFlag = { type: 'string', enum: ['true', 'false'] };
const deviceInfo = {
  type: 'object',
  additionalProperties: false,
  description:
    'The customer’s browser, sent with the card payment for 3-D Secure (Plural’s `device_info`). Every value is a ' +
    'string, as Plural’s guides send them. Not with `hosted_checkout`.',
  properties: {
    device_channel: { ...nonEmptyText(20), examples: ['browser'] },
    browser_accept_header: nonEmptyText(1024),
    browser_user_agent: nonEmptyText(1024),
    browser_language: { type: 'string', pattern: '^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$', examples: ['en', 'en-IN'] },
    browser_screen_height: { ...digits(1, 5), examples: ['768'] },
    browser_screen_width: { ...digits(1, 5), examples: ['1366'] },
    browser_timezone: { type: 'string', pattern: '^[+-]?\\d{1,4}$', examples: ['-330'] },
    browser_window_size: { ...nonEmptyText(20), examples: ['1366x768'] },
    browser_screen_color_depth: { ...digits(1, 2), examples: ['24'] },
    browser_java_enabled_val: stringFlag,
    browser_javascript_enabled_val: stringFlag,
  },
};
const merchantMetadata = {
  type: 'object',
  maxProperties: 10,
  propertyNames: { type: 'string', minLength: 1, maxLength: 256 },
  additionalProperties: text(256),
  description:
    'Your own key-value pairs (at most 10, each of at most 256 characters), sent to Plural as ' +
    '`purchase_details.merchant_metadata`, stored with the payment and returned in it. Never logged. 10 and not ' +
    'more: Plural’s API reference limits `merchant_metadata` to 10 pairs, and more would only fail at Plural after ' +
    'the payment started.',
};

/** The query parameters the callback adds to a payment's `return_url` (api/return-url.ts). */
const RETURN_REDIRECT_DESCRIPTION =
  'With `return_url`, the browser goes there (303) with `merchant_order_reference`, `status` (the payment’s ' +
  'status as the engine knows it — after waiting up to 3 s for the workflow to confirm a fresh callback with Plural; ' +
  'a repeated or stale callback gets the status the payment has now, never the callback’s own claim), `timestamp` ' +
  '(Unix seconds of the redirect) and `signature`: lowercase hex HMAC-SHA256, keyed with the merchant’s return-signing ' +
  'secret (`RETURN_URL_SIGNING_SECRET`), of `<timestamp>.<merchant_order_reference>.<status>`. Parameters of those ' +
  'names already in `return_url` are replaced; others are kept. Verify the signature in constant time and refuse a ' +
  'timestamp older than a few minutes; a status other than AUTHORIZED, PROCESSED, FAILED or CANCELLED is not final ' +
  'yet: read `GET /v1/payments/{ref}` or wait for the webhook.';

const expiry = {
  expiry_month: { type: 'string', pattern: '^(0[1-9]|1[0-2])$' },
  expiry_year: { type: 'string', pattern: '^\\d{4}$', description: 'With the month, not before the current month.' },
};

/** One refund, as the payment lists it and as `POST …/refunds` answers it (with the payment). */
const refundProperties = {
  object: { const: 'refund' },
  merchant_refund_reference: nullable({
    type: 'string',
    description: 'Your id for the refund (`null` for the engine’s automatic refunds).',
  }),
  reason: {
    enum: ['MERCHANT', 'AUTO'],
    description:
      '`MERCHANT`: you asked for it. `AUTO`: the engine refunded money Plural took while the payment was closing.',
  },
  merchant_reason: nullable({ type: 'string', description: 'The `reason` you sent with the refund.' }),
  amount: nullable({
    ...ref('Money'),
    description:
      '`null` only in a 202 for a refund of the rest that the payment had not taken yet (read the payment later).',
  }),
  status: {
    enum: ['PENDING', 'PROCESSED', 'FAILED'],
    description:
      'PENDING until Plural confirms it (its REFUND_* webhook, or Get Order): not yet sent to Plural while ' +
      '`refund_order_id` is `null`. FAILED: Plural failed it (its amount can be refunded again).',
  },
  refund_order_id: nullable({ type: 'string', description: 'Plural’s refund order, once Plural has taken it.' }),
  failure: nullable({
    type: 'object',
    properties: { code: { type: 'string' }, message: { type: 'string' } },
  }),
  created_at: { type: 'string', format: 'date-time' },
};
const refundRequired = [
  'object',
  'merchant_refund_reference',
  'reason',
  'merchant_reason',
  'amount',
  'status',
  'refund_order_id',
  'failure',
  'created_at',
];
const refundResponse = (description: string) => ({ description, content: json(ref('RefundResult')) });

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
function merchantWebhook(type: string) {
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

/** Options of {@link buildOpenApiDocument}. */
export interface OpenApiOptions {
  /** The API's public base URL, listed as the document's server. */
  serverUrl: string;
}

/** The OpenAPI 3.1 document served at `/openapi.json`. */
export function buildOpenApiDocument(options: OpenApiOptions) {
  return withIdempotencyKey({
    openapi: '3.1.0',
    info: {
      title: 'Plural payment engine API',
      version: '1.0.0',
      description:
        'Start and drive card payments through the Plural (Pine Labs) gateway. Amounts are integer minor units. ' +
        'Merchant endpoints need `Authorization: Bearer <API key>`; the key names the merchant, whose payments alone ' +
        'it sees and acts on. Every error is `{error: {type, code, message}}`.',
    },
    servers: [{ url: options.serverUrl }],
    security: [{ bearerAuth: [] }],
    tags: [
      { name: 'payments', description: 'Merchant endpoints' },
      { name: 'customers', description: 'Customers at Plural and their saved cards' },
      { name: 'plural', description: 'Called by Plural and by the customer’s browser (signature-verified)' },
      { name: 'operations', description: 'Health, readiness, metrics and this document' },
      {
        name: 'merchant-webhooks',
        description: 'Sent by the engine to the merchant’s backend at every status change and refund (signed)',
      },
    ],
    webhooks: Object.fromEntries(Object.values(MERCHANT_EVENT_TYPE).map((type) => [type, merchantWebhook(type)])),
    paths: {
      '/v1/payments': {
        get: {
          tags: ['payments'],
          operationId: 'listPayments',
          summary: 'Search payments',
          description:
            'Payments matching every filter given, newest first, a page at a time: follow `next_cursor` until it is ' +
            '`null`. A page may hold fewer than `limit` payments (even none) and still have a `next_cursor`. Each ' +
            'entry is the payment’s summary as of its last status change; `GET /v1/payments/{merchant_order_reference}` ' +
            'has the rest. Backed by Temporal’s visibility store, which is eventually consistent: a payment created or ' +
            'changed a moment ago may be missing, or listed with its previous status, for up to a few seconds. ' +
            '"Newest first" is by creation where the store can sort (Elasticsearch); SQL stores and Temporal Cloud ' +
            'list running payments newest first, then ended ones most recently ended first.',
          parameters: listParameters,
          responses: {
            '200': { description: 'A page of payments.', content: json(ref('PaymentList')) },
            '400': errorResponse(
              'A filter the search cannot take, named in `error.code`: `invalid_status`, `invalid_date` (not ISO ' +
                '8601 with a time zone), `invalid_date_range` (`created_from` not before `created_to`), ' +
                '`invalid_reference_prefix`, `invalid_limit` (not 1-100), `invalid_cursor` (not a `next_cursor` ' +
                'issued for these filters), `unknown_parameter`, `repeated_parameter`.',
            ),
            '401': errorResponse('Missing or invalid API key.'),
            '503': errorResponse('The payment engine (Temporal) is unavailable; retry later.'),
          },
        },
        post: {
          tags: ['payments'],
          operationId: 'createPayment',
          summary: 'Create a payment and start its lifecycle',
          description:
            'Starts the payment and answers once it is actionable (AWAITING_OTP, AWAITING_CHALLENGE, a redirect URL, ' +
            'parked, or a final state), in one call to Temporal (update-with-start). The reference is the ' +
            'idempotency key: the same reference and body again answers 200 with the existing payment (concurrent ' +
            'identical requests all get it); a different body answers 409. Not actionable within a bounded wait ' +
            '(`API_START_WAIT_MS`): 202 with the payment as it is, and `Location` to read it.',
          requestBody: { required: true, content: json(ref('CreatePaymentRequest')) },
          responses: {
            '201': paymentResponse('Payment created.'),
            '200': paymentResponse('The same request was made before: the existing payment.'),
            '202': accepted,
            ...merchantErrors,
            '400': errorResponse(
              'Malformed JSON or a field of the wrong type or format (`error.issues` names each field; `error.code` ' +
                '`invalid_request`), or what Plural would refuse: `currency_not_supported` (INR only), ' +
                '`amount_too_large` (above the API’s limit, `API_MAX_AMOUNT`, default 100000000 = ₹10,00,000), ' +
                '`card_expired` (expiry month passed), `unprintable_characters` (control, format or unassigned ' +
                'characters in a name or free text), `card_number_in_text` (a card number in free text), ' +
                '`return_url_not_allowed` (a `return_url` that is not https, has user info or a fragment, is longer ' +
                'than 2048 characters, or points at a host and port not configured for the merchant).',
            ),
            '409': errorResponse('A payment with this reference exists with a different request.'),
          },
        },
      },
      '/v1/payments/{merchant_order_reference}': {
        get: {
          tags: ['payments'],
          operationId: 'getPayment',
          summary: 'Get a payment',
          parameters: [referenceParam],
          responses: { '200': paymentResponse('The payment.'), ...merchantErrors },
        },
      },
      '/v1/payments/{merchant_order_reference}/otp': {
        post: {
          tags: ['payments'],
          operationId: 'submitOtp',
          summary: 'Submit the customer’s OTP',
          description:
            'Answers once the OTP’s outcome is known: AUTHORIZED/PROCESSED on success, AWAITING_OTP with fewer ' +
            '`otp.attempts_left` and `otp.last_submission` on a wrong OTP, or FAILED when attempts run out. ' +
            'AWAITING_OTP with `otp.last_submission.outcome` FAILED and the same attempts left means the OTP could ' +
            'not be used (its short-lived hand-off expired before the engine read it): submit it again.',
          parameters: [referenceParam],
          requestBody: {
            required: true,
            content: json({
              type: 'object',
              additionalProperties: false,
              required: ['otp'],
              properties: { otp: digits(4, 8) },
            }),
          },
          responses: {
            '200': paymentResponse('The payment after the OTP’s outcome.'),
            '202': accepted,
            ...merchantErrors,
            '409': errorResponse('The payment is not awaiting an OTP (`payment_not_awaiting_otp`).'),
          },
        },
      },
      '/v1/payments/{merchant_order_reference}/otp/resend': {
        post: {
          tags: ['payments'],
          operationId: 'resendOtp',
          summary: 'Send the OTP again',
          parameters: [referenceParam],
          responses: {
            '200': paymentResponse('A new OTP was sent.'),
            '202': accepted,
            ...merchantErrors,
            '409': errorResponse(
              'Not awaiting an OTP (`payment_not_awaiting_otp`), no resends left (`otp_resend_limit_reached`), or ' +
                'the gateway refused (`otp_resend_rejected`).',
            ),
            '429': {
              description: 'Too early; `Retry-After` says how many seconds to wait.',
              headers: { 'Retry-After': { schema: { type: 'integer' } } },
              content: json(ref('Error')),
            },
          },
        },
      },
      '/v1/payments/{merchant_order_reference}/capture': {
        post: {
          tags: ['payments'],
          operationId: 'capturePayment',
          summary: 'Capture an authorized pre-auth payment',
          parameters: [referenceParam],
          requestBody: {
            required: false,
            content: json({
              type: 'object',
              additionalProperties: false,
              properties: { amount: { ...ref('Money'), description: 'Omit to capture the full authorized amount.' } },
            }),
          },
          responses: {
            '200': paymentResponse('Captured: the payment is PROCESSED.'),
            '202': paymentResponse(
              'The outcome was not known within the wait, or Plural kept failing and the capture is parked for an ' +
                'operator (`parked`).',
            ),
            ...merchantErrors,
            '400': errorResponse(
              'Invalid body, or an amount the payment refuses: above the authorized amount ' +
                '(`capture_amount_too_large`), another currency (`capture_currency_mismatch`).',
            ),
            '409': errorResponse(
              'The payment is not AUTHORIZED (`payment_not_authorized`), its one capture was already made ' +
                '(`capture_limit_reached`: Plural allows one), or the gateway refused it (`capture_rejected`).',
            ),
          },
        },
      },
      '/v1/payments/{merchant_order_reference}/cancel': {
        post: {
          tags: ['payments'],
          operationId: 'cancelPayment',
          summary: 'Cancel a payment that is not final (releases a pre-authorization)',
          description:
            'An AUTHORIZED pre-authorization is cancelled by Plural and answers 200 CANCELLED. A payment not yet authorized answers ' +
            '202 CLOSING: Plural cancels only authorized orders, so the customer may still pay on its page; the engine ' +
            "cancels an authorization or refunds a payment that arrives, and ends CANCELLED once Plural's order is final.",
          parameters: [referenceParam],
          requestBody: {
            required: false,
            content: json({
              type: 'object',
              additionalProperties: false,
              properties: { reason: text(200) },
            }),
          },
          responses: {
            '200': paymentResponse('The payment is CANCELLED.'),
            '202': paymentResponse('The payment is CLOSING (or the cancel is still in progress).'),
            ...merchantErrors,
            '409': errorResponse(
              'The payment is final, or a sale Plural is processing, and cannot be cancelled (`payment_not_cancellable`).',
            ),
          },
        },
      },
      '/v1/payments/{merchant_order_reference}/refunds': {
        post: {
          tags: ['payments'],
          operationId: 'refundPayment',
          summary: 'Refund a processed payment, in full or in part',
          description:
            'A PROCESSED payment takes refunds for its refund window (`refund_window_ends_at`, 180 days by default), ' +
            'several of them up to what was captured: never more, even when requests arrive together (each is ' +
            'checked against `refundable_amount`, which counts the refunds in flight). Each refund is idempotent at ' +
            'Plural, retried through Plural’s outages (parked for an operator when they outlast the retries) and ' +
            'confirmed by Plural’s REFUND_* webhook or Get Order. `merchant_refund_reference` is your id for the ' +
            'refund, unique per payment: the same reference and amount again answers 200 with that refund; with ' +
            'another amount, 409. The payment lists its refunds in `refunds`.',
          parameters: [referenceParam],
          requestBody: { required: true, content: json(ref('CreateRefundRequest')) },
          responses: {
            '200': refundResponse('A repeat: the refund this reference was used for, as it is now.'),
            '201': refundResponse(
              'Plural took the refund: PROCESSED, or PENDING until Plural confirms it (read the payment later).',
            ),
            '202': refundResponse(
              'Plural kept failing and the refund is parked for an operator (`payment.parked`; PENDING, its amount ' +
                'held back), or the outcome was not known within the wait: send the same request again (same ' +
                'reference and amount) to learn it — 200 with the refund once the payment has taken it, or its ' +
                'refusal. Until then `refund_order_id` is `null`.',
            ),
            ...merchantErrors,
            '400': errorResponse(
              'Invalid body, or an amount the payment refuses: above what is left (`refund_amount_too_large`), ' +
                'another currency (`refund_currency_mismatch`), below Plural’s minimum of 100 (`refund_amount_too_small`).',
            ),
            '409': errorResponse(
              'The payment is not PROCESSED (`payment_not_refundable`), its refund window is over ' +
                '(`refund_window_closed`), nothing is left to refund (`nothing_to_refund`), the reference was used ' +
                'for another amount (`refund_reference_conflict`), or Plural refused the refund (`refund_rejected`; ' +
                'nothing is kept, the reference may be used again).',
            ),
          },
        },
      },
      '/v1/customers': {
        post: {
          tags: ['customers'],
          operationId: 'createCustomer',
          summary: 'Create a customer in Plural’s customer vault, to save cards and pay with them later',
          description:
            'Creates the customer in Plural’s customer vault and answers its `customer_id`: pass it as ' +
            '`customer.customer_id` with `card.save: true` to save a card, and list the saved cards with ' +
            '`GET /v1/customers/{customer_id}/tokens`. Personal data is sent to Plural, not echoed back nor logged.',
          requestBody: { required: true, content: json(ref('CreateCustomerRequest')) },
          responses: {
            '201': { description: 'Created.', content: json(ref('Customer')) },
            '400': errorResponse(
              'A field of the wrong type or format (`error.issues` names it), or Plural refused the customer ' +
                '(`gateway_rejected`, with Plural’s error code).',
            ),
            '401': errorResponse('Missing or invalid API key.'),
            '409': errorResponse('Plural already has a customer with this `merchant_customer_reference`.'),
            '413': errorResponse('Request body larger than the limit.'),
            '415': errorResponse('Body is not JSON.'),
            '503': errorResponse(
              '`gateway_unavailable`: Plural could not be reached or failed (`Retry-After`); ' +
                '`customers_unavailable`: the API has no Plural credentials.',
            ),
          },
        },
      },
      '/v1/customers/{customer_id}/tokens': {
        get: {
          tags: ['customers'],
          operationId: 'listSavedCards',
          summary: 'List the cards saved for a customer',
          description: 'From Plural’s Get Customer Tokens. Pay with one as `card_token: {token_id, cvv}`.',
          parameters: [
            {
              name: 'customer_id',
              in: 'path',
              required: true,
              description: 'The `customer_id` of `POST /v1/customers`.',
              schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,100}$' },
            },
          ],
          responses: {
            '200': { description: 'The saved cards.', content: json(ref('SavedCardList')) },
            '400': errorResponse('Malformed customer id.'),
            '401': errorResponse('Missing or invalid API key.'),
            '404': errorResponse('Plural has no such customer.'),
            '503': errorResponse('Plural is unavailable, or the API has no Plural credentials.'),
          },
        },
      },
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
      '/healthz': { get: opsOperation('healthz', 'Liveness: the process answers', 'application/json') },
      '/readyz': {
        get: {
          ...opsOperation('readyz', 'Readiness: the payment engine (Temporal) is reachable', 'application/json'),
          description:
            'Reports the engine (Temporal) and the gateway (Plural, when `PLURAL_BASE_URL` is set) separately. Plural ' +
            'is reachable when its origin gives any HTTP answer; the answer is cached for 5 s. A gateway outage ' +
            'keeps the 200 with `status: degraded`: payments started now are queued and retried until Plural is back.',
          responses: {
            '200': {
              description: 'The engine is reachable (`ready`, or `degraded` while Plural is not).',
              content: json(ref('Readiness')),
            },
            '503': {
              description: 'Temporal is not reachable: the error, plus the same fields as the 200.',
              content: json({ allOf: [ref('Error'), ref('Readiness')] }),
            },
          },
        },
      },
      '/metrics': {
        get: {
          ...opsOperation('metrics', 'Prometheus metrics', 'text/plain'),
          description:
            'Request counts and latencies per route, status and merchant, and signature failures. With ' +
            '`API_METRICS_TOKEN` set (production mode requires it) only `Authorization: Bearer <token>` reads them.',
          security: [{ metricsToken: [] }],
          responses: {
            '200': { description: 'Prometheus metrics', content: { 'text/plain': {} } },
            '401': errorResponse('Missing or invalid metrics token (only when `API_METRICS_TOKEN` is set).'),
          },
        },
      },
      '/openapi.json': { get: opsOperation('openapi', 'This document', 'application/json') },
      '/docs': { get: opsOperation('docs', 'Human-readable listing of this document', 'text/html') },
    },
    components: {
      securitySchemes: {
        metricsToken: {
          type: 'http',
          scheme: 'bearer',
          description: '`API_METRICS_TOKEN`, the operator’s scrape token (not a merchant key).',
        },
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A key from `API_KEYS`, or one of a merchant account’s `apiKeys` (`MERCHANTS_FILE`): the key names the ' +
            'merchant, and every route reaches that merchant’s payments only (references are unique per merchant).',
        },
      },
      schemas: {
        Money: money,
        PaymentAmount: {
          ...money,
          description:
            'The amount of a new payment: INR only (every Plural guide’s card flow is in rupees), at most ' +
            '`API_MAX_AMOUNT` minor units (default 100000000 = ₹10,00,000; Plural documents no maximum).',
          properties: {
            value: { type: 'integer', minimum: 1, description: 'Amount in paise.' },
            currency: { type: 'string', enum: ['INR'] },
          },
        },
        Address: address,
        Readiness: {
          type: 'object',
          required: ['status', 'engine', 'gateway'],
          properties: {
            status: { enum: ['ready', 'degraded', 'unavailable'] },
            engine: {
              type: 'object',
              required: ['reachable'],
              properties: { reachable: { type: 'boolean' } },
            },
            gateway: {
              type: 'object',
              required: ['reachable', 'checked_at'],
              description:
                'Every Plural origin in use (`PLURAL_BASE_URL` and each merchant account’s own); `null`s when the API ' +
                'knows none.',
              properties: {
                reachable: nullable({ type: 'boolean', description: 'Whether every origin answered.' }),
                checked_at: nullable({
                  type: 'string',
                  format: 'date-time',
                  description: 'When Plural was asked (the oldest answer, for several origins).',
                }),
              },
            },
          },
        },
        DeviceInfo: deviceInfo,
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['type', 'code', 'message'],
              properties: {
                type: {
                  type: 'string',
                  enum: [
                    'invalid_request_error',
                    'authentication_error',
                    'not_found_error',
                    'method_not_allowed_error',
                    'conflict_error',
                    'rate_limit_error',
                    'service_unavailable_error',
                    'api_error',
                  ],
                },
                code: { type: 'string' },
                message: { type: 'string' },
                issues: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: { path: { type: 'string' }, message: { type: 'string' } },
                  },
                },
              },
            },
          },
        },
        CreateRefundRequest: {
          type: 'object',
          additionalProperties: false,
          required: ['merchant_refund_reference'],
          properties: {
            merchant_refund_reference: {
              type: 'string',
              pattern: '^[A-Za-z0-9_-]{1,50}$',
              description:
                'Your id for the refund, unique per payment (a repeat with the same amount is answered with it).',
            },
            amount: { ...ref('Money'), description: 'Omit to refund the rest (`refundable_amount`).' },
            reason: text(200, 'Why, in your words: kept with the refund.'),
          },
        },
        Refund: {
          type: 'object',
          additionalProperties: false,
          required: refundRequired,
          properties: refundProperties,
        },
        MerchantWebhookEvent: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'type', 'timestamp', 'sequence', 'data'],
          description:
            'A merchant webhook’s body (Standard Webhooks: `type`, `timestamp`, `data`). Never holds card data, an ' +
            'OTP or a secret.',
          properties: {
            id: { type: 'string', description: 'The event’s id, equal to the `webhook-id` header.' },
            type: { enum: Object.values(MERCHANT_EVENT_TYPE) },
            timestamp: { type: 'string', format: 'date-time', description: 'When the event happened.' },
            sequence: {
              type: 'integer',
              minimum: 1,
              description: 'The event’s number within its payment (1, 2, 3…): they arrive in this order.',
            },
            data: {
              type: 'object',
              additionalProperties: false,
              required: [
                'object',
                'merchant_id',
                'merchant_order_reference',
                'status',
                'amount',
                'pre_auth',
                'payment_method',
                'order_id',
                'captured_amount',
                'refunded_amount',
                'failure',
                'created_at',
                'updated_at',
                'refund',
              ],
              description:
                'The payment as of the event (the fields of the payment resource with the same names; the rest is at ' +
                '`GET /v1/payments/{merchant_order_reference}`).',
              properties: {
                object: { const: 'payment' },
                merchant_id: { type: 'string', description: 'The merchant the payment belongs to (`default`).' },
                merchant_order_reference: { type: 'string' },
                status: { enum: Object.values(PAYMENT_STATUS) },
                amount: ref('Money'),
                pre_auth: { type: 'boolean' },
                payment_method: { type: 'string' },
                order_id: nullable({ type: 'string', description: 'Plural’s order id.' }),
                captured_amount: nullable(ref('Money')),
                refunded_amount: nullable(ref('Money')),
                failure: nullable({
                  type: 'object',
                  properties: { code: { type: 'string' }, message: { type: 'string' } },
                }),
                created_at: { type: 'string', format: 'date-time' },
                updated_at: { type: 'string', format: 'date-time' },
                refund: nullable({ ...ref('Refund'), description: 'The refund a `refund.*` event is about.' }),
              },
            },
          },
        },
        RefundResult: {
          type: 'object',
          additionalProperties: false,
          required: [...refundRequired, 'payment'],
          properties: { ...refundProperties, payment: ref('Payment') },
        },
        CreateCustomerRequest: {
          type: 'object',
          additionalProperties: false,
          required: ['merchant_customer_reference'],
          properties: {
            merchant_customer_reference: {
              type: 'string',
              pattern: '^[A-Za-z0-9_-]{1,50}$',
              description: 'Your id for the customer; Plural keeps one customer per reference.',
            },
            ...customerDetails,
            merchant_metadata: merchantMetadata,
          },
        },
        Customer: {
          type: 'object',
          additionalProperties: false,
          required: ['object', 'customer_id', 'merchant_customer_reference', 'status', 'created_at'],
          properties: {
            object: { const: 'customer' },
            customer_id: { type: 'string', description: 'Plural’s customer id.' },
            merchant_customer_reference: { type: 'string' },
            status: nullable({ type: 'string', description: 'Plural’s status (INACTIVE until a first payment).' }),
            created_at: nullable({ type: 'string', format: 'date-time' }),
          },
        },
        PaymentList: {
          type: 'object',
          additionalProperties: false,
          required: ['object', 'data', 'next_cursor'],
          properties: {
            object: { const: 'list' },
            data: { type: 'array', items: ref('PaymentSummary') },
            next_cursor: nullable({
              type: 'string',
              description: 'Send as `cursor` (with the same filters) for the next page; `null` on the last page.',
            }),
          },
        },
        PaymentSummary: {
          type: 'object',
          additionalProperties: false,
          description: 'A payment as of its last status change (from the payment’s memo in Temporal).',
          required: [
            'object',
            'merchant_order_reference',
            'status',
            'amount',
            'pre_auth',
            'payment_method',
            'order_id',
            'captured_amount',
            'refunded_amount',
            'created_at',
            'updated_at',
          ],
          properties: {
            object: { const: 'payment_summary' },
            merchant_order_reference: { type: 'string' },
            status: { type: 'string', enum: Object.values(PAYMENT_STATUS), description: 'As in `Payment`.' },
            amount: ref('Money'),
            pre_auth: { type: 'boolean' },
            payment_method: {
              type: 'string',
              enum: ['card', 'card_token', 'network_token', 'card_points', 'hosted_checkout'],
            },
            order_id: nullable({ type: 'string', description: 'Plural order id.' }),
            captured_amount: nullable(ref('Money')),
            refunded_amount: nullable(ref('Money')),
            created_at: { type: 'string', format: 'date-time' },
            updated_at: { type: 'string', format: 'date-time' },
          },
        },
        SavedCardList: {
          type: 'object',
          additionalProperties: false,
          required: ['object', 'customer_id', 'data'],
          properties: {
            object: { const: 'list' },
            customer_id: { type: 'string' },
            data: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['object', 'token_id', 'status', 'last4', 'expiry_month', 'expiry_year'],
                properties: {
                  object: { const: 'saved_card' },
                  token_id: { type: 'string', description: 'Pay with it as `card_token.token_id`.' },
                  status: nullable({
                    type: 'string',
                    description: 'INITIATED, ACTIVE (can pay), SUSPENDED, FAILED or DEACTIVATED.',
                  }),
                  last4: nullable({ type: 'string' }),
                  expiry_month: nullable({ type: 'string' }),
                  expiry_year: nullable({ type: 'string' }),
                  network: nullable({ type: 'string' }),
                  expires_at: nullable({ type: 'string', description: 'When the token itself expires.' }),
                  created_at: nullable({ type: 'string' }),
                },
              },
            },
          },
        },
        CreatePaymentRequest: {
          type: 'object',
          additionalProperties: false,
          required: ['merchant_order_reference', 'amount'],
          description:
            'Exactly one of `card`, `card_token`, `network_token`, `hosted_checkout`; `points` only alongside `card`.',
          properties: {
            merchant_order_reference: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,50}$' },
            amount: ref('PaymentAmount'),
            pre_auth: { type: 'boolean', default: false, description: 'Authorize now, capture later.' },
            card: {
              type: 'object',
              additionalProperties: false,
              required: ['number', 'name', 'expiry_month', 'expiry_year', 'cvv'],
              properties: {
                number: { ...digits(12, 19), description: 'Luhn-valid card number, digits only.' },
                name: nonEmptyText(100),
                ...expiry,
                cvv: digits(3, 4),
                save: { type: 'boolean', description: 'Save the card on Plural (needs customer.customer_id).' },
              },
            },
            card_token: {
              type: 'object',
              additionalProperties: false,
              required: ['token_id', 'cvv'],
              properties: { token_id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,100}$' }, cvv: digits(3, 4) },
            },
            network_token: {
              type: 'object',
              additionalProperties: false,
              required: ['token', 'cryptogram', 'expiry_month', 'expiry_year', 'last4'],
              properties: {
                token: digits(12, 19),
                cryptogram: { type: 'string', minLength: 1, maxLength: 200 },
                ...expiry,
                last4: digits(4, 4),
                cvv: digits(3, 4),
              },
            },
            points: {
              type: 'object',
              additionalProperties: false,
              required: ['customer_consent', 'registered_mobile_number'],
              properties: { customer_consent: { const: true }, registered_mobile_number: digits(10, 13) },
            },
            hosted_checkout: { const: true, description: 'Pay on Plural’s page; the payment has a `redirect_url`.' },
            customer: {
              type: 'object',
              additionalProperties: false,
              properties: {
                customer_id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,100}$' },
                ...customerDetails,
              },
            },
            notes: nonEmptyText(500, 'Sent to Plural as the order’s `notes`. Never logged.'),
            merchant_metadata: merchantMetadata,
            device_info: ref('DeviceInfo'),
            return_url: {
              type: 'string',
              format: 'uri',
              minLength: 1,
              maxLength: 2048,
              description:
                'Your page the customer’s browser returns to after Plural’s pages (challenge, hosted checkout), ' +
                'instead of the configured one. Only an `https://` URL whose host and port are exactly one of the ' +
                'merchant’s configured hosts (`RETURN_URL_ALLOWED_HOSTS`; `http://` for localhost, 127.0.0.1 and ' +
                '[::1] outside production mode), without user info, fragment, backslash or whitespace; compared ' +
                'after URL parsing (lower case, IDN as punycode, port 443 dropped) and stored in that form. ' +
                'Otherwise 400 `return_url_not_allowed`. ' +
                RETURN_REDIRECT_DESCRIPTION,
              examples: ['https://shop.example/checkout/return?cart=7'],
            },
          },
        },
        Payment: {
          type: 'object',
          additionalProperties: false,
          required: [
            'object',
            'merchant_order_reference',
            'status',
            'amount',
            'pre_auth',
            'payment_method',
            'order_id',
            'payment_id',
            'next_actions',
            'events',
            'created_at',
            'updated_at',
          ],
          properties: {
            object: { const: 'payment' },
            merchant_order_reference: { type: 'string' },
            status: {
              type: 'string',
              enum: [
                'CREATED',
                'AWAITING_OTP',
                'AWAITING_CHALLENGE',
                'AUTHORIZED',
                'PROCESSING',
                'CLOSING',
                'PROCESSED',
                'CANCELLED',
                'FAILED',
              ],
              description:
                "PROCESSED, CANCELLED and FAILED are final and agree with Plural's order (a PROCESSED payment still " +
                'takes refunds until `refund_window_ends_at`). PROCESSING: a sale Plural has ' +
                "authorized and is processing. CLOSING: cancelled or given up before authorization while Plural's order " +
                'could still take money; the engine cancels or refunds what it takes, then ends CANCELLED or FAILED.',
            },
            amount: ref('Money'),
            pre_auth: { type: 'boolean' },
            payment_method: {
              type: 'string',
              enum: ['card', 'card_token', 'network_token', 'card_points', 'hosted_checkout'],
            },
            order_id: nullable({ type: 'string', description: 'Plural order id.' }),
            payment_id: nullable({ type: 'string', description: 'Plural payment id (latest attempt).' }),
            payment_ids: { type: 'array', items: { type: 'string' } },
            challenge_url: nullable({ type: 'string', description: 'Send the customer here (3-D Secure page).' }),
            redirect_url: nullable({ type: 'string', description: 'Hosted checkout page.' }),
            next_actions: {
              type: 'array',
              items: {
                type: 'string',
                enum: [
                  'SUBMIT_OTP',
                  'RESEND_OTP',
                  'COMPLETE_CHALLENGE',
                  'REDIRECT_TO_CHECKOUT',
                  'CAPTURE',
                  'CANCEL',
                  'REFUND',
                  'OPERATOR_RETRY',
                ],
              },
            },
            otp: nullable({
              type: 'object',
              properties: {
                attempts_left: { type: 'integer' },
                resends_left: { type: 'integer' },
                resend_available_at: nullable({ type: 'string', format: 'date-time' }),
                last_submission: nullable({
                  type: 'object',
                  properties: {
                    outcome: { enum: ['ACCEPTED', 'INCORRECT', 'FAILED', 'IGNORED'] },
                    message: nullable({ type: 'string' }),
                  },
                }),
                last_resend: nullable({
                  type: 'object',
                  properties: {
                    outcome: { enum: ['SENT', 'TOO_EARLY', 'LIMIT_REACHED', 'REJECTED', 'IGNORED'] },
                    message: nullable({ type: 'string' }),
                  },
                }),
              },
            }),
            split: nullable({ type: 'object', properties: { card: ref('Money'), points: ref('Money') } }),
            authorized_amount: nullable(ref('Money')),
            captured_amount: nullable(ref('Money')),
            refunded_amount: nullable({
              ...ref('Money'),
              description: 'What Plural confirmed refunded; the money kept is `captured_amount` − `refunded_amount`.',
            }),
            refundable_amount: nullable({
              ...ref('Money'),
              description:
                'While the refund window is open: what a refund may still take (captured − refunded − refunds in ' +
                'flight); `null` otherwise.',
            }),
            refund_window_ends_at: nullable({
              type: 'string',
              format: 'date-time',
              description: 'A PROCESSED payment takes refunds until then.',
            }),
            refunds: { type: 'array', items: ref('Refund') },
            plural_order_status: nullable({ type: 'string', description: "Plural's order status at its last answer." }),
            closing: nullable({
              type: 'object',
              properties: {
                reason: {
                  enum: ['MERCHANT_CANCEL', 'OPERATOR_CANCEL', 'WORKFLOW_CANCELLED', 'AUTHENTICATION_WINDOW_CLOSED'],
                },
                since: { type: 'string', format: 'date-time' },
                detail: nullable({ type: 'string' }),
              },
            }),
            authorized_at: nullable({ type: 'string', format: 'date-time' }),
            authorization_expires_at: nullable({ type: 'string', format: 'date-time' }),
            auto_cancel_at: nullable({ type: 'string', format: 'date-time' }),
            last_capture: nullable({
              type: 'object',
              properties: {
                outcome: { enum: ['CAPTURED', 'REJECTED', 'PARKED'] },
                message: nullable({ type: 'string' }),
              },
            }),
            failure: nullable({
              type: 'object',
              properties: { code: { type: 'string' }, message: { type: 'string' } },
            }),
            parked: nullable({
              type: 'object',
              description: 'A step that failed for good and waits for an operator.',
              properties: {
                operation: { type: 'string' },
                code: { type: 'string' },
                message: { type: 'string' },
                since: { type: 'string', format: 'date-time' },
                retries: { type: 'integer' },
              },
            }),
            saved_card: nullable({
              type: 'object',
              description:
                'For `card.save: true`: the card Plural saved for the customer, once Plural has it (after ' +
                'authorization; `null` until then). Pay with it as `card_token.token_id`.',
              required: ['token_id', 'status', 'last4', 'expiry_month', 'expiry_year'],
              properties: {
                token_id: { type: 'string' },
                status: nullable({
                  type: 'string',
                  description: 'Plural’s token status: INITIATED, ACTIVE (can pay), SUSPENDED, FAILED, DEACTIVATED.',
                }),
                last4: { type: 'string' },
                expiry_month: nullable({ type: 'string' }),
                expiry_year: nullable({ type: 'string' }),
              },
            }),
            gateway: nullable({
              type: 'object',
              description:
                'Set while the payment’s current step is being retried because Plural fails (5xx, 429, timeouts, ' +
                'refused connections); `null` otherwise. Once the retries run out the step is `parked`.',
              required: ['status', 'reason', 'operation', 'attempt', 'retrying'],
              properties: {
                status: { const: 'unavailable' },
                reason: { enum: ['gateway_unavailable', 'gateway_timeout'] },
                operation: { type: 'string', description: 'The step: createOrder, createPayment, captureOrder…' },
                attempt: { type: 'integer', description: 'The attempt running or scheduled next (2 = first retry).' },
                max_attempts: nullable({ type: 'integer' }),
                last_error: nullable({
                  type: 'string',
                  description: 'What failed last: `HTTP 503 INTERNAL_ERROR`, `PluralConnectionError ECONNREFUSED`.',
                }),
                retrying: { type: 'boolean' },
                next_attempt_at: nullable({ type: 'string', format: 'date-time' }),
              },
            }),
            merchant_metadata: nullable({
              ...merchantMetadata,
              description: 'The `merchant_metadata` sent with the create, as sent; `null` when none was.',
            }),
            return_url: nullable({
              type: 'string',
              format: 'uri',
              description:
                'The `return_url` sent with the create, as stored (normalized); `null`: the browser returns to the ' +
                'configured return page.',
            }),
            events: {
              type: 'array',
              description: 'Audit trail of status transitions.',
              items: {
                type: 'object',
                properties: {
                  from: { type: 'string' },
                  to: { type: 'string' },
                  cause: { type: 'string' },
                  at: { type: 'string', format: 'date-time' },
                },
              },
            },
            created_at: { type: 'string', format: 'date-time' },
            updated_at: { type: 'string', format: 'date-time' },
            stale: {
              type: 'boolean',
              description:
                'True when no worker answered in time and the payment was read from its memo: `status`, ids and ' +
                'amounts are correct as of its last status change; details only the workflow holds (OTP, events, ' +
                'next actions) are empty. Read it again shortly.',
            },
          },
        },
      },
    },
  });
}

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
      '400': errorResponse('Signed, but not a webhook body the engine understands.'),
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
      '(303) to the merchant’s success or failure page with `merchant_order_reference` and `status`. The callback ' +
      'carries no timestamp: one already delivered (a reload of the return URL, or a replay) and one for a payment ' +
      'that started longer ago than its customer could still be paying are redirected the same way but signal ' +
      'nothing. The merchant’s page reads the payment’s status from `GET /v1/payments/{ref}`. ' +
      RETURN_REDIRECT_DESCRIPTION +
      eventPathNote(merchantPath, 'callback'),
    security: [],
    ...(merchantPath ? { parameters: [merchantIdParam] } : {}),
    responses: {
      '303': {
        description:
          'Redirect to the payment’s `return_url` (signed: `merchant_order_reference`, `status`, `timestamp`, ' +
          '`signature`), or to the merchant’s configured return page (also for a repeated or stale callback).',
        headers: { Location: { schema: { type: 'string', format: 'uri' } } },
      },
      '400': errorResponse('Signed, but the fields are not a Plural callback.'),
      '401': errorResponse('Missing or bad signature; nothing reached the payment.'),
      '404': errorResponse(
        merchantPath
          ? 'No running payment of this merchant for this Plural order, or no such merchant.'
          : 'No running payment for this Plural order.',
      ),
    },
  };
}

function opsOperation(operationId: string, summary: string, contentType: string) {
  return {
    tags: ['operations'],
    operationId,
    summary,
    security: [],
    responses: { '200': { description: summary, content: { [contentType]: {} } } },
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;
