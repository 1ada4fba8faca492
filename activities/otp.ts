/**
 * Plural's native OTP operations: generate, submit, resend. Plural's business answers (a wrong OTP, a limit reached,
 * a resend too early) are results the workflow branches on, not failures.
 *
 * The OTP is read from the vault only inside `submitOtp`; it is never returned, logged or put in an error.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { isPluralError, maskSecrets, ORDER_STATUS, PLURAL_ERROR_TYPE } from '../plural-client';
import type { PluralApiError } from '../plural-client';
import { FAILURE_TYPE } from '../workflows/definitions';
import type { ActivityContext, OrderReader, OtpGenerator } from './context';
import { classify, failure } from './failures';
import type { GenerateOtpInput, OtpGenerateResult, OtpResendResult, OtpSubmitResult, SubmitOtpInput } from './types';

/** `err` with every occurrence of `secret` in its message masked (the same error object, its message rewritten). */
function withoutSecret(err: unknown, secret: string): unknown {
  if (err instanceof Error) err.message = maskSecrets(err.message, [secret]);
  return err;
}

/** A 422 from an OTP endpoint: a business answer (`next[]`, `resend_after`), not a failure to retry. */
function isOtpRejection(err: unknown): err is PluralApiError {
  return isPluralError(err) && err.type === PLURAL_ERROR_TYPE.API && err.statusCode === 422;
}

/**
 * Generate OTP: `eligible: false` when Plural says (422) the payment cannot use native OTP. Shared by `generateOtp`
 * and the generation that follows a created payment (`createPayment` with `thenGenerateOtp`), under one idempotency
 * key.
 */
export function createOtpGenerator(ctx: ActivityContext): OtpGenerator {
  const { plural } = ctx;
  return async (input, signal) => {
    try {
      const res = await plural.generateOtp(
        { payment_id: input.paymentId },
        { signal, idempotencyKey: `${input.workflowId}:generate-otp` },
      );
      return { eligible: true, next: res.next, resendAfterSeconds: res.meta_data?.resend_after ?? undefined };
    } catch (err) {
      if (isPluralError(err) && !err.retryable && err.statusCode === 422) {
        return { eligible: false, next: [], resendAfterSeconds: undefined };
      }
      throw classify(err, FAILURE_TYPE.GATEWAY_REJECTED);
    }
  };
}

/** The failure code of a retried OTP submission whose earlier attempt's answer was lost and cannot be told. */
export const OTP_OUTCOME_UNKNOWN = 'OTP_OUTCOME_UNKNOWN';

/** Order statuses that say an OTP was accepted: the payment is authorized, or its money taken. */
const HELD_OR_TAKEN: ReadonlySet<string> = new Set([
  ORDER_STATUS.AUTHORIZED,
  ORDER_STATUS.PROCESSED,
  ORDER_STATUS.PARTIALLY_CAPTURED,
]);

