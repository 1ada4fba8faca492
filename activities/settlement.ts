/**
 * Plural's settlement operations on an order: capture, cancel (void) and refund.
 *
 * A retried capture or cancel first reads the order at Plural and returns it when the operation already took effect,
 * so an answer lost in transit never yields two captures; a refund's merchant reference derives from its idempotency
 * key, and Plural answers the same reference and amount with the same refund.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isPluralError, ORDER_STATUS, PLURAL_ERROR_CODE, PLURAL_ERROR_TYPE } from '../plural-client';
import type { Order } from '../plural-client';
import { FAILURE_TYPE } from '../workflows/definitions';
import { referenceFor, snapshotOf } from './context';
import type { ActivityContext } from './context';
import { classify, codeOf, failure, isOrderNotFound } from './failures';
import type {
  CancelInput,
  CaptureInput,
  OrderSnapshot,
  ReadRefundInput,
  ReadRefundResult,
  RefundInput,
  RefundOrderNotFound,
  RefundSnapshot,
} from './types';

/** Order statuses a cancel can no longer change: the order is cancelled, captured (in whole or part), refunded or failed. */
const SETTLED: ReadonlySet<string> = new Set([
  ORDER_STATUS.CANCELLED,
  ORDER_STATUS.PROCESSED,
  ORDER_STATUS.PARTIALLY_CAPTURED,
  ORDER_STATUS.PARTIALLY_REFUNDED,
  ORDER_STATUS.FULLY_REFUNDED,
  ORDER_STATUS.FAILED,
]);

/** The failure code of a capture Plural answered while its order still read AUTHORIZED after it (an outage). */
export const CAPTURE_NOT_SHOWN = 'CAPTURE_NOT_SHOWN';

