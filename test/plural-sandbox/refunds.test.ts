import { describe, expect, it } from 'vitest';
import {
  authorizedOrder,
  authorizeWithOtp,
  fakeClock,
  orderBody,
  pendingOrder,
  sandboxWithWebhooks,
  sleep,
  uniqueRef,
  waitUntil,
  type Api,
  type ReceivedWebhook,
  type WebhookReceiver,
} from './helpers';

/**
 * Refunds as the facts file describes them: POST /api/pay/v1/refunds/{order_id}, merchant_order_reference as the
 * idempotency key, min ₹1, only on PROCESSED / PARTIALLY_CAPTURED / PARTIALLY_REFUNDED, statuses PENDING,
 * PROCESSED, FAILED, REFUND_PROCESSED / REFUND_FAILED webhooks.
 */

const setup = sandboxWithWebhooks();

interface WebhookPayload {
  event_type: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- order JSON read ad hoc
  data: any;
}
const events = (hook: WebhookReceiver, type: string): WebhookPayload[] =>
  hook.received.map((w: ReceivedWebhook) => JSON.parse(w.body) as WebhookPayload).filter((e) => e.event_type === type);

const refund = (api: Api, orderId: string, value: number, ref: string = uniqueRef('rf')) =>
  api.post(`/api/pay/v1/refunds/${orderId}`, {
    merchant_order_reference: ref,
    order_amount: { value, currency: 'INR' },
  });

/** A PROCESSED pre-auth order (captured in full, or partially with `captured`). */
async function processedOrder(api: Api, captured?: number): Promise<string> {
  const o = await authorizedOrder(api);
  const res = await api.put(`/api/pay/v1/orders/${o.orderId}/capture`, {
    merchant_capture_reference: uniqueRef('cap'),
    ...(captured === undefined ? {} : { capture_amount: { value: captured, currency: 'INR' } }),
  });
  expect(res.status).toBe(200);
  return o.orderId;
}

