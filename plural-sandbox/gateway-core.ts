/**
 * What the gateway's parts (its instruments, native OTP and settlement) use of the gateway that owns them: its store,
 * clock, dice and timers, and the order moves every part makes the same way. `Gateway` implements it; the parts
 * depend on this interface, not on the class, so the gateway and its parts do not import each other.
 */
import type { ResolvedOptions } from './options';
import type { Dice } from './random';
import type { OrderStatus, PaymentStatus, WebhookEvent } from './state-machine';
import type { OrderRecord, PaymentRecord, Store } from './store';
import type { OrderTimers } from './timers';

/** Receives every event the gateway would send as a webhook. */
export type EventSink = (event: WebhookEvent, order: OrderRecord) => void;

export interface GatewayCore {
  readonly store: Store;
  readonly options: ResolvedOptions;
  readonly dice: Dice;
  /** Timers of the timed steps (payment expiry, settlement, order expiry). */
  readonly timers: OrderTimers;
  readonly emit: EventSink;
  /** The sandbox clock, ms. */
  now(): number;
  /** The order, with every timed step now due applied; `ORDER_NOT_FOUND` otherwise. */
  getOrder(orderId: string): OrderRecord;
  /** Applies every timed step now due on the sandbox clock. */
  catchUp(order: OrderRecord): void;
  /** A new order id, derived from `kind` and `key` and not yet in the store. */
  uniqueOrderId(kind: string, key: string): string;
  /** Moves the order along the state machine (throws on an illegal move). */
  setStatus(order: OrderRecord, to: OrderStatus): void;
  setPayment(payment: PaymentRecord, status: PaymentStatus, error?: { code: string; message: string }): void;
  /** Ends the current attempt: authentication result, then the issuer's decision. */
  authenticate(order: OrderRecord, approved: boolean): void;
}
