/**
 * The payment's statuses and the only moves between them. Deterministic and free of Temporal, so it is unit-tested on
 * its own; the workflow moves a payment only through {@link assertTransition} (a move the table lacks is a bug and
 * throws) or, for what the gateway reports, after asking {@link canTransition} (a late or stale event that would move
 * the payment backwards is recorded and ignored).
 */
import { PAYMENT_STATUS, TERMINAL_STATUSES } from './definitions';
import type { PaymentStatus } from './definitions';

const S = PAYMENT_STATUS;

/**
 * from → the statuses it may move to. Statuses only move forward: a payment never returns to an earlier status, and
 * nothing leaves PROCESSED, CANCELLED or FAILED. A payment awaiting the customer may switch between the native OTP and
 * the challenge page. A pre-auth AUTHORIZED ends captured, cancelled or failed (a declined capture); a sale's
 * PROCESSING ends processed or failed. CLOSING ends cancelled or failed once Plural's order is final (money Plural took
 * meanwhile is refunded, and shows in the amounts).
 */
export const PAYMENT_TRANSITIONS: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = Object.freeze({
  CREATED: [
    S.AWAITING_OTP,
    S.AWAITING_CHALLENGE,
    S.AUTHORIZED,
    S.PROCESSING,
    S.PROCESSED,
    S.CLOSING,
    S.CANCELLED,
    S.FAILED,
  ],
  // CANCELLED straight from awaiting only when Plural's order says so (an operator cancelled it there); the engine's
  // own cancel of a payment awaiting the customer goes through CLOSING.
  AWAITING_OTP: [S.AWAITING_CHALLENGE, S.AUTHORIZED, S.PROCESSING, S.PROCESSED, S.CLOSING, S.CANCELLED, S.FAILED],
  AWAITING_CHALLENGE: [S.AWAITING_OTP, S.AUTHORIZED, S.PROCESSING, S.PROCESSED, S.CLOSING, S.CANCELLED, S.FAILED],
  AUTHORIZED: [S.PROCESSED, S.CANCELLED, S.FAILED],
  // CANCELLED only when Plural's order says so (a sale is never cancelled by the engine).
  PROCESSING: [S.PROCESSED, S.CANCELLED, S.FAILED],
  CLOSING: [S.CANCELLED, S.FAILED],
  PROCESSED: [],
  CANCELLED: [],
  FAILED: [],
});

export const isTerminal = (status: PaymentStatus): boolean => TERMINAL_STATUSES.includes(status);

/** Whether the table allows `from → to`. */
export function canTransition(from: PaymentStatus, to: PaymentStatus): boolean {
  return PAYMENT_TRANSITIONS[from].includes(to);
}

/** A move the transition table does not allow: a bug in the workflow, never a gateway or customer error. */
export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
  constructor(
    readonly from: PaymentStatus,
    readonly to: PaymentStatus,
    readonly reason: string,
  ) {
    super(`illegal payment transition ${from} -> ${to} (${reason})`);
  }
}

/** @throws {IllegalTransitionError} when the table does not allow `from → to` */
export function assertTransition(from: PaymentStatus, to: PaymentStatus, cause: string): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to, cause);
}
