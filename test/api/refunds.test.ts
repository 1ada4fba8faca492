/**
 * `POST /v1/payments/{ref}/refunds` over the in-memory engine (which refuses with the workflow's own validators): the
 * body's rules, each refusal's status and code, each outcome's status, and the refunds in the payment resource.
 */
import Ajv2020 from 'ajv/dist/2020';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../api/openapi';
import { CORRECT_OTP } from './fake-engine';
import type { FakeEngineOptions } from './fake-engine';
import { auth, cardPayment, makeApi } from './helpers';
import type { TestApi } from './helpers';
import { schemaViolations } from '../support/openapi-answers';

const INR = (value: number) => ({ value, currency: 'INR' });

/** A sale of 150000, PROCESSED after the OTP: in its refund window. */
async function processed(options: FakeEngineOptions = {}, ref = 'rf-1'): Promise<TestApi> {
  const api = makeApi(options);
  await request(api.app)
    .post('/v1/payments')
    .set(auth)
    .send(cardPayment(ref, { pre_auth: false }));
  const paid = await request(api.app).post(`/v1/payments/${ref}/otp`).set(auth).send({ otp: CORRECT_OTP });
  expect(paid.body).toMatchObject({ status: 'PROCESSED', next_actions: ['REFUND'], refundable_amount: INR(150_000) });
  return api;
}

const refund = (api: TestApi, body: unknown, ref = 'rf-1') =>
  request(api.app)
    .post(`/v1/payments/${ref}/refunds`)
    .set(auth)
    .send(body as object);