describe('refunds', () => {
  it('creates a REFUND order readable by id and by reference; the parent goes PARTIALLY_ then FULLY_REFUNDED', async () => {
    const { api } = await setup();
    const parent = await processedOrder(api);
    const ref = uniqueRef('rf');
    const first = await refund(api, parent, 10_000, ref);
    expect(first.status).toBe(200);
    const refundId = first.body.data.order_id as string;
    const byId = await api.get(`/api/pay/v1/orders/${refundId}`);
    expect(byId.status).toBe(200);
    expect(byId.body.data).toMatchObject({
      order_id: refundId,
      type: 'REFUND',
      parent_order_id: parent,
      merchant_order_reference: ref,
      status: 'PROCESSED',
      order_amount: { value: 10_000, currency: 'INR' },
      payments: [{ status: 'PROCESSED', payment_amount: { value: 10_000, currency: 'INR' } }],
    });
    expect((await api.get(`/api/pay/v1/orders/reference/${ref}`)).body.data.order_id).toBe(refundId);
    expect((await api.get(`/api/pay/v1/orders/${parent}`)).body.data.status).toBe('PARTIALLY_REFUNDED');
    expect((await refund(api, parent, 40_000)).status).toBe(200);
    expect((await api.get(`/api/pay/v1/orders/${parent}`)).body.data.status).toBe('FULLY_REFUNDED');
  });

  it('sends REFUND_PROCESSED carrying the refund order', async () => {
    const { api, hook } = await setup();
    const parent = await processedOrder(api);
    const res = await refund(api, parent, 2_500);
    await waitUntil(() => events(hook, 'REFUND_PROCESSED').length === 1);
    expect(events(hook, 'REFUND_PROCESSED')[0]?.data).toMatchObject({
      order_id: res.body.data.order_id,
      type: 'REFUND',
      parent_order_id: parent,
      status: 'PROCESSED',
      order_amount: { value: 2_500, currency: 'INR' },
    });
  });

  it('is idempotent on merchant_order_reference: a repeat returns the same refund, refunds once, notifies once', async () => {
    const { api, sandbox, hook } = await setup();
    const parent = await processedOrder(api);
    const ref = uniqueRef('rf');
    const a = await refund(api, parent, 5_000, ref);
    const b = await refund(api, parent, 5_000, ref);
    expect(b.status).toBe(200);
    expect(b.body.data).toEqual(a.body.data);
    expect(sandbox.order(parent)).toMatchObject({ refundedAmount: 5_000, refundIds: [a.body.data.order_id] });
    await sleep(100);
    expect(events(hook, 'REFUND_PROCESSED')).toHaveLength(1);
  });

  it('refuses a reference reused with another amount, on another order, or taken by an order (DUPLICATE_REQUEST)', async () => {
    const { api } = await setup();
    const parent = await processedOrder(api);
    const other = await processedOrder(api);
    const ref = uniqueRef('rf');
    await refund(api, parent, 5_000, ref);
    for (const res of [await refund(api, parent, 6_000, ref), await refund(api, other, 5_000, ref)]) {
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('DUPLICATE_REQUEST');
    }
    const orderRef = uniqueRef('order');
    expect((await api.post('/api/pay/v1/orders', orderBody({ merchant_order_reference: orderRef }))).status).toBe(200);
    expect((await refund(api, parent, 1_000, orderRef)).body.code).toBe('DUPLICATE_REQUEST');
    const takenByRefund = await api.post('/api/pay/v1/orders', orderBody({ merchant_order_reference: ref }));
    expect(takenByRefund.status).toBe(422);
    expect(takenByRefund.body.code).toBe('DUPLICATE_REQUEST');
  });

  it('refuses more than captured − refunded (422 AMOUNT_LIMIT_EXCEEDED) and less than ₹1 (400)', async () => {
    const { api, sandbox } = await setup();
    const parent = await processedOrder(api, 20_000);
    expect((await refund(api, parent, 15_000)).status).toBe(200);
    const over = await refund(api, parent, 5_001);
    expect(over.status).toBe(422);
    expect(over.body.code).toBe('AMOUNT_LIMIT_EXCEEDED');
    expect(over.body.message).toContain('5000');
    const tiny = await refund(api, parent, 99);
    expect(tiny.status).toBe(400);
    expect(tiny.body.code).toBe('INVALID_REQUEST');
    expect((await refund(api, parent, 5_000)).status).toBe(200);
    expect(sandbox.order(parent)).toMatchObject({ status: 'FULLY_REFUNDED', refundedAmount: 20_000 });
  });

  it('refuses a refund unless the order is PROCESSED, PARTIALLY_CAPTURED or PARTIALLY_REFUNDED', async () => {
    const { api } = await setup();
    const authorized = await authorizedOrder(api);
    const cancelled = await authorizedOrder(api);
    await api.put(`/api/pay/v1/orders/${cancelled.orderId}/cancel`);
    const full = await processedOrder(api);
    const refunded = await refund(api, full, 50_000);
    const pending = await pendingOrder(api);
    for (const id of [
      authorized.orderId,
      cancelled.orderId,
      full,
      refunded.body.data.order_id as string,
      pending.orderId,
    ]) {
      const res = await refund(api, id, 100);
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('INVALID_ORDER_STATUS');
    }
    const partial = await processedOrder(api, 30_000);
    expect((await refund(api, partial, 1_000)).status).toBe(200);
    const sale = await pendingOrder(api, { preAuth: false });
    await authorizeWithOtp(api, sale.paymentId);
    expect((await refund(api, sale.orderId, 1_000)).status).toBe(200);
  });
});

