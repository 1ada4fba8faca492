/**
 * What every route shares: reading a body and a path, the method-not-allowed answer, body-parser failures as fixed
 * messages, and the engine's refusals as HTTP. The workflow owns the rules; this module only translates.
 */
import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { z } from 'zod';
import { UPDATE_REJECTION } from '../workflows/definitions';
import { PaymentNotFoundError, UpdateRejectedError } from './engine';
import { ApiError, badRequest, conflict, ERROR_TYPE, notFound, tooManyRequests } from './errors';
import { errorCodeOf, issuesOf, REFERENCE_PATTERN } from './schemas';

export function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The token of an `Authorization: Bearer <token>` header; undefined when the header is absent or malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = typeof header === 'string' ? /^Bearer ([^\s]+)\s*$/i.exec(header) : null;
  return match?.[1] || undefined;
}

/** A field the request lacks is "required", not zod's "expected object, received undefined". */
const requiredField = (issue: { code: string; input?: unknown }): string | undefined =>
  issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined;

export function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value, { error: requiredField });
  if (!result.success) {
    const issues = issuesOf(result.error);
    const first = issues[0];
    const summary = first ? `${first.path}: ${first.message}` : 'invalid';
    throw badRequest(errorCodeOf(result.error) ?? 'invalid_request', `${what} is invalid: ${summary}`, { issues });
  }
  return result.data;
}

/** True when the request carries a body (as Node's HTTP parser sees it), whatever its type. */
function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The JSON body, or `{}` for an action whose body is optional and absent. */
export function jsonBody(req: Request, required: boolean): unknown {
  if (req.body !== undefined) return req.body as unknown;
  if (hasBody(req)) {
    throw new ApiError(
      415,
      ERROR_TYPE.INVALID_REQUEST,
      'unsupported_media_type',
      'request body must be JSON (Content-Type: application/json)',
    );
  }
  if (required) throw badRequest('body_required', 'request body is required: a JSON object');
  return {};
}

export function referenceOf(req: Request): string {
  const ref = req.params.merchant_order_reference;
  if (typeof ref !== 'string' || !REFERENCE_PATTERN.test(ref)) {
    throw badRequest(
      'invalid_reference',
      'merchant_order_reference in the path must be 1-50 characters, each a letter, digit, _ or -',
    );
  }
  return ref;
}

export const methodNotAllowed =
  (allowed: string): RequestHandler =>
  (req) => {
    throw new ApiError(
      405,
      ERROR_TYPE.METHOD_NOT_ALLOWED,
      'method_not_allowed',
      `${req.method} is not allowed here; use ${allowed}`,
      {},
      { Allow: allowed },
    );
  };

/** Seconds until `at` (ISO 8601), at least 1: a `Retry-After` value. */
export function retryAfterSeconds(at: string | undefined, nowMs: number): number {
  const t = at === undefined ? NaN : Date.parse(at);
  return Number.isFinite(t) ? Math.max(1, Math.ceil((t - nowMs) / 1000)) : 1;
}

/**
 * The engine's refusals as answers: the workflow's validator said why (`kind`) in its own words and code; the API
 * adds only the HTTP status (wrong state, a limit or another request → 409, a wrong request → 400, not yet → 429).
 */
export function engineRefusal(err: unknown, nowMs: number): ApiError | undefined {
  if (err instanceof PaymentNotFoundError) return notFound('payment_not_found', err.message);
  if (!(err instanceof UpdateRejectedError)) return undefined;
  switch (err.kind) {
    case UPDATE_REJECTION.INVALID_REQUEST:
      return badRequest(err.code, err.message);
    case UPDATE_REJECTION.TOO_EARLY:
      return tooManyRequests(err.code, err.message, retryAfterSeconds(err.availableAt, nowMs));
    default:
      return conflict(err.code, err.message);
  }
}

/** Map body-parser failures to fixed messages: its own messages may quote the body. */
export function bodyParserError(err: { type?: unknown; status?: unknown }): ApiError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return badRequest('invalid_json', 'request body is not valid JSON (a JSON object is expected)');
    case 'entity.too.large':
      return new ApiError(413, ERROR_TYPE.INVALID_REQUEST, 'body_too_large', 'request body is too large');
    case 'parameters.too.many':
      return new ApiError(413, ERROR_TYPE.INVALID_REQUEST, 'too_many_parameters', 'request has too many parameters');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(
        415,
        ERROR_TYPE.INVALID_REQUEST,
        'unsupported_encoding',
        'request body encoding or charset is not supported',
      );
    default:
      break;
  }
  const status = typeof err.status === 'number' ? err.status : undefined;
  if (status !== undefined && status >= 400 && status < 500) {
    return new ApiError(status, ERROR_TYPE.INVALID_REQUEST, 'bad_request', 'the request could not be read');
  }
  return undefined;
}
