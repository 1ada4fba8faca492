/**
 * Request schemas, parsed once at the edge. Objects are strict (unknown fields are a 400, so typos surface), and
 * messages name the field and the rule, never the value received.
 */
import { z } from 'zod';
import { maskPans } from '../observability';
import { FREE_TEXT_MAX_LENGTH, PAYMENT_STATUS } from '../workflows/definitions';
import type { PaymentStatus } from '../workflows/definitions';

/** `merchant_order_reference`: the payment's identity (and its workflow id). */
export const REFERENCE_PATTERN = /^[A-Za-z0-9_-]{1,50}$/;
export const ReferenceSchema = z
  .string()
  .regex(REFERENCE_PATTERN, 'must be 1-50 characters, each a letter, digit, _ or -');

const digits = (min: number, max: number, what: string) =>
  z
    .string()
    .regex(new RegExp(`^\\d{${min},${max}}$`), `must be ${min === max ? min : `${min}-${max}`} digits (${what})`);

/** Luhn check, so a mistyped card number is a 400 here rather than a gateway failure later. */
export function luhnValid(number: string): boolean {
  let sum = 0;
  for (let i = 0; i < number.length; i++) {
    let d = number.charCodeAt(number.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Characters refused in free text: control characters (tab and newline included), lone surrogates, private-use and
 * unassigned code points, line and paragraph separators, and format characters (bidi overrides, zero-width spaces,
 * BOM) except ZWNJ and ZWJ, which Indic scripts and emoji need.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]|(?![\u200C\u200D])\p{Cf}/u;

/** Error codes of specific rules (carried on the zod issue as `params.code`, answered as the error's `code`). */
export const RULE_ERROR_CODE = {
  UNPRINTABLE: 'unprintable_characters',
  CARD_NUMBER_IN_TEXT: 'card_number_in_text',
  CURRENCY_NOT_SUPPORTED: 'currency_not_supported',
  AMOUNT_TOO_LARGE: 'amount_too_large',
  CARD_EXPIRED: 'card_expired',
} as const;

/** Whether `text` holds something shaped like a card number (a Luhn-valid 13-19 digit run). */
const holdsCardNumber = (text: string): boolean => maskPans(text) !== text;

/**
 * Checks free text for unprintable characters and card numbers (which would otherwise reach Plural, the workflow's
 * history and its logs). Adds one issue naming the rule, never the value.
 */
function checkText(
  text: string,
  ctx: z.RefinementCtx,
  path: (string | number)[] = [],
  { cardNumbers = true } = {},
): void {
  if (UNPRINTABLE.test(text)) {
    ctx.addIssue({
      code: 'custom',
      path,
      message: 'must not contain control characters or other unprintable characters',
      params: { code: RULE_ERROR_CODE.UNPRINTABLE },
    });
  } else if (cardNumbers && holdsCardNumber(text)) {
    ctx.addIssue({
      code: 'custom',
      path,
      message: 'must not contain a card number',
      params: { code: RULE_ERROR_CODE.CARD_NUMBER_IN_TEXT },
    });
  }
}

/** Refuses a string holding a card number (a field with a pattern of its own that still lets digits through). */
const withoutCardNumber = (text: string, ctx: z.RefinementCtx): void => {
  if (holdsCardNumber(text)) {
    ctx.addIssue({
      code: 'custom',
      message: 'must not contain a card number',
      params: { code: RULE_ERROR_CODE.CARD_NUMBER_IN_TEXT },
    });
  }
};

/** Free text of at most `max` characters, printable and holding no card number. */
export function freeText(max: number, min = 0) {
  return z
    .string()
    .min(min, min === 1 ? 'must not be empty' : `must be at least ${min} characters`)
    .max(max, `must be at most ${max} characters`)
    .superRefine((text, ctx) => checkText(text, ctx));
}

/**
 * Currencies Plural accepts for these flows: every guide's order, payment, capture and refund is in INR (and Get
 * Card Details answers `"currency": "INR"`); Plural is an Indian gateway whose card flows settle in rupees.
 */
export const ACCEPTED_CURRENCIES: readonly string[] = ['INR'];

/**
 * Largest amount the API accepts by default, minor units: ₹10,00,000 (100,000,000 paise). Plural documents no
 * maximum (only AMOUNT_LIMIT_EXCEEDED, "exceeds allowed limits", from the acquirer), so this is the API's own,
 * configurable limit (`API_MAX_AMOUNT`).
 */
export const DEFAULT_MAX_AMOUNT = 100_000_000;

/** The rules of a payment request that depend on configuration and the clock. */
export interface PaymentRules {
  /** Largest `amount.value`, minor units. @default DEFAULT_MAX_AMOUNT */
  maxAmount: number;
  /** Clock for card expiry, ms since epoch. @default Date.now */
  now: () => number;
}

/** The amount of a new payment: positive integer minor units, an accepted currency, at most `maxAmount`. */
function paymentAmountSchema(maxAmount: number) {
  return z.strictObject({
    value: z
      .int('must be an integer amount in minor units (paise)')
      .positive('must be greater than 0')
      .refine((v) => v <= maxAmount, {
        message: `must be at most ${maxAmount} minor units (the API's limit per payment)`,
        params: { code: RULE_ERROR_CODE.AMOUNT_TOO_LARGE },
      }),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as INR')
      .refine((c) => ACCEPTED_CURRENCIES.includes(c), {
        message: `is not accepted: Plural takes ${ACCEPTED_CURRENCIES.join(', ')} for card payments`,
        params: { code: RULE_ERROR_CODE.CURRENCY_NOT_SUPPORTED },
      }),
  });
}

/**
 * A card is good through the last day of its expiry month. The month is judged in the earliest time zone
 * (UTC-12), so a card some customer can still use somewhere is never refused here; Plural has the last word.
 */
function expiryCheck(now: () => number) {
  return (card: { expiry_month: string; expiry_year: string }, ctx: z.RefinementCtx): void => {
    const today = new Date(now() - 12 * 3_600_000);
    const year = today.getUTCFullYear();
    const month = today.getUTCMonth() + 1;
    const expiryYear = Number(card.expiry_year);
    const expired = expiryYear < year ? 'expiry_year' : expiryYear === year && Number(card.expiry_month) < month;
    if (expired === false) return;
    ctx.addIssue({
      code: 'custom',
      path: [expired === true ? 'expiry_month' : expired],
      message: 'the card has expired (its expiry is before the current month)',
      params: { code: RULE_ERROR_CODE.CARD_EXPIRED },
    });
  };
}

export const MoneySchema = z.strictObject({
  value: z.int('must be an integer amount in minor units (paise)').positive('must be greater than 0'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as INR'),
});

const ExpiryMonthSchema = z.string().regex(/^(0[1-9]|1[0-2])$/, 'must be a two-digit month, 01-12');
const ExpiryYearSchema = z.string().regex(/^\d{4}$/, 'must be a four-digit year');
const CvvSchema = digits(3, 4, 'card security code');

const cardSchema = (now: () => number) =>
  z
    .strictObject({
      number: digits(12, 19, 'card number, no spaces').refine(luhnValid, 'is not a valid card number (Luhn check)'),
      // Checked before trimming: a control character is refused, not silently dropped.
      name: z
        .string()
        .superRefine((text, ctx) => checkText(text, ctx))
        .trim()
        .min(1, 'must not be empty')
        .max(100, 'must be at most 100 characters'),
      expiry_month: ExpiryMonthSchema,
      expiry_year: ExpiryYearSchema,
      cvv: CvvSchema,
      save: z.boolean().optional(),
    })
    .superRefine(expiryCheck(now));

const CardTokenSchema = z.strictObject({
  // A card number here (a token mistaken for the card) would travel into the workflow's input and to Plural.
  token_id: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be 1-100 characters of A-Z, a-z, 0-9, _ or -')
    .superRefine(withoutCardNumber),
  cvv: CvvSchema,
});

const networkTokenSchema = (now: () => number) =>
  z
    .strictObject({
      token: digits(12, 19, 'network token'),
      cryptogram: z
        .string()
        .min(1, 'must not be empty')
        .max(200, 'must be at most 200 characters')
        .superRefine((text, ctx) => checkText(text, ctx, [], { cardNumbers: false })),
      expiry_month: ExpiryMonthSchema,
      expiry_year: ExpiryYearSchema,
      last4: digits(4, 4, 'last 4 digits of the card'),
      cvv: CvvSchema.optional(),
    })
    .superRefine(expiryCheck(now));

const PointsSchema = z.strictObject({
  customer_consent: z.literal(true, 'must be true: redeeming points needs the customer’s explicit consent'),
  registered_mobile_number: digits(10, 13, 'mobile number registered with the card issuer'),
});

/**
 * A billing or shipping address, with Plural's field names (`purchase_details.customer.billing_address`). Plural
 * documents no limits; these are the sandbox's.
 */
export const AddressSchema = z.strictObject({
  address1: freeText(200, 1).optional(),
  address2: freeText(200).optional(),
  address3: freeText(200).optional(),
  pincode: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9 -]{0,19}$/, 'must be 1-20 letters, digits, spaces or dashes (postal code)')
    // No postal code has 13 or more digits: such a run is a card number on its way to history and to Plural.
    .superRefine(withoutCardNumber)
    .optional(),
  city: freeText(100, 1).optional(),
  state: freeText(100, 1).optional(),
  country: freeText(100, 1).optional(),
});

/** A gateway customer id (`cust-v1-0811030624-aa-RBDgpR`). */
export const CUSTOMER_ID_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;
/** A customer id in a path or a body: Plural's pattern, and never a card number (it is sent to Plural and echoed). */
export const CustomerIdSchema = z
  .string()
  .regex(CUSTOMER_ID_PATTERN, 'must be 1-100 letters, digits, _ or -')
  .superRefine(withoutCardNumber);

/** The address `z.email()` accepts (zod's own pattern), named for the OpenAPI document. */
export const EMAIL_PATTERN = z.regexes.email;

/** A customer's details, as a payment's `customer` and a new customer (`POST /v1/customers`) both take them. */
const customerDetailFields = {
  first_name: freeText(100, 1).optional(),
  last_name: freeText(100, 1).optional(),
  email: z
    .email({ pattern: EMAIL_PATTERN, error: 'must be an email address' })
    .max(254)
    .superRefine(withoutCardNumber)
    .optional(),
  mobile_number: digits(6, 15, 'mobile number').optional(),
  country_code: digits(1, 4, 'country calling code').optional(),
  billing_address: AddressSchema.optional(),
  shipping_address: AddressSchema.optional(),
};

const CustomerSchema = z.strictObject({ customer_id: CustomerIdSchema.optional(), ...customerDetailFields });

/** Plural's API reference: at most 10 metadata pairs of at most 256 characters. */
export const MERCHANT_METADATA_LIMITS = { pairs: 10, keyLength: 256, valueLength: 256 } as const;

/** A metadata key safe to name in an error (starts with a letter: never a card number). */
const NAMEABLE_KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** `merchant_metadata`: the merchant's own string pairs, sent to Plural as `purchase_details.merchant_metadata`. */
export const MerchantMetadataSchema = z
  // zod's record skips a `__proto__` key without a word (its value unchecked): refuse it rather than drop a pair.
  .custom<unknown>((v) => v === null || typeof v !== 'object' || !Object.hasOwn(v, '__proto__'), {
    message: 'must not have a __proto__ key',
  })
  .pipe(z.record(z.string(), z.string('must be a string')))
  .superRefine((metadata, ctx) => {
    const entries = Object.entries(metadata);
    const { pairs, keyLength, valueLength } = MERCHANT_METADATA_LIMITS;
    if (entries.length > pairs) {
      ctx.addIssue({ code: 'custom', message: `must hold at most ${pairs} pairs (got ${entries.length})` });
      return;
    }
    entries.forEach(([key, value], i) => {
      const label = NAMEABLE_KEY.test(key) && !/\d{6}/.test(key) ? key : `#${i + 1}`;
      if (key.length === 0 || key.length > keyLength) {
        ctx.addIssue({ code: 'custom', path: [label], message: `keys must be 1-${keyLength} characters` });
      } else if (value.length > valueLength) {
        ctx.addIssue({ code: 'custom', path: [label], message: `values must be at most ${valueLength} characters` });
      } else {
        checkText(key, ctx, [label]);
        checkText(value, ctx, [label]);
      }
    });
  });

/** Browser details for 3-D Secure, with Plural's field names; every value a string, as Plural's guides send them. */
export const DeviceInfoSchema = z.strictObject({
  device_channel: freeText(20, 1).optional(),
  browser_accept_header: freeText(1024, 1).optional(),
  browser_user_agent: freeText(1024, 1).optional(),
  browser_language: z
    .string()
    .regex(/^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$/, 'must be a language tag such as en or en-IN')
    .optional(),
  browser_screen_height: digits(1, 5, 'pixels, as a string').optional(),
  browser_screen_width: digits(1, 5, 'pixels, as a string').optional(),
  browser_timezone: z
    .string()
    .regex(/^[+-]?\d{1,4}$/, 'must be minutes from UTC as a string, such as -330')
    .optional(),
  browser_window_size: freeText(20, 1).optional(),
  browser_screen_color_depth: digits(1, 2, 'bits, as a string').optional(),
  browser_java_enabled_val: z.enum(['true', 'false'], 'must be the string true or false').optional(),
  browser_javascript_enabled_val: z.enum(['true', 'false'], 'must be the string true or false').optional(),
});

const METHOD_FIELDS = ['card', 'card_token', 'network_token', 'hosted_checkout'] as const;

/**
 * `POST /v1/payments`. Exactly one payment method; `points` rides alongside `card`. What Plural would refuse is
 * refused here with a 400 naming the field: another currency than INR, more than `maxAmount`, an expired card,
 * unprintable characters or a card number in free text.
 */
export function createPaymentSchema(rules: Partial<PaymentRules> = {}) {
  const { maxAmount = DEFAULT_MAX_AMOUNT, now = Date.now } = rules;
  return z
    .strictObject({
      merchant_order_reference: ReferenceSchema,
      amount: paymentAmountSchema(maxAmount),
      pre_auth: z.boolean().default(false),
      card: cardSchema(now).optional(),
      card_token: CardTokenSchema.optional(),
      network_token: networkTokenSchema(now).optional(),
      points: PointsSchema.optional(),
      hosted_checkout: z.literal(true, 'must be true when present').optional(),
      customer: CustomerSchema.optional(),
      notes: freeText(500, 1).optional(),
      merchant_metadata: MerchantMetadataSchema.optional(),
      device_info: DeviceInfoSchema.optional(),
      // Only its type here: the hosts it may point at are the merchant's (api/return-url.ts, checked by the route).
      return_url: z
        .string('must be a string (an https:// URL)')
        .min(1, 'must not be empty')
        // Other characters are the route's to refuse (return_url_not_allowed); a card number is refused as anywhere.
        .refine((text) => !holdsCardNumber(text), {
          message: 'must not contain a card number',
          params: { code: RULE_ERROR_CODE.CARD_NUMBER_IN_TEXT },
        })
        .optional(),
    })
    .superRefine((body, ctx) => {
      const given = METHOD_FIELDS.filter((f) => body[f] !== undefined);
      if (given.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: `exactly one payment method is required among ${METHOD_FIELDS.join(', ')} (got ${given.length === 0 ? 'none' : given.join(', ')})`,
        });
      }
      if (body.points !== undefined && body.card === undefined) {
        ctx.addIssue({ code: 'custom', path: ['points'], message: 'points can only be used alongside a new card' });
      }
      if (body.hosted_checkout === true && body.pre_auth) {
        ctx.addIssue({ code: 'custom', path: ['pre_auth'], message: 'pre_auth is not available with hosted_checkout' });
      }
      if (body.device_info !== undefined && body.hosted_checkout === true) {
        ctx.addIssue({
          code: 'custom',
          path: ['device_info'],
          message: 'device_info is for card payments; Plural’s hosted checkout page reads the browser itself',
        });
      }
      if (body.card?.save === true && body.customer?.customer_id === undefined) {
        ctx.addIssue({ code: 'custom', path: ['card', 'save'], message: 'saving a card needs customer.customer_id' });
      }
    });
}

