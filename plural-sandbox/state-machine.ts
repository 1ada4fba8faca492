/** Plural's order and payment statuses, and the only order transitions the sandbox will make. */

export const ORDER_STATUS = {
  CREATED: 'CREATED',
  PENDING: 'PENDING',
  AUTHORIZED: 'AUTHORIZED',
  PROCESSED: 'PROCESSED',
  PARTIALLY_CAPTURED: 'PARTIALLY_CAPTURED',
  ATTEMPTED: 'ATTEMPTED',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELLED',
  PARTIALLY_REFUNDED: 'PARTIALLY_REFUNDED',
  FULLY_REFUNDED: 'FULLY_REFUNDED',
} as const;
export type OrderStatus = (typeof ORDER_STATUS)[keyof typeof ORDER_STATUS];

export const PAYMENT_STATUS = {
  PENDING: 'PENDING',
  AUTHORIZED: 'AUTHORIZED',
  PROCESSED: 'PROCESSED',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELLED',
} as const;
export type PaymentStatus = (typeof PAYMENT_STATUS)[keyof typeof PAYMENT_STATUS];

export const WEBHOOK_EVENT = {
  ORDER_AUTHORIZED: 'ORDER_AUTHORIZED',
  ORDER_PROCESSED: 'ORDER_PROCESSED',
  ORDER_CANCELLED: 'ORDER_CANCELLED',
  ORDER_FAILED: 'ORDER_FAILED',
  PAYMENT_FAILED: 'PAYMENT_FAILED',
  REFUND_PROCESSED: 'REFUND_PROCESSED',
} as const;
export type WebhookEvent = (typeof WEBHOOK_EVENT)[keyof typeof WEBHOOK_EVENT];

const S = ORDER_STATUS;

/** from → allowed next statuses. Anything else is a sandbox bug and throws. */
const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  CREATED: [S.PENDING],
  PENDING: [S.AUTHORIZED, S.PROCESSED, S.ATTEMPTED, S.FAILED],
  ATTEMPTED: [S.PENDING],
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
