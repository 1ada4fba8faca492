/**
 * `merchant_metadata`: stored with the payment, returned in the payment resource on create and on GET (also when the
 * read comes from the memo), bounded by Plural's limit, and never in a log line.
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { MERCHANT_METADATA_LIMITS } from '../../api/schemas';
import { stateFromSummary } from '../../api/payment-summary';
import { paymentWorkflowId } from '../../workflows/definitions';
import { auth, cardPayment, makeApi } from './helpers';

const METADATA = { cart_id: 'CART-Q7Z', loyalty_tier: 'PLATINUM-ORCHID', 'x-channel': 'kiosk café' };

describe('merchant_metadata', () => {
  it('round-trips: stored with the payment, returned on create and on GET, null when not sent', async () => {
    const api = makeApi();
    const created = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('md-1', { merchant_metadata: METADATA }));
    expect(created.status).toBe(201);
    expect(created.body.merchant_metadata).toEqual(METADATA);
    const read = await request(api.app).get('/v1/payments/md-1').set(auth);
    expect(read.status).toBe(200);
    expect(read.body.merchant_metadata).toEqual(METADATA);
    expect(api.engine.payments.get('md-1')?.input.merchantMetadata).toEqual(METADATA);

    const without = await request(api.app).post('/v1/payments').set(auth).send(cardPayment('md-2'));
    expect(without.body.merchant_metadata).toBeNull();
  });

  it(`takes ${MERCHANT_METADATA_LIMITS.pairs} pairs (Plural's limit) and refuses one more`, async () => {
    const api = makeApi();
    const pairs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`]));
    const full = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('md-3', { merchant_metadata: pairs(MERCHANT_METADATA_LIMITS.pairs) }));
    expect(full.status).toBe(201);
    expect(Object.keys(full.body.merchant_metadata as object)).toHaveLength(MERCHANT_METADATA_LIMITS.pairs);
    const over = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('md-4', { merchant_metadata: pairs(MERCHANT_METADATA_LIMITS.pairs + 1) }));
    expect(over.status).toBe(400);
    expect(over.body.error.issues[0].path).toBe('merchant_metadata');
  });

  it(`takes keys and values of ${MERCHANT_METADATA_LIMITS.keyLength} characters and refuses longer ones or an empty key`, async () => {
    const api = makeApi();
    const { keyLength, valueLength } = MERCHANT_METADATA_LIMITS;
    const send = (ref: string, metadata: Record<string, string>) =>
      request(api.app)
        .post('/v1/payments')
        .set(auth)
        .send(cardPayment(ref, { merchant_metadata: metadata }));
    expect((await send('md-6', { ['k'.repeat(keyLength)]: 'v'.repeat(valueLength) })).status).toBe(201);
    for (const [ref, metadata, message] of [
      ['md-7', { ['k'.repeat(keyLength + 1)]: 'v' }, `keys must be 1-${keyLength} characters`],
      ['md-8', { '': 'v' }, `keys must be 1-${keyLength} characters`],
      ['md-9', { cart: 'v'.repeat(valueLength + 1) }, `values must be at most ${valueLength} characters`],
    ] as const) {
      const res = await send(ref, metadata);
      expect(res.status, ref).toBe(400);
      expect(res.body.error.issues[0].message, ref).toBe(message);
    }
  });

  it('refuses a __proto__ key (400), where the parser alone would drop the pair without a word', async () => {
    const api = makeApi();
    const body = JSON.stringify(cardPayment('md-10', {})).replace(
      /}$/,
      ',"merchant_metadata":{"__proto__":{"x":"1"},"cart":"c-1"}}',
    );
    const res = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .set('Content-Type', 'application/json')
      .send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.issues[0]).toMatchObject({
      path: 'merchant_metadata',
      message: 'must not have a __proto__ key',
    });
    expect(api.engine.mutatingCalls).toEqual([]);
  });

  it('is kept in the memo, so a read no worker answers still shows it and the return_url', () => {
    const state = stateFromSummary(paymentWorkflowId('md-5'), {
      merchantOrderReference: 'md-5',
      method: 'card',
      preAuth: true,
      status: 'AUTHORIZED',
      pluralOrderId: 'v1-1',
      amount: { value: 100, currency: 'INR' },
      amountCaptured: undefined,
      amountRefunded: undefined,
      returnUrl: 'https://shop.example/r',
      merchantMetadata: METADATA,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(state.merchantMetadata).toEqual(METADATA);
    expect(state.returnUrl).toBe('https://shop.example/r');
  });

  it('never reaches the API log, on create, read, and the answers', async () => {
    const api = makeApi();
    await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('md-6', { merchant_metadata: METADATA }));
    await request(api.app).get('/v1/payments/md-6').set(auth);
    const logs = api.logs.join('\n');
    expect(logs).toContain('"route":"/v1/payments"');
    for (const value of Object.values(METADATA)) expect(logs).not.toContain(value);
  });
});
