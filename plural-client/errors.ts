/**
 * Errors thrown by the Plural client: one base class with a `type` discriminator (match on `type`, `code` and
 * `retryable` across process boundaries, never on `instanceof`), and one factory that maps a response to a subclass.
 * No message ever contains card data, OTPs, access tokens or secrets.
 */
import type { z } from 'zod';
import { ApiErrorBodySchema, GatewayErrorBodySchema, OAuthErrorBodySchema } from './schemas';
import { clip, redactSensitive } from './redact';

export const PLURAL_ERROR_TYPE = {
  /** Plural answered with a 4xx/5xx error (business, validation or server). */
  API: 'PluralApiError',
  /** Plural answered 429. */
  RATE_LIMIT: 'PluralRateLimitError',
  /** Credentials rejected by the token endpoint, or a call still got 401 after one token refresh. */
  AUTH: 'PluralAuthError',
  /** The request did not complete at the network level (refused, reset, DNS, socket closed). */
  CONNECTION: 'PluralConnectionError',
  /** The per-call timeout elapsed. */
  TIMEOUT: 'PluralTimeoutError',
  /** The caller's `AbortSignal` fired. */
  ABORTED: 'PluralAbortedError',
  /** Plural answered 2xx with a body that does not match the schema the engine relies on. */
  RESPONSE_VALIDATION: 'PluralResponseValidationError',
  /** The call's input failed validation; nothing was sent. */
  REQUEST_VALIDATION: 'PluralRequestValidationError',
} as const;
export type PluralErrorType = (typeof PLURAL_ERROR_TYPE)[keyof typeof PLURAL_ERROR_TYPE];

/** Undici / Node error codes that mean the request failed in transit and may be retried. */
export const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

/** Whether an HTTP status is worth retrying later (with the same idempotency key). */
export function isRetryableStatus(statusCode: number): boolean {
  return statusCode === 408 || statusCode === 429 || statusCode >= 500;
}

/** Fields every Plural error carries. */
export interface PluralErrorFields {
  /** What was being done to what, e.g. `capture of order v1-xyz`. */
  operation: string;
  statusCode?: number | undefined;
  code?: string | undefined;
  requestId?: string | undefined;
  retryable: boolean;
  cause?: unknown;
}

/** Base class of every error the client throws. */
export class PluralError extends Error {
  readonly type: PluralErrorType;
  /** HTTP status, when Plural answered. */
  readonly statusCode: number | undefined;
  /** Plural's error `code` (or the token endpoint's `error`/`type`, or the undici `err.code` for network errors). */
  readonly code: string | undefined;
  /** The `Request-ID` header sent with the failing request. */
  readonly requestId: string | undefined;
  /** True when the same call may succeed later (connection errors, timeouts, 408, 429, 5xx). */
  readonly retryable: boolean;
  /** What was being done to what. */
  readonly operation: string;

  constructor(type: PluralErrorType, message: string, fields: PluralErrorFields) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = type;
    this.type = type;
    this.statusCode = fields.statusCode;
    this.code = fields.code;
    this.requestId = fields.requestId;
    this.retryable = fields.retryable;
    this.operation = fields.operation;
  }
}

/** Structured detail from Plural's `additional_error_details`. */
export interface PluralErrorDetails {
  source?: string | undefined;
  step?: string | undefined;
  reason?: string | undefined;
}

/** Plural rejected or failed the call (HTTP 4xx/5xx with an error body). */
export class PluralApiError extends PluralError {
  /** Plural's `additional_error_details`, when present. */
  readonly details: PluralErrorDetails | undefined;
  /** OTP endpoints: the actions still possible (`next[]`), e.g. after an incorrect OTP. */
  readonly next: readonly string[] | undefined;
  /** OTP endpoints: seconds before a resend is allowed (`meta_data.resend_after`). */
  readonly resendAfterSeconds: number | undefined;

