import { describe, expect, it } from 'vitest';
import { CARDS } from '../support/cards';
import {
  answerChallenge,
  checkout,
  parseForm,
  payOnPage,
  sandboxWithWebhooks,
  uniqueRef,
  waitUntil,
  type Api,
  type ReceivedWebhook,
  type WebhookReceiver,
} from './helpers';

/** A customer on the hosted checkout page: a declined card, then a good one on the SAME link. */

const setup = sandboxWithWebhooks();

interface WebhookPayload {
  event_type: string;
  data: { order_id: string; status: string; payment_retries_remaining?: number };
}
const event = (w: ReceivedWebhook): WebhookPayload => JSON.parse(w.body) as WebhookPayload;
const eventsOf = (hook: WebhookReceiver, orderId: string): WebhookPayload[] =>
  hook.received.map(event).filter((e) => e.data.order_id === orderId);
const summary = (events: WebhookPayload[]): string[] => events.map((e) => `${e.event_type}:${e.data.status}`);

/** The callback's payment status, whichever field name the sandbox is configured to send. */
const callbackStatus = (fields: Record<string, string>): string | undefined => fields.payment_status ?? fields.status;

const payWithControl = (api: Api, token: string, card: string, result?: 'approve' | 'decline') =>
  api.post(`/__sandbox/checkout/${encodeURIComponent(token)}/payments`, { card, ...(result ? { result } : {}) });

