/**
 * Payment activities: thin translations between the workflow's vocabulary and the Plural client.
 *
 * - Idempotency keys and merchant references: `referenceFor` in `context.ts`.
 * - Failures are classified in `failures.ts`.
 * - A retried attempt of a non-idempotent call first checks the order's state at Plural, so an answer lost in transit
 *   never yields two orders, two payments or two captures.
 * - Card data is read from the vault only inside `lookupCard`, `checkPointsBalance` and `createPayment`, the OTP only
 *   inside `submitOtp`; neither is ever returned, logged or put in an error.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { isPluralError, ORDER_STATUS, PLURAL_ERROR_CODE, PLURAL_ERROR_TYPE } from '../plural-client';
import type { PluralApiError } from '../plural-client';
import { FAILURE_TYPE } from '../workflows/definitions';
import type {
  CancelInput,
  CaptureInput,
  OrderSnapshot,
  OtpGenerateResult,
  OtpResendResult,
  OtpSubmitResult,
  RefundInput,
  RefundSnapshot,
  SubmitOtpInput,
} from './types';
import { createActivityContext, referenceFor, snapshotOf } from './context';
import type { ActivityDeps } from './context';
import { classify, codeOf, failure } from './failures';
import { createOrderActivities } from './orders';
import { createPaymentActivities } from './payments';

export type * from './types';
export { referenceFor, snapshotOf } from './context';
export type { ActivityDeps } from './context';
export { classify } from './failures';
export type { FailureDetails } from './failures';
export { deviceInfoBody } from './payments';

/** A 422 from an OTP endpoint: a business answer (`next[]`, `resend_after`), not a failure to retry. */
function isOtpRejection(err: unknown): err is PluralApiError {
  return isPluralError(err) && err.type === PLURAL_ERROR_TYPE.API && err.statusCode === 422;
}

/** Builds the payment activities over a Plural client and a card vault. */
export function createActivities(deps: ActivityDeps) {
  const ctx = createActivityContext(deps);
  const { plural, vault, call, log, getOrderSnapshot } = ctx;

  return {
    ...createOrderActivities(ctx),
    ...createPaymentActivities(ctx),
    /** Send the native OTP; `eligible: false` when Plural says the payment cannot use native OTP. */
    generateOtp: async (input: { workflowId: string; paymentId: string }): Promise<OtpGenerateResult> => {
      const { signal } = call();
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
    },

    /**
     * Submit the customer's OTP, read from the vault under `otpHandle` (the OTP never enters history). Business
     * outcomes (incorrect, failed) are results, not errors. The vault entry is destroyed once the outcome is
     * definitive and kept while a transient failure is retried; a missing entry is the non-retryable
     * `OtpUnavailable` (Plural never saw the OTP).
     */
    submitOtp: async (input: SubmitOtpInput): Promise<OtpSubmitResult> => {
      const { signal } = call();
      const secret = await vault.get(input.otpHandle);
      if (secret?.otp === undefined) {
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
        return await definitive({ outcome: 'ACCEPTED' });
      } catch (err) {
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
          if (next.includes('SUBMIT_OTP')) {
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
          return { outcome: 'REJECTED', code: err.code ?? 'HTTP_422', message: err.message, resendAfterSeconds };
        }
        throw classify(err, FAILURE_TYPE.GATEWAY_REJECTED);
      }
    },

    /**
     * Capture (full when `amount` is omitted). Plural allows one capture: a retry first looks at the order and
     * returns it when it is already captured; a DUPLICATE_REQUEST also resolves to the order's state.
     */
    captureOrder: async (input: CaptureInput): Promise<OrderSnapshot> => {
      const { signal, attempt } = call();
      const captured = (o: OrderSnapshot): boolean =>
        o.status === ORDER_STATUS.PROCESSED || o.status === ORDER_STATUS.PARTIALLY_CAPTURED;
      if (attempt > 1) {
        const order = await getOrderSnapshot(input.orderId, signal);
        if (captured(order)) return order;
      }
      const key = `${input.workflowId}:capture`;
      try {
        const order = await plural.captureOrder(
          input.orderId,
          { merchant_capture_reference: referenceFor(key), capture_amount: input.amount },
          { signal, idempotencyKey: key },
        );
        return snapshotOf(order);
      } catch (err) {
        if (codeOf(err) === PLURAL_ERROR_CODE.DUPLICATE_REQUEST) {
          const order = await getOrderSnapshot(input.orderId, signal);
          if (captured(order)) return order;
        }
        throw classify(err, FAILURE_TYPE.CAPTURE_REJECTED);
      }
    },

    /** Cancel (void) an AUTHORIZED order; an order already CANCELLED counts as success. */
    cancelOrder: async (input: CancelInput): Promise<OrderSnapshot> => {
      const { signal, attempt } = call();
      if (attempt > 1) {
        const order = await getOrderSnapshot(input.orderId, signal);
        if (order.status === ORDER_STATUS.CANCELLED) return order;
      }
      try {
        return snapshotOf(
          await plural.cancelOrder(input.orderId, { signal, idempotencyKey: `${input.workflowId}:${input.step}` }),
        );
      } catch (err) {
        if (isPluralError(err) && !err.retryable) {
          const order = await getOrderSnapshot(input.orderId, signal);
          if (order.status === ORDER_STATUS.CANCELLED) return order;
          throw failure(
            `${err.message} (order ${input.orderId} is ${order.status})`,
            FAILURE_TYPE.CANCEL_REJECTED,
            true,
            err.code,
          );
        }
        throw classify(err, FAILURE_TYPE.CANCEL_REJECTED);
      }
    },

    /**
     * Refund `amount` of a captured order. The refund's merchant reference derives from `<workflowId>:<step>`, and
     * Plural returns the same refund for the same reference and amount, so a retry never refunds twice.
     */
    refundOrder: async (input: RefundInput): Promise<RefundSnapshot> => {
      const { signal } = call();
      const key = `${input.workflowId}:${input.step}`;
      const reference = referenceFor(key);
      try {
        const refund = await plural.refundOrder(
          input.orderId,
          { merchant_order_reference: reference, order_amount: input.amount },
          { signal, idempotencyKey: key },
        );
        return {
          refundOrderId: refund.order_id,
          reference,
          status: refund.status,
          amount: { value: refund.order_amount.value, currency: refund.order_amount.currency },
        };
      } catch (err) {
        throw classify(err, FAILURE_TYPE.REFUND_REJECTED);
      }
    },
  };
}

/** The activities the payment workflow calls (for `proxyActivities<PaymentActivities>`). */
export type PaymentActivities = ReturnType<typeof createActivities>;