describe('refunds that stay PENDING first (refundPendingMs)', () => {
  it('answers PENDING, then PROCESSED after the delay with REFUND_PROCESSED, and only then moves the parent', async () => {
    const { api, sandbox, hook } = await setup({ refundPendingMs: 150 });
    const parent = await processedOrder(api);
    const res = await refund(api, parent, 50_000);
    expect(res.body.data).toMatchObject({ status: 'PENDING', payments: [{ status: 'PENDING' }] });
    const id = res.body.data.order_id as string;
    expect(sandbox.order(parent)).toMatchObject({
      status: 'PROCESSED',
      refundedAmount: 0,
      refundPendingAmount: 50_000,
    });
    await waitUntil(() => events(hook, 'REFUND_PROCESSED').length === 1);
    expect(events(hook, 'REFUND_PROCESSED')[0]?.data).toMatchObject({ order_id: id, status: 'PROCESSED' });
    expect((await api.get(`/api/pay/v1/orders/${id}`)).body.data.status).toBe('PROCESSED');
    expect(sandbox.order(parent)).toMatchObject({
      status: 'FULLY_REFUNDED',
      refundedAmount: 50_000,
      refundPendingAmount: 0,
    });
  });

  it('reserves a PENDING refund: a repeat returns it, and refunds beyond the rest are refused meanwhile', async () => {
    const { api } = await setup({ refundPendingMs: 60_000 });
    const parent = await processedOrder(api);
    const ref = uniqueRef('rf');
    const a = await refund(api, parent, 30_000, ref);
    const again = await refund(api, parent, 30_000, ref);
    expect(again.body.data).toMatchObject({ order_id: a.body.data.order_id, status: 'PENDING' });
    expect((await refund(api, parent, 20_001)).body.code).toBe('AMOUNT_LIMIT_EXCEEDED');
    expect((await refund(api, parent, 20_000)).status).toBe(200);
  });

  it('follows the sandbox clock: reading the parent after the delay sees it refunded', async () => {
    const clock = fakeClock();
    const { api } = await setup({ refundPendingMs: 60_000, now: clock.now });
    const parent = await processedOrder(api);
    const id = (await refund(api, parent, 10_000)).body.data.order_id as string;
    clock.advance(59_999);
    expect((await api.get(`/api/pay/v1/orders/${parent}`)).body.data.status).toBe('PROCESSED');
    clock.advance(1);
    expect((await api.get(`/api/pay/v1/orders/${parent}`)).body.data.status).toBe('PARTIALLY_REFUNDED');
    expect((await api.get(`/api/pay/v1/orders/${id}`)).body.data.status).toBe('PROCESSED');
  });

  it('lets the control API decide the outcome of a refund whose delay has passed on a fake clock', async () => {
    const clock = fakeClock();
    const { api, sandbox } = await setup({ refundPendingMs: 60_000, now: clock.now });
    const parent = await processedOrder(api);
    const id = (await refund(api, parent, 10_000)).body.data.order_id as string;
    clock.advance(60_000);
    expect(sandbox.settle(id, 'failed')).toMatchObject({ status: 'FAILED' });
    expect(sandbox.order(parent)).toMatchObject({ status: 'PROCESSED', refundedAmount: 0, refundPendingAmount: 0 });
  });

  it('settles at once through the control API, or fails the refund (REFUND_FAILED, amount refundable again)', async () => {
    const { api, sandbox, hook } = await setup({ refundPendingMs: 60_000 });
    const parent = await processedOrder(api);
    const ok = (await refund(api, parent, 10_000)).body.data.order_id as string;
    const settled = await api.post(`/__sandbox/orders/${ok}/settle`);
    expect(settled.body).toMatchObject({ orderId: ok, type: 'REFUND', status: 'PROCESSED' });

    const bad = (await refund(api, parent, 40_000)).body.data.order_id as string;
    const failed = await api.post(`/__sandbox/orders/${bad}/settle`, { outcome: 'failed' });
    expect(failed.body).toMatchObject({ orderId: bad, status: 'FAILED', payments: [{ errorCode: 'REFUND_FAILED' }] });
    expect((await api.get(`/api/pay/v1/orders/${bad}`)).body.data.status).toBe('FAILED');
    expect(sandbox.order(parent)).toMatchObject({
      status: 'PARTIALLY_REFUNDED',
      refundedAmount: 10_000,
      refundPendingAmount: 0,
    });
    await waitUntil(() => events(hook, 'REFUND_FAILED').length === 1);
    expect(events(hook, 'REFUND_FAILED')[0]?.data).toMatchObject({ order_id: bad, status: 'FAILED' });
    expect((await refund(api, parent, 40_000)).status).toBe(200);
  });

  it('refuses to fail anything but a PENDING refund', async () => {
    const { api } = await setup({ refundPendingMs: 60_000, saleSettlement: { throughAuthorized: true } });
    const sale = await pendingOrder(api, { preAuth: false });
    await authorizeWithOtp(api, sale.paymentId);
    const res = await api.post(`/__sandbox/orders/${sale.orderId}/settle`, { outcome: 'failed' });
    expect(res.status).toBe(422);
    expect((await api.post(`/__sandbox/orders/${sale.orderId}/settle`, { outcome: 'maybe' })).status).toBe(400);
  });
});
