/**
 * Plural wire types: zod schemas for every request the client sends and every response it reads, in Plural's
 * snake_case. Responses are loose objects (unknown fields pass through) but the fields the engine relies on are
 * parsed strictly: ids, statuses, money as integer minor units, next actions, error details.
 */
import { z } from 'zod';
import {
  ALLOWED_PAYMENT_METHOD,
  OTP_NEXT_ACTION,
  ORDER_STATUS,
  PAYMENT_METHOD,
  PAYMENT_STATUS,
  WEBHOOK_EVENT,
} from './constants';

// ---------------------------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------------------------

/** Money on the wire: integer minor units (paise for INR) plus an ISO 4217 currency code. */
export const MoneySchema = z.object({
  value: z.int().nonnegative(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'currency must be a 3-letter ISO 4217 code'),
});
export type Money = z.infer<typeof MoneySchema>;

/** Money in a response: same strict fields, unknown extras tolerated. */
const MoneyResponseSchema = z.looseObject(MoneySchema.shape);

const MerchantReferenceSchema = z.string().min(1).max(50);

/** Plural sends `merchant_order_reference` back as a string, but its own examples send numbers. */
const ReferenceResponseSchema = z.union([z.string(), z.number()]).transform(String);

export const AddressSchema = z.looseObject({
  address1: z.string().optional(),
  address2: z.string().optional(),
  address3: z.string().optional(),
  pincode: z.string().optional(),
  city: z.string().optional(),
  state: z.string().optional(),
  country: z.string().optional(),
});
export type Address = z.infer<typeof AddressSchema>;

export const OrderCustomerSchema = z.looseObject({
  email_id: z.string().optional(),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
  customer_id: z.string().optional(),
  mobile_number: z.string().optional(),
  country_code: z.string().optional(),
  merchant_customer_reference: z.string().optional(),
  billing_address: AddressSchema.optional(),
  shipping_address: AddressSchema.optional(),
});

const MerchantMetadataSchema = z.record(z.string(), z.string());

export const PurchaseDetailsSchema = z.looseObject({
  customer: OrderCustomerSchema.optional(),
  merchant_metadata: MerchantMetadataSchema.optional(),
});

// ---------------------------------------------------------------------------------------------------------------
// Token
// ---------------------------------------------------------------------------------------------------------------

export const TokenRequestSchema = z.object({
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  grant_type: z.literal('client_credentials'),
});

/**
 * Token response. Plural's guides return `expires_in` (seconds); its API reference returns `expires_at` (an ISO
 * timestamp, or a unix epoch in seconds or milliseconds). At least one must be present.
 */
export const TokenResponseSchema = z
  .looseObject({
    access_token: z.string().min(1),
    expires_in: z.number().positive().nullish(),
    expires_at: z.union([z.string().min(1), z.number().positive()]).nullish(),
  })
  .refine((t) => t.expires_in != null || t.expires_at != null, {
    message: 'token response has neither expires_in nor expires_at',
  });
export type TokenResponse = z.infer<typeof TokenResponseSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------------------------

/**
 * Create Order (`POST /api/pay/v1/orders`) and hosted checkout link (`POST /api/checkout/v1/orders`) body.
 * `merchant_order_reference` may be omitted when the call passes an `idempotencyKey`, which is then used as the
 * reference (see `PluralClient.createOrder`).
 */
export const CreateOrderRequestSchema = z.looseObject({
  merchant_order_reference: MerchantReferenceSchema.optional(),
  order_amount: MoneySchema,
  pre_auth: z.boolean().optional(),
  allowed_payment_methods: z.array(z.enum(ALLOWED_PAYMENT_METHOD)).optional(),
  notes: z.string().optional(),
  callback_url: z.string().optional(),
  failure_callback_url: z.string().optional(),
  purchase_details: PurchaseDetailsSchema.optional(),
});
export type CreateOrderRequest = z.input<typeof CreateOrderRequestSchema>;

export const ErrorDetailSchema = z.looseObject({
  code: z.string(),
  message: z.string().nullish(),
});
export type ErrorDetail = z.infer<typeof ErrorDetailSchema>;

export const CaptureDataSchema = z.looseObject({
  merchant_capture_reference: z.string().nullish(),
  capture_amount: MoneyResponseSchema,
  created_at: z.string().nullish(),
});