/** {@link createPaymentSchema} with the default limit and the system clock. */
export const CreatePaymentSchema = createPaymentSchema();
export type CreatePaymentRequest = z.infer<typeof CreatePaymentSchema>;

/** `POST /v1/customers`: a customer at the gateway, whose cards can be saved and paid with later. */
export const CreateCustomerSchema = z.strictObject({
  merchant_customer_reference: ReferenceSchema,
  ...customerDetailFields,
  merchant_metadata: MerchantMetadataSchema.optional(),
});
export type CreateCustomerRequest = z.infer<typeof CreateCustomerSchema>;

/** `POST /v1/payments/{ref}/otp`. */
export const OtpSchema = z.strictObject({ otp: digits(4, 8, 'one-time password') });

/** `POST /v1/payments/{ref}/capture`; no amount captures the full authorized amount. */
export const CaptureSchema = z.strictObject({ amount: MoneySchema.optional() });

/**
 * `POST /v1/payments/{ref}/refunds`: `merchant_refund_reference` is the merchant's id for the refund (unique per
 * payment; a repeat with the same amount is answered with that refund); no amount refunds the rest.
 */
export const RefundSchema = z.strictObject({
  merchant_refund_reference: ReferenceSchema,
  amount: MoneySchema.optional(),
  reason: freeText(200).optional(),
});

