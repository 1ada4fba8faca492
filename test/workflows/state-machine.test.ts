/** The payment's transition table, without Temporal. */
import { describe, expect, it } from 'vitest';
import { PAYMENT_STATUS, TERMINAL_STATUSES } from '../../workflows/definitions';
import type { PaymentStatus } from '../../workflows/definitions';
import {
  assertTransition,
  canTransition,
  IllegalTransitionError,
  isTerminal,
  PAYMENT_TRANSITIONS,
} from '../../workflows/state-machine';

const ALL = Object.values(PAYMENT_STATUS);
/** How far along the lifecycle each status is: moves never go back. */
const ORDER: Record<PaymentStatus, number> = {
  CREATED: 0,
  AWAITING_OTP: 1,
  AWAITING_CHALLENGE: 1,
  AUTHORIZED: 2,
  PROCESSING: 2,
  CLOSING: 2,
  PROCESSED: 3,
  CANCELLED: 3,
  FAILED: 3,
};

describe('payment transition table', () => {
  it('has a row for every status and names only known statuses', () => {
    expect(Object.keys(PAYMENT_TRANSITIONS).sort()).toEqual([...ALL].sort());
    for (const targets of Object.values(PAYMENT_TRANSITIONS)) for (const t of targets) expect(ALL).toContain(t);
  });

  it('lets nothing leave a terminal status', () => {
    for (const from of TERMINAL_STATUSES) {
      expect(isTerminal(from)).toBe(true);
      for (const to of ALL) expect(canTransition(from, to)).toBe(false);
    }
  });

  it('never moves a payment back, and never to the status it has', () => {
    for (const from of ALL) {
      for (const to of PAYMENT_TRANSITIONS[from]) {
        expect(to).not.toBe(from);
        expect(ORDER[to]).toBeGreaterThanOrEqual(ORDER[from]);
      }
    }
  });

  it('allows the lifecycle: created, awaiting the customer, authorized, then processed, cancelled or failed', () => {
    expect(canTransition('CREATED', 'AWAITING_OTP')).toBe(true);
    expect(canTransition('AWAITING_OTP', 'AWAITING_CHALLENGE')).toBe(true);
    expect(canTransition('AWAITING_CHALLENGE', 'AUTHORIZED')).toBe(true);
    expect(canTransition('AUTHORIZED', 'PROCESSED')).toBe(true);
    expect(canTransition('AUTHORIZED', 'CANCELLED')).toBe(true);
    expect(canTransition('AUTHORIZED', 'FAILED')).toBe(true);
    expect(canTransition('AUTHORIZED', 'AWAITING_OTP')).toBe(false);
    // A sale Plural is processing ends as Plural's order does: processed, failed, or cancelled there.
    expect(canTransition('PROCESSING', 'PROCESSED')).toBe(true);
    expect(canTransition('PROCESSING', 'FAILED')).toBe(true);
    expect(canTransition('PROCESSING', 'CANCELLED')).toBe(true);
    expect(canTransition('PROCESSING', 'CLOSING')).toBe(false);
  });

  it('throws IllegalTransitionError naming both statuses and the cause for a move the table lacks', () => {
    expect(() => assertTransition('PROCESSED', 'CANCELLED', 'merchant cancel')).toThrow(IllegalTransitionError);
    expect(() => assertTransition('PROCESSED', 'CANCELLED', 'merchant cancel')).toThrow(
      'illegal payment transition PROCESSED -> CANCELLED (merchant cancel)',
    );
    expect(() => assertTransition('AUTHORIZED', 'PROCESSED', 'capture')).not.toThrow();
  });
});
