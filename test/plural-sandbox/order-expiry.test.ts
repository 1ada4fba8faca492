import { describe, expect, it } from 'vitest';
import { CARDS } from '../support/cards';
import {
  cardPayment,
  fakeClock,
  orderBody,
  pendingOrder,
  sandboxWithWebhooks,
  sleep,
  waitUntil,
  type Api,
  type ReceivedWebhook,
  type WebhookReceiver,
} from './helpers';

/** orderExpirySeconds: an order left unpaid (CREATED or ATTEMPTED) ends FAILED, and its links refuse payment. */

const HOUR = 3_600_000;

// Tokens outlive the default order expiry so a fake clock can move past it.
const setup = sandboxWithWebhooks({ tokenTtlSeconds: 86_400 });

interface WebhookPayload {
  event_type: string;
  data: { order_id: string; status: string };
}
const event = (w: ReceivedWebhook): WebhookPayload => JSON.parse(w.body) as WebhookPayload;
const eventsOf = (hook: WebhookReceiver, orderId: string): string[] =>
  hook.received
    .map(event)
    .filter((e) => e.data.order_id === orderId)
    .map((e) => `${e.event_type}:${e.data.status}`);

async function createdOrder(api: Api, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await api.post('/api/pay/v1/orders', orderBody(overrides));
  expect(res.status).toBe(200);
  return res.body.data.order_id as string;
}

async function checkoutLink(api: Api): Promise<{ orderId: string; redirectUrl: string; token: string }> {
  const res = await api.post('/api/checkout/v1/orders', orderBody());
  expect(res.status).toBe(200);
  return { orderId: res.body.order_id as string, redirectUrl: res.body.redirect_url as string, token: res.body.token };
}