/** `POST /v1/payments/{ref}/cancel`. */
export const CancelSchema = z.strictObject({
  reason: freeText(FREE_TEXT_MAX_LENGTH).optional(),
});

/** Bodyless actions (`otp/resend`): an empty object or no body at all. */
export const EmptySchema = z.strictObject({});

/** `GET /v1/payments`: its query parameters, and the page size's bounds. */
export const LIST_PARAMETERS = ['status', 'created_from', 'created_to', 'reference_prefix', 'limit', 'cursor'] as const;
export const LIST_LIMIT = { DEFAULT: 20, MAX: 100 } as const;
/** A cursor is the API's own base64url text; anything longer was not issued by it. */
export const CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,4096}$/;

/** Error codes of the list's query parameters (answered as the error's `code`). */
export const LIST_ERROR_CODE = {
  INVALID_STATUS: 'invalid_status',
  INVALID_DATE: 'invalid_date',
  INVALID_DATE_RANGE: 'invalid_date_range',
  INVALID_REFERENCE_PREFIX: 'invalid_reference_prefix',
  INVALID_LIMIT: 'invalid_limit',
  INVALID_CURSOR: 'invalid_cursor',
} as const;

const STATUS_ORDER: readonly PaymentStatus[] = Object.values(PAYMENT_STATUS);
const ISO_DATE_TIME = z.iso.datetime({ offset: true });