/** Capture, cancel and refund. */
export function createSettlementActivities(ctx: ActivityContext) {
  const { plural, call, log, getOrder, getOrderSnapshot, refundNotFoundRereadsMs } = ctx;

  /**
   * The order `read` asks Plural for; undefined when Plural has none. Any other failure to ask Plural is an outage
   * (retried, then parked), never a refusal: it tells nothing of whether a refund was made.
   */
  async function orderOrNone(read: () => Promise<Order>): Promise<Order | undefined> {
    try {
      return await read();
    } catch (err) {
      if (isOrderNotFound(err)) return undefined;
      if (!isPluralError(err) || err.type === PLURAL_ERROR_TYPE.ABORTED) throw err;
      throw failure(err.message, FAILURE_TYPE.GATEWAY_UNAVAILABLE, false, err.code, err);
    }
  }

  /** The order `orderId` at Plural; undefined when Plural has none. */
  const refundOrderAt = (orderId: string, signal: AbortSignal): Promise<Order | undefined> =>
    orderOrNone(() => plural.getOrder(orderId, { signal }));

  /**
   * The refund of `orderId` that Plural holds under the merchant `reference`, or null when it has none (no order under
   * the reference, or one of another order). The reference is this payment's own (derived from its workflow id and
   * step), so an order under it that does not name its parent (the field is optional in Plural's answers) is its
   * refund all the same.
   */
  async function refundUnder(reference: string, orderId: string, signal: AbortSignal): Promise<Order | null> {
    const existing = await orderOrNone(() => plural.getOrderByReference(reference, { signal }));
    if (existing === undefined) return null;
    return !existing.parent_order_id || existing.parent_order_id === orderId ? existing : null;
  }

  /**
   * Reads until `read` finds something, again after each of `refundNotFoundRereadsMs`: a refund Plural has made may not
   * be readable at once. The last answer (undefined or null: not found).
   */
  async function readUntilFound<T>(read: () => Promise<T | undefined | null>, signal: AbortSignal) {
    let found: T | undefined | null;
    for (const waitMs of [0, ...refundNotFoundRereadsMs]) {
      if (waitMs > 0) await sleep(waitMs, undefined, { signal });
      found = await read();
      if (found !== undefined && found !== null) break;
    }
    return found;
  }

  return {
    /**
     * Capture (full when `amount` is omitted). Plural allows one capture: a retry (a later attempt, or the first after
     * an operator's retry) first looks at the order and returns it when it is already captured; a DUPLICATE_REQUEST
     * also resolves to the order's state.
     */
    captureOrder: async (input: CaptureInput): Promise<OrderSnapshot> => {
      const { signal, attempt } = call();
      const captured = (o: OrderSnapshot): boolean =>
        o.status === ORDER_STATUS.PROCESSED || o.status === ORDER_STATUS.PARTIALLY_CAPTURED;
      // Plural's one partial capture takes exactly the amount asked for, also when its order lists no capture.
      const readOrder = async (): Promise<OrderSnapshot> =>
        snapshotOf(await getOrder(input.orderId, signal), input.amount?.value);
      if (attempt > 1 || input.retried === true) {
        const order = await readOrder();
        if (captured(order)) return order;
      }
      const key =
        input.afterRefusals === undefined
          ? `${input.workflowId}:capture`
          : `${input.workflowId}:capture-${input.afterRefusals}`;
      let answer: OrderSnapshot;
      try {
        const order = await plural.captureOrder(
          input.orderId,
          { merchant_capture_reference: referenceFor(key), capture_amount: input.amount },
          { signal, idempotencyKey: key },
        );
        answer = snapshotOf(order, input.amount?.value);
      } catch (err) {
        if (codeOf(err) === PLURAL_ERROR_CODE.DUPLICATE_REQUEST) {
          const order = await readOrder();
          if (captured(order)) return order;
          // Plural has this capture's key but its order does not show the capture yet (an earlier attempt still in
          // progress, or a read that lags): an outage, retried (then parked), never a refusal — the earlier capture
          // may yet complete, and a refusal would tell the merchant it was not captured.
          if (order.status === ORDER_STATUS.AUTHORIZED && isPluralError(err)) {
            throw failure(err.message, FAILURE_TYPE.GATEWAY_UNAVAILABLE, false, err.code, err);
          }
        }
        throw classify(err, FAILURE_TYPE.CAPTURE_REJECTED);
      }
      if (answer.status !== ORDER_STATUS.AUTHORIZED) return answer;
      // Plural answered the capture, but its order still reads AUTHORIZED (an order can trail its payments): read
      // again, and while it still says so the capture's outcome is unknown — an outage, retried (the retry reads the
      // order first) and then parked, never a refusal: the merchant must not hear REJECTED for money Plural took.
      const again = await readOrder();
      if (again.status !== ORDER_STATUS.AUTHORIZED) return again;
      throw failure(
        `Plural answered the capture of order ${input.orderId}, but its order still reads AUTHORIZED`,
        FAILURE_TYPE.GATEWAY_UNAVAILABLE,
        false,
        CAPTURE_NOT_SHOWN,
      );
    },

    /**
     * Cancel (void) an AUTHORIZED order; an order already CANCELLED counts as success. When Plural refuses because the
     * order is no longer AUTHORIZED (captured by a capture whose answer was lost, say), the cancel is moot and the
     * order is returned for the workflow to apply; only an order still AUTHORIZED makes the refusal a failure.
     */
    cancelOrder: async (input: CancelInput): Promise<OrderSnapshot> => {
      const { signal, attempt } = call();
      if (attempt > 1) {
        const order = await getOrderSnapshot(input.orderId, signal);
        if (order.status === ORDER_STATUS.CANCELLED) return order;
      }
      let answer: OrderSnapshot;
      try {
        answer = snapshotOf(
          await plural.cancelOrder(input.orderId, { signal, idempotencyKey: `${input.workflowId}:${input.step}` }),
        );
      } catch (err) {
        if (isPluralError(err) && !err.retryable) {
          const order = await getOrderSnapshot(input.orderId, signal);
          if (SETTLED.has(order.status)) {
            if (order.status !== ORDER_STATUS.CANCELLED) {
              log('warn', { orderId: input.orderId, status: order.status }, 'cancel refused: the order is settled');
            }
            return order;
          }
          throw failure(
            `${err.message} (order ${input.orderId} is ${order.status})`,
            FAILURE_TYPE.CANCEL_REJECTED,
            true,
            err.code,
          );
        }
        throw classify(err, FAILURE_TYPE.CANCEL_REJECTED);
      }
      if (answer.status !== ORDER_STATUS.AUTHORIZED) return answer;
      // Answered with the order still AUTHORIZED (it can trail its payments): a second read decides; the workflow
      // reads again later, and cancels again, when it still says so.
      return getOrderSnapshot(input.orderId, signal);
    },

    /**
     * Refund `amount` of a captured order. The refund's merchant reference derives from `<workflowId>:<step>`, and
     * Plural returns the same refund for the same reference and amount, so a retry never refunds twice. Where Plural
     * refuses instead (DUPLICATE_REQUEST for the repeated reference, as its docs also say, or the order no longer
     * refundable because the lost attempt refunded it in full), the refund is read by its reference and returned when
     * it is this order's refund of this amount.
     */
    refundOrder: async (input: RefundInput): Promise<RefundSnapshot> => {
      const { signal, attempt } = call();
      const key = `${input.workflowId}:${input.step}`;
      const reference = referenceFor(key);
      const snapshot = (refund: Order): RefundSnapshot => ({
        refundOrderId: refund.order_id,
        reference,
        status: refund.status,
        amount: { value: refund.order_amount.value, currency: refund.order_amount.currency },
      });
      // A retry (a later attempt, or the first after an operator's retry) follows an attempt whose outcome is unknown
      // (it may have refunded, its answer lost): the refund is looked up under its reference first, as a retried
      // capture reads the order first.
      const retry = attempt > 1 || input.retried === true;
      if (retry) {
        const existing = await refundUnder(reference, input.orderId, signal);
        if (existing !== null && existing.order_amount.value === input.amount.value) return snapshot(existing);
      }
      try {
        const refund = await plural.refundOrder(
          input.orderId,
          { merchant_order_reference: reference, order_amount: input.amount },
          { signal, idempotencyKey: key },
        );
        return snapshot(refund);
      } catch (err) {
        if (isPluralError(err) && !err.retryable) {
          // Before calling a refusal final, ask whether the refund is already there: an earlier attempt (or the
          // attempt before an operator's retry) may have made it and lost the answer, and Plural may refuse the
          // repeat for its reference (DUPLICATE_REQUEST) or for the order it left (fully refunded: not refundable).
          // Recording such a refund REJECTED would understate the refunded amount and invite a second refund.
          const existing = await refundUnder(reference, input.orderId, signal);
          if (existing !== null && existing.order_amount.value === input.amount.value) return snapshot(existing);
          // Plural holds something under this refund's key that cannot be read yet (its reference lags, or the
          // earlier attempt is still under way): an outage, retried (then parked), never a refusal — a REJECTED refund
          // frees its amount, and the merchant's next refund of it would be a second one.
          // So is any refusal of a retry while nothing can be read under its reference: Plural may check the order
          // before the reference (fully refunded by the earlier attempt, or its amount held by it) while that refund
          // is not readable yet. Only a first attempt's refusal is final.
          if (existing === null && (retry || codeOf(err) === PLURAL_ERROR_CODE.DUPLICATE_REQUEST)) {
            throw failure(err.message, FAILURE_TYPE.GATEWAY_UNAVAILABLE, false, err.code, err);
          }
        }
        throw classify(err, FAILURE_TYPE.REFUND_REJECTED);
      }
    },

    /**
     * A refund order a gateway event named (a REFUND_* webhook), read at Plural: null when it is not a refund of
     * `orderId`; else the refund, with `ownStep` when its merchant reference derives from one of the payment's own
     * refund `steps` (the engine's own refund whose answer its step never recorded: one an operator gave up on as never
     * taken). Any other refund of the order was made outside the engine (Plural's dashboard). A failure to ask Plural
     * is an outage (retried; the workflow asks again later). An order Plural answers it does not have is read again
     * after each of `refundNotFoundRereadsMs` (Plural's own event named it: it may not be readable yet), then answered
     * `notFound`: the workflow reads it again at a few of its later looks (a lag of minutes), not on every look until
     * the window's end, so that one that never exists (a signal no webhook sent) costs a bounded number of reads.
     */
    readRefund: async (input: ReadRefundInput): Promise<ReadRefundResult | RefundOrderNotFound | null> => {
      const { signal } = call();
      const refund = await readUntilFound(() => refundOrderAt(input.refundOrderId, signal), signal);
      if (refund === undefined || refund === null) {
        log('warn', { refundOrderId: input.refundOrderId }, 'refund order not found at Plural');
        return { refundOrderId: input.refundOrderId, notFound: true };
      }
      const reference = refund.merchant_order_reference ?? '';
      const ownStep = input.steps.find((step) => referenceFor(`${input.workflowId}:${step}`) === reference);
      // Another order's refund, or no refund at all. One under this payment's own refund reference that names no
      // parent (the field is optional in Plural's answers) is its refund all the same.
      const parent = refund.parent_order_id;
      if (parent !== input.orderId && !(ownStep !== undefined && !parent)) return null;
      return {
        refundOrderId: refund.order_id,
        reference,
        status: refund.status,
        amount: { value: refund.order_amount.value, currency: refund.order_amount.currency },
        ...(ownStep !== undefined ? { ownStep } : {}),
      };
    },

    /**
     * The refund `<workflowId>:<step>` would be at Plural, read by its merchant reference: what an operator's give-up
     * on a parked refund asks before recording it abandoned (its answer may have been lost in an outage). Null when
     * Plural has no refund of this order under that reference after the reads of `refundNotFoundRereadsMs`; a failure
     * when Plural cannot be asked.
     */
    findRefund: async (input: RefundInput): Promise<RefundSnapshot | null> => {
      const { signal } = call();
      const reference = referenceFor(`${input.workflowId}:${input.step}`);
      // "None" frees the refund's amount for the merchant's next refund, so it is said only after Plural has had the
      // same time to show a refund under its reference as an order an event names (a lookup by reference can lag the
      // refund a lost answer made).
      const existing = await readUntilFound(() => refundUnder(reference, input.orderId, signal), signal);
      if (existing === undefined || existing === null) return null;
      return {
        refundOrderId: existing.order_id,
        reference,
        status: existing.status,
        amount: { value: existing.order_amount.value, currency: existing.order_amount.currency },
      };
    },
  };
}
