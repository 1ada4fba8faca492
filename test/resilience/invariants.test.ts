/** The invariant checker sees each kind of violation it exists for (so the resilience run can fail). */
import { describe, expect, it } from 'vitest';
import type { OrderSummary } from '../../plural-sandbox';
import { checkInvariants, summaryLine } from './invariants';
import type { EngineOutcome, PaymentUnderTest } from './invariants';

const INR = (value: number) => ({ value, currency: 'INR' });
const NOW = 1_000_000;

function order(ref: string, fields: Partial<OrderSummary> = {}): OrderSummary {
  return {
    orderId: `v1-${ref}`,
    merchantOrderReference: ref,
    type: 'CHARGE',
    parentOrderId: undefined,
    status: 'PROCESSED',
    preAuth: true,
    amount: INR(10_000),
    authorizedAmount: 10_000,
    capturedAmount: 10_000,
    reversedAmount: 0,
    refundedAmount: 0,
    captureCount: 1,
    captureAttempts: 1,
    cancelCount: 0,
    paymentAttempts: 1,
    authorizedAt: NOW - 5_000,
    authorizationDeadline: NOW + 5_000,
    capturedAt: NOW - 1_000,
    cancelledAt: undefined,
    history: [
      { status: 'CREATED', at: 1 },
      { status: 'PENDING', at: 2 },
      { status: 'AUTHORIZED', at: 3 },
      { status: 'PROCESSED', at: 4 },
    ],
    payments: [],
    ...fields,
  };
}

function payment(ref: string, engine: Partial<EngineOutcome> = {}): PaymentUnderTest {
  return {
    merchantOrderReference: ref,
    amount: INR(10_000),
    engine: {
      found: true,
      closed: true,
      status: 'PROCESSED',
      pluralOrderId: `v1-${ref}`,
      amount: INR(10_000),
      amountCaptured: INR(10_000),
      amountRefunded: undefined,
      parked: undefined,
      ...engine,
    },
  };
}

