/**
 * The API's error vocabulary: every error answer is `{error: {type, code, message}}` with the matching status.
 * Messages never contain request values that could be card data, OTPs or secrets.
 */

/** Error `type` values (the family), as `as const` plus a derived union. */
export const ERROR_TYPE = {
  INVALID_REQUEST: 'invalid_request_error',
  AUTHENTICATION: 'authentication_error',
  NOT_FOUND: 'not_found_error',
  METHOD_NOT_ALLOWED: 'method_not_allowed_error',
  CONFLICT: 'conflict_error',
  RATE_LIMIT: 'rate_limit_error',
  UNAVAILABLE: 'service_unavailable_error',
  API: 'api_error',
} as const;
export type ErrorType = (typeof ERROR_TYPE)[keyof typeof ERROR_TYPE];

/** Extra context an error may add to its body. */
export interface ApiErrorDetails {
  /** Zod issue paths and messages (never the offending values). */
  issues?: { path: string; message: string }[];
}

/** An error the API answers with; anything else becomes a generic 500 without details. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    readonly code: string,
    message: string,
    readonly details: ApiErrorDetails = {},
    /** Response headers to set (e.g. `Retry-After`, `Allow`). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  toBody(): { error: { type: ErrorType; code: string; message: string } & ApiErrorDetails } {
    return { error: { type: this.type, code: this.code, message: this.message, ...this.details } };
  }
}

export const badRequest = (code: string, message: string, details?: ApiErrorDetails): ApiError =>
  new ApiError(400, ERROR_TYPE.INVALID_REQUEST, code, message, details);

export const unauthorized = (code: string, message: string): ApiError =>
  new ApiError(401, ERROR_TYPE.AUTHENTICATION, code, message, {}, { 'WWW-Authenticate': 'Bearer' });

export const signatureRejected = (code: string, message: string): ApiError =>
  new ApiError(401, ERROR_TYPE.AUTHENTICATION, code, message);

export const notFound = (code: string, message: string): ApiError =>
  new ApiError(404, ERROR_TYPE.NOT_FOUND, code, message);

export const conflict = (code: string, message: string): ApiError =>
  new ApiError(409, ERROR_TYPE.CONFLICT, code, message);

export const tooManyRequests = (code: string, message: string, retryAfterSeconds: number): ApiError =>
  new ApiError(429, ERROR_TYPE.RATE_LIMIT, code, message, {}, { 'Retry-After': String(retryAfterSeconds) });

/** 503; with `retryAfterSeconds`, a `Retry-After` header (nothing ran: the same request may be sent again then). */
export const unavailable = (code: string, message: string, retryAfterSeconds?: number): ApiError =>
  new ApiError(
    503,
    ERROR_TYPE.UNAVAILABLE,
    code,
    message,
    {},
    retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) },
  );
