/** The document's building blocks: references, error answers, and the field schemas several operations share. */
import { EMAIL_PATTERN } from '../schemas';

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: unknown) => ({ 'application/json': { schema } });
export const errorResponse = (description: string) => ({ description, content: json(ref('Error')) });
export const paymentResponse = (description: string) => ({ description, content: json(ref('Payment')) });

export const referenceParam = {
  name: 'merchant_order_reference',
  in: 'path',
  required: true,
  description: 'The merchant order reference the payment was created with.',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,50}$' },
};

/** What every merchant route's 503 may mean. */
export const ENGINE_UNAVAILABLE =
  'The payment engine (Temporal) is unavailable, or no worker took the action up within the wait ' +
  '(`engine_unavailable`; for an action, with `Retry-After`: nothing was applied yet, send the same request again), ' +
  'or the card vault could not take the card data or OTP (`card_vault_unavailable`, with `Retry-After`; nothing ran)';

export const merchantErrors = {
  '400': errorResponse(
    'Malformed JSON (`invalid_json`), a body missing where one is required (`body_required`), a path reference that ' +
      'is not 1-50 letters, digits, `_` or `-` (`invalid_reference`), or a field missing or of the wrong type or ' +
      'format (`invalid_request`; `error.issues` names each field).',
  ),
  '401': errorResponse('Missing or invalid API key.'),
  '404': errorResponse(
    'No payment of your merchant with this reference (another merchant’s payment answers exactly the same); a path ' +
      'the API does not serve answers `route_not_found`.',
  ),
  '405': {
    ...errorResponse('A method the path does not serve (`method_not_allowed`); `Allow` lists the ones it does.'),
    headers: { Allow: { schema: { type: 'string' } } },
  },
  '413': errorResponse('Request body larger than the limit.'),
  '415': errorResponse('Body is not JSON.'),
  '503': errorResponse(`${ENGINE_UNAVAILABLE}; retry later.`),
};

/** A create's answer names the resource it made or found (`Location`), also when an idempotent repeat replays it. */
export const withLocation = <R extends object>(response: R) => ({
  ...response,
  headers: { Location: { schema: { type: 'string' }, description: 'The resource, e.g. `/v1/payments/{ref}`.' } },
});

export const accepted = paymentResponse(
  'The payment accepted the request, but its outcome was not known within the wait (it goes on in the payment); ' +
    'read `GET /v1/payments/{merchant_order_reference}` later.',
);

export const money = {
  type: 'object',
  additionalProperties: false,
  required: ['value', 'currency'],
  properties: {
    value: { type: 'integer', minimum: 1, description: 'Amount in minor units (paise for INR).' },
    currency: { type: 'string', pattern: '^[A-Z]{3}$', examples: ['INR'] },
  },
};
/** An amount that may be zero: what is left of something (nothing left to refund is `value` 0). */
export const remainingMoney = {
  ...money,
  properties: { ...money.properties, value: { ...money.properties.value, minimum: 0 } },
};
export const nullable = (schema: unknown) => ({ oneOf: [schema, { type: 'null' }] });
export const digits = (min: number, max: number) => ({ type: 'string', pattern: `^\\d{${min},${max}}$` });
/** Free text: printable characters only (no control characters) and no card number. */
export const text = (maxLength: number, description?: string) => ({
  type: 'string',
  maxLength,
  description: `${description ? `${description} ` : ''}Printable characters only; no card number.`,
});
/** Free text that must not be empty. */
export const nonEmptyText = (maxLength: number, description?: string) => ({
  ...text(maxLength, description),
  minLength: 1,
});
export const address = {
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
export const customerDetails = {
  first_name: nonEmptyText(100),
  last_name: nonEmptyText(100),
  email: { type: 'string', format: 'email', maxLength: 254, pattern: EMAIL_PATTERN.source },
  mobile_number: digits(6, 15),
  country_code: digits(1, 4),
  billing_address: ref('Address'),
  shipping_address: ref('Address'),
};
export const stringFlag = { type: 'string', enum: ['true', 'false'] };
export const deviceInfo = {
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
export const merchantMetadata = {
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
export const RETURN_REDIRECT_DESCRIPTION =
  'With `return_url`, the browser goes there (303) with `merchant_order_reference`, `status` (the payment’s ' +
  'status as the engine knows it — after waiting up to 3 s for the workflow to confirm a fresh callback with Plural; ' +
  'a repeated or stale callback gets the status the payment has now, never the callback’s own claim), `timestamp` ' +
  '(Unix seconds of the redirect) and `signature`: lowercase hex HMAC-SHA256, keyed with the merchant’s return-signing ' +
  'secret (`RETURN_URL_SIGNING_SECRET`), of `<timestamp>.<merchant_order_reference>.<status>`. Parameters of those ' +
  'names already in `return_url` are replaced; others are kept. Verify the signature in constant time and refuse a ' +
  'timestamp older than a few minutes; a status other than AUTHORIZED, PROCESSED, FAILED or CANCELLED is not final ' +
  'yet: read `GET /v1/payments/{ref}` or wait for the webhook.';

export const expiry = {
  expiry_month: { type: 'string', pattern: '^(0[1-9]|1[0-2])$' },
  expiry_year: { type: 'string', pattern: '^\\d{4}$', description: 'With the month, not before the current month.' },
};

/** One refund, as the payment lists it and as `POST …/refunds` answers it (with the payment). */
export const refundProperties = {
  object: { const: 'refund' },
  merchant_refund_reference: nullable({
    type: 'string',
    description: 'Your id for the refund (`null` for the engine’s automatic refunds and those made outside it).',
  }),
  reason: {
    enum: ['MERCHANT', 'AUTO', 'EXTERNAL'],
    description:
      '`MERCHANT`: you asked for it. `AUTO`: the engine refunded money Plural took while the payment was closing. `EXTERNAL`: made outside the engine (Plural’s dashboard); the engine found it at Plural when Plural’s refund webhook named it.',
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
export const refundRequired = [
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
export const refundResponse = (description: string) => ({ description, content: json(ref('RefundResult')) });
