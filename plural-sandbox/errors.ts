/** Error codes the sandbox answers with (Plural's where known; see README "Errors"). */
export const ERROR_CODES = {
  INVALID_REQUEST: 'INVALID_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  ORDER_NOT_FOUND: 'ORDER_NOT_FOUND',
  PAYMENT_NOT_FOUND: 'PAYMENT_NOT_FOUND',
  CUSTOMER_NOT_FOUND: 'CUSTOMER_NOT_FOUND',
  NOT_FOUND: 'NOT_FOUND',
  DUPLICATE_REQUEST: 'DUPLICATE_REQUEST',
  INVALID_ORDER_STATUS: 'INVALID_ORDER_STATUS',
  AMOUNT_LIMIT_EXCEEDED: 'AMOUNT_LIMIT_EXCEEDED',
  AMOUNT_MISMATCH: 'AMOUNT_MISMATCH',
  INVALID_TOKEN: 'INVALID_TOKEN',
  POINTS_NOT_ELIGIBLE: 'POINTS_NOT_ELIGIBLE',
  OTP_NOT_ELIGIBLE: 'OTP_NOT_ELIGIBLE',
  INVALID_OTP: 'INVALID_OTP',
  RESEND_NOT_ALLOWED: 'RESEND_NOT_ALLOWED',
  RESEND_LIMIT_EXCEEDED: 'RESEND_LIMIT_EXCEEDED',
  USER_AUTHENTICATION_FAILED: 'USER_AUTHENTICATION_FAILED',
  PAYMENT_DECLINED: 'PAYMENT_DECLINED',
  INSUFFICIENT_FUNDS: 'INSUFFICIENT_FUNDS',
  CARD_EXPIRED: 'CARD_EXPIRED',
  PAYMENT_EXPIRED: 'PAYMENT_EXPIRED',
  REFUND_FAILED: 'REFUND_FAILED',
  RATE_LIMIT_EXCEEDED: 'RATE_LIMIT_EXCEEDED',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** A refusal the gateway sends as `{code, message, ...extra}` with an HTTP status. */
export class PluralError extends Error {
  override readonly name = 'PluralError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    /** Extra body fields, e.g. OTP `next` / `meta_data`. */
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }

  toBody(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.extra };
  }
}

export const invalidRequest = (message: string): PluralError =>
  new PluralError(400, ERROR_CODES.INVALID_REQUEST, message);

export const orderNotFound = (orderId: string): PluralError =>
  new PluralError(404, ERROR_CODES.ORDER_NOT_FOUND, `order ${orderId} not found`);

export const invalidStatus = (orderId: string, status: string, action: string, required: string): PluralError =>
  new PluralError(
    422,
    ERROR_CODES.INVALID_ORDER_STATUS,
    `cannot ${action} order ${orderId}: status is ${status}, ${action} requires ${required}`,
  );
