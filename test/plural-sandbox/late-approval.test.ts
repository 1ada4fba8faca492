import { describe, expect, it } from 'vitest';
import { CARDS } from '../support/cards';
import {
  answerChallenge,
  authorizeWithOtp,
  checkout,
  fakeClock,
  orderBody,
  parseForm,
  payOnPage,
  pendingOrder,
  sandboxWithWebhooks,
  waitUntil,
  type Api,
  type ReceivedWebhook,
  type WebhookReceiver,
} from './helpers';

/**
 * Plural documents cancel ONLY for AUTHORIZED orders ("You can only cancel an order when the order status is
 * authorized"). A merchant that gives up on an unpaid order therefore cannot stop it: a pending challenge or an
 * unused checkout link can still take money until the payment times out or the order expires. The engine must
 * handle that late approval; these tests pin the sandbox to it.
 */

const setup = sandboxWithWebhooks();

interface WebhookPayload {
  event_type: string;
  data: { order_id: string; status: string };
}
const eventsOf = (hook: WebhookReceiver, orderId: string): string[] =>
  hook.received
    .map((w: ReceivedWebhook) => JSON.parse(w.body) as WebhookPayload)
    .filter((e) => e.data.order_id === orderId)
    .map((e) => `${e.event_type}:${e.data.status}`);

async function giveUp(api: Api, orderId: string): Promise<void> {
  const res = await api.put(`/api/pay/v1/orders/${orderId}/cancel`);
  expect(res.status).toBe(422);
  expect(res.body.code).toBe('INVALID_ORDER_STATUS');
}

describe('the merchant cannot cancel an unpaid order, so money can still be taken after it gave up', () => {
  it('refuses cancel of CREATED, PENDING and ATTEMPTED orders with 422 INVALID_ORDER_STATUS, changing nothing', async () => {
    const { api, sandbox } = await setup();
    const created = await api.post('/api/pay/v1/orders', orderBody());
    const pending = await pendingOrder(api);
    const attempted = await pendingOrder(api, { card: CARDS.declined });
    await api.post(`/__sandbox/payments/${attempted.paymentId}/authenticate`, { result: 'approve' });
    const ids = [created.body.data.order_id as string, pending.orderId, attempted.orderId];
    for (const id of ids) await giveUp(api, id);
    expect(ids.map((id) => sandbox.order(id)?.status)).toEqual(['CREATED', 'PENDING', 'ATTEMPTED']);
    expect(ids.map((id) => sandbox.order(id)?.cancelCount)).toEqual([0, 0, 0]);
  });

  it('a pending challenge approved after the refused cancel authorizes the pre-auth order (ORDER_AUTHORIZED)', async () => {
    const { api, sandbox, hook } = await setup();
    const o = await pendingOrder(api, { card: CARDS.challenge, preAuth: true });
    await giveUp(api, o.orderId);
    expect((await fetch(o.challengeUrl)).status).toBe(200);
    const done = parseForm(await (await answerChallenge(o.challengeUrl, 'approve')).text());
    expect(done.action).toBe('https://merchant.example/callback');
    expect(sandbox.order(o.orderId)).toMatchObject({ status: 'AUTHORIZED', authorizedAmount: 50_000 });
    await waitUntil(() => eventsOf(hook, o.orderId).length === 1);
    expect(eventsOf(hook, o.orderId)).toEqual(['ORDER_AUTHORIZED:AUTHORIZED']);
    // Only now can the merchant release the money.
    expect((await api.put(`/api/pay/v1/orders/${o.orderId}/cancel`)).status).toBe(200);
  });

  it('a sale authenticated by native OTP after the refused cancel is PROCESSED: the money is taken', async () => {
    const { api, sandbox, hook } = await setup();
    const o = await pendingOrder(api, { preAuth: false });
    await giveUp(api, o.orderId);
    await authorizeWithOtp(api, o.paymentId);
    expect(sandbox.order(o.orderId)).toMatchObject({ status: 'PROCESSED', capturedAmount: 50_000 });
    await waitUntil(() => eventsOf(hook, o.orderId).length === 1);
    expect(eventsOf(hook, o.orderId)).toEqual(['ORDER_PROCESSED:PROCESSED']);
  });

  it('an unused checkout link paid after the refused cancel takes the money', async () => {
    const { api, sandbox, hook } = await setup();
    const c = await checkout(api, { pre_auth: false });
    await giveUp(api, c.orderId);
    const pay = await payOnPage(sandbox.baseUrl, c.token, 'visa-native-otp');
    expect(pay.status).toBe(303);
    await answerChallenge(pay.headers.get('location')!, 'approve');
    expect(sandbox.order(c.orderId)).toMatchObject({ status: 'PROCESSED', capturedAmount: 50_000 });
    await waitUntil(() => eventsOf(hook, c.orderId).length === 1);
    expect(eventsOf(hook, c.orderId)).toEqual(['ORDER_PROCESSED:PROCESSED']);
  });

  it('the challenge stays live until the payment timeout, and the checkout link until the order expiry', async () => {
    const clock = fakeClock();
    const { api, sandbox } = await setup({
      now: clock.now,
      paymentTimeoutSeconds: 900,
      orderExpirySeconds: 3600,
      tokenTtlSeconds: 86_400,
    });
    const o = await pendingOrder(api, { card: CARDS.challenge });
    const c = await checkout(api);
    await giveUp(api, o.orderId);
    await giveUp(api, c.orderId);
    clock.advance(899_999);
    expect((await answerChallenge(o.challengeUrl, 'approve')).status).toBe(200);
    expect(sandbox.order(o.orderId)?.status).toBe('AUTHORIZED');
    clock.advance(3_600_000 - 899_999 - 1);
    expect((await fetch(c.redirectUrl)).status).toBe(200);
    clock.advance(1);
    expect((await fetch(c.redirectUrl)).status).toBe(410);
  });
});