/** Generate, submit and resend the native OTP. */
export function createOtpActivities(ctx: ActivityContext, readOrder: OrderReader, generateOtp: OtpGenerator) {
  const { plural, vault, call, log, followUp } = ctx;

  return {
    /** Send the native OTP; `eligible: false` when Plural says the payment cannot use native OTP. */
    generateOtp: (input: GenerateOtpInput): Promise<OtpGenerateResult> => generateOtp(input, call().signal),

    /**
     * Submit the customer's OTP, read from the vault under `otpHandle` (the OTP never enters history). Business
     * outcomes (incorrect, failed) are results, not errors. The vault entry is destroyed once the outcome is
     * definitive and kept while a transient failure is retried; a missing entry is the non-retryable
     * `OtpUnavailable` (Plural never saw the OTP).
     */
    submitOtp: async (input: SubmitOtpInput): Promise<OtpSubmitResult> => {
      const { signal, attempt } = call();
      const secret = await vault.get(input.otpHandle);
      if (secret?.otp === undefined) {
        // A retry whose hand-off an earlier attempt destroyed: that attempt had Plural's answer (it destroys only then)
        // and lost it. An order Plural now holds or has taken says the OTP was accepted; anything else leaves its
        // outcome unknown (an outage: the customer is asked again), never "nothing was sent".
        if (attempt > 1) {
          const read = input.thenGetOrder;
          const order =
            read !== undefined
              ? await followUp('Get Order for a retried OTP whose hand-off is gone', (s) => readOrder(read, s), signal)
              : undefined;
          if (order !== undefined && HELD_OR_TAKEN.has(order.status)) {
            log('info', { orderId: order.orderId }, 'OTP retried after an earlier attempt was answered: accepted');
            return { outcome: 'ACCEPTED', order };
          }
          throw failure(
            "the OTP was sent to Plural and its answer lost, and Plural's order does not show it accepted; submit the OTP again",
            FAILURE_TYPE.GATEWAY_UNAVAILABLE,
            true,
            OTP_OUTCOME_UNKNOWN,
          );
        }
        throw failure(
          'the submitted OTP is no longer available (its hand-off expired or was already used); submit the OTP again',
          FAILURE_TYPE.OTP_UNAVAILABLE,
          true,
        );
      }
      // Best effort: the outcome is known, so a vault hiccup must not retry the call; the entry's TTL is the backstop.
      const forget = (): Promise<void> =>
        vault.destroy(input.otpHandle).catch(() => {
          log('warn', {}, 'could not destroy the OTP hand-off; it expires with its TTL');
        });
      const definitive = async <T>(result: T): Promise<T> => {
        await forget();
        return result;
      };
      try {
        await plural.submitOtp(
          { payment_id: input.paymentId, otp: secret.otp },
          { signal, idempotencyKey: `${input.workflowId}:submit-otp:${input.submission}` },
        );
        // The read the workflow asked for, as a follow-up call. The hand-off is destroyed after it: an attempt that dies
        // during the read is retried with the OTP still there, and Plural's refusal of the repeat is answered by a
        // Get Order (the FAILED branch of the workflow), never as an OTP that was never sent.
        const read = input.thenGetOrder;
        const order =
          read !== undefined
            ? await followUp('Get Order after the accepted OTP', (s) => readOrder(read, s), signal)
            : undefined;
        return await definitive(order !== undefined ? { outcome: 'ACCEPTED', order } : { outcome: 'ACCEPTED' });
      } catch (caught) {
        // Plural's answer goes to history (the result, or the failure): never with the OTP in it, should Plural echo it.
        const err = withoutSecret(caught, secret.otp);
        if (isPluralError(err) && !err.retryable && err.type === PLURAL_ERROR_TYPE.REQUEST_VALIDATION) {
          return await definitive({
            outcome: 'INCORRECT',
            next: ['SUBMIT_OTP'],
            resendAfterSeconds: undefined,
            message: 'the OTP must be 4-8 digits',
            counted: false,
          });
        }
        if (isOtpRejection(err)) {
          const next = err.next ?? [];
          const message = err.message;
          // Plural's refusal leaves the customer a way on (another OTP, or a resend first: an expired OTP, say): a
          // wrong OTP, not the end of the authentication.
          if (next.includes('SUBMIT_OTP') || next.includes('RESEND_OTP')) {
            return await definitive({
              outcome: 'INCORRECT',
              next: [...next],
              resendAfterSeconds: err.resendAfterSeconds,
              message,
              counted: true,
            });
          }
          return await definitive({ outcome: 'FAILED', code: err.code ?? 'USER_AUTHENTICATION_FAILED', message });
        }
        const classified = classify(err, FAILURE_TYPE.GATEWAY_REJECTED);
        if (classified instanceof ApplicationFailure && classified.nonRetryable) await forget();
        throw classified;
      }
    },

    /** Ask Plural to resend the OTP; a 422 (limit reached, too early) is a result. */
    resendOtp: async (input: { workflowId: string; paymentId: string; resend: number }): Promise<OtpResendResult> => {
      const { signal } = call();
      try {
        const res = await plural.resendOtp(
          { payment_id: input.paymentId },
          { signal, idempotencyKey: `${input.workflowId}:resend-otp:${input.resend}` },
        );
        return { outcome: 'SENT', next: res.next, resendAfterSeconds: res.meta_data?.resend_after ?? undefined };
      } catch (err) {
        if (isOtpRejection(err)) {
          const resendAfterSeconds = err.resendAfterSeconds;
          const next = err.next !== undefined ? { next: [...err.next] } : {};
          return {
            outcome: 'REJECTED',
            code: err.code ?? 'HTTP_422',
            message: err.message,
            resendAfterSeconds,
            ...next,
          };
        }
        throw classify(err, FAILURE_TYPE.GATEWAY_REJECTED);
      }
    },
  };
}
