import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../plural-sandbox';
import type { Api } from './helpers';
import { authorizedOrder, orderBody, pendingOrder, startWithApi } from './helpers';

let sandbox: RunningSandbox;
let api: Api;
let orderId: string;
let authorizedId: string;
let paymentId: string;

beforeAll(async () => {
  ({ sandbox, api } = await startWithApi());
  const p = await pendingOrder(api);
  orderId = (await api.post('/api/pay/v1/orders', orderBody())).body.data.order_id;
  paymentId = p.paymentId;
  authorizedId = (await authorizedOrder(api)).orderId;
});
afterAll(async () => {
  await sandbox.stop();
});

describe('bad input gets 400 INVALID_REQUEST with a message, never a 500', () => {
  it('refuses a body that is not JSON', async () => {
    const res = await api.call('POST', '/api/pay/v1/orders', undefined, { raw: '{"merchant_order_reference": ' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ code: 'INVALID_REQUEST', message: 'request body is not valid JSON' });
  });

  it('refuses a body that is too large', async () => {
    const res = await api.call('POST', '/api/pay/v1/orders', undefined, {
      raw: JSON.stringify({ notes: 'x'.repeat(200_000) }),
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_REQUEST');
  });

  it('names the bad field: missing amount, float amount, negative amount, wrong currency, bad URL', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ order_amount: undefined }, 'order_amount'],
      [{ order_amount: { value: 100.5, currency: 'INR' } }, 'order_amount.value'],
      [{ order_amount: { value: -100, currency: 'INR' } }, 'order_amount.value'],
      [{ order_amount: { value: 1000, currency: 'rupees' } }, 'order_amount.currency'],
      [{ callback_url: 'javascript:alert(1)' }, 'callback_url'],
      [{ pre_auth: 'yes' }, 'pre_auth'],
    ];
    for (const [override, field] of cases) {
      const res = await api.post('/api/pay/v1/orders', orderBody(override));
      expect(res.status, JSON.stringify(override)).toBe(400);
      expect(res.body.code).toBe('INVALID_REQUEST');
      expect(res.body.message).toContain(field);
    }
  });

  it('does not echo a card number, CVV or OTP in error messages', async () => {
    const res = await api.post(`/api/pay/v1/orders/${orderId}/payments`, {
      payments: [
        {
          payment_method: 'CARD',
          payment_amount: { value: 50_000, currency: 'INR' },
          payment_option: {
            card_details: { card_number: '4111x111111111111', cvv: '98765', expiry_month: '13', expiry_year: '2030' },
          },
        },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.text).not.toContain('4111x111111111111');
    expect(res.text).not.toContain('98765');
    const otp = await api.post('/api/pay/v1/otp/submit', { payment_id: paymentId, otp: '12x4' });
    expect(otp.status).toBe(400);
    expect(otp.text).not.toContain('12x4');
  });

  it('answers an unknown endpoint with a JSON 404', async () => {
    const res = await api.get('/api/pay/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NOT_FOUND');
  });

  it('answers a request without a JSON content type as a body-less request (400)', async () => {
    const res = await api.call('POST', '/api/pay/v1/orders', undefined, { raw: 'a=b', contentType: 'text/plain' });
    expect(res.status).toBe(400);
  });

  it('never answers 500 to arbitrary JSON on any endpoint', async () => {
    const endpoints: [string, () => string][] = [
      ['POST', () => '/api/auth/v1/token'],
      ['POST', () => '/api/pay/v1/orders'],
      ['POST', () => `/api/pay/v1/orders/${orderId}/payments`],
      ['PUT', () => `/api/pay/v1/orders/${authorizedId}/capture`],
      ['POST', () => `/api/pay/v1/refunds/${authorizedId}`],
      ['POST', () => '/api/pay/v1/getCardDetails'],
      ['POST', () => '/api/pay/v1/otp/generate'],
      ['POST', () => '/api/pay/v1/otp/submit'],
      ['POST', () => '/api/v1/customer'],
      ['POST', () => '/payment-option'],
      ['POST', () => '/api/checkout/v1/orders'],
      ['PATCH', () => '/__sandbox/faults'],
    ];
    const body = fc.oneof(
      fc.json().map((j) => JSON.parse(j) as unknown),
      fc.record(
        {
          merchant_order_reference: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
          order_amount: fc.record(
            { value: fc.oneof(fc.integer(), fc.double(), fc.string()), currency: fc.string() },
            { requiredKeys: [] },
          ),
          payments: fc.array(
            fc.record(
              {
                payment_method: fc.constantFrom('CARD', 'POINTS', 'UPI'),
                payment_amount: fc.anything(),
                payment_option: fc.anything(),
              },
              { requiredKeys: [] },
            ),
          ),
          payment_id: fc.oneof(fc.string(), fc.constant(paymentId)),
          otp: fc.oneof(fc.string(), fc.integer()),
          capture_amount: fc.anything(),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints), body, async ([method, path], payload) => {
        const res = await api.call(method, path(), payload);
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400 && res.status !== 401)
          expect(typeof res.body?.message === 'string' || typeof res.body?.error === 'string').toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