/** A query parameter's rule: a custom issue carrying the error code, naming the rule and never the value. */
const queryRule = <T>(check: (value: string) => T | undefined, code: string, message: string) =>
  z.string().transform((value, ctx): T => {
    const parsed = check(value);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message, params: { code } });
      return z.NEVER;
    }
    return parsed;
  });

/** An instant: ISO 8601 with a time zone, at most millisecond precision (finer would be silently truncated). */
const instantParam = queryRule(
  (v) => {
    if (!ISO_DATE_TIME.safeParse(v).success || /\.\d{4,}/.test(v)) return undefined;
    const at = new Date(v);
    // An offset can carry year 0000 or 9999 outside four-digit years in UTC, which Temporal's query cannot take.
    const year = at.getUTCFullYear();
    return year >= 1 && year <= 9999 ? at : undefined;
  },
  LIST_ERROR_CODE.INVALID_DATE,
  'must be an ISO 8601 date-time with a time zone and at most millisecond precision, in years 0001-9999 (UTC), e.g. 2026-01-31T18:30:00Z',
);

/**
 * `GET /v1/payments` query parameters, each given at most once (the route refuses unknown and repeated ones first).
 * Statuses come back deduplicated in `PAYMENT_STATUS` order, so the same set always makes the same engine query.
 */