export const PaymentSchema = z.looseObject({
  id: z.string().min(1),
  merchant_payment_reference: z.string().nullish(),
  status: z.enum(PAYMENT_STATUS),
  payment_amount: MoneyResponseSchema,
  payment_method: z.string(),
  payment_option: z.unknown().nullish(),
  acquirer_data: z.unknown().nullish(),
  error_detail: ErrorDetailSchema.nullish(),
  capture_data: z.array(CaptureDataSchema).nullish(),
  created_at: z.string().nullish(),
  updated_at: z.string().nullish(),
});
export type Payment = z.infer<typeof PaymentSchema>;

export const OrderSchema = z.looseObject({
  order_id: z.string().min(1),
  parent_order_id: z.string().nullish(),
  merchant_order_reference: ReferenceResponseSchema.nullish(),
  type: z.string().nullish(),
  status: z.enum(ORDER_STATUS),
  challenge_url: z.string().nullish(),
  merchant_id: z.string().nullish(),
  order_amount: MoneyResponseSchema,
  pre_auth: z.boolean().nullish(),
  payment_retries_remaining: z.int().nonnegative().nullish(),
  payments: z
    .array(PaymentSchema)
    .nullish()
    .transform((p) => p ?? []),
  created_at: z.string().nullish(),
  updated_at: z.string().nullish(),
});
export type Order = z.infer<typeof OrderSchema>;

/** Every Orders/Payments/Capture/Cancel/Refund response wraps the order in `data`. */
export const OrderEnvelopeSchema = z.looseObject({ data: OrderSchema });

// ---------------------------------------------------------------------------------------------------------------
// Payments
// ---------------------------------------------------------------------------------------------------------------

const digits = (min: number, max: number) => new RegExp(`^\\d{${min},${max}}$`);

/** Card number: 12–19 digits, optionally grouped with spaces or dashes (Plural's own example uses dashes). */
const CardNumberSchema = z
  .string()
  .regex(/^\d(?:[ -]?\d){11,18}$/, 'card_number must be 12-19 digits, optionally grouped by spaces or dashes');
const CvvSchema = z.string().regex(digits(3, 4), 'cvv must be 3 or 4 digits');
const ExpiryMonthSchema = z.string().regex(/^(0[1-9]|1[0-2])$/, 'expiry_month must be 01-12');
const ExpiryYearSchema = z.string().regex(/^(\d{2}|\d{4})$/, 'expiry_year must be 2 or 4 digits');

/** A new card (`payment_option.card_details`). */
export const CardDetailsSchema = z.looseObject({
  name: z.string().optional(),
  card_number: CardNumberSchema,
  cvv: CvvSchema.optional(),
  expiry_month: ExpiryMonthSchema,
  expiry_year: ExpiryYearSchema,
  save: z.boolean().optional(),
  registered_mobile_number: z.string().optional(),
});

/** A card saved on Plural (`card_token_details.token_id`). */
export const SavedCardTokenSchema = z.looseObject({
  token_id: z.string().min(1),
  cvv: CvvSchema.optional(),
  token_txn_type: z.string().optional(),
});

/** A network/alt token created on another PA/PG: token + cryptogram (card-tokenization.md §4.3). */
export const NetworkTokenSchema = z.looseObject({
  token: z.string().regex(digits(12, 19), 'token must be 12-19 digits'),
  cryptogram: z.string().min(1),
  expiry_month: ExpiryMonthSchema,
  expiry_year: ExpiryYearSchema,
  last4_digit: z.string().regex(digits(4, 4), 'last4_digit must be 4 digits').optional(),
  name: z.string().optional(),
  cvv: CvvSchema.optional(),
  token_txn_type: z.string().min(1),
});

export const CardTokenDetailsSchema = z.union([SavedCardTokenSchema, NetworkTokenSchema]);

/** A card's reward points (`payment_option.points_card_details`). */
export const PointsCardDetailsSchema = z.looseObject({
  card_number: CardNumberSchema.optional(),
  card_last4: z.string().regex(digits(4, 4), 'card_last4 must be 4 digits'),
  registered_mobile_number: z.string().min(1),
});

export const PaymentOptionSchema = z.looseObject({
  card_details: CardDetailsSchema.optional(),
  card_token_details: CardTokenDetailsSchema.optional(),
  points_card_details: PointsCardDetailsSchema.optional(),
});

/**
 * The customer's browser, for 3-D Secure (`payments[].device_info`, 3DS/NO guides). Every value is a string, as the
 * guides send them (`"768"`, `"true"`, `"-330"`); fields Plural adds later pass as strings too.
 */
