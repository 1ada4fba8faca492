/**
 * What every group of activities is built on: the dependencies, the running attempt, the logger, and the
 * translations more than one group needs (merchant references, Plural's order as the workflow sees it).
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { PAYMENT_STATUS } from '../plural-client';
import type { Order, PluralClient } from '../plural-client';
import { FAILURE_TYPE } from '../workflows/definitions';
import { classify } from './failures';
import type { MerchantWebhookDeps } from './merchant-webhooks';
import type { ActivityLogger, CardVault, OrderSnapshot } from './types';

/** Dependencies of `createActivities`. */
export interface ActivityDeps {
  plural: PluralClient;
  vault: CardVault;
  logger?: ActivityLogger;
  /** Merchant webhook endpoints and the sender; unset, a payment that names an endpoint notes it undelivered. */
  merchantWebhooks?: MerchantWebhookDeps;
}

const MAX_REFERENCE_LENGTH = 50;

/**
 * A merchant reference of at most 50 characters derived from an idempotency key (stable across retries).
 *
 * Every mutating call carries the idempotency key `<workflowId>:<step>`; the merchant references Plural limits to 50
 * characters derive from the same key (hashed when longer), so a retry sends the same reference.
 */
export function referenceFor(key: string): string {
  if (key.length <= MAX_REFERENCE_LENGTH) return key;
  return `h-${createHash('sha256').update(key).digest('base64url').slice(0, 40)}`;
}

/** Plural's answer to an order, reduced to what the workflow needs (no card data). */
export function snapshotOf(order: Order): OrderSnapshot {
  const payments = order.payments.map((p) => ({
    id: p.id,
    method: p.payment_method,
    status: p.status,
    amount: { value: p.payment_amount.value, currency: p.payment_amount.currency },
    // A pre-auth's captures are listed; a processed sale took its whole amount without a capture of its own.
    capturedValue:
      p.capture_data && p.capture_data.length > 0
        ? p.capture_data.reduce((sum, c) => sum + c.capture_amount.value, 0)
        : p.status === PAYMENT_STATUS.PROCESSED
          ? p.payment_amount.value
          : 0,
    errorCode: p.error_detail?.code ?? undefined,
    errorMessage: p.error_detail?.message ?? undefined,
  }));
  return {
    orderId: order.order_id,
    status: order.status,
    amount: { value: order.order_amount.value, currency: order.order_amount.currency },
    payments,
    capturedValue: payments.reduce((sum, p) => sum + p.capturedValue, 0),
  };
}

/** What each group's factory (`create…Activities(ctx)`) is given: the deps, and helpers over them. */
export interface ActivityContext {
  plural: PluralClient;
  vault: CardVault;
  /** The running attempt: its cancellation signal (pass it to every Plural call) and its number (1 on the first). */
  call: () => { signal: AbortSignal; attempt: number };
  /** Logs with the activity's identity (workflow id, run id, activity type, attempt) so lines join the payment. */
  log: (level: 'info' | 'warn', fields: object, msg: string) => void;
  /** Get Order as a snapshot; failures classified with `GATEWAY_REJECTED` as the business type. */
  getOrderSnapshot: (orderId: string, signal: AbortSignal) => Promise<OrderSnapshot>;
}

/** Builds the {@link ActivityContext} every group of activities shares. */
export function createActivityContext(deps: ActivityDeps): ActivityContext {
  const { plural, vault, logger } = deps;
  return {
    plural,
    vault,
    call: () => {
      const ctx = Context.current();
      return { signal: ctx.cancellationSignal, attempt: ctx.info.attempt };
    },
    log: (level, fields, msg) => {
      if (!logger) return;
      const { workflowExecution, activityType, attempt } = Context.current().info;
      logger[level](
        {
          workflowId: workflowExecution?.workflowId,
          runId: workflowExecution?.runId,
          activityType,
          attempt,
          ...fields,
        },
        msg,
      );
    },
    getOrderSnapshot: async (orderId, signal) => {
      try {
        return snapshotOf(await plural.getOrder(orderId, { signal }));
      } catch (err) {
        throw classify(err, FAILURE_TYPE.GATEWAY_REJECTED);
      }
    },
  };
}