export const ListPaymentsQuerySchema = z
  .strictObject({
    status: queryRule(
      (v) => {
        const given = v.split(',');
        if (!given.every((s) => (STATUS_ORDER as readonly string[]).includes(s))) return undefined;
        return STATUS_ORDER.filter((s) => given.includes(s));
      },
      LIST_ERROR_CODE.INVALID_STATUS,
      `must be one or more of ${STATUS_ORDER.join(', ')}, separated by commas`,
    ).optional(),
    created_from: instantParam.optional(),
    created_to: instantParam.optional(),
    reference_prefix: queryRule(
      (v) => (REFERENCE_PATTERN.test(v) ? v : undefined),
      LIST_ERROR_CODE.INVALID_REFERENCE_PREFIX,
      'must be 1-50 characters, each a letter, digit, _ or - (as in a merchant_order_reference)',
    ).optional(),
    limit: queryRule(
      (v) => (/^[1-9]\d{0,2}$/.test(v) && Number(v) <= LIST_LIMIT.MAX ? Number(v) : undefined),
      LIST_ERROR_CODE.INVALID_LIMIT,
      `must be a whole number from 1 to ${LIST_LIMIT.MAX}`,
    ).default(LIST_LIMIT.DEFAULT),
    cursor: queryRule(
      (v) => (CURSOR_PATTERN.test(v) ? v : undefined),
      LIST_ERROR_CODE.INVALID_CURSOR,
      'must be the next_cursor of a previous page, unchanged',
    ).optional(),
  })
  .superRefine((q, ctx) => {
    if (q.created_from && q.created_to && q.created_from.getTime() >= q.created_to.getTime()) {
      ctx.addIssue({
        code: 'custom',
        path: ['created_from'],
        message: 'must be before created_to (the range includes created_from and excludes created_to)',
        params: { code: LIST_ERROR_CODE.INVALID_DATE_RANGE },
      });
    }
  });