export const DeviceInfoSchema = z
  .object({
    device_channel: z.string().optional(),
    browser_accept_header: z.string().optional(),
    browser_user_agent: z.string().optional(),
    browser_language: z.string().optional(),
    browser_screen_height: z.string().optional(),
    browser_screen_width: z.string().optional(),
    browser_timezone: z.string().optional(),
    browser_window_size: z.string().optional(),
    browser_screen_color_depth: z.string().optional(),
    browser_java_enabled_val: z.string().optional(),
    browser_javascript_enabled_val: z.string().optional(),
  })
  .catchall(z.string());
export type DeviceInfo = z.input<typeof DeviceInfoSchema>;

export const PaymentRequestSchema = z
  .looseObject({
    merchant_payment_reference: MerchantReferenceSchema.optional(),
    payment_method: z.enum(PAYMENT_METHOD),
    payment_amount: MoneySchema,
    pre_auth: z.boolean().optional(),
    payment_option: PaymentOptionSchema,
    device_info: DeviceInfoSchema.optional(),
  })
  .superRefine((p, ctx) => {
    const o = p.payment_option;
    const ok =
      p.payment_method === PAYMENT_METHOD.CARD
        ? (o.card_details !== undefined) !== (o.card_token_details !== undefined)
        : o.points_card_details !== undefined;
    if (!ok) {
      ctx.addIssue({
        code: 'custom',
        path: ['payment_option'],
        message:
          p.payment_method === PAYMENT_METHOD.CARD
            ? 'a CARD payment needs exactly one of card_details or card_token_details'
            : 'a POINTS payment needs points_card_details',
      });
    }
  });

/** Create Payment (`POST /api/pay/v1/orders/{order_id}/payments`): one card payment, or card + POINTS split. */
export const CreatePaymentRequestSchema = z.looseObject({
  payments: z.array(PaymentRequestSchema).min(1).max(2),
});
export type CreatePaymentRequest = z.input<typeof CreatePaymentRequestSchema>;
export type PaymentRequest = z.input<typeof PaymentRequestSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Card details, OTP
// ---------------------------------------------------------------------------------------------------------------

/** Get Card Details (`POST /api/pay/v1/getCardDetails`). `amount` is a string of minor units on the wire. */
export const CardDetailsRequestSchema = z.looseObject({
  amount: z
    .union([z.int().nonnegative(), z.string().regex(/^\d+$/, 'amount must be integer minor units')])
    .transform(String)
    .optional(),
  card_details: z
    .array(
      z.looseObject({
        payment_identifier: CardNumberSchema,
        payment_reference_type: z.literal('CARD').default('CARD'),
      }),
    )
    .min(1),
});
export type CardDetailsRequest = z.input<typeof CardDetailsRequestSchema>;

export const CardDetailsResponseSchema = z.looseObject({
  card_payment_details: z.array(
    z.looseObject({
      card_network: z.string().nullish(),
      card_issuer: z.string().nullish(),
      card_type: z.string().nullish(),
      card_category: z.string().nullish(),
      is_international_card: z.boolean().nullish(),
      is_native_otp_supported: z.boolean(),
      country_code: z.string().nullish(),
      currency: z.string().nullish(),
      is_currency_supported: z.boolean().nullish(),
    }),
  ),
});
export type CardDetailsResponse = z.infer<typeof CardDetailsResponseSchema>;

export const OtpNextActionSchema = z.enum(OTP_NEXT_ACTION);

/** `meta_data.resend_after` is seconds, sent as a string ("180") in the guides; parsed to a number. */
const ResendAfterSchema = z.union([z.number().nonnegative(), z.string().regex(/^\d+$/).transform(Number)]);

export const OtpMetaDataSchema = z.looseObject({ resend_after: ResendAfterSchema.nullish() });

/** OTP generate / resend body. */
export const OtpPaymentRequestSchema = z.object({ payment_id: z.string().min(1) });
export type OtpPaymentRequest = z.input<typeof OtpPaymentRequestSchema>;

/**
 * OTP submit body. The OTP is sent as a string of 4–8 digits (the guide's example sends a number; a string keeps
 * leading zeros; Plural's MCP server validates 4–8 digits).
 */
export const OtpSubmitRequestSchema = z.object({
  payment_id: z.string().min(1),
  otp: z.string().regex(digits(4, 8), 'otp must be 4-8 digits'),
});
export type OtpSubmitRequest = z.input<typeof OtpSubmitRequestSchema>;

export const OtpGenerateResponseSchema = z.looseObject({
  status: z.string().nullish(),
  next: z.array(OtpNextActionSchema),
  meta_data: OtpMetaDataSchema.nullish(),
});
export type OtpGenerateResponse = z.infer<typeof OtpGenerateResponseSchema>;