  constructor(
    message: string,
    fields: PluralErrorFields & {
      details?: PluralErrorDetails | undefined;
      next?: readonly string[] | undefined;
      resendAfterSeconds?: number | undefined;
    },
    type: PluralErrorType = PLURAL_ERROR_TYPE.API,
  ) {
    super(type, message, fields);
    this.details = fields.details;
    this.next = fields.next;
    this.resendAfterSeconds = fields.resendAfterSeconds;
  }
}

/** Plural answered 429: retry later, with the same idempotency key. */
export class PluralRateLimitError extends PluralApiError {
  constructor(message: string, fields: ConstructorParameters<typeof PluralApiError>[1]) {
    super(message, fields, PLURAL_ERROR_TYPE.RATE_LIMIT);
  }
}

/** Credentials rejected, or 401 persisted after one token refresh. */
export class PluralAuthError extends PluralError {
  constructor(message: string, fields: PluralErrorFields) {
    super(PLURAL_ERROR_TYPE.AUTH, message, fields);
  }
}

/** The request failed in transit; `code` is the undici/Node error code. */
export class PluralConnectionError extends PluralError {
  constructor(message: string, fields: PluralErrorFields) {
    super(PLURAL_ERROR_TYPE.CONNECTION, message, fields);
  }
}

/** The per-call timeout elapsed before Plural answered. */
export class PluralTimeoutError extends PluralError {
  readonly timeoutMs: number;
  constructor(message: string, fields: PluralErrorFields & { timeoutMs: number }) {
    super(PLURAL_ERROR_TYPE.TIMEOUT, message, fields);
    this.timeoutMs = fields.timeoutMs;
  }
}

/** The caller aborted the call through its `AbortSignal`. */
export class PluralAbortedError extends PluralError {
  constructor(message: string, fields: PluralErrorFields) {
    super(PLURAL_ERROR_TYPE.ABORTED, message, fields);
  }
}

/** One schema problem: where, and what was wrong (never the offending value). */
export interface PluralValidationIssue {
  path: string;
  message: string;
}

/** Plural's 2xx body did not match the fields the engine relies on. */
export class PluralResponseValidationError extends PluralError {
  readonly issues: readonly PluralValidationIssue[];
  constructor(message: string, fields: PluralErrorFields & { issues: readonly PluralValidationIssue[] }) {
    super(PLURAL_ERROR_TYPE.RESPONSE_VALIDATION, message, fields);
    this.issues = fields.issues;
  }
}

/** The call's input is invalid; nothing was sent to Plural. */
export class PluralRequestValidationError extends PluralError {
  readonly issues: readonly PluralValidationIssue[];
  constructor(message: string, fields: PluralErrorFields & { issues: readonly PluralValidationIssue[] }) {
    super(PLURAL_ERROR_TYPE.REQUEST_VALIDATION, message, fields);
    this.issues = fields.issues;
  }
}

/** A request refused before anything was sent to Plural; `issues` say what is wrong with it. */
export function requestValidationError(
  operation: string,
  requestId: string | undefined,
  issues: readonly PluralValidationIssue[],
): PluralRequestValidationError {
  return new PluralRequestValidationError(`${operation}: invalid request, nothing sent: ${formatIssues(issues)}`, {
    operation,
    requestId,
    retryable: false,
    issues,
  });
}

/** Type guard for any Plural client error. */
export function isPluralError(err: unknown): err is PluralError {
  return err instanceof PluralError;
}

/** Format zod-like issues as `path: message` without ever including input values. */
export function formatIssues(issues: readonly PluralValidationIssue[], max = 5): string {
  const shown = issues.slice(0, max).map((i) => `${i.path || '(root)'}: ${i.message}`);
  const more = issues.length > max ? `; and ${issues.length - max} more` : '';
  return shown.join('; ') + more;
}

/** Context the factory needs about the failed call. */
export interface ErrorContext {
  operation: string;
  requestId: string;
  /** The token endpoint reports credential errors in its own shapes; map its 4xx to `PluralAuthError`. */
  isTokenRequest?: boolean;
  /** The call's own secrets (the client secret, the access token): masked wherever Plural's answer echoes them. */
  secrets?: readonly (string | undefined)[];
}

