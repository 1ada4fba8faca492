/**
 * Contract test: the client against the real Plural sandbox (plural-sandbox/), one flow per endpoint, plus the
 * sandbox's callback and webhook signatures checked with the client's verifiers.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ORDER_STATUS,
  OrderWebhookPayloadSchema,
  PAYMENT_STATUS,
  PLURAL_ERROR_TYPE,
  PluralClient,
  verifyCallbackSignature,
  verifyWebhook,
} from '../../plural-client';
import type { Order, PluralError, PluralCallOptions } from '../../plural-client';
import { NO_FAULTS, startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import { CARDS } from '../support/cards';
import { waitFor } from '../support/wait';

const CORRECT_OTP = '123456';

let sandbox: RunningSandbox;
let agent: Agent;
let client: PluralClient;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 7 });
  agent = new Agent({ keepAliveTimeout: 1_000 });
  client = new PluralClient({
    baseUrl: sandbox.baseUrl,
    clientId: sandbox.credentials.clientId,
    clientSecret: sandbox.credentials.clientSecret,
    dispatcher: agent,
    timeoutMs: 5_000,
  });
});

afterAll(async () => {
  await client.close();
  await agent.close();
  await sandbox.stop();
});

afterEach(() => {
  sandbox.setFaults(NO_FAULTS);
});

const key = (step: string) => `${randomUUID()}-${step}`.slice(0, 50);
const opts = (step: string): PluralCallOptions => ({ idempotencyKey: key(step) });

async function rejection(p: Promise<unknown>): Promise<PluralError> {
  try {
    await p;
  } catch (err) {
    return err as PluralError;
  }
  throw new Error('expected the call to reject');
}

function cardPayment(value: number, card = CARDS.nativeOtp) {
  return {
    payment_method: 'CARD' as const,
    payment_amount: { value, currency: 'INR' },
    payment_option: {
      card_details: { name: 'Kevin Bob', card_number: card, cvv: '123', expiry_month: '12', expiry_year: '2035' },
    },
  };
}

/** Create a pre-auth order and authorize it through native OTP; returns the AUTHORIZED order. */
async function authorizedOrder(value = 10_000, customerId?: string, save = false): Promise<Order> {
  const created = await client.createOrder(
    {
      order_amount: { value, currency: 'INR' },
      pre_auth: true,
      callback_url: 'https://merchant.test/return',
      ...(customerId ? { purchase_details: { customer: { customer_id: customerId } } } : {}),
    },
    opts('order'),
  );
  const payment = cardPayment(value);
  payment.payment_option.card_details = { ...payment.payment_option.card_details, ...(save ? { save: true } : {}) };
  const pending = await client.createPayment(created.order_id, { payments: [payment] }, opts('payment'));
  const paymentId = pending.payments[0]!.id;
  await client.generateOtp({ payment_id: paymentId }, opts('otp'));
  await client.submitOtp({ payment_id: paymentId, otp: CORRECT_OTP }, opts('otp-submit'));
  const order = await client.getOrder(created.order_id);
  expect(order.status).toBe(ORDER_STATUS.AUTHORIZED);
  return order;
}

