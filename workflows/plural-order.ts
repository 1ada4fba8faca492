/**
 * What Plural's order says, in the workflow's terms. Plural's order status strings are matched here only (the
 * vocabulary is the client's `ORDER_STATUS`; workflows may not import the client's values). Only an order read from
 * Plural (Get Order, or the answer to our own create, capture, cancel or refund) moves a payment: callbacks and
 * webhooks are confirmed with Get Order first.
 */
import type { OrderSnapshot } from '../activities';

/** The order's state as it matters to money. */
export type OrderStage =
  /** Nothing decided: no payment yet, or one in flight (CREATED, PENDING). */
  | 'OPEN'
  /** A payment attempt failed and the order takes another (ATTEMPTED). */
  | 'ATTEMPT_FAILED'
  /** Authorized: a pre-auth waiting for capture or cancel, or a sale on its way to processed. */
  | 'AUTHORIZED'
  /** Money taken (PROCESSED, PARTIALLY_CAPTURED, or refunded in part since). */
  | 'CAPTURED'
  /** Money taken and all of it refunded. */
  | 'REFUNDED'
  | 'CANCELLED'
  | 'FAILED';

export function stageOf(status: string): OrderStage {
  switch (status) {
    case 'AUTHORIZED':
      return 'AUTHORIZED';
    case 'PROCESSED':
    case 'PARTIALLY_CAPTURED':
    case 'PARTIALLY_REFUNDED':
      return 'CAPTURED';
    case 'FULLY_REFUNDED':
      return 'REFUNDED';
    case 'CANCELLED':
      return 'CANCELLED';
    case 'FAILED':
      return 'FAILED';
    case 'ATTEMPTED':
      return 'ATTEMPT_FAILED';
    default:
      return 'OPEN';
  }
}

/** Whether Plural's order can no longer take money without the engine acting (cancel or refund are the engine's). */
export function isFinalStage(stage: OrderStage): boolean {
  return stage === 'REFUNDED' || stage === 'CANCELLED' || stage === 'FAILED';
}

/** The latest failed payment's error, for the payment's `failure`. */
export function failureOf(order: OrderSnapshot): { code: string; message: string } | undefined {
  const failed = [...order.payments].reverse().find((p) => p.status === 'FAILED' && p.errorCode !== undefined);
  return failed?.errorCode === undefined
    ? undefined
    : { code: failed.errorCode, message: failed.errorMessage ?? 'Plural reported the payment as failed' };
}

/** A refund order's outcome. */
export function refundOutcome(status: string): 'PENDING' | 'PROCESSED' | 'FAILED' {
  return status === 'PROCESSED' ? 'PROCESSED' : status === 'FAILED' ? 'FAILED' : 'PENDING';
}
