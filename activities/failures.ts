/**
 * How the activities fail: every failure becomes an `ApplicationFailure` with a `type` from `FAILURE_TYPE`. Plural
 * 5xx/429/timeouts/connection errors stay retryable (`GatewayUnavailable`); business rejections are non-retryable.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { isCardVaultError } from '../card-vault/errors';
import { isPluralError, PLURAL_ERROR_CODE, PLURAL_ERROR_TYPE } from '../plural-client';
import { FAILURE_TYPE } from '../workflows/definitions';
import type { FailureType } from '../workflows/definitions';

/**
 * What a failure's details say beyond its `type`: the code the workflow branches on, and for a Plural error its HTTP
 * status and error type, which the API reports while the step is retried (never the message: it may echo a request).
 */
export interface FailureDetails {
  code: string;
  httpStatus?: number;
  errorType?: string;
}

/** An `ApplicationFailure` of `type` whose details carry `code` (default: the type) and what `from` said. */
export function failure(
  message: string,
  type: FailureType,
  nonRetryable: boolean,
  code?: string,
  from?: { statusCode: number | undefined; type: string },
): ApplicationFailure {
  const details: FailureDetails = { code: code ?? type };
  if (from?.statusCode !== undefined) details.httpStatus = from.statusCode;
  if (from !== undefined) details.errorType = from.type;
  return ApplicationFailure.create({ message, type, nonRetryable, details: [details] });
}

/**
 * Maps a thrown value to an `ApplicationFailure`: retryable Plural errors keep retrying with the same key; others
 * become non-retryable with `businessType`. A caller abort (activity cancellation) is rethrown unchanged.
 */
export function classify(err: unknown, businessType: FailureType): Error {
  if (err instanceof ApplicationFailure) return err;
  if (isPluralError(err)) {
    if (err.type === PLURAL_ERROR_TYPE.ABORTED) return err;
    if (err.retryable) return failure(err.message, FAILURE_TYPE.GATEWAY_UNAVAILABLE, false, err.code, err);
    // An answer that breaks Plural's documented shape (a 2xx among them: Plural may have done the work) tells nothing
    // of the outcome: retried, then parked for an operator, never taken for a rejection that would end the payment.
    if (err.type === PLURAL_ERROR_TYPE.RESPONSE_VALIDATION) {
      return failure(err.message, FAILURE_TYPE.GATEWAY_UNAVAILABLE, false, UNREADABLE_ANSWER, err);
    }
    // Plural refusing the engine's credentials (a secret rotated before the configuration, its auth service failing)
    // says nothing of the operation: an outage of the engine's own, retried, then parked for an operator to fix the
    // credentials. Taken for a rejection it would end a payment FAILED, or a refund REJECTED, that an earlier attempt
    // whose answer was lost had already made.
    if (err.type === PLURAL_ERROR_TYPE.AUTH) {
      return failure(err.message, FAILURE_TYPE.GATEWAY_UNAVAILABLE, false, err.code, err);
    }
    return failure(err.message, businessType, true, err.code, err);
  }
  return err instanceof Error ? err : new Error('unexpected non-error thrown by the Plural client');
}

/** The parked code of a step whose Plural answer broke the documented shape. */
export const UNREADABLE_ANSWER = 'UNREADABLE_ANSWER';

/** The parked code of a step whose last attempt failed in a way the engine does not recognise. */
export const UNEXPECTED_FAILURE = 'UNEXPECTED_FAILURE';

/**
 * `fn` with every failure that is not a verdict turned into an outage, retried, then parked for an operator, like a
 * gateway outage — never a failed payment or a refused refund, which could end one whose Create Payment (or refund)
 * Plural had already taken. The card vault unreachable, full or misconfigured (code: the vault's); an attempt aborted
 * (the worker shutting down); and anything the engine does not recognise (an HTTP parser or TLS error from a proxy,
 * a vault answer cut off mid-body), named by its class and code only, never its message (it may quote a body).
 * The workflow takes any other type for Plural's refusal. `ApplicationFailure`s (the verdicts) pass unchanged.
 */
export function outagesParked<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A): Promise<R> => {
    try {
      return await fn(...args);
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      if (isCardVaultError(err)) throw failure(err.message, FAILURE_TYPE.GATEWAY_UNAVAILABLE, false, err.code);
      if (isPluralError(err)) {
        // `classify` keeps an abort as it is; anything else from the client it has already classified.
        throw failure(err.message, FAILURE_TYPE.GATEWAY_UNAVAILABLE, false, err.code ?? err.type, err);
      }
      throw failure(unexpectedMessage(err), FAILURE_TYPE.GATEWAY_UNAVAILABLE, false, UNEXPECTED_FAILURE);
    }
  };
}

function unexpectedMessage(err: unknown): string {
  const name = err instanceof Error ? err.name : typeof err;
  const code = (err as { code?: unknown } | null)?.code;
  return `unexpected ${name}${typeof code === 'string' ? ` (${code})` : ''}: retried as an outage`;
}

/** Plural's error code (`DUPLICATE_REQUEST`, `ORDER_NOT_FOUND`…) when `err` is a Plural error. */
export const codeOf = (err: unknown): string | undefined => (isPluralError(err) ? err.code : undefined);

/** Plural answered that it has no such order (its code, or a 404 whatever its body). */
export const isOrderNotFound = (err: unknown): boolean =>
  codeOf(err) === PLURAL_ERROR_CODE.ORDER_NOT_FOUND || (isPluralError(err) && err.statusCode === 404);