export const OtpSubmitResponseSchema = z.looseObject({
  status: z.literal('SUCCESS'),
  next: z.array(OtpNextActionSchema).nullish(),
});
export type OtpSubmitResponse = z.infer<typeof OtpSubmitResponseSchema>;

export const OtpResendResponseSchema = z.looseObject({
  status: z.string().nullish(),
  next: z.array(OtpNextActionSchema),
  meta_data: OtpMetaDataSchema.nullish(),
});
export type OtpResendResponse = z.infer<typeof OtpResendResponseSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Capture, cancel, refund
// ---------------------------------------------------------------------------------------------------------------

/** Capture (`PUT …/capture`). Omit `capture_amount` for a full capture; Plural allows one partial capture. */
export const CaptureRequestSchema = z.looseObject({
  merchant_capture_reference: MerchantReferenceSchema.optional(),
  capture_amount: MoneySchema.refine((m) => m.value > 0, 'capture_amount must be positive').optional(),
});
export type CaptureRequest = z.input<typeof CaptureRequestSchema>;

/** Refund (`POST /api/pay/v1/refunds/{order_id}`); `merchant_order_reference` identifies the refund (min ₹1). */
export const RefundRequestSchema = z.looseObject({
  merchant_order_reference: MerchantReferenceSchema.optional(),
  order_amount: MoneySchema.refine((m) => m.value >= 100, 'refund amount must be at least 100 minor units (₹1)'),
  merchant_metadata: MerchantMetadataSchema.optional(),
});
export type RefundRequest = z.input<typeof RefundRequestSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Customer, points, hosted checkout
// ---------------------------------------------------------------------------------------------------------------

/** Create Customer (`POST /api/v1/customer`). */
export const CreateCustomerRequestSchema = z.looseObject({
  merchant_customer_reference: z.string().max(50).optional(),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
  country_code: z.string().optional(),
  mobile_number: z.string().optional(),
  email_id: z.string().optional(),
  billing_address: AddressSchema.optional(),
  shipping_address: AddressSchema.optional(),
  gstin: z.string().optional(),
  merchant_metadata: MerchantMetadataSchema.optional(),
});
export type CreateCustomerRequest = z.input<typeof CreateCustomerRequestSchema>;

export const CustomerSchema = z.looseObject({
  customer_id: z.string().min(1),
  merchant_customer_reference: z.string().nullish(),
  status: z.string().nullish(),
  created_at: z.string().nullish(),
  updated_at: z.string().nullish(),
});
export type Customer = z.infer<typeof CustomerSchema>;

/** Card data of a saved token: last 4 digits and network; the sandbox (and some answers) add the card's expiry. */
export const TokenCardDataSchema = z.looseObject({
  last4_digit: z.string().nullish(),
  expiry_month: z.string().nullish(),
  expiry_year: z.string().nullish(),
  card_type: z.string().nullish(),
  network_name: z.string().nullish(),
  issuer_name: z.string().nullish(),
});

/** One saved card of a customer. `token_id` pays with `card_token_details`; never log it. */
export const CustomerTokenSchema = z.looseObject({
  token_id: z.string().min(1),
  merchant_token_reference: z.string().nullish(),
  customer_id: z.string().nullish(),
  /** INITIATED, ACTIVE, SUSPENDED, FAILED or DEACTIVATED (`TOKEN_STATUS`); read as any string. */
  status: z.string().nullish(),
  payment_method: z.string().nullish(),
  /** When the token itself expires (ISO 8601). */
  expired_at: z.string().nullish(),
  card_data: TokenCardDataSchema.nullish(),
  created_at: z.string().nullish(),
  updated_at: z.string().nullish(),
});
export type CustomerToken = z.infer<typeof CustomerTokenSchema>;

/** Get Customer Tokens (`GET /api/v1/customer/{customer_id}/tokens`); `tokens: null` reads as none. */
export const CustomerTokensResponseSchema = z.looseObject({
  customer_id: z.string().nullish(),
  total_tokens: z.int().nonnegative().nullish(),
  tokens: z
    .array(CustomerTokenSchema)
    .nullish()
    .transform((t) => t ?? []),
});
export type CustomerTokens = z.infer<typeof CustomerTokensResponseSchema>;

/** Check Point Balance (`POST /payment-option`). */
export const PointsBalanceRequestSchema = z.looseObject({
  payment_option: z.looseObject({ points_card_details: PointsCardDetailsSchema }),
  order_details: z.looseObject({ order_amount: MoneySchema }),
});
export type PointsBalanceRequest = z.input<typeof PointsBalanceRequestSchema>;

