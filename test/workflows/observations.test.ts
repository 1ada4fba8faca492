/** What a callback, a webhook or an order read says about a payment (workflows/observations.ts), without Temporal. */
import { describe, expect, it } from 'vitest';
import type { OrderSnapshot } from '../../activities';
import { ORDER_STATUS, WEBHOOK_EVENT } from '../../plural-client';
import type { OrderStatus } from '../../plural-client';
import type { Observation } from '../../workflows/observations';
import { observationFromCallback, observationFromOrder, observationFromWebhook } from '../../workflows/observations';

/** Every status Plural's order can have, and what the workflow must read in it. */
const KIND_OF: Record<OrderStatus, Observation['kind']> = {
  CREATED: 'NONE',
  PENDING: 'NONE',
  AUTHORIZED: 'AUTHORIZED',
  PROCESSED: 'PROCESSED',
  PARTIALLY_CAPTURED: 'PROCESSED',
  PARTIALLY_REFUNDED: 'PROCESSED',
  FULLY_REFUNDED: 'PROCESSED',
  CANCELLED: 'CANCELLED',
  ATTEMPTED: 'FAILED',
  FAILED: 'FAILED',
};

const order = (status: string): OrderSnapshot => ({
  orderId: 'v1-order-1',
  status,
  amount: { value: 10_000, currency: 'INR' },
  payments: [],
  capturedValue: 0,
});

describe('observations', () => {
  it('reads every Plural order status the same way from an order and from a callback', () => {
    expect(Object.keys(KIND_OF).sort()).toEqual(Object.values(ORDER_STATUS).sort());
    for (const [status, kind] of Object.entries(KIND_OF)) {
      expect(observationFromOrder(order(status), 'get order'), status).toMatchObject({ kind, source: 'order' });
      expect(observationFromCallback({ orderId: 'v1-order-1', status }), status).toMatchObject({
        kind,
        source: 'callback',
      });
    }
  });

  it('reads a status it does not know as saying nothing', () => {
    expect(observationFromOrder(order('ON_HOLD'), 'get order').kind).toBe('NONE');
    expect(observationFromCallback({ orderId: 'v1-order-1', status: '' }).kind).toBe('NONE');
  });

  it("fails the attempt on PAYMENT_FAILED only when the order's status says it failed", () => {
    const webhook = (orderStatus: string) =>
      observationFromWebhook({
        webhookId: 'wh-1',
        eventType: WEBHOOK_EVENT.PAYMENT_FAILED,
        orderId: 'v1-order-1',
        orderStatus,
      }).kind;
    expect(webhook(ORDER_STATUS.ATTEMPTED)).toBe('FAILED');
    expect(webhook(ORDER_STATUS.FAILED)).toBe('FAILED');
    expect(webhook(ORDER_STATUS.PENDING)).toBe('NONE');
    expect(webhook(ORDER_STATUS.PROCESSED)).toBe('NONE');
  });
});
