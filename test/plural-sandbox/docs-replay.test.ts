/* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return -- tests walk untyped JSON responses */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../plural-sandbox';
import { CARDS } from '../support/cards';
import { docExchange } from './docs';
import type { Api } from './helpers';
import { fakeClock, startWithApi, uniqueRef } from './helpers';
import { shapeDifferences } from './shape';

/**
 * Replays the request bodies of Plural's guides (test/fixtures/plural-docs) against the sandbox and checks every documented response key
 * comes back with the documented JSON type. Substitutions are limited to what a replay needs: our credentials, ids
 * the sandbox generated, a unique merchant_order_reference, and amounts/cards where the guides contradict themselves
 * (noted at each place). 3ds-native-otp-authorization.md is a rendered copy of native-otp.md without code fences.
 */

const clock = fakeClock('2025-06-01T00:00:00.000Z'); // the pay-by-points guide's card expires 12/2025
let sandbox: RunningSandbox;
let api: Api;

beforeEach(async () => {
  ({ sandbox, api } = await startWithApi({ now: clock.now }));
});
afterEach(async () => {
  await sandbox.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documented JSON is walked ad hoc
type Json = Record<string, any>;
const clone = <T>(v: T): T => structuredClone(v);
const withRef = (body: unknown, overrides: Json = {}): Json => ({
  ...(clone(body) as Json),
  merchant_order_reference: uniqueRef('docs'),
  ...overrides,
});

async function replay(file: string, suffix: string, path: string, body: unknown, nth = 0): Promise<Json> {
  const doc = docExchange(file, suffix, nth);
  const res = await api.call(doc.method, path, body);
  expect(res.status, res.text).toBe(200);
  expect(shapeDifferences(res.body, doc.response)).toEqual([]);
  return res.body as Json;
}

async function approve(paymentId: string): Promise<void> {
  const res = await api.post(`/__sandbox/payments/${paymentId}/authenticate`, { result: 'approve' });
  expect(res.status, res.text).toBe(200);
}

describe('docs replay: token', () => {
  it.each(['pre-authorization-flow.md', 'native-otp.md', 'card-tokenization.md', 'seamless-checkout-pay-by-points.md'])(
    'answers the documented token request of %s with the documented shape',
    async (file) => {
      const doc = docExchange(file, '/api/auth/v1/token');
      const body = {
        ...(doc.body as Json),
        client_id: sandbox.credentials.clientId,
        client_secret: sandbox.credentials.clientSecret,
      };
      const res = await api.call('POST', doc.path, body, { token: null });
      expect(res.status).toBe(200);
      expect(shapeDifferences(res.body, doc.response)).toEqual([]);
    },
  );
});

describe('docs replay: native-otp.md', () => {
  const file = 'native-otp.md';

  it('replays create order, get card details, create payment and the OTP generate/resend/submit calls', async () => {
    const orderDoc = docExchange(file, '/api/pay/v1/orders');
    const payDoc = docExchange(file, '/payments');
    // The guide creates a 1100 order and pays 35000 with a card that has no native OTP; align the order amount
    // and use the guide's own native-OTP card (from its Get Card Details example).
    const payValue = (payDoc.body as Json).payments[0].payment_amount.value as number;
    const order = await replay(
      file,
      '/api/pay/v1/orders',
      '/api/pay/v1/orders',
      withRef(orderDoc.body, { order_amount: { value: payValue, currency: 'INR' } }),
    );
    expect(order.data.status).toBe('CREATED');
    const orderId = order.data.order_id as string;

    const card = await replay(
      file,
      '/getCardDetails',
      '/api/pay/v1/getCardDetails',
      docExchange(file, '/getCardDetails').body,
    );
    expect(card.card_payment_details[0].is_native_otp_supported).toBe(true);

    const payBody = clone(payDoc.body) as Json;
    payBody.payments[0].payment_option.card_details.card_number = CARDS.nativeOtp;
    const paid = await replay(file, '/payments', `/api/pay/v1/orders/${orderId}/payments`, payBody);
    expect(paid.data.status).toBe('PENDING');
    expect(paid.data.payments[0].status).toBe('PENDING');
    const paymentId = paid.data.payments[0].id as string;

    const gen = await replay(file, '/otp/generate', '/api/pay/v1/otp/generate', {
      ...(docExchange(file, '/otp/generate').body as Json),
      payment_id: paymentId,
    });
    expect(gen.next).toEqual(['SUBMIT_OTP', 'RESEND_OTP']);

    clock.advance(181_000);
    await replay(file, '/otp/resend', '/api/pay/v1/otp/resend', {
      ...(docExchange(file, '/otp/resend').body as Json),
      payment_id: paymentId,
    });

    // The guide's OTP 1234 is a placeholder; the sandbox's issuer accepts 123456.
    const sub = await replay(file, '/otp/submit', '/api/pay/v1/otp/submit', {
      ...(docExchange(file, '/otp/submit').body as Json),
      payment_id: paymentId,
      otp: 123456,
    });
    expect(sub.status).toBe('SUCCESS');
    expect(sandbox.order(orderId)?.status).toBe('PROCESSED');
  });

  it('replays the capture call on a pre-authorized order', async () => {
    const captureDoc = docExchange(file, '/capture');
    const value = (captureDoc.body as Json).capture_amount.value as number;
    const order = await replay(
      file,
      '/api/pay/v1/orders',
      '/api/pay/v1/orders',
      withRef(docExchange(file, '/api/pay/v1/orders').body, {
        pre_auth: true,
        order_amount: { value, currency: 'INR' },
      }),
    );
    const orderId = order.data.order_id as string;
    const payBody = clone(docExchange(file, '/payments').body) as Json;
    payBody.payments[0].payment_amount.value = value;
    const paid = await api.post(`/api/pay/v1/orders/${orderId}/payments`, payBody);
    await approve(paid.body.data.payments[0].id);
    const captured = await replay(file, '/capture', `/api/pay/v1/orders/${orderId}/capture`, captureDoc.body);
    expect(captured.data.status).toBe('PROCESSED');
    expect(captured.data.payments[0].capture_data[0].capture_amount.value).toBe(value);
  });
});

describe('docs replay: pre-authorization-flow.md (hosted checkout)', () => {
  const file = 'pre-authorization-flow.md';

  it('replays generate checkout link, pays on the hosted page, then replays capture', async () => {
    const captureDoc = docExchange(file, '/capture');
    const value = (captureDoc.body as Json).capture_amount.value as number;
    // The guide's checkout is for 500 with pre_auth false, yet captures 4000; its note says to set pre_auth true.
    const link = await replay(
      file,
      '/api/checkout/v1/orders',
      '/api/checkout/v1/orders',
      withRef(docExchange(file, '/api/checkout/v1/orders').body, {
        pre_auth: true,
        order_amount: { value, currency: 'INR' },
      }),
    );
    expect(link.redirect_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v3\/checkout-bff\/redirect\/checkout\?token=/);

    const page = await fetch(link.redirect_url as string);
    expect(page.status).toBe(200);
    const pay = await fetch(new URL('/api/v3/checkout-bff/redirect/checkout', sandbox.baseUrl), {
      method: 'POST',
      body: new URLSearchParams({ token: link.token as string, card: 'visa-native-otp' }),
      redirect: 'manual',
    });
    expect(pay.status).toBe(303);
    const challenge = new URL(pay.headers.get('location')!);
    const done = await fetch(new URL('/web/auth/landing/', sandbox.baseUrl), {
      method: 'POST',
      body: new URLSearchParams({ token: challenge.searchParams.get('token')!, action: 'approve' }),
    });
    expect(done.status).toBe(200);
    expect(sandbox.order(link.order_id as string)?.status).toBe('AUTHORIZED');

    const captured = await replay(
      file,
      '/capture',
      `/api/pay/v1/orders/${link.order_id as string}/capture`,
      captureDoc.body,
    );
    expect(captured.data.status).toBe('PROCESSED');
  });
});

describe('docs replay: card-tokenization.md', () => {
  const file = 'card-tokenization.md';

  it('replays create customer', async () => {
    const customer = await replay(
      file,
      '/api/v1/customer',
      '/api/v1/customer',
      docExchange(file, '/api/v1/customer').body,
    );
    expect(customer.customer_id).toMatch(/^cust-v1-/);
  });

  it('replays save card, pay with the saved token, pay with another PA/PG token, capture and cancel', async () => {
    const orderDoc = docExchange(file, '/api/pay/v1/orders');
    const saveDoc = docExchange(file, '/payments', 0);
    const savedTokenDoc = docExchange(file, '/payments', 1);
    const altTokenDoc = docExchange(file, '/payments', 2);
    const amountOf = (b: unknown): number => (b as Json).payments[0].payment_amount.value as number;

    // 4.1 save card; the guide's order is 1100 while the payment is 50000: the order takes the payment's amount.
    const first = await replay(
      file,
      '/api/pay/v1/orders',
      '/api/pay/v1/orders',
      withRef(orderDoc.body, { pre_auth: true, order_amount: { value: amountOf(saveDoc.body), currency: 'INR' } }),
    );
    const saved = await replay(
      file,
      '/payments',
      `/api/pay/v1/orders/${first.data.order_id as string}/payments`,
      saveDoc.body,
      0,
    );
    await approve(saved.data.payments[0].id);
    const customerId = (orderDoc.body as Json).purchase_details.customer.customer_id as string;
    const tokens = await api.get(`/api/v1/customer/${customerId}/tokens`);
    expect(tokens.status).toBe(200);
    const tokenId = tokens.body.tokens[0].token_id as string;
    expect(tokenId).toMatch(/^token-v1-/);

    // 4.2 the saved token (the guide's token_id replaced by the one the sandbox issued).
    const second = await api.post(
      '/api/pay/v1/orders',
      withRef(orderDoc.body, {
        pre_auth: true,
        order_amount: { value: amountOf(savedTokenDoc.body), currency: 'INR' },
      }),
    );
    const tokenBody = clone(savedTokenDoc.body) as Json;
    tokenBody.payments[0].payment_option.card_token_details.token_id = tokenId;
    const byToken = await replay(
      file,
      '/payments',
      `/api/pay/v1/orders/${second.body.data.order_id as string}/payments`,
      tokenBody,
      1,
    );
    expect(byToken.data.payments[0].payment_option.card_data.token_txn_type).toBe('NETWORK_TOKEN');
    await approve(byToken.data.payments[0].id);
    const cancelled = await replay(
      file,
      '/cancel',
      `/api/pay/v1/orders/${second.body.data.order_id as string}/cancel`,
      undefined,
    );
    expect(cancelled.data.status).toBe('CANCELLED');

    // 4.3.1 a network token from another PA/PG, then the capture of the guide (4000 of a 4000 order).
    const captureDoc = docExchange(file, '/capture');
    const captureValue = (captureDoc.body as Json).capture_amount.value as number;
    const third = await api.post(
      '/api/pay/v1/orders',
      withRef(orderDoc.body, { pre_auth: true, order_amount: { value: captureValue, currency: 'INR' } }),
    );
    const altBody = clone(altTokenDoc.body) as Json;
    altBody.payments[0].payment_amount.value = captureValue;
    const byAlt = await replay(
      file,
      '/payments',
      `/api/pay/v1/orders/${third.body.data.order_id as string}/payments`,
      altBody,
      2,
    );
    await approve(byAlt.data.payments[0].id);
    const captured = await replay(
      file,
      '/capture',
      `/api/pay/v1/orders/${third.body.data.order_id as string}/capture`,
      captureDoc.body,
    );
    expect(captured.data.status).toBe('PROCESSED');
  });
});

describe('docs replay: seamless-checkout-pay-by-points.md', () => {
  const file = 'seamless-checkout-pay-by-points.md';

  it('answers the documented points balance request with exactly the documented numbers', async () => {
    const doc = docExchange(file, '/payment-option');
    const res = await api.post('/payment-option', doc.body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(doc.response);
  });

  it('replays create order and the card + points split payment, then captures', async () => {
    const payDoc = docExchange(file, '/payments');
    const total = ((payDoc.body as Json).payments as Json[]).reduce(
      (s, p) => s + (p.payment_amount.value as number),
      0,
    );
    // The guide's order is 1100 but its split pays 1500 + 3500; the order takes the split's total.
    const order = await replay(
      file,
      '/api/pay/v1/orders',
      '/api/pay/v1/orders',
      withRef(docExchange(file, '/api/pay/v1/orders').body, {
        pre_auth: true,
        order_amount: { value: total, currency: 'INR' },
      }),
    );
    const orderId = order.data.order_id as string;
    const paid = await replay(file, '/payments', `/api/pay/v1/orders/${orderId}/payments`, payDoc.body);
    expect(paid.data.payments.map((p: Json) => p.payment_method)).toEqual(['CARD', 'POINTS']);
    expect(paid.data.payments[1].id).toMatch(/-pt-a$/);
    await approve(paid.data.payments[0].id);
    const captured = await replay(
      file,
      '/capture',
      `/api/pay/v1/orders/${orderId}/capture`,
      docExchange(file, '/capture').body,
    );
    expect(captured.data.status).toBe('PARTIALLY_CAPTURED');
    expect(sandbox.order(orderId)?.reversedAmount).toBe(total - 4000);
  });
});