describe('POST /v1/payments/{ref}/refunds', () => {
  it('refunds part of a processed payment: 201 with the refund and the payment', async () => {
    const api = await processed();
    const res = await refund(api, { merchant_refund_reference: 'r-1', amount: INR(40_000), reason: 'damaged item' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      object: 'refund',
      merchant_refund_reference: 'r-1',
      reason: 'MERCHANT',
      merchant_reason: 'damaged item',
      amount: INR(40_000),
      status: 'PROCESSED',
      refund_order_id: expect.any(String),
      failure: null,
      payment: {
        merchant_order_reference: 'rf-1',
        status: 'PROCESSED',
        refunded_amount: INR(40_000),
        refundable_amount: INR(110_000),
      },
    });
    expect(res.body.payment.refunds).toEqual([expect.objectContaining({ merchant_refund_reference: 'r-1' })]);
    expect(api.engine.accepted('refund')[0]?.args).toEqual([
      'rf-1',
      { merchantRefundReference: 'r-1', amount: INR(40_000), reason: 'damaged item' },
    ]);
  });

  it('refunds the rest when the amount is omitted, and shows every refund in GET', async () => {
    const api = await processed();
    await refund(api, { merchant_refund_reference: 'r-1', amount: INR(50_000) });
    const rest = await refund(api, { merchant_refund_reference: 'r-2' });
    expect(rest.status).toBe(201);
    expect(rest.body.amount).toEqual(INR(100_000));
    const got = await request(api.app).get('/v1/payments/rf-1').set(auth);
    expect(got.body).toMatchObject({ refunded_amount: INR(150_000), refundable_amount: INR(0), next_actions: [] });
    // Nothing left to refund is a value of 0, which the document allows there (and only there).
    expect(schemaViolations('Payment', got.body)).toEqual([]);
    expect(schemaViolations('Payment', { ...got.body, captured_amount: INR(0) })).not.toEqual([]);
    const refunds = got.body.refunds as { merchant_refund_reference: string }[];
    expect(refunds.map((r) => r.merchant_refund_reference)).toEqual(['r-1', 'r-2']);
  });

  it('answers a repeat (same reference and amount) with 200 and the same refund, another amount with 409', async () => {
    const api = await processed();
    const first = await refund(api, { merchant_refund_reference: 'r-1', amount: INR(10_000) });
    const again = await refund(api, { merchant_refund_reference: 'r-1', amount: INR(10_000) });
    expect(again.status).toBe(200);
    expect(again.body.refund_order_id).toBe(first.body.refund_order_id);
    const other = await refund(api, { merchant_refund_reference: 'r-1', amount: INR(20_000) });
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ type: 'conflict_error', code: 'refund_reference_conflict' });
    expect(api.engine.payments.get('rf-1')?.state.refunds).toHaveLength(1);
  });

  it('refuses more than is left with 400 refund_amount_too_large, and another currency', async () => {
    const api = await processed();
    await refund(api, { merchant_refund_reference: 'r-1', amount: INR(100_000) });
    const big = await refund(api, { merchant_refund_reference: 'r-2', amount: INR(50_001) });
    expect(big.status).toBe(400);
    expect(big.body.error).toMatchObject({ type: 'invalid_request_error', code: 'refund_amount_too_large' });
    expect(big.body.error.message).toBe(
      'refund amount 50001 exceeds the 50000 left to refund on payment rf-1 (captured 150000, refunded 100000, in refunds in flight 0)',
    );
    const usd = await refund(api, { merchant_refund_reference: 'r-3', amount: { value: 1_000, currency: 'USD' } });
    expect(usd.status).toBe(400);
    expect(usd.body.error.code).toBe('refund_currency_mismatch');
  });

  it('refuses a payment that is not PROCESSED with 409 payment_not_refundable, and an unknown one with 404', async () => {
    const api = makeApi();
    await request(api.app).post('/v1/payments').set(auth).send(cardPayment('rf-2'));
    const res = await refund(api, { merchant_refund_reference: 'r-1', amount: INR(1_000) }, 'rf-2');
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'payment_not_refundable' });
    expect((await refund(api, { merchant_refund_reference: 'r-1' }, 'nope')).status).toBe(404);
  });

  it('holds back an accepted refund at once: of two concurrent refunds above the captured amount, one is refused', async () => {
    const api = await processed();
    const [a, b] = await Promise.all([
      refund(api, { merchant_refund_reference: 'a', amount: INR(100_000) }),
      refund(api, { merchant_refund_reference: 'b', amount: INR(100_000) }),
    ]);
    expect([a.status, b.status].sort()).toEqual([201, 400]);
  });

  it('answers 202 while a refund is parked, and 409 refund_rejected when Plural refused it', async () => {
    const parked = await processed({ refundOutcome: 'PARKED' });
    const p = await refund(parked, { merchant_refund_reference: 'r-1', amount: INR(1_000) });
    expect(p.status).toBe(202);
    expect(p.body).toMatchObject({ status: 'PENDING', refund_order_id: null });
    const rejected = await processed({ refundOutcome: 'REJECTED' });
    const r = await refund(rejected, { merchant_refund_reference: 'r-1', amount: INR(1_000) });
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: 'refund_rejected' });
  });

  it('answers 202 with the pending refund when the payment does not answer within the wait', async () => {
    const api = makeApi({ unresponsive: true }, { timings: { startWaitMs: 50, actionWaitMs: 50, readyTimeoutMs: 50 } });
    api.engine.seed(
      { merchantOrderReference: 'rf-3', amount: INR(5_000), preAuth: false, method: { kind: 'hosted_checkout' } },
      'fp',
      'PROCESSED',
    );
    const res = await refund(api, { merchant_refund_reference: 'r-1' }, 'rf-3');
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      merchant_refund_reference: 'r-1',
      status: 'PENDING',
      amount: INR(5_000),
      payment: { refundable_amount: INR(0) },
    });
  });

  it('refuses a malformed body with 400 and reaches no engine', async () => {
    const api = await processed();
    const before = api.engine.calls.length;
    for (const body of [
      {},
      { merchant_refund_reference: 'has space' },
      { merchant_refund_reference: 'r-1', amount: { value: 10.5, currency: 'INR' } },
      { merchant_refund_reference: 'r-1', amount: { value: 0, currency: 'INR' } },
      { merchant_refund_reference: 'r-1', note: 'unknown field' },
      { merchant_refund_reference: 'r-1', reason: 'x'.repeat(201) },
      { merchant_refund_reference: 'r-1', reason: 'card 4012001037141112' },
    ]) {
      const res = await refund(api, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect(api.engine.calls.slice(before).filter((c) => c.method === 'refund')).toEqual([]);
  });

  it('answers GET on the refunds path with 405', async () => {
    const api = await processed();
    const res = await request(api.app).get('/v1/payments/rf-1/refunds').set(auth);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });

  it('conforms to the documented RefundResult and Payment schemas', async () => {
    const api = await processed();
    const doc = buildOpenApiDocument({ serverUrl: 'x' });
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const validateRequest = ajv.compile({ $ref: 'doc#/components/schemas/CreateRefundRequest' });
    const validate = ajv.compile({ $ref: 'doc#/components/schemas/RefundResult' });
    const body = { merchant_refund_reference: 'r-1', amount: INR(1_000), reason: 'goodwill' };
    expect(validateRequest(body)).toBe(true);
    const res = await refund(api, body);
    expect(validate(res.body), JSON.stringify(validate.errors)).toBe(true);
  });
});