describe('checkInvariants', () => {
  it('passes a consistent run', () => {
    const report = checkInvariants(
      [
        payment('a'),
        payment('b', { status: 'CANCELLED', amountCaptured: undefined }),
        payment('c', { status: 'FAILED', amountCaptured: undefined }),
      ],
      [
        order('a'),
        order('b', { status: 'CANCELLED', captureCount: 0, capturedAmount: 0, cancelCount: 1 }),
        order('c', { status: 'ATTEMPTED', captureCount: 0, capturedAmount: 0, authorizedAt: undefined }),
      ],
      NOW,
    );
    expect(report.violations).toEqual([]);
    expect(report.byStatus).toEqual({ PROCESSED: 1, CANCELLED: 1, FAILED: 1 });
    expect(summaryLine(report)).toMatch(/^RESILIENCE payments=3 .* lost=0 double_captures=0 /);
  });

  it('catches a planted double capture', () => {
    const report = checkInvariants([payment('a')], [order('a', { captureCount: 2 })], NOW);
    expect(report.doubleCaptures).toBe(1);
    expect(report.violations.join('\n')).toContain('captured 2 times');
  });

  it('catches a capture after a cancel', () => {
    const history = [...order('a').history.slice(0, 3), { status: 'CANCELLED' as const, at: 5 }];
    const report = checkInvariants(
      [payment('a', { status: 'CANCELLED' })],
      [order('a', { status: 'CANCELLED', cancelCount: 1, captureCount: 1, history })],
      NOW,
    );
    expect(report.capturesAfterCancel).toBe(1);
  });

  it('catches an authorization left open past its deadline while the engine says FAILED', () => {
    const report = checkInvariants(
      [payment('a', { status: 'FAILED', amountCaptured: undefined })],
      [order('a', { status: 'AUTHORIZED', captureCount: 0, capturedAmount: 0, authorizationDeadline: NOW - 1 })],
      NOW,
    );
    expect(report.openAuthorizations).toBe(1);
    expect(report.statusMismatches).toBe(1);
    expect(report.violations.join('\n')).toContain('past its authorization deadline');
  });

  it('catches an authorization cancelled only after its deadline', () => {
    const report = checkInvariants(
      [payment('a', { status: 'CANCELLED', amountCaptured: undefined })],
      [
        order('a', {
          status: 'CANCELLED',
          captureCount: 0,
          capturedAmount: 0,
          capturedAt: undefined,
          cancelCount: 1,
          cancelledAt: NOW + 6_000,
        }),
      ],
      NOW,
    );
    expect(report.openAuthorizations).toBe(1);
    expect(report.violations.join('\n')).toContain(
      '1000 ms after its authorization deadline, 11000 ms after its authorization (engine: CANCELLED)',
    );
  });

  it('flags a refund made twice at Plural, and more refunded than captured', () => {
    const twice = checkInvariants(
      [payment('a', { amountRefunded: INR(4_000), refundOrderIds: ['v1-rf-1'] })],
      [order('a', { status: 'PARTIALLY_REFUNDED', refundedAmount: 8_000, refundIds: ['v1-rf-1', 'v1-rf-2'] })],
      NOW,
    );
    expect(twice.refundMismatches).toBe(1);
    expect(twice.violations.join('\n')).toContain('sandbox refund v1-rf-2 of order v1-a is not one of the engine');
    const over = checkInvariants(
      [payment('b', { amountRefunded: INR(12_000), refundOrderIds: ['v1-rf-3'] })],
      [order('b', { status: 'FULLY_REFUNDED', refundedAmount: 10_000, refundIds: ['v1-rf-3'] })],
      NOW,
    );
    expect(over.refundMismatches).toBe(1);
    expect(over.violations.join('\n')).toContain('refunded more than captured');
  });

  it('counts a missing or still-open workflow as lost', () => {
    const report = checkInvariants(
      [payment('a', { found: false, status: undefined }), payment('b', { closed: false, status: 'AUTHORIZED' })],
      [order('a'), order('b', { status: 'AUTHORIZED', captureCount: 0, capturedAmount: 0 })],
      NOW,
    );
    expect(report.lost).toBe(2);
    expect(report.byStatus).toEqual({ MISSING: 1, AUTHORIZED: 1 });
  });

  it('labels a closed payment that still reports a parked operation with its final status too', () => {
    const report = checkInvariants(
      [payment('a', { parked: 'capture' }), payment('b', { closed: false, status: 'AUTHORIZED', parked: 'capture' })],
      [order('a'), order('b', { status: 'AUTHORIZED', captureCount: 0, capturedAmount: 0 })],
      NOW,
    );
    expect(report.byStatus).toEqual({ 'PROCESSED+PARKED(capture)': 1, 'PARKED(capture)': 1 });
  });

  it('catches an engine status that contradicts the sandbox', () => {
    const report = checkInvariants([payment('a', { status: 'FAILED', amountCaptured: undefined })], [order('a')], NOW);
    expect(report.statusMismatches).toBe(1);
  });

  it('catches captured amounts that differ or are not integer minor units', () => {
    const report = checkInvariants(
      [payment('a', { amountCaptured: INR(9_999) }), payment('b', { amountCaptured: INR(10_000.5) })],
      [order('a'), order('b', { capturedAmount: 10_000.5 })],
      NOW,
    );
    expect(report.amountMismatches).toBe(3);
  });

  it('passes a payment the customer paid after the cancel, which the engine refunded in full', () => {
    const report = checkInvariants(
      [payment('a', { status: 'CANCELLED', amountCaptured: INR(10_000), amountRefunded: INR(10_000) })],
      [order('a', { status: 'FULLY_REFUNDED', preAuth: false, refundedAmount: 10_000, captureCount: 0 })],
      NOW,
    );
    expect(report.violations).toEqual([]);
  });

  it('catches net money that differs from the sandbox order (captured − refunded)', () => {
    const report = checkInvariants(
      [
        payment('a', { status: 'CANCELLED', amountCaptured: INR(10_000), amountRefunded: INR(10_000) }),
        payment('b', { status: 'FAILED', amountCaptured: undefined }),
      ],
      [
        order('a', { status: 'FULLY_REFUNDED', preAuth: false, refundedAmount: 6_000, captureCount: 0 }),
        order('b', { status: 'FULLY_REFUNDED', preAuth: false, refundedAmount: 4_000, captureCount: 0 }),
      ],
      NOW,
    );
    expect(report.moneyMismatches).toBe(2);
    expect(report.violations).toEqual([
      expect.stringMatching(/^a: engine net 0 \(captured 10000 − refunded 10000\), sandbox order v1-a net 4000/),
      expect.stringMatching(/^b: engine net 0 \(captured 0 − refunded 0\), sandbox order v1-b net 6000/),
    ]);
    expect(summaryLine(report)).toContain(' money_mismatches=2 ');
  });

  it('catches a second sandbox order for one payment and an order no payment accounts for', () => {
    const report = checkInvariants([payment('a')], [order('a'), order('a', { orderId: 'v1-a-2' }), order('zzz')], NOW);
    expect(report.strayOrders).toBe(2);
  });
});
