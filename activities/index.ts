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
import { isPluralError, ORDER_STATUS, PLURAL_ERROR_CODE } from '../plural-client';
import { FAILURE_TYPE } from '../workflows/definitions';
import type { CancelInput, CaptureInput, OrderSnapshot, RefundInput, RefundSnapshot } from './types';
import { createActivityContext, referenceFor, snapshotOf } from './context';
import type { ActivityDeps } from './context';
import { classify, codeOf, failure } from './failures';
import { createOrderActivities } from './orders';
import { createOtpActivities } from './otp';
import { createPaymentActivities } from './payments';

export type * from './types';
export { referenceFor, snapshotOf } from './context';
export type { ActivityDeps } from './context';
export { classify } from './failures';
export type { FailureDetails } from './failures';
export { deviceInfoBody } from './payments';

/** Builds the payment activities over a Plural client and a card vault. */
export function createActivities(deps: ActivityDeps) {
  const ctx = createActivityContext(deps);
  const { plural, call, getOrderSnapshot } = ctx;

  return {
    ...createOrderActivities(ctx),
    ...createPaymentActivities(ctx),
    ...createOtpActivities(ctx),
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
