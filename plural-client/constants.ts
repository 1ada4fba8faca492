/**
 * Plural status and event vocabularies. The rest of the engine imports these from the client so that each string
 * is defined once (sources: plural-api-facts.md, Plural's pinelabs-go `types.go` and webhook docs).
 */

/** Order statuses returned by the Orders API and carried in webhooks (`PARTIALLY_CAPTURED` is seen in webhooks). */
export const ORDER_STATUS = {
  CREATED: 'CREATED',
  PENDING: 'PENDING',
  PROCESSED: 'PROCESSED',
  AUTHORIZED: 'AUTHORIZED',
  CANCELLED: 'CANCELLED',
  ATTEMPTED: 'ATTEMPTED',
  FAILED: 'FAILED',
  FULLY_REFUNDED: 'FULLY_REFUNDED',
  PARTIALLY_REFUNDED: 'PARTIALLY_REFUNDED',
  PARTIALLY_CAPTURED: 'PARTIALLY_CAPTURED',
} as const;
export type OrderStatus = (typeof ORDER_STATUS)[keyof typeof ORDER_STATUS];

/** Per-payment statuses (`data.payments[].status`); the authoritative outcome of a payment attempt. */
export const PAYMENT_STATUS = {
  PENDING: 'PENDING',
  AUTHORIZED: 'AUTHORIZED',
  CANCELLED: 'CANCELLED',
  PROCESSED: 'PROCESSED',
  FAILED: 'FAILED',
} as const;
export type PaymentStatus = (typeof PAYMENT_STATUS)[keyof typeof PAYMENT_STATUS];

/** Refund order statuses (a refund is an order of type `REFUND`). */
export const REFUND_STATUS = {
  CREATED: 'CREATED',
  PENDING: 'PENDING',
  PROCESSED: 'PROCESSED',
  FAILED: 'FAILED',
} as const;
export type RefundStatus = (typeof REFUND_STATUS)[keyof typeof REFUND_STATUS];

/** Webhook `event_type` values the engine acts on. Plural also sends CUSTOMER_*, TOKEN_* and SUBSCRIPTION_* events. */
export const WEBHOOK_EVENT = {
  ORDER_AUTHORIZED: 'ORDER_AUTHORIZED',
  ORDER_PROCESSED: 'ORDER_PROCESSED',
  ORDER_CANCELLED: 'ORDER_CANCELLED',
  ORDER_FAILED: 'ORDER_FAILED',
  PAYMENT_FAILED: 'PAYMENT_FAILED',
  REFUND_PROCESSED: 'REFUND_PROCESSED',
  REFUND_FAILED: 'REFUND_FAILED',
} as const;
export type WebhookEvent = (typeof WEBHOOK_EVENT)[keyof typeof WEBHOOK_EVENT];

/**
 * Customer and saved-card (token) events (Pine Labs' webhook "Available events" list). The engine verifies and
 * acknowledges them without acting on them: they carry no order.
 */
export const CUSTOMER_WEBHOOK_EVENT = {
  CUSTOMER_ACTIVATED: 'CUSTOMER_ACTIVATED',
  CUSTOMER_DELETED: 'CUSTOMER_DELETED',
  CUSTOMER_SUSPENDED: 'CUSTOMER_SUSPENDED',
  CUSTOMER_CREATION_FAILED: 'CUSTOMER_CREATION_FAILED',
} as const;
export const TOKEN_WEBHOOK_EVENT = {
  TOKEN_ACTIVATED: 'TOKEN_ACTIVATED',
  TOKEN_DEACTIVATED: 'TOKEN_DEACTIVATED',
  TOKEN_SUSPENDED: 'TOKEN_SUSPENDED',
  TOKEN_PROVISION_FAILED: 'TOKEN_PROVISION_FAILED',
} as const;