/** `text` with every occurrence of each of `secrets` (the non-empty ones) replaced by `[REDACTED]`. */
export function maskSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret !== undefined && secret.length > 0) out = out.split(secret).join('[REDACTED]');
  }
  return out;
}

/** An error code as Plural's are (`INVALID_REQUEST`); anything else is not kept as a code. */
const ERROR_CODE = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;

/**
 * Map an HTTP error response to the right `PluralError` subclass. Accepts both body shapes: the payment APIs'
 * `{code, message, additional_error_details}` and the token endpoint's `{error, error_description}` /
 * `{status, type, message, traceId}`. Anything else yields code `HTTP_<status>`.
 */
export function errorFromResponse(statusCode: number, body: unknown, ctx: ErrorContext): PluralError {
  const secrets = ctx.secrets ?? [];
  const sanitize = (text: string | null | undefined): string | undefined =>
    text == null ? undefined : clip(redactSensitive(maskSecrets(text, secrets)));
  const retryable = isRetryableStatus(statusCode);
  let code: string | undefined;
  let gatewayMessage: string | undefined;
  let details: PluralErrorDetails | undefined;
  let next: string[] | undefined;
  let resendAfterSeconds: number | undefined;

  const api = ApiErrorBodySchema.safeParse(body);
  const oauth = OAuthErrorBodySchema.safeParse(body);
  const gateway = GatewayErrorBodySchema.safeParse(body);
  if (api.success) {
    code = api.data.code;
    gatewayMessage = api.data.message ?? undefined;
    const d = api.data.additional_error_details;
    if (d) details = { source: sanitize(d.source), step: sanitize(d.step), reason: sanitize(d.reason) };
    next = api.data.next ?? undefined;
    resendAfterSeconds = api.data.meta_data?.resend_after ?? undefined;
  } else if (oauth.success) {
    code = oauth.data.error;
    gatewayMessage = oauth.data.error_description ?? undefined;
  } else if (gateway.success) {
    code = gateway.data.type;
    gatewayMessage = gateway.data.message ?? undefined;
  }
  // Kept only in the shape of a code (it goes into messages, failure details and history): never Plural's echo of a
  // secret or a card number.
  if (code !== undefined && !(ERROR_CODE.test(code) && sanitize(code) === code)) code = undefined;
  code ??= `HTTP_${statusCode}`;
  const safeMessage = sanitize(gatewayMessage);
  const said = safeMessage ? `: ${safeMessage}` : '';
  const fields = { operation: ctx.operation, statusCode, code, requestId: ctx.requestId, retryable };

  if ((ctx.isTokenRequest && statusCode >= 400 && statusCode < 500 && statusCode !== 429) || statusCode === 401) {
    return new PluralAuthError(
      `${ctx.operation} rejected: ${code} (HTTP ${statusCode})${said}; check the Plural client id and secret`,
      { ...fields, retryable: false },
    );
  }
  const apiFields = { ...fields, details, next, resendAfterSeconds };
  if (statusCode === 429) {
    return new PluralRateLimitError(
      `${ctx.operation} rate-limited: ${code} (HTTP 429)${said}; retry later with the same idempotency key`,
      apiFields,
    );
  }
  if (retryable) {
    return new PluralApiError(
      `${ctx.operation} failed: Plural returned ${code} (HTTP ${statusCode})${said}; retry later with the same idempotency key`,
      apiFields,
    );
  }
  return new PluralApiError(`${ctx.operation} rejected: ${code} (HTTP ${statusCode})${said}`, apiFields);
}

/** The string `code` of a Node/undici error, if any. */
export function errorCodeOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = err.code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** Whether a thrown value is a network-level failure (matched on `err.code`, as undici recommends). */
export function isNetworkError(err: unknown): boolean {
  const code = errorCodeOf(err);
  return code !== undefined && RETRYABLE_NETWORK_CODES.has(code);
}

/** zod issues as `{path, message}`; zod's messages describe the expectation, never the received value. */
export function validationIssues(issues: readonly z.core.$ZodIssue[]): PluralValidationIssue[] {
  return issues.map((i) => ({ path: i.path.map(String).join('.'), message: redactSensitive(i.message) }));
}