export type ListPaymentsQuery = z.infer<typeof ListPaymentsQuerySchema>;

/** The specific error code the first issue carries (`params.code` of a custom rule), if any. */
export function errorCodeOf(error: z.ZodError): string | undefined {
  const params = (error.issues[0] as { params?: { code?: unknown } } | undefined)?.params;
  return typeof params?.code === 'string' ? params.code : undefined;
}

/**
 * Whether a key the caller chose may be named in an error: a plain field name, not something that could be a card
 * number or another secret the caller put where a key goes (a `merchant_metadata` key, an unknown field).
 */
const nameable = (key: string): boolean => /^[A-Za-z0-9_]{1,40}$/.test(key) && !/\d{6}/.test(key);

/**
 * Turn zod issues into `{path, message}` pairs. Zod 4 messages name rules, not values; keys the caller chose are named
 * only when they are plain field names (a record's key in a path becomes `#`, as an array index is shown).
 */
export function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => {
    // `#3` is already a key named by its position (the metadata rules do so).
    const path = issue.path
      .map((k) => (typeof k === 'string' && !nameable(k) && !/^#\d+$/.test(k) ? '#' : String(k)))
      .join('.');
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      message = issue.keys.every(nameable) ? `unknown field(s): ${issue.keys.join(', ')}` : 'unknown field(s)';
    }
    return { path: path === '' ? '(body)' : path, message };
  });
}
