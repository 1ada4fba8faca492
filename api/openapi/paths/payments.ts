/** The payment routes (api/routes/payments.ts, actions.ts, search.ts): create, search, read, act, refund. */
import { PAYMENT_STATUS } from '../../../workflows/definitions';
import { LIST_LIMIT } from '../../schemas';
import {
  accepted,
  digits,
  ENGINE_UNAVAILABLE,
  errorResponse,
  json,
  merchantErrors,
  paymentResponse,
  ref,
  referenceParam,
  refundResponse,
  text,
  withLocation,
} from '../parts';

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
      'the payment’s `created_at`, when its workflow first started (a continue-as-new of a long refund window keeps it).',
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

/** A JSON body the operation may go without: an object of `properties` and nothing else. */
const optionalBody = (properties: Record<string, unknown>) => ({
  required: false,
  content: json({ type: 'object', additionalProperties: false, properties }),
});

export const paymentPaths = {
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
            '8601 with a time zone, or outside years 0001-9999 in UTC), `invalid_date_range` (`created_from` not ' +
            'before `created_to`), ' +
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
        '201': withLocation(paymentResponse('Payment created.')),
        '200': withLocation(paymentResponse('The same request was made before: the existing payment.')),
        '202': withLocation(accepted),
        ...merchantErrors,
        '400': errorResponse(
          'Malformed JSON (`invalid_json`), or a field missing or of the wrong type or format (`error.issues` names ' +
            'each field; `error.code` `invalid_request`), or what Plural would refuse: `currency_not_supported` (INR only), ' +
            '`amount_too_large` (above the API’s limit, `API_MAX_AMOUNT`, default 100000000 = ₹10,00,000), ' +
            '`card_expired` (expiry month passed), `unprintable_characters` (control, format or unassigned ' +
            'characters in a name or free text), `card_number_in_text` (a card number in free text), ' +
            '`return_url_not_allowed` (a `return_url` that is not https, has user info or a fragment, is longer ' +
            'than 2048 characters, or points at a host and port not configured for the merchant).',
        ),
        '409': errorResponse('A payment with this reference exists with a different request (`idempotency_conflict`).'),
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
        '409': errorResponse(
          'The payment is not awaiting an OTP (`payment_not_awaiting_otp`), its authentication window has closed ' +
            '(`authentication_window_closed`), or Plural takes none until one is resent (`otp_resend_required`).',
        ),
        '503': errorResponse(
          `${ENGINE_UNAVAILABLE}, or Plural could not be reached to check the OTP (\`gateway_unavailable\`, with ` +
            '`Retry-After`: nothing was used; send it again).',
        ),
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
          'Not awaiting an OTP (`payment_not_awaiting_otp`), the authentication window has closed ' +
            '(`authentication_window_closed`: a resend queued before it was not sent either), no resends left ' +
            '(`otp_resend_limit_reached`), or the gateway refused (`otp_resend_rejected`).',
        ),
        '503': errorResponse(
          `${ENGINE_UNAVAILABLE}, or Plural could not be reached to resend the OTP (\`gateway_unavailable\`, with ` +
            '`Retry-After`; ask again).',
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
      requestBody: optionalBody({
        amount: { ...ref('Money'), description: 'Omit to capture the full authorized amount.' },
      }),
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
            '(`capture_limit_reached`: Plural allows one), a cancel asked for first is under way (`cancel_pending`), ' +
            'or the gateway refused it (`capture_rejected`).',
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
        'An AUTHORIZED pre-authorization is cancelled by Plural and answers 200 CANCELLED. A payment not yet ' +
        'authorized answers 202 CLOSING: Plural cancels only authorized orders, so the customer may still pay on its page; the engine ' +
        "cancels an authorization or refunds a payment that arrives, and ends CANCELLED once Plural's order is final. " +
        'A card payment cancelled before its card was sent to Plural (its order still being created) ends CANCELLED ' +
        'at once: no payment was made on the order.',
      parameters: [referenceParam],
      requestBody: optionalBody({ reason: text(200) }),
      responses: {
        '200': paymentResponse('The payment is CANCELLED.'),
        '202': paymentResponse(
          'The payment is CLOSING, the cancel is still in progress, or Plural kept failing it and it waits ' +
            '(`parked`: the payment tries it again on its own, and an operator may retry it).',
        ),
        ...merchantErrors,
        '409': errorResponse(
          'The payment is final, or a sale Plural is processing, and cannot be cancelled (`payment_not_cancellable`); ' +
            'or Plural answered the cancel but its order still reads AUTHORIZED (`cancel_not_applied`: not cancelled ' +
            'yet, send the cancel again with a new `Idempotency-Key`; the payment also cancels itself before the ' +
            'authorization expires).',
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
};
