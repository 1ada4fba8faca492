/** What Plural's order says, in the workflow's terms (workflows/plural-order.ts), without Temporal. */
import { describe, expect, it } from 'vitest';
import type { OrderSnapshot } from '../../activities';
import { ORDER_STATUS } from '../../plural-client';
import type { OrderStatus } from '../../plural-client';
import { failureOf, isFinalStage, stageOf } from '../../workflows/plural-order';
import type { OrderStage } from '../../workflows/plural-order';

/** Every status Plural's order can have, and the stage the workflow must read in it. */
const STAGE_OF: Record<OrderStatus, OrderStage> = {
  CREATED: 'OPEN',
  PENDING: 'OPEN',
  AUTHORIZED: 'AUTHORIZED',
  PROCESSED: 'CAPTURED',
  PARTIALLY_CAPTURED: 'CAPTURED',
  PARTIALLY_REFUNDED: 'CAPTURED',
  FULLY_REFUNDED: 'REFUNDED',
  CANCELLED: 'CANCELLED',
  ATTEMPTED: 'ATTEMPT_FAILED',
  FAILED: 'FAILED',
};

const order = (payments: OrderSnapshot['payments']): OrderSnapshot => ({
  orderId: 'v1-order-1',
  status: 'FAILED',
  amount: { value: 10_000, currency: 'INR' },
  payments,
  capturedValue: 0,
});

describe("Plural's order in the workflow's terms", () => {
  it('reads every Plural order status, and one it does not know as nothing decided', () => {
    expect(Object.keys(STAGE_OF).sort()).toEqual(Object.values(ORDER_STATUS).sort());
    for (const [status, stage] of Object.entries(STAGE_OF)) expect(stageOf(status), status).toBe(stage);
    expect(stageOf('ON_HOLD')).toBe('OPEN');
    expect(stageOf('')).toBe('OPEN');
  });

  it('counts an order final only once it can take no more money without the engine', () => {
    const finals = Object.values(STAGE_OF).filter((stage) => isFinalStage(stage));
    expect([...new Set(finals)].sort()).toEqual(['CANCELLED', 'FAILED', 'REFUNDED']);
  });

  it("takes the payment's failure from the latest failed payment that carries a code", () => {
    const failed = (id: string, errorCode?: string): OrderSnapshot['payments'][number] => ({
      id,
      method: 'CARD',
      status: 'FAILED',
      amount: { value: 10_000, currency: 'INR' },
      capturedValue: 0,
      errorCode,
      errorMessage: undefined,
    });
    expect(failureOf(order([failed('p1', 'FIRST'), failed('p2', 'SECOND')]))).toEqual({
      code: 'SECOND',
      message: 'Plural reported the payment as failed',
    });
    expect(failureOf(order([failed('p1', 'FIRST'), failed('p2')]))?.code).toBe('FIRST');
    expect(failureOf(order([]))).toBeUndefined();
  });
});
