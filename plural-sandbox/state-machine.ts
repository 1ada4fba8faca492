/** Plural's order and payment statuses, and the only order transitions the sandbox will make. */

// Plural's vocabularies are defined once, in the client; the sandbox speaks the same wire format.
import { ORDER_STATUS } from '../plural-client/constants';
import type { OrderStatus } from '../plural-client/constants';
export { ORDER_STATUS, PAYMENT_STATUS, WEBHOOK_EVENT } from '../plural-client/constants';
export type { OrderStatus, PaymentStatus, WebhookEvent } from '../plural-client/constants';

const S = ORDER_STATUS;

/** from → allowed next statuses. Anything else is a sandbox bug and throws. */
const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  // CREATED/ATTEMPTED -> FAILED: the order expired unpaid (orderExpirySeconds).
  CREATED: [S.PENDING, S.FAILED],
  PENDING: [S.AUTHORIZED, S.PROCESSED, S.ATTEMPTED, S.FAILED],
  ATTEMPTED: [S.PENDING, S.FAILED],
  AUTHORIZED: [S.PROCESSED, S.PARTIALLY_CAPTURED, S.CANCELLED, S.FAILED],
  PROCESSED: [S.PARTIALLY_REFUNDED, S.FULLY_REFUNDED],
  PARTIALLY_CAPTURED: [S.PARTIALLY_REFUNDED, S.FULLY_REFUNDED],
  PARTIALLY_REFUNDED: [S.PARTIALLY_REFUNDED, S.FULLY_REFUNDED],
  FAILED: [],
  CANCELLED: [],
  FULLY_REFUNDED: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Thrown when code asks for a transition Plural never makes; a sandbox bug, never a client error. */
export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
  constructor(
    readonly orderId: string,
    readonly from: OrderStatus,
    readonly to: OrderStatus,
  ) {
    super(`illegal transition ${from} -> ${to} for order ${orderId}`);
  }
}