describe('retry on the hosted checkout page after a decline', () => {
  it('sale: declined card leaves the order ATTEMPTED, a good card on the same link takes it to PROCESSED', async () => {
    const { api, sandbox, hook } = await setup();
    const c = await checkout(api, { pre_auth: false });

    const first = await payOnPage(sandbox.baseUrl, c.token, 'visa-declined');
    expect(first.status).toBe(303);
    const failed = parseForm(await (await answerChallenge(first.headers.get('location')!, 'approve')).text());
    expect(failed.action).toBe('https://merchant.example/failure');
    expect(callbackStatus(failed.fields)).toBe('FAILED');
    expect(failed.fields.error_code).toBe('PAYMENT_DECLINED');
    const attempted = await api.get(`/api/pay/v1/orders/${c.orderId}`);
    expect(attempted.body.data).toMatchObject({
      status: 'ATTEMPTED',
      payment_retries_remaining: 2,
      payments: [{ status: 'FAILED', error_detail: { code: 'PAYMENT_DECLINED' } }],
    });

    const page = await fetch(c.redirectUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('visa-native-otp');
    const second = await payOnPage(sandbox.baseUrl, c.token, 'visa-native-otp');
    expect(second.status).toBe(303);
    const ok = parseForm(await (await answerChallenge(second.headers.get('location')!, 'approve')).text());
    expect(ok.action).toBe('https://merchant.example/callback');
    expect(callbackStatus(ok.fields)).toBe('PROCESSED');

    const processed = await api.get(`/api/pay/v1/orders/${c.orderId}`);
    expect(processed.body.data).toMatchObject({
      status: 'PROCESSED',
      payment_retries_remaining: 1,
      payments: [{ status: 'FAILED' }, { status: 'PROCESSED' }],
    });
    await waitUntil(() => eventsOf(hook, c.orderId).length === 2);
    const events = eventsOf(hook, c.orderId);
    expect(summary(events)).toEqual(['PAYMENT_FAILED:ATTEMPTED', 'ORDER_PROCESSED:PROCESSED']);
    expect(events[0]?.data.payment_retries_remaining).toBe(2);
    expect(sandbox.order(c.orderId)).toMatchObject({ paymentAttempts: 2, capturedAmount: 50_000 });
  });

  it('pre-auth through the control API: decline, then AUTHORIZED on the same link, then a capture', async () => {
    const { api, hook } = await setup();
    const c = await checkout(api, { pre_auth: true });
    const declined = await payWithControl(api, c.token, 'visa-declined', 'approve');
    expect(declined.status).toBe(200);
    expect(declined.body).toMatchObject({ order_id: c.orderId, status: 'ATTEMPTED' });
    expect(callbackStatus(declined.body.callback.fields as Record<string, string>)).toBe('FAILED');

    const good = await payWithControl(api, c.token, 'mastercard-challenge', 'approve');
    expect(good.body).toMatchObject({ order_id: c.orderId, status: 'AUTHORIZED' });
    expect(good.body.payment_id).not.toBe(declined.body.payment_id);
    expect(callbackStatus(good.body.callback.fields as Record<string, string>)).toBe('AUTHORIZED');
    await waitUntil(() => eventsOf(hook, c.orderId).length === 2);
    expect(summary(eventsOf(hook, c.orderId))).toEqual(['PAYMENT_FAILED:ATTEMPTED', 'ORDER_AUTHORIZED:AUTHORIZED']);

    const capture = await api.put(`/api/pay/v1/orders/${c.orderId}/capture`, {
      merchant_capture_reference: uniqueRef('cap'),
    });
    expect(capture.status).toBe(200);
    expect(capture.body.data.status).toBe('PROCESSED');
  });

  it('control API without result: answers a live challenge_url and leaves the payment PENDING', async () => {
    const { api, sandbox } = await setup();
    const c = await checkout(api);
    const res = await payWithControl(api, c.token, 'visa-native-otp');
    expect(res.body).toMatchObject({ order_id: c.orderId, status: 'PENDING' });
    expect((await fetch(res.body.challenge_url as string)).status).toBe(200);
    expect(sandbox.order(c.orderId)?.payments[0]).toMatchObject({ id: res.body.payment_id, status: 'PENDING' });
    expect((await payWithControl(api, c.token, 'visa-native-otp')).status).toBe(422);
  });

  it('control API refuses an unknown link (404) and an unknown test card (400)', async () => {
    const { api } = await setup();
    const c = await checkout(api);
    expect((await payWithControl(api, 'no-such-token', 'visa-native-otp')).status).toBe(404);
    const bad = await payWithControl(api, c.token, '4111111111111111');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_REQUEST');
  });

  it('closes the link once the retries are used up: order FAILED with ORDER_FAILED, page 409', async () => {
    const { api, hook } = await setup({ maxPaymentAttempts: 2 });
    const c = await checkout(api);
    await payWithControl(api, c.token, 'visa-declined', 'approve');
    const last = await payWithControl(api, c.token, 'visa-insufficient-funds', 'approve');
    expect(last.body.status).toBe('FAILED');
    expect((await fetch(c.redirectUrl)).status).toBe(409);
    expect((await payWithControl(api, c.token, 'visa-native-otp', 'approve')).status).toBe(422);
    await waitUntil(() => eventsOf(hook, c.orderId).length === 3);
    expect(summary(eventsOf(hook, c.orderId))).toEqual([
      'PAYMENT_FAILED:ATTEMPTED',
      'PAYMENT_FAILED:FAILED',
      'ORDER_FAILED:FAILED',
    ]);
  });
});

describe('pre-auth hosted checkout accepts cards only', () => {
  const allMethods = ['CARD', 'UPI', 'NETBANKING', 'POINTS', 'WALLET'];

  it('limits allowed_payment_methods to CARD (default drop), refuses a POINTS payment, and cancels', async () => {
    const { api } = await setup();
    const c = await checkout(api, { pre_auth: true, allowed_payment_methods: allMethods });
    const order = await api.get(`/api/pay/v1/orders/${c.orderId}`);
    expect(order.body.data).toMatchObject({ pre_auth: true, allowed_payment_methods: ['CARD'] });
    const points = await api.post(`/api/pay/v1/orders/${c.orderId}/payments`, {
      payments: [
        {
          payment_method: 'CARD',
          payment_amount: { value: 20_000, currency: 'INR' },
          payment_option: {
            card_details: { card_number: CARDS.nativeOtp, cvv: '123', expiry_month: '12', expiry_year: '2099' },
          },
        },
        {
          payment_method: 'POINTS',
          payment_amount: { value: 30_000, currency: 'INR' },
          payment_option: { points_card_details: { card_number: CARDS.nativeOtp } },
        },
      ],
    });
    expect(points.status).toBe(400);
    expect(points.body.message).toContain('POINTS');

    const paid = await payWithControl(api, c.token, 'visa-native-otp', 'approve');
    expect(paid.body.status).toBe('AUTHORIZED');
    const cancel = await api.put(`/api/pay/v1/orders/${c.orderId}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.data.status).toBe('CANCELLED');
  });

  it('omitting allowed_payment_methods still gives a CARD-only pre-auth checkout', async () => {
    const { api } = await setup();
    const c = await checkout(api, { pre_auth: true });
    expect((await api.get(`/api/pay/v1/orders/${c.orderId}`)).body.data.allowed_payment_methods).toEqual(['CARD']);
  });

  it('leaves a sale checkout (pre_auth false) with the methods it asked for', async () => {
    const { api } = await setup();
    const c = await checkout(api, { pre_auth: false, allowed_payment_methods: allMethods });
    expect((await api.get(`/api/pay/v1/orders/${c.orderId}`)).body.data.allowed_payment_methods).toEqual(allMethods);
  });

  it('with checkoutPreAuthOtherMethods reject, refuses other methods with 400 INVALID_REQUEST', async () => {
    const { api } = await setup({ checkoutPreAuthOtherMethods: 'reject' });
    const refused = await api.post('/api/checkout/v1/orders', {
      merchant_order_reference: uniqueRef('co'),
      order_amount: { value: 50_000, currency: 'INR' },
      pre_auth: true,
      allowed_payment_methods: ['CARD', 'UPI'],
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(refused.body.message).toContain('UPI');
    const cardOnly = await checkout(api, { pre_auth: true, allowed_payment_methods: ['CARD'] });
    expect(cardOnly.orderId).toMatch(/^v1-/);
  });
});
