/**
 * Request schemas, parsed once at the edge. Objects are strict (unknown fields are a 400, so typos surface), and
 * messages name the field and the rule, never the value received.
 */
import { z } from 'zod';

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

export const MoneySchema = z.strictObject({
  value: z.int('must be an integer amount in minor units (paise)').positive('must be greater than 0'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as INR'),
});

const ExpiryMonthSchema = z.string().regex(/^(0[1-9]|1[0-2])$/, 'must be a two-digit month, 01-12');
const ExpiryYearSchema = z.string().regex(/^\d{4}$/, 'must be a four-digit year');
const CvvSchema = digits(3, 4, 'card security code');

const CardSchema = z.strictObject({
  number: digits(12, 19, 'card number, no spaces').refine(luhnValid, 'is not a valid card number (Luhn check)'),
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  expiry_month: ExpiryMonthSchema,
  expiry_year: ExpiryYearSchema,
  cvv: CvvSchema,
  save: z.boolean().optional(),
});

const CardTokenSchema = z.strictObject({
  token_id: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be 1-100 characters of A-Z, a-z, 0-9, _ or -'),
  cvv: CvvSchema,
});

const NetworkTokenSchema = z.strictObject({
  token: digits(12, 19, 'network token'),
  cryptogram: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  expiry_month: ExpiryMonthSchema,
  expiry_year: ExpiryYearSchema,
  last4: digits(4, 4, 'last 4 digits of the card'),
  cvv: CvvSchema.optional(),
});

const PointsSchema = z.strictObject({
  customer_consent: z.literal(true, 'must be true: redeeming points needs the customer’s explicit consent'),
  registered_mobile_number: digits(10, 13, 'mobile number registered with the card issuer'),
});

const CustomerSchema = z.strictObject({
  customer_id: z.string().min(1).max(100).optional(),
  first_name: z.string().min(1).max(100).optional(),
  last_name: z.string().min(1).max(100).optional(),
  email: z.email('must be an email address').max(254).optional(),
  mobile_number: digits(6, 15, 'mobile number').optional(),
  country_code: digits(1, 4, 'country calling code').optional(),
});

const METHOD_FIELDS = ['card', 'card_token', 'network_token', 'hosted_checkout'] as const;

/** `POST /v1/payments`. Exactly one payment method; `points` rides alongside `card`. */
export const CreatePaymentSchema = z
  .strictObject({
    merchant_order_reference: ReferenceSchema,
    amount: MoneySchema,
    pre_auth: z.boolean().default(false),
    card: CardSchema.optional(),
    card_token: CardTokenSchema.optional(),
    network_token: NetworkTokenSchema.optional(),
    points: PointsSchema.optional(),
    hosted_checkout: z.literal(true, 'must be true when present').optional(),
    customer: CustomerSchema.optional(),
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
    if (body.card?.save === true && body.customer?.customer_id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['card', 'save'], message: 'saving a card needs customer.customer_id' });
    }
  });
export type CreatePaymentRequest = z.infer<typeof CreatePaymentSchema>;

/** `POST /v1/payments/{ref}/otp`. */
export const OtpSchema = z.strictObject({ otp: digits(4, 8, 'one-time password') });

/** `POST /v1/payments/{ref}/capture`; no amount captures the full authorized amount. */
export const CaptureSchema = z.strictObject({ amount: MoneySchema.optional() });

/** `POST /v1/payments/{ref}/cancel`. */
export const CancelSchema = z.strictObject({
  reason: z.string().max(200, 'must be at most 200 characters').optional(),
});

/** Bodyless actions (`otp/resend`): an empty object or no body at all. */
export const EmptySchema = z.strictObject({});

/** Turn zod issues into `{path, message}` pairs. Zod 4 messages name rules, not values; keys are sanitized. */
export function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      const safe = issue.keys.every((k) => /^[A-Za-z0-9_]{1,40}$/.test(k) && !/\d{6}/.test(k));
      message = safe ? `unknown field(s): ${issue.keys.join(', ')}` : 'unknown field(s)';
    }
    return { path: path === '' ? '(body)' : path, message };
  });
}