describe('order expiry', () => {
  it('fails a CREATED order at orderExpirySeconds (default 3600) with ORDER_FAILED, on the sandbox clock', async () => {
    const clock = fakeClock();
    const { api, sandbox, hook } = await setup({ now: clock.now });
    const id = await createdOrder(api);
    expect(sandbox.order(id)?.expiresAt).toBe(clock.now() + HOUR);
    clock.advance(HOUR - 1);
    expect((await api.get(`/api/pay/v1/orders/${id}`)).body.data.status).toBe('CREATED');
    clock.advance(1);
    expect((await api.get(`/api/pay/v1/orders/${id}`)).body.data.status).toBe('FAILED');
    expect(sandbox.order(id)).toMatchObject({ status: 'FAILED', expiredAt: clock.now(), paymentAttempts: 0 });
    expect(sandbox.order(id)?.history.map((h) => h.status)).toEqual(['CREATED', 'FAILED']);
    await waitUntil(() => eventsOf(hook, id).length === 1);
    expect(eventsOf(hook, id)).toEqual(['ORDER_FAILED:FAILED']);
  });

  it('fails an ATTEMPTED order (a declined payment, retries left) at expiry', async () => {
    const clock = fakeClock();
    const { api, sandbox, hook } = await setup({ now: clock.now });
    const o = await pendingOrder(api, { card: CARDS.declined });
    await api.post(`/__sandbox/payments/${o.paymentId}/authenticate`, { result: 'approve' });
    expect(sandbox.order(o.orderId)?.status).toBe('ATTEMPTED');
    clock.advance(HOUR);
    const after = await api.get(`/api/pay/v1/orders/${o.orderId}`);
    expect(after.body.data).toMatchObject({ status: 'FAILED', payments: [{ status: 'FAILED' }] });
    await waitUntil(() => eventsOf(hook, o.orderId).length === 2);
    expect(eventsOf(hook, o.orderId)).toEqual(['PAYMENT_FAILED:ATTEMPTED', 'ORDER_FAILED:FAILED']);
  });

  it('refuses a payment on an expired order with 422 INVALID_ORDER_STATUS saying it expired', async () => {
    const clock = fakeClock();
    const { api } = await setup({ now: clock.now });
    const id = await createdOrder(api);
    clock.advance(HOUR);
    const res = await api.post(`/api/pay/v1/orders/${id}/payments`, cardPayment(CARDS.nativeOtp, 50_000));
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('INVALID_ORDER_STATUS');
    expect(res.body.message).toContain('expired');
  });

  it('lets a payment in flight at expiry finish: approved, the order is AUTHORIZED and stays so', async () => {
    const clock = fakeClock();
    const { api, sandbox } = await setup({ now: clock.now, paymentTimeoutSeconds: 900 });
    const id = await createdOrder(api);
    clock.advance(HOUR - 60_000);
    const paid = await api.post(`/api/pay/v1/orders/${id}/payments`, cardPayment(CARDS.challenge, 50_000));
    clock.advance(120_000); // past the order's expiry, within the payment's timeout
    expect((await api.get(`/api/pay/v1/orders/${id}`)).body.data.status).toBe('PENDING');
    const challenge = await fetch(paid.body.data.challenge_url as string);
    expect(challenge.status).toBe(200);
    const done = await api.post(`/__sandbox/payments/${paid.body.data.payments[0].id as string}/authenticate`, {
      result: 'approve',
    });
    expect(done.body.status).toBe('AUTHORIZED');
    clock.advance(HOUR);
    expect(sandbox.order(id)?.status).toBe('AUTHORIZED');
    expect((await api.get(`/api/pay/v1/orders/${id}`)).body.data.status).toBe('AUTHORIZED');
  });

  it('expires the order as soon as a payment in flight at expiry fails', async () => {
    const clock = fakeClock();
    const { api, sandbox, hook } = await setup({ now: clock.now, paymentTimeoutSeconds: 900 });
    const id = await createdOrder(api);
    clock.advance(HOUR - 60_000);
    await api.post(`/api/pay/v1/orders/${id}/payments`, cardPayment(CARDS.challenge, 50_000));
    clock.advance(900_000); // the payment times out after the order's expiry
    expect((await api.get(`/api/pay/v1/orders/${id}`)).body.data.status).toBe('FAILED');
    expect(sandbox.order(id)?.history.map((h) => h.status)).toEqual(['CREATED', 'PENDING', 'ATTEMPTED', 'FAILED']);
    await waitUntil(() => eventsOf(hook, id).length === 2);
    expect(eventsOf(hook, id)).toEqual(['PAYMENT_FAILED:ATTEMPTED', 'ORDER_FAILED:FAILED']);
  });

  it('expires the order in the same step when the customer declines a challenge that outlived the expiry', async () => {
    const clock = fakeClock();
    const { api } = await setup({ now: clock.now });
    const id = await createdOrder(api);
    clock.advance(HOUR - 60_000);
    const paid = await api.post(`/api/pay/v1/orders/${id}/payments`, cardPayment(CARDS.challenge, 50_000));
    clock.advance(120_000);
    const done = await api.post(`/__sandbox/payments/${paid.body.data.payments[0].id as string}/authenticate`, {
      result: 'decline',
    });
    expect(done.body.status).toBe('FAILED');
  });

  it('closes the checkout link with a 410 page and takes no money, and the old challenge link answers 410', async () => {
    const clock = fakeClock();
    const { api, sandbox } = await setup({ now: clock.now });
    const c = await checkoutLink(api);
    const first = await fetch(`${sandbox.baseUrl}/api/v3/checkout-bff/redirect/checkout`, {
      method: 'POST',
      body: new URLSearchParams({ token: c.token, card: 'visa-declined' }),
      redirect: 'manual',
    });
    const challengeUrl = first.headers.get('location')!;
    const paymentId = sandbox.order(c.orderId)!.payments[0]!.id;
    await api.post(`/__sandbox/payments/${paymentId}/authenticate`, { result: 'approve' });
    clock.advance(HOUR);

    const page = await fetch(c.redirectUrl);
    expect(page.status).toBe(410);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('expired');
    const pay = await fetch(`${sandbox.baseUrl}/api/v3/checkout-bff/redirect/checkout`, {
      method: 'POST',
      body: new URLSearchParams({ token: c.token, card: 'visa-native-otp' }),
      redirect: 'manual',
    });
    expect(pay.status).toBe(410);
    expect((await fetch(challengeUrl)).status).toBe(410);
    const approveOld = await fetch(`${sandbox.baseUrl}/web/auth/landing/`, {
      method: 'POST',
      body: new URLSearchParams({ token: new URL(challengeUrl).searchParams.get('token')!, action: 'approve' }),
      redirect: 'manual',
    });
    expect(approveOld.status).toBe(410);
    expect(sandbox.order(c.orderId)).toMatchObject({ status: 'FAILED', authorizedAmount: 0, capturedAmount: 0 });
    expect(sandbox.order(c.orderId)?.payments).toHaveLength(1);
  });

  it('fires on a real timer, sending ORDER_FAILED without any read', async () => {
    const { api, hook } = await setup({ orderExpirySeconds: 0.15 });
    const id = await createdOrder(api);
    await waitUntil(() => eventsOf(hook, id).length === 1);
    expect(eventsOf(hook, id)).toEqual(['ORDER_FAILED:FAILED']);
  });

  it('never expires orders with orderExpirySeconds 0', async () => {
    const clock = fakeClock();
    const { api, sandbox } = await setup({ now: clock.now, orderExpirySeconds: 0 });
    const id = await createdOrder(api);
    clock.advance(20 * HOUR);
    expect((await api.get(`/api/pay/v1/orders/${id}`)).body.data.status).toBe('CREATED');
    expect(sandbox.order(id)?.expiresAt).toBeUndefined();
  });

  it('stop() clears the expiry timers', async () => {
    const { api, sandbox, hook } = await setup({ orderExpirySeconds: 0.1 });
    const id = await createdOrder(api);
    await sandbox.stop();
    await sleep(250);
    expect(sandbox.order(id)?.status).toBe('CREATED');
    expect(hook.received).toHaveLength(0);
  });
});