describe('client against the sandbox', () => {
  it('creates an order and reads it back by id and by merchant reference', async () => {
    const ref = key('ref');
    const created = await client.createOrder({
      merchant_order_reference: ref,
      order_amount: { value: 1100, currency: 'INR' },
      pre_auth: true,
    });
    expect(created).toMatchObject({ status: ORDER_STATUS.CREATED, merchant_order_reference: ref, payments: [] });
    expect((await client.getOrder(created.order_id)).order_amount).toEqual({ value: 1100, currency: 'INR' });
    expect((await client.getOrderByReference(ref)).order_id).toBe(created.order_id);
  });

  it('card details, OTP generate / wrong submit / right submit authorize a pre-auth payment', async () => {
    const details = await client.getCardDetails({
      amount: 10_000,
      card_details: [{ payment_identifier: CARDS.nativeOtp, payment_reference_type: 'CARD' }],
    });
    expect(details.card_payment_details[0]!.is_native_otp_supported).toBe(true);

    const order = await client.createOrder(
      { order_amount: { value: 10_000, currency: 'INR' }, pre_auth: true },
      opts('o'),
    );
    const pending = await client.createPayment(order.order_id, { payments: [cardPayment(10_000)] }, opts('p'));
    expect(pending.status).toBe(ORDER_STATUS.PENDING);
    expect(pending.challenge_url).toMatch(/^http/);
    const paymentId = pending.payments[0]!.id;

    const generated = await client.generateOtp({ payment_id: paymentId });
    expect(generated.next).toContain('SUBMIT_OTP');
    expect(typeof generated.meta_data?.resend_after).toBe('number');

    const wrong = await rejection(client.submitOtp({ payment_id: paymentId, otp: '000000' }));
    expect(wrong).toMatchObject({ type: PLURAL_ERROR_TYPE.API, statusCode: 422, retryable: false });
    expect(wrong).toHaveProperty('next');
    expect(wrong.message).not.toContain('000000');

    expect((await client.submitOtp({ payment_id: paymentId, otp: CORRECT_OTP })).status).toBe('SUCCESS');
    const authorized = await client.getOrder(order.order_id);
    expect(authorized.status).toBe(ORDER_STATUS.AUTHORIZED);
    expect(authorized.payments[0]!.status).toBe(PAYMENT_STATUS.AUTHORIZED);
  });

  it('resendOtp is refused until resend_after has passed', async () => {
    const order = await client.createOrder(
      { order_amount: { value: 5_000, currency: 'INR' }, pre_auth: true },
      opts('o'),
    );
    const pending = await client.createPayment(order.order_id, { payments: [cardPayment(5_000)] }, opts('p'));
    const paymentId = pending.payments[0]!.id;
    await client.generateOtp({ payment_id: paymentId });
    const err = await rejection(client.resendOtp({ payment_id: paymentId }));
    expect(err).toMatchObject({ type: PLURAL_ERROR_TYPE.API, statusCode: 422 });
    expect(err).toHaveProperty('resendAfterSeconds');
  });

  it('a single partial capture, then a second capture is rejected', async () => {
    const order = await authorizedOrder(10_000);
    const captured = await client.captureOrder(
      order.order_id,
      { capture_amount: { value: 4_000, currency: 'INR' } },
      opts('capture'),
    );
    expect(captured.status).toBe(ORDER_STATUS.PARTIALLY_CAPTURED);
    expect(captured.payments[0]!.capture_data?.[0]!.capture_amount).toEqual({ value: 4_000, currency: 'INR' });
    const again = await rejection(client.captureOrder(order.order_id, {}, opts('capture-2')));
    expect(again).toMatchObject({ type: PLURAL_ERROR_TYPE.API, retryable: false });
    expect(again.message).toContain(`capture of order ${order.order_id} rejected`);
  });

  it('full capture, then refund', async () => {
    const order = await authorizedOrder(10_000);
    expect((await client.captureOrder(order.order_id, {}, opts('capture'))).status).toBe(ORDER_STATUS.PROCESSED);
    const refund = await client.refundOrder(
      order.order_id,
      { order_amount: { value: 2_500, currency: 'INR' } },
      opts('r'),
    );
    expect(refund).toMatchObject({ type: 'REFUND', parent_order_id: order.order_id, status: 'PROCESSED' });
    expect((await client.getOrder(order.order_id)).status).toBe(ORDER_STATUS.PARTIALLY_REFUNDED);
  });

  it('cancel voids an authorization', async () => {
    const order = await authorizedOrder(3_000);
    const cancelled = await client.cancelOrder(order.order_id, opts('cancel'));
    expect(cancelled.status).toBe(ORDER_STATUS.CANCELLED);
    expect(cancelled.payments[0]!.status).toBe(PAYMENT_STATUS.CANCELLED);
  });

  it('points balance, then a card + POINTS split payment', async () => {
    const balance = await client.getPointsBalance({
      payment_option: {
        points_card_details: {
          card_last4: CARDS.nativeOtp.slice(-4),
          card_number: CARDS.nativeOtp,
          registered_mobile_number: '9876543210',
        },
      },
      order_details: { order_amount: { value: 5_000, currency: 'INR' } },
    });
    expect(balance.is_eligible).toBe(true);
    const points = balance.redeemable_amount.value;
    expect(points).toBeGreaterThan(0);
    const order = await client.createOrder({ order_amount: { value: 5_000, currency: 'INR' } }, opts('o'));
    const pending = await client.createPayment(
      order.order_id,
      {
        payments: [
          cardPayment(5_000 - points),
          {
            payment_method: 'POINTS',
            payment_amount: { value: points, currency: 'INR' },
            payment_option: {
              points_card_details: {
                card_last4: CARDS.nativeOtp.slice(-4),
                card_number: CARDS.nativeOtp,
                registered_mobile_number: '9876543210',
              },
            },
          },
        ],
      },
      opts('split'),
    );
    expect(pending.payments.map((p) => p.payment_method).sort()).toEqual(['CARD', 'POINTS']);
  });

  it('customer, saved card, then a payment with card_token_details.token_id', async () => {
    const customer = await client.createCustomer({ first_name: 'Kevin', mobile_number: '9876543210' }, opts('cust'));
    expect(customer.customer_id).toMatch(/^cust-/);
    await authorizedOrder(2_000, customer.customer_id, true);

    // Listing saved tokens is outside the client's scope: read it straight from the sandbox.
    const tokenRes = await request(`${sandbox.baseUrl}/api/auth/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: sandbox.credentials.clientId,
        client_secret: sandbox.credentials.clientSecret,
        grant_type: 'client_credentials',
      }),
      dispatcher: agent,
    });
    const { access_token } = z.object({ access_token: z.string() }).parse(await tokenRes.body.json());
    const listRes = await request(`${sandbox.baseUrl}/api/v1/customer/${customer.customer_id}/tokens`, {
      headers: { authorization: `Bearer ${access_token}` },
      dispatcher: agent,
    });
    const list = z.object({ tokens: z.array(z.object({ token_id: z.string() })) }).parse(await listRes.body.json());
    const tokenId = list.tokens[0]!.token_id;

    const order = await client.createOrder(
      { order_amount: { value: 2_000, currency: 'INR' }, pre_auth: true },
      opts('o'),
    );
    const pending = await client.createPayment(
      order.order_id,
      {
        payments: [
          {
            payment_method: 'CARD',
            payment_amount: { value: 2_000, currency: 'INR' },
            payment_option: { card_token_details: { token_id: tokenId, cvv: '123', token_txn_type: 'NETWORK_TOKEN' } },
          },
        ],
      },
      opts('token-pay'),
    );
    expect(pending.payments[0]!.status).toBe(PAYMENT_STATUS.PENDING);
  });

  it('a network token from another PA/PG (token + cryptogram) creates a payment', async () => {
    const order = await client.createOrder({ order_amount: { value: 1_500, currency: 'INR' } }, opts('o'));
    const pending = await client.createPayment(
      order.order_id,
      {
        payments: [
          {
            payment_method: 'CARD',
            payment_amount: { value: 1_500, currency: 'INR' },
            payment_option: {
              card_token_details: {
                token: CARDS.nativeOtp,
                cryptogram: 'AgAAAGQkm6LscccAAAA5gz4AAAA=',
                expiry_month: '03',
                expiry_year: '2035',
                last4_digit: CARDS.nativeOtp.slice(-4),
                token_txn_type: 'ALT_TOKEN',
              },
            },
          },
        ],
      },
      opts('nt'),
    );
    expect(pending.status).toBe(ORDER_STATUS.PENDING);
  });

  it('hosted checkout link', async () => {
    const link = await client.createCheckoutLink(
      { order_amount: { value: 500, currency: 'INR' }, pre_auth: true, allowed_payment_methods: ['CARD'] },
      opts('checkout'),
    );
    expect(link.redirect_url).toContain(sandbox.baseUrl.replace('http://', ''));
    expect((await client.getOrder(link.order_id)).status).toBe(ORDER_STATUS.CREATED);
  });

  it('an unknown order is a non-retryable 404', async () => {
    const err = await rejection(client.getOrder('v1-does-not-exist'));
    expect(err).toMatchObject({ type: PLURAL_ERROR_TYPE.API, statusCode: 404, retryable: false });
  });

  it('a declined card at payment creation is a non-retryable 422 with the card number nowhere in the error', async () => {
    const order = await client.createOrder({ order_amount: { value: 1_000, currency: 'INR' } }, opts('o'));
    const err = await rejection(
      client.createPayment(order.order_id, { payments: [cardPayment(1_000, CARDS.expired)] }, opts('p')),
    );
    expect(err).toMatchObject({ statusCode: 422, code: 'CARD_EXPIRED', retryable: false });
    expect(err.message).not.toContain(CARDS.expired);
  });

  it('injected 5xx, 429 and hangs map to retryable errors', async () => {
    const order = await client.createOrder({ order_amount: { value: 1_000, currency: 'INR' } }, opts('o'));
    sandbox.setFaults({ errorRate: 1, paths: ['/api/pay/v1/orders/'] });
    expect(await rejection(client.getOrder(order.order_id))).toMatchObject({ retryable: true, type: 'PluralApiError' });
    sandbox.setFaults({ errorRate: 0, rateLimitRate: 1 });
    expect(await rejection(client.getOrder(order.order_id))).toMatchObject({ retryable: true, statusCode: 429 });
    sandbox.setFaults({ rateLimitRate: 0, timeoutRate: 1 });
    expect(await rejection(client.getOrder(order.order_id, { timeoutMs: 200 }))).toMatchObject({
      type: PLURAL_ERROR_TYPE.TIMEOUT,
      retryable: true,
    });
  });
});

describe('sandbox signatures verified by the client', () => {
  let hook: Server;
  const received: { headers: Record<string, string | string[] | undefined>; body: Buffer }[] = [];

  beforeAll(async () => {
    hook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.statusCode = 200;
        res.end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    sandbox.setWebhookUrl(`http://127.0.0.1:${(hook.address() as AddressInfo).port}/webhooks`);
  });

  afterAll(async () => {
    sandbox.setWebhookUrl(undefined);
    hook.closeAllConnections();
    await new Promise<void>((resolve) => hook.close(() => resolve()));
  });

  it('the callback fields of an approved challenge verify with the hex callback secret', async () => {
    const order = await client.createOrder(
      { order_amount: { value: 1_000, currency: 'INR' }, pre_auth: true, callback_url: 'https://merchant.test/cb' },
      opts('o'),
    );
    const pending = await client.createPayment(order.order_id, { payments: [cardPayment(1_000)] }, opts('p'));
    const res = await request(`${sandbox.baseUrl}/__sandbox/payments/${pending.payments[0]!.id}/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sandbox.controlToken}` },
      body: JSON.stringify({ result: 'approve' }),
      dispatcher: agent,
    });
    const { callback } = z
      .object({ callback: z.object({ fields: z.record(z.string(), z.string()) }) })
      .parse(await res.body.json());
    expect(verifyCallbackSignature(callback.fields, sandbox.credentials.callbackSecretHex)).toBe(true);
    expect(
      verifyCallbackSignature({ ...callback.fields, payment_status: 'FAILED' }, sandbox.credentials.callbackSecretHex),
    ).toBe(false);
  });

  it('webhooks verify with the webhook secret and parse as order payloads', async () => {
    const order = await authorizedOrder(1_200);
    const delivery = await waitFor(
      `a webhook for order ${order.order_id}`,
      () =>
        received.find((r) => {
          const parsed = OrderWebhookPayloadSchema.safeParse(JSON.parse(r.body.toString('utf8')));
          return parsed.success && parsed.data.data.order_id === order.order_id;
        }),
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    const verdict = verifyWebhook({
      headers: delivery.headers,
      rawBody: delivery.body,
      secret: sandbox.credentials.webhookSecret,
    });
    expect(verdict.ok).toBe(true);
    const payload = OrderWebhookPayloadSchema.parse(JSON.parse(delivery.body.toString('utf8')));
    expect(payload.event_type).toBe('ORDER_AUTHORIZED');
    expect(verifyWebhook({ headers: delivery.headers, rawBody: delivery.body, secret: 'wrong' }).ok).toBe(false);
  });
});
