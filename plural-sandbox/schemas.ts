import { z } from 'zod';
import { invalidRequest } from './errors';

/** Request bodies, parsed once at the edge. Unknown fields are accepted and ignored, as Plural does. */

const str = (max: number) => z.string().max(max);

export const moneySchema = z.object({
  value: z.int().positive(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code such as INR'),
});

const httpUrl = z.url({ protocol: /^https?$/ }).max(2048);

export const tokenRequestSchema = z.object({
  client_id: str(200).min(1),
  client_secret: str(500).min(1),
  grant_type: z.literal('client_credentials'),
});

const addressSchema = z.looseObject({
  address1: str(200).optional(),
  address2: str(200).optional(),
  address3: str(200).optional(),
  pincode: str(20).optional(),
  city: str(100).optional(),
  state: str(100).optional(),
  country: str(100).optional(),
});

const orderCustomerSchema = z.looseObject({
  email_id: str(200).optional(),
  first_name: str(100).optional(),
  last_name: str(100).optional(),
  customer_id: str(100).optional(),
  mobile_number: str(20).optional(),
  country_code: str(5).optional(),
  merchant_customer_reference: str(100).optional(),
  billing_address: addressSchema.optional(),
  shipping_address: addressSchema.optional(),
});

export const createOrderSchema = z.object({
  merchant_order_reference: z.union([str(50).min(1), z.int().nonnegative()]).transform(String),
  order_amount: moneySchema.refine((m) => m.value >= 100, 'order_amount.value must be at least 100 (Rs 1)'),
  pre_auth: z.boolean().default(false),
  allowed_payment_methods: z
    .array(z.enum(['CARD', 'UPI', 'NETBANKING', 'POINTS', 'WALLET', 'CREDIT_EMI', 'DEBIT_EMI']))
    .min(1)
    .optional(),
  notes: str(500).optional(),
  callback_url: httpUrl.optional(),
  failure_callback_url: httpUrl.optional(),
  purchase_details: z
    .looseObject({
      customer: orderCustomerSchema.optional(),
      merchant_metadata: z.record(z.string(), z.string().max(500)).optional(),
    })
    .optional(),
});
export type CreateOrderInput = z.infer<typeof createOrderSchema>;

const digits = (what: string, min: number, max: number) =>
  z
    .string()
    .transform((s) => s.replace(/[\s-]/g, ''))
    .pipe(z.string().regex(new RegExp(`^\\d{${min},${max}}$`), `${what} must be ${min}-${max} digits`));

const month = z.string().regex(/^(0[1-9]|1[0-2])$/, 'expiry_month must be 01-12');
const year = z.string().regex(/^(\d{2}|\d{4})$/, 'expiry_year must be YY or YYYY');
const cvv = z.string().regex(/^\d{3,4}$/, 'cvv must be 3-4 digits');

export const cardDetailsSchema = z.object({
  name: str(100).optional(),
  card_number: digits('card_number', 12, 19),
  cvv,
  expiry_month: month,
  expiry_year: year,
  save: z.boolean().optional(),
  registered_mobile_number: str(20).optional(),
});

export const cardTokenDetailsSchema = z.object({
  token_id: str(100).min(1).optional(),
  token: digits('token', 12, 19).optional(),
  cryptogram: str(200).min(1).optional(),
  cvv: cvv.optional(),
  expiry_month: month.optional(),
  expiry_year: year.optional(),
  last4_digit: z
    .string()
    .regex(/^\d{4}$/, 'last4_digit must be 4 digits')
    .optional(),
  name: str(100).optional(),
  token_txn_type: z.enum(['ALT_TOKEN', 'NETWORK_TOKEN', 'ISSUER_TOKEN']).optional(),
});

export const pointsCardDetailsSchema = z.object({
  card_number: digits('card_number', 12, 19).optional(),
  card_last4: z
    .string()
    .regex(/^\d{4}$/, 'card_last4 must be 4 digits')
    .optional(),
  registered_mobile_number: str(20).optional(),
});

export const paymentSchema = z.object({
  merchant_payment_reference: str(100).optional(),
  payment_method: z.enum(['CARD', 'POINTS']),
  payment_amount: moneySchema,
  payment_option: z.object({
    card_details: cardDetailsSchema.optional(),
    card_token_details: cardTokenDetailsSchema.optional(),
    points_card_details: pointsCardDetailsSchema.optional(),
  }),
  device_info: z.record(z.string(), z.unknown()).optional(),
  pre_auth: z.boolean().optional(),
});
export type PaymentInput = z.infer<typeof paymentSchema>;

export const createPaymentsSchema = z.object({ payments: z.array(paymentSchema).min(1).max(2) });
export type CreatePaymentsInput = z.infer<typeof createPaymentsSchema>;

export const cardDetailsRequestSchema = z.object({
  amount: z.union([z.string().regex(/^\d+$/), z.int().nonnegative()]).optional(),
  card_details: z
    .array(
      z.object({
        payment_identifier: digits('payment_identifier', 6, 19),
        payment_reference_type: z.literal('CARD'),
      }),
    )
    .min(1)
    .max(10),
});

export const paymentIdSchema = z.object({ payment_id: str(100).min(1) });
export const submitOtpSchema = z.object({
  payment_id: str(100).min(1),
  otp: z
    .union([z.string().regex(/^\d{4,8}$/, 'otp must be 4-8 digits'), z.int().min(0).max(99_999_999)])
    .transform(String),
});

export const captureSchema = z.object({
  merchant_capture_reference: str(100).min(1),
  capture_amount: moneySchema.optional(),
});
export type CaptureInput = z.infer<typeof captureSchema>;

export const refundSchema = z.object({
  merchant_order_reference: z.union([str(50).min(1), z.int().nonnegative()]).transform(String),
  order_amount: moneySchema.refine((m) => m.value >= 100, 'order_amount.value must be at least 100 (Rs 1)'),
  merchant_metadata: z.record(z.string(), z.string().max(500)).optional(),
});
export type RefundInput = z.infer<typeof refundSchema>;

export const createCustomerSchema = z.looseObject({
  merchant_customer_reference: str(100).optional(),
  first_name: str(100).optional(),
  last_name: str(100).optional(),
  country_code: str(5).optional(),
  mobile_number: str(20).optional(),
  email_id: str(200).optional(),
  billing_address: addressSchema.optional(),
  shipping_address: addressSchema.optional(),
  gstin: str(20).optional(),
  merchant_metadata: z.record(z.string(), z.string().max(500)).optional(),
});
export type CreateCustomerInput = z.infer<typeof createCustomerSchema>;

export const pointsBalanceSchema = z.object({
  payment_option: z.object({ points_card_details: pointsCardDetailsSchema }),
  order_details: z.object({ order_amount: moneySchema }),
});
export type PointsBalanceInput = z.infer<typeof pointsBalanceSchema>;

/** Parses `body` or returns Plural's 400 INVALID_REQUEST naming the first bad field (never its value). */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'body';
  throw invalidRequest(`${where}: ${issue?.message ?? 'invalid'}`);
}