/** Statuses of a saved card token (Get Customer Tokens). Only ACTIVE tokens can pay. */
export const TOKEN_STATUS = {
  INITIATED: 'INITIATED',
  ACTIVE: 'ACTIVE',
  SUSPENDED: 'SUSPENDED',
  FAILED: 'FAILED',
  DEACTIVATED: 'DEACTIVATED',
} as const;
export type TokenStatus = (typeof TOKEN_STATUS)[keyof typeof TOKEN_STATUS];

/** Next steps offered by the native OTP endpoints (`next[]`). */
export const OTP_NEXT_ACTION = {
  SUBMIT_OTP: 'SUBMIT_OTP',
  RESEND_OTP: 'RESEND_OTP',
  NONE: 'NONE',
} as const;
export type OtpNextAction = (typeof OTP_NEXT_ACTION)[keyof typeof OTP_NEXT_ACTION];

/** Payment methods accepted in a Create Payment request (pre-auth supports only these two). */
export const PAYMENT_METHOD = {
  CARD: 'CARD',
  POINTS: 'POINTS',
} as const;
export type PaymentMethod = (typeof PAYMENT_METHOD)[keyof typeof PAYMENT_METHOD];

/** Payment methods a (hosted checkout) order may allow. */
export const ALLOWED_PAYMENT_METHOD = {
  CARD: 'CARD',
  UPI: 'UPI',
  NETBANKING: 'NETBANKING',
  POINTS: 'POINTS',
  WALLET: 'WALLET',
} as const;
export type AllowedPaymentMethod = (typeof ALLOWED_PAYMENT_METHOD)[keyof typeof ALLOWED_PAYMENT_METHOD];

/** Plural error `code` values the engine branches on (not exhaustive: `code` is typed as string). */
export const PLURAL_ERROR_CODE = {
  INVALID_REQUEST: 'INVALID_REQUEST',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  DUPLICATE_REQUEST: 'DUPLICATE_REQUEST',
  USER_AUTHENTICATION_FAILED: 'USER_AUTHENTICATION_FAILED',
  AMOUNT_LIMIT_EXCEEDED: 'AMOUNT_LIMIT_EXCEEDED',
  CARD_EXPIRED: 'CARD_EXPIRED',
  INSUFFICIENT_FUNDS: 'INSUFFICIENT_FUNDS',
  PAYMENT_DECLINED: 'PAYMENT_DECLINED',
  PAYMENT_EXPIRED: 'PAYMENT_EXPIRED',
  PAYMENT_RATE_LIMIT: 'PAYMENT_RATE_LIMIT',
  ORDER_NOT_FOUND: 'ORDER_NOT_FOUND',
} as const;
export type PluralErrorCode = (typeof PLURAL_ERROR_CODE)[keyof typeof PLURAL_ERROR_CODE];

/** API paths, relative to the client's `baseUrl` (as in Plural's guides). */
export const PLURAL_PATHS = {
  token: '/api/auth/v1/token',
  orders: '/api/pay/v1/orders',
  order: (orderId: string) => `/api/pay/v1/orders/${encodeURIComponent(orderId)}`,
  orderByReference: (ref: string) => `/api/pay/v1/orders/reference/${encodeURIComponent(ref)}`,
  payments: (orderId: string) => `/api/pay/v1/orders/${encodeURIComponent(orderId)}/payments`,
  capture: (orderId: string) => `/api/pay/v1/orders/${encodeURIComponent(orderId)}/capture`,
  cancel: (orderId: string) => `/api/pay/v1/orders/${encodeURIComponent(orderId)}/cancel`,
  refund: (orderId: string) => `/api/pay/v1/refunds/${encodeURIComponent(orderId)}`,
  cardDetails: '/api/pay/v1/getCardDetails',
  otpGenerate: '/api/pay/v1/otp/generate',
  otpSubmit: '/api/pay/v1/otp/submit',
  otpResend: '/api/pay/v1/otp/resend',
  customers: '/api/v1/customer',
  customerTokens: (customerId: string) => `/api/v1/customer/${encodeURIComponent(customerId)}/tokens`,
  pointsBalance: '/payment-option',
  checkoutOrders: '/api/checkout/v1/orders',
} as const;
