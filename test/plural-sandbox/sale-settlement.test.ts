import { describe, expect, it } from 'vitest';
import type { SandboxOptions } from '../../plural-sandbox';
import {
  authorizeWithOtp,
  fakeClock,
  pendingOrder,
  sandboxWithWebhooks,
  sleep,
  uniqueRef,
  waitUntil,
  type ReceivedWebhook,
  type WebhookReceiver,
} from './helpers';

/** saleSettlement.throughAuthorized: a sale (pre_auth false) reports AUTHORIZED, then PROCESSED, as Plural's may. */

const setup = sandboxWithWebhooks();

interface WebhookPayload {
  event_type: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- order JSON read ad hoc
  data: any;
}
const event = (w: ReceivedWebhook): WebhookPayload => JSON.parse(w.body) as WebhookPayload;
const eventsOf = (hook: WebhookReceiver, orderId: string): string[] =>
  hook.received
    .map(event)
    .filter((e) => e.data.order_id === orderId)
    .map((e) => `${e.event_type}:${e.data.status as string}`);

const sale = (delayMs: number): SandboxOptions => ({ saleSettlement: { throughAuthorized: true, delayMs } });

describe('a sale passing through AUTHORIZED', () => {
  it('reports AUTHORIZED (order, payment, webhook, callback), then PROCESSED with capture_data after the delay', async () => {
    const { api, sandbox, hook } = await setup(sale(150));
    const o = await pendingOrder(api, { preAuth: false });
    const done = await api.post(`/__sandbox/payments/${o.paymentId}/authenticate`, { result: 'approve' });
    expect(done.body.status).toBe('AUTHORIZED');
    expect(Object.values(done.body.callback.fields as Record<string, string>)).toContain('AUTHORIZED');
    const authorized = await api.get(`/api/pay/v1/orders/${o.orderId}`);
    expect(authorized.body.data).toMatchObject({ status: 'AUTHORIZED', pre_auth: false });
    expect(authorized.body.data.payments[0].status).toBe('AUTHORIZED');
    expect(authorized.body.data.payments[0].capture_data).toBeUndefined();
    expect(sandbox.order(o.orderId)).toMatchObject({ authorizedAmount: 50_000, capturedAmount: 0 });

    await waitUntil(() => eventsOf(hook, o.orderId).length === 2);
    expect(eventsOf(hook, o.orderId)).toEqual(['ORDER_AUTHORIZED:AUTHORIZED', 'ORDER_PROCESSED:PROCESSED']);
    const processed = hook.received.map(event).find((e) => e.event_type === 'ORDER_PROCESSED');
    expect(processed?.data.payments[0]).toMatchObject({
      status: 'PROCESSED',
      capture_data: [{ capture_amount: { value: 50_000, currency: 'INR' } }],
    });
    expect(sandbox.order(o.orderId)).toMatchObject({
      status: 'PROCESSED',
      capturedAmount: 50_000,
      captureCount: 0,
      settleAt: undefined,
    });
    expect(sandbox.order(o.orderId)?.history.map((h) => h.status)).toEqual([
      'CREATED',
      'PENDING',
      'AUTHORIZED',
      'PROCESSED',
    ]);
  });

  it('refuses capture and cancel of the sale while AUTHORIZED (422 INVALID_ORDER_STATUS), and still settles it', async () => {
    const { api, sandbox } = await setup(sale(60_000));
    const o = await pendingOrder(api, { preAuth: false });
    await authorizeWithOtp(api, o.paymentId);
    const capture = await api.put(`/api/pay/v1/orders/${o.orderId}/capture`, {
      merchant_capture_reference: uniqueRef('cap'),
    });
    expect(capture.status).toBe(422);
    expect(capture.body.code).toBe('INVALID_ORDER_STATUS');
    expect(capture.body.message).toContain('pre-auth');
    const cancel = await api.put(`/api/pay/v1/orders/${o.orderId}/cancel`);
    expect(cancel.status).toBe(422);
    expect(cancel.body.code).toBe('INVALID_ORDER_STATUS');
    expect(sandbox.order(o.orderId)).toMatchObject({ status: 'AUTHORIZED', captureAttempts: 0, cancelCount: 0 });
    expect(sandbox.settle(o.orderId).status).toBe('PROCESSED');
  });

  it('refuses a refund until the sale is PROCESSED', async () => {
    const { api, sandbox } = await setup(sale(60_000));
    const o = await pendingOrder(api, { preAuth: false });
    await authorizeWithOtp(api, o.paymentId);
    const body = { merchant_order_reference: uniqueRef('rf'), order_amount: { value: 1_000, currency: 'INR' } };
    expect((await api.post(`/api/pay/v1/refunds/${o.orderId}`, body)).status).toBe(422);
    sandbox.settle(o.orderId);
    expect((await api.post(`/api/pay/v1/refunds/${o.orderId}`, body)).status).toBe(200);
  });

  it('settles at once through the control API, which refuses an order with nothing waiting', async () => {
    const { api } = await setup(sale(60_000));
    const o = await pendingOrder(api, { preAuth: false });
    await authorizeWithOtp(api, o.paymentId);
    const settled = await api.post(`/__sandbox/orders/${o.orderId}/settle`);
    expect(settled.status).toBe(200);
    expect(settled.body).toMatchObject({ orderId: o.orderId, status: 'PROCESSED', capturedAmount: 50_000 });
    expect((await api.get(`/api/pay/v1/orders/${o.orderId}`)).body.data.status).toBe('PROCESSED');
    const again = await api.post(`/__sandbox/orders/${o.orderId}/settle`);
    expect(again.status).toBe(422);
    expect(again.body.code).toBe('INVALID_ORDER_STATUS');
    expect((await api.post('/__sandbox/orders/v1-unknown/settle')).status).toBe(404);
  });

  it('follows the sandbox clock: a read after the delay on a fake clock sees PROCESSED', async () => {
    const clock = fakeClock();
    const { api } = await setup({ ...sale(600_000), now: clock.now });
    const o = await pendingOrder(api, { preAuth: false });
    await authorizeWithOtp(api, o.paymentId);
    clock.advance(599_999);
    expect((await api.get(`/api/pay/v1/orders/${o.orderId}`)).body.data.status).toBe('AUTHORIZED');
    clock.advance(1);
    expect((await api.get(`/api/pay/v1/orders/${o.orderId}`)).body.data.status).toBe('PROCESSED');
  });

  it('leaves pre-auth orders alone: they stay AUTHORIZED for the merchant to capture', async () => {
    const { api, sandbox } = await setup(sale(0));
    const o = await pendingOrder(api, { preAuth: true });
    await authorizeWithOtp(api, o.paymentId);
    await sleep(50);
    expect(sandbox.order(o.orderId)).toMatchObject({ status: 'AUTHORIZED', settleAt: undefined });
  });

  it('stop() cancels the settlement timer', async () => {
    const { api, sandbox, hook } = await setup(sale(100));
    const o = await pendingOrder(api, { preAuth: false });
    await authorizeWithOtp(api, o.paymentId);
    await sandbox.stop();
    await sleep(250);
    expect(sandbox.order(o.orderId)?.status).toBe('AUTHORIZED');
    expect(eventsOf(hook, o.orderId)).not.toContain('ORDER_PROCESSED:PROCESSED');
  });
});
