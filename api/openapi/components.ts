/** The document's named schemas (`components.schemas`): requests, answers, and what they share. */
import { MERCHANT_EVENT_TYPE, PAYMENT_STATUS } from '../../workflows/definitions';
import {
  RETURN_REDIRECT_DESCRIPTION,
  address,
  customerDetails,
  deviceInfo,
  digits,
  expiry,
  merchantMetadata,
  money,
  remainingMoney,
  nonEmptyText,
  nullable,
  ref,
  refundProperties,
  refundRequired,
  text,
} from './parts';

/** How a payment is paid (`payment_method` of the payment and of its summary). */
const paymentMethod = {
  type: 'string',
  enum: ['card', 'card_token', 'network_token', 'card_points', 'hosted_checkout'],
};

/** A payment as of its last status change (its memo): what a search lists and what a merchant webhook carries. */
const paymentSummaryFields = {
  merchant_order_reference: { type: 'string' },
  status: { type: 'string', enum: Object.values(PAYMENT_STATUS), description: 'As in `Payment`.' },
  amount: ref('Money'),
  pre_auth: { type: 'boolean' },
  payment_method: paymentMethod,
  order_id: nullable({ type: 'string', description: 'Plural’s order id.' }),
  captured_amount: nullable(ref('Money')),
  refunded_amount: nullable(ref('Money')),
  created_at: { type: 'string', format: 'date-time' },
  updated_at: { type: 'string', format: 'date-time' },
};
const paymentSummaryRequired = Object.keys(paymentSummaryFields);

export const schemas = {
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
        description: 'Your id for the refund, unique per payment (a repeat with the same amount is answered with it).',
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
        required: ['object', 'merchant_id', ...paymentSummaryRequired, 'failure', 'refund'],
        description:
          'The payment as of the event (the fields of the payment resource with the same names; the rest is at ' +
          '`GET /v1/payments/{merchant_order_reference}`).',
        properties: {
          object: { const: 'payment' },
          merchant_id: { type: 'string', description: 'The merchant the payment belongs to (`default`).' },
          ...paymentSummaryFields,
          failure: nullable({
            type: 'object',
            properties: { code: { type: 'string' }, message: { type: 'string' } },
          }),
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
    required: ['object', ...paymentSummaryRequired],
    properties: { object: { const: 'payment_summary' }, ...paymentSummaryFields },
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
      pre_auth: {
        type: 'boolean',
        default: false,
        description: 'Authorize now, capture later. Not with `hosted_checkout` (400: Plural’s page takes sales only).',
      },
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
      hosted_checkout: {
        const: true,
        description: 'Pay on Plural’s page; the payment has a `redirect_url`. A sale: not with `pre_auth: true`.',
      },
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
      'stale',
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
      payment_method: paymentMethod,
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
          window_ends_at: nullable({
            type: 'string',
            format: 'date-time',
            description: 'From then on OTPs and resends are refused (`authentication_window_closed`).',
          }),
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
      // Points may pay the whole amount: the card's part is then 0.
      split: nullable({ type: 'object', properties: { card: remainingMoney, points: remainingMoney } }),
      authorized_amount: nullable(ref('Money')),
      captured_amount: nullable(ref('Money')),
      refunded_amount: nullable({
        ...ref('Money'),
        description: 'What Plural confirmed refunded; the money kept is `captured_amount` − `refunded_amount`.',
      }),
      refundable_amount: nullable({
        ...remainingMoney,
        description:
          'While the refund window is open: what a refund may still take (captured − refunded − refunds in ' +
          'flight; `value` 0 once everything is refunded or in flight); `null` otherwise.',
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
        description:
          'Audit trail: status transitions, and notes (`from` = `to`) of what happened without a move. A note that ' +
          'comes again before the status changes (a read failing at every look) is counted on its first entry.',
        items: {
          type: 'object',
          properties: {
            from: { type: 'string' },
            to: { type: 'string' },
            cause: { type: 'string' },
            at: { type: 'string', format: 'date-time', description: 'When it first happened.' },
            repeats: { type: 'integer', minimum: 0, description: 'How many more times the same note came.' },
            last_at: { type: 'string', format: 'date-time', description: 'When it last happened (`at` if once).' },
          },
        },
      },
      created_at: { type: 'string', format: 'date-time' },
      updated_at: { type: 'string', format: 'date-time' },
      stale: {
        type: 'boolean',
        description:
          'True when no worker answered in time and the payment was read from its memo and search attributes: ' +
          '`status`, `order_id`, `amount`, `captured_amount`, `refunded_amount`, `merchant_metadata`, `return_url`, ' +
          '`created_at` and `updated_at` are as the payment last wrote them; every other field is null or empty ' +
          '(`payment_id`, `refunds`, `failure`, `refundable_amount`, the challenge or redirect URL, OTP, events, next ' +
          'actions…), which here says nothing about the payment. Read it again shortly; a payment whose workflow ' +
          'was terminated (an operator) stays stale.',
      },
    },
  },
};