export const PointsBalanceResponseSchema = z.looseObject({
  balance: MoneyResponseSchema.nullish(),
  redeemable_amount: MoneyResponseSchema,
  redeemable_points: z.number().nonnegative().nullish(),
  is_eligible: z.boolean(),
});
export type PointsBalanceResponse = z.infer<typeof PointsBalanceResponseSchema>;

/** Hosted checkout link response. `token` is a redirect token: never log it. */
export const CheckoutLinkResponseSchema = z.looseObject({
  token: z.string().nullish(),
  order_id: z.string().min(1),
  redirect_url: z.string().min(1),
  response_code: z.number().nullish(),
  response_message: z.string().nullish(),
});
export type CheckoutLinkResponse = z.infer<typeof CheckoutLinkResponseSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Errors and webhooks
// ---------------------------------------------------------------------------------------------------------------

/**
 * Error body of the payment APIs (OTP errors add `next` and `meta_data`). Only `code` is required: an optional field
 * of another shape (`resend_after: "30s"`, details as a string) is dropped alone, so that Plural's code and `next[]`
 * still decide what the refusal means (an incorrect OTP, a duplicate) instead of an anonymous `HTTP_<status>`.
 */
export const ApiErrorBodySchema = z.looseObject({
  code: z.string(),
  message: z.string().nullish().catch(undefined),
  additional_error_details: z
    .looseObject({
      source: z.string().nullish().catch(undefined),
      step: z.string().nullish().catch(undefined),
      reason: z.string().nullish().catch(undefined),
    })
    .nullish()
    .catch(undefined),
  next: z.array(z.string()).nullish().catch(undefined),
  meta_data: z
    .looseObject({ resend_after: ResendAfterSchema.nullish().catch(undefined) })
    .nullish()
    .catch(undefined),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBodySchema>;

/** Token endpoint error bodies: OAuth style, or the gateway's `{status, type, message, traceId}`. */
export const OAuthErrorBodySchema = z.looseObject({ error: z.string(), error_description: z.string().nullish() });
export const GatewayErrorBodySchema = z.looseObject({
  status: z.number().nullish(),
  type: z.string(),
  message: z.string().nullish(),
  traceId: z.string().nullish(),
});

/** One callback status value: an upper-case status name such as AUTHORIZED, PROCESSED or FAILED. */
const CallbackStatusSchema = z.string().regex(/^[A-Z_]{1,40}$/, 'must be a status name');

/**
 * The fields Plural's browser callback carries to `callback_url` (form POST or query string), after the signature
 * is verified. The guides name the status field `payment_status` (pre-authorization and pay-by-points samples, every
 * guide's field list) or `status` (native-OTP and tokenization samples, every signing-string example): either is
 * accepted, and when both arrive they must agree. Parsed to one `status`.
 */
export const PluralCallbackSchema = z
  .looseObject({
    order_id: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be a Plural order id'),
    payment_status: CallbackStatusSchema.optional(),
    status: CallbackStatusSchema.optional(),
    error_code: z.string().max(100).optional(),
    error_message: z.string().max(500).optional(),
  })
  .superRefine((f, ctx) => {
    if (f.payment_status === undefined && f.status === undefined) {
      ctx.addIssue({ code: 'custom', path: ['payment_status'], message: 'payment_status (or status) is required' });
    } else if (f.payment_status !== undefined && f.status !== undefined && f.payment_status !== f.status) {
      ctx.addIssue({ code: 'custom', path: ['status'], message: 'payment_status and status disagree' });
    }
  })
  .transform((f) => ({
    orderId: f.order_id,
    status: (f.payment_status ?? f.status) as string,
    statusField: f.payment_status !== undefined ? ('payment_status' as const) : ('status' as const),
    ...(f.error_code !== undefined ? { errorCode: f.error_code } : {}),
    ...(f.error_message !== undefined ? { errorMessage: f.error_message } : {}),
  }));
/** A parsed callback: the payment status under one name, whichever field carried it. */
export type PluralCallback = z.output<typeof PluralCallbackSchema>;

/** Any webhook: `event_type` plus `data`. */
export const WebhookPayloadSchema = z.looseObject({ event_type: z.string().min(1), data: z.unknown() });
export type WebhookPayload = z.infer<typeof WebhookPayloadSchema>;

/** Order, payment and refund webhooks carry the order object exactly as the Orders API returns it. */
export const OrderWebhookPayloadSchema = z.looseObject({
  event_type: z.enum(WEBHOOK_EVENT),
  data: OrderSchema,
});
export type OrderWebhookPayload = z.infer<typeof OrderWebhookPayloadSchema>;
