import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../plural-sandbox';
import { CARDS } from '../support/cards';
import { fakeClock, pendingOrder, startWithApi } from './helpers';
import type { Api } from './helpers';

let sandbox: RunningSandbox;
let api: Api;
let clock: ReturnType<typeof fakeClock>;

beforeEach(async () => {
  clock = fakeClock();
  ({ sandbox, api } = await startWithApi({
    now: clock.now,
    otp: { maxAttempts: 3, resendAfterSeconds: 30, maxResends: 2 },
  }));
});
afterEach(async () => {
  await sandbox.stop();
});

const generate = (paymentId: string) => api.post('/api/pay/v1/otp/generate', { payment_id: paymentId });
const submit = (paymentId: string, otp: string | number) =>
  api.post('/api/pay/v1/otp/submit', { payment_id: paymentId, otp });
const resend = (paymentId: string) => api.post('/api/pay/v1/otp/resend', { payment_id: paymentId });

describe('native OTP', () => {
  it('generates an OTP for a native-OTP card with next actions and resend_after', async () => {
    const o = await pendingOrder(api);
    const res = await generate(o.paymentId);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ next: ['SUBMIT_OTP', 'RESEND_OTP'], meta_data: { resend_after: '30' } });
  });

  it('refuses OTP for a card without native OTP (challenge flow only) with 422', async () => {
    const o = await pendingOrder(api, { card: CARDS.challenge });
    const res = await generate(o.paymentId);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('OTP_NOT_ELIGIBLE');
  });

  it('accepts the documented correct OTP 123456 (string or number) and authorizes', async () => {
    const o = await pendingOrder(api);
    await generate(o.paymentId);
    const res = await submit(o.paymentId, 123456);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'SUCCESS' });
    expect(sandbox.order(o.orderId)?.status).toBe('AUTHORIZED');
  });

  it('refuses submit before generate', async () => {
    const o = await pendingOrder(api);
    const res = await submit(o.paymentId, '123456');
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('OTP_NOT_ELIGIBLE');
  });

  it('answers a wrong OTP with 422 INVALID_OTP, counting attempts left, and still accepts the right one', async () => {
    const o = await pendingOrder(api);
    await generate(o.paymentId);
    const first = await submit(o.paymentId, '111111');
    expect(first.status).toBe(422);
    expect(first.body).toMatchObject({
      code: 'INVALID_OTP',
      next: ['SUBMIT_OTP', 'RESEND_OTP'],
      meta_data: { resend_after: '30' },
    });
    expect(first.body.message).toContain('2 attempt(s) left');
    const second = await submit(o.paymentId, '222222');
    expect(second.body.message).toContain('1 attempt(s) left');
    expect((await submit(o.paymentId, '123456')).status).toBe(200);
  });

  it('fails the payment after the attempt limit: USER_AUTHENTICATION_FAILED, order ATTEMPTED, no more OTP', async () => {
    const o = await pendingOrder(api);
    await generate(o.paymentId);
    await submit(o.paymentId, '000001');
    await submit(o.paymentId, '000002');
    const last = await submit(o.paymentId, '000003');
    expect(last.status).toBe(422);
    expect(last.body).toMatchObject({ code: 'USER_AUTHENTICATION_FAILED', next: ['NONE'] });
    expect(sandbox.order(o.orderId)).toMatchObject({
      status: 'ATTEMPTED',
      payments: [{ status: 'FAILED', errorCode: 'USER_AUTHENTICATION_FAILED' }],
    });
    expect((await submit(o.paymentId, '123456')).status).toBe(422);
  });

  it('enforces resend_after, then resends, then enforces the resend limit', async () => {
    const o = await pendingOrder(api);
    await generate(o.paymentId);
    clock.advance(10_000);
    const early = await resend(o.paymentId);
    expect(early.status).toBe(422);
    expect(early.body).toMatchObject({ code: 'RESEND_NOT_ALLOWED', meta_data: { resend_after: '20' } });
    clock.advance(20_000);
    const ok = await resend(o.paymentId);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({
      status: 'SUCCESS',
      next: ['SUBMIT_OTP', 'RESEND_OTP'],
      meta_data: { resend_after: '30' },
    });
    clock.advance(30_000);
    const lastAllowed = await resend(o.paymentId);
    expect(lastAllowed.body.next).toEqual(['SUBMIT_OTP']);
    clock.advance(30_000);
    const limited = await resend(o.paymentId);
    expect(limited.status).toBe(422);
    expect(limited.body).toMatchObject({ code: 'RESEND_LIMIT_EXCEEDED', next: ['SUBMIT_OTP'] });
  });

  it('reports the issuer decline after a correct OTP (insufficient funds card)', async () => {
    const o = await pendingOrder(api, { card: CARDS.insufficientFunds });
    await generate(o.paymentId);
    const res = await submit(o.paymentId, '123456');
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('INSUFFICIENT_FUNDS');
    expect(sandbox.order(o.orderId)?.payments[0]?.status).toBe('FAILED');
  });

  it('answers an unknown payment id with 404 and a malformed OTP with 400', async () => {
    expect((await generate('v1-nope-cc-a')).status).toBe(404);
    const o = await pendingOrder(api);
    await generate(o.paymentId);
    const bad = await submit(o.paymentId, '12ab');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_REQUEST');
  });

  it('treats a repeated generate as idempotent (no new OTP, resend_after keeps counting down)', async () => {
    const o = await pendingOrder(api);
    await generate(o.paymentId);
    clock.advance(12_000);
    const again = await generate(o.paymentId);
    expect(again.body.meta_data.resend_after).toBe('18');
  });
});

describe('OTP limits are configurable', () => {
  it('fails on the first wrong OTP when maxAttempts is 1', async () => {
    const custom = await startWithApi({ otp: { maxAttempts: 1 } });
    try {
      const o = await pendingOrder(custom.api);
      await custom.api.post('/api/pay/v1/otp/generate', { payment_id: o.paymentId });
      const res = await custom.api.post('/api/pay/v1/otp/submit', { payment_id: o.paymentId, otp: '999999' });
      expect(res.body.code).toBe('USER_AUTHENTICATION_FAILED');
    } finally {
      await custom.sandbox.stop();
    }
  });
});

describe('payment timeout', () => {
  it('fails a payment left PENDING past paymentTimeoutSeconds with PAYMENT_EXPIRED and closes its challenge', async () => {
    const o = await pendingOrder(api);
    clock.advance(899_000);
    expect((await api.get(`/api/pay/v1/orders/${o.orderId}`)).body.data.status).toBe('PENDING');
    clock.advance(1_000);
    const order = await api.get(`/api/pay/v1/orders/${o.orderId}`);
    expect(order.body.data.status).toBe('ATTEMPTED');
    expect(order.body.data.payments[0]).toMatchObject({ status: 'FAILED', error_detail: { code: 'PAYMENT_EXPIRED' } });
    expect((await fetch(o.challengeUrl)).status).toBe(404);
    expect((await generate(o.paymentId)).status).toBe(422);
  });
});
