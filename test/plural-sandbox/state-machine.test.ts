/* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument -- tests walk untyped JSON responses */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../plural-sandbox';
import { canTransition, ORDER_STATUS, type OrderStatus } from '../../plural-sandbox/state-machine';
import { CARDS } from '../support/cards';
import {
  authorizedOrder,
  authorizeWithOtp,
  cardPayment,
  orderBody,
  pendingOrder,
  startWithApi,
  uniqueRef,
} from './helpers';
import type { Api } from './helpers';

let sandbox: RunningSandbox;
let api: Api;

beforeAll(async () => {
  ({ sandbox, api } = await startWithApi({ maxPaymentAttempts: 3 }));
});
afterAll(async () => {
  await sandbox.stop();
});

const capture = (orderId: string, value?: number, ref = uniqueRef('cap')) =>
  api.put(`/api/pay/v1/orders/${orderId}/capture`, {
    merchant_capture_reference: ref,
    ...(value === undefined ? {} : { capture_amount: { value, currency: 'INR' } }),
  });
const cancel = (orderId: string) => api.put(`/api/pay/v1/orders/${orderId}/cancel`);
const approve = (paymentId: string, result: 'approve' | 'decline' = 'approve') =>
  api.post(`/__sandbox/payments/${paymentId}/authenticate`, { result });

describe('orders', () => {
  it('creates an order in CREATED and reads it back by id and by merchant reference', async () => {
    const body = orderBody();
    const created = await api.post('/api/pay/v1/orders', body);
    expect(created.status).toBe(200);
    expect(created.body.data).toMatchObject({ status: 'CREATED', type: 'CHARGE', payments: [], pre_auth: true });
    const id = created.body.data.order_id as string;
    expect(id).toMatch(/^v1-\d{10}-aa-[A-Za-z0-9]{6}$/);
    expect((await api.get(`/api/pay/v1/orders/${id}`)).body.data.order_id).toBe(id);
    const byRef = await api.get(`/api/pay/v1/orders/reference/${String(body.merchant_order_reference)}`);
    expect(byRef.body.data.order_id).toBe(id);
  });

  it('refuses a duplicate merchant_order_reference with 422 DUPLICATE_REQUEST', async () => {
    const body = orderBody();
    expect((await api.post('/api/pay/v1/orders', body)).status).toBe(200);
    const again = await api.post('/api/pay/v1/orders', body);
    expect(again.status).toBe(422);
    expect(again.body.code).toBe('DUPLICATE_REQUEST');
  });

  it('answers an unknown order id or reference with 404 ORDER_NOT_FOUND', async () => {
    const byId = await api.get('/api/pay/v1/orders/v1-0000000000-aa-nope00');
    expect(byId.status).toBe(404);
    expect(byId.body.code).toBe('ORDER_NOT_FOUND');
    expect((await api.get('/api/pay/v1/orders/reference/never-created')).status).toBe(404);
    expect((await capture('v1-0000000000-aa-nope00', 100)).status).toBe(404);
    expect((await cancel('v1-0000000000-aa-nope00')).status).toBe(404);
  });
});

describe('payments', () => {
  it('moves the order and the payment to PENDING and returns a challenge_url', async () => {
    const o = await pendingOrder(api);
    const order = await api.get(`/api/pay/v1/orders/${o.orderId}`);
    expect(order.body.data.status).toBe('PENDING');
    expect(order.body.data.payments[0]).toMatchObject({ id: o.paymentId, status: 'PENDING', payment_method: 'CARD' });
    expect(o.challengeUrl).toContain('/web/auth/landing/?token=');
  });

  it('refuses a second payment while one is PENDING', async () => {
    const o = await pendingOrder(api);
    const again = await api.post(`/api/pay/v1/orders/${o.orderId}/payments`, cardPayment(CARDS.nativeOtp, 50_000));
    expect(again.status).toBe(422);
    expect(again.body.code).toBe('INVALID_ORDER_STATUS');
  });

  it('refuses payments whose total differs from the order amount with 400 INVALID_REQUEST', async () => {
    const created = await api.post('/api/pay/v1/orders', orderBody());
    const res = await api.post(
      `/api/pay/v1/orders/${created.body.data.order_id as string}/payments`,
      cardPayment(CARDS.nativeOtp, 49_999),
    );
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_REQUEST');
    expect(res.body.message).toContain('49999');
  });

  it('authorizes a pre_auth order (AUTHORIZED) and processes a normal one (PROCESSED)', async () => {
    const pre = await authorizedOrder(api);
    expect(sandbox.order(pre.orderId)).toMatchObject({
      status: 'AUTHORIZED',
      authorizedAmount: 50_000,
      capturedAmount: 0,
    });
    const sale = await pendingOrder(api, { preAuth: false });
    await authorizeWithOtp(api, sale.paymentId);
    expect(sandbox.order(sale.orderId)).toMatchObject({ status: 'PROCESSED', capturedAmount: 50_000, captureCount: 0 });
    expect((await api.get(`/api/pay/v1/orders/${sale.orderId}`)).body.data.payments[0].status).toBe('PROCESSED');
  });

  it('marks an issuer decline FAILED with its code, leaves the order ATTEMPTED and accepts a retry', async () => {
    const o = await pendingOrder(api, { card: CARDS.declined });
    await approve(o.paymentId);
    const after = await api.get(`/api/pay/v1/orders/${o.orderId}`);
    expect(after.body.data.status).toBe('ATTEMPTED');
    expect(after.body.data.payments[0]).toMatchObject({ status: 'FAILED', error_detail: { code: 'PAYMENT_DECLINED' } });
    expect(after.body.data.payment_retries_remaining).toBe(2);
    const retry = await api.post(`/api/pay/v1/orders/${o.orderId}/payments`, cardPayment(CARDS.nativeOtp, 50_000));
    expect(retry.status).toBe(200);
    expect(retry.body.data.payments).toHaveLength(2);
    await authorizeWithOtp(api, retry.body.data.payments[1].id);
    expect(sandbox.order(o.orderId)?.status).toBe('AUTHORIZED');
  });

  it('fails the order after the last allowed payment attempt and refuses further payments', async () => {
    const o = await pendingOrder(api, { card: CARDS.insufficientFunds });
    await approve(o.paymentId);
    for (let i = 0; i < 2; i++) {
      const retry = await api.post(
        `/api/pay/v1/orders/${o.orderId}/payments`,
        cardPayment(CARDS.insufficientFunds, 50_000),
      );
      await approve(retry.body.data.payments.at(-1).id);
    }
    expect(sandbox.order(o.orderId)).toMatchObject({ status: 'FAILED', paymentAttempts: 3 });
    const more = await api.post(`/api/pay/v1/orders/${o.orderId}/payments`, cardPayment(CARDS.nativeOtp, 50_000));
    expect(more.status).toBe(422);
  });

  it('refuses the expired test card and a past expiry date with 422 CARD_EXPIRED, creating nothing', async () => {
    const created = await api.post('/api/pay/v1/orders', orderBody());
    const id = created.body.data.order_id as string;
    const expiredCard = await api.post(`/api/pay/v1/orders/${id}/payments`, cardPayment(CARDS.expired, 50_000));
    expect(expiredCard.status).toBe(422);
    expect(expiredCard.body.code).toBe('CARD_EXPIRED');
    const pastDate = await api.post(
      `/api/pay/v1/orders/${id}/payments`,
      cardPayment(CARDS.nativeOtp, 50_000, { expiry_year: '2001' }),
    );
    expect(pastDate.body.code).toBe('CARD_EXPIRED');
    expect(sandbox.order(id)).toMatchObject({ status: 'CREATED', paymentAttempts: 0, payments: [] });
  });

  it('reports is_native_otp_supported per card', async () => {
    const res = await api.post('/api/pay/v1/getCardDetails', {
      amount: '100',
      card_details: [
        { payment_identifier: CARDS.nativeOtp, payment_reference_type: 'CARD' },
        { payment_identifier: CARDS.challenge, payment_reference_type: 'CARD' },
      ],
    });
    expect(
      res.body.card_payment_details.map((c: { is_native_otp_supported: boolean }) => c.is_native_otp_supported),
    ).toEqual([true, false]);
  });
});

describe('capture', () => {
  it('captures the full amount once: PROCESSED, one capture_data entry, captureCount 1', async () => {
    const o = await authorizedOrder(api);
    const res = await capture(o.orderId);
    expect(res.status).toBe(200);
    expect(res.body.data.status).toBe('PROCESSED');
    expect(res.body.data.payments[0].capture_data).toHaveLength(1);
    expect(sandbox.order(o.orderId)).toMatchObject({ captureCount: 1, capturedAmount: 50_000, reversedAmount: 0 });
  });

  it('refuses capture of an order that is not AUTHORIZED (CREATED, PENDING, PROCESSED without pre_auth)', async () => {
    const created = await api.post('/api/pay/v1/orders', orderBody());
    const pending = await pendingOrder(api);
    const sale = await pendingOrder(api, { preAuth: false });
    await authorizeWithOtp(api, sale.paymentId);
    for (const id of [created.body.data.order_id as string, pending.orderId, sale.orderId]) {
      const res = await capture(id, 100);
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('INVALID_ORDER_STATUS');
    }
  });

  it('refuses a second capture (new reference: INVALID_ORDER_STATUS; same reference: DUPLICATE_REQUEST)', async () => {
    const o = await authorizedOrder(api);
    expect((await capture(o.orderId, 50_000, 'cap-1')).status).toBe(200);
    const second = await capture(o.orderId, 50_000, 'cap-2');
    expect(second.status).toBe(422);
    expect(second.body.code).toBe('INVALID_ORDER_STATUS');
    const replay = await capture(o.orderId, 50_000, 'cap-1');
    expect(replay.status).toBe(422);
    expect(replay.body.code).toBe('DUPLICATE_REQUEST');
    expect(sandbox.order(o.orderId)?.captureCount).toBe(1);
  });

  it('refuses a capture above the authorized amount with 422 AMOUNT_LIMIT_EXCEEDED and stays AUTHORIZED', async () => {
    const o = await authorizedOrder(api);
    const res = await capture(o.orderId, 50_001);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('AMOUNT_LIMIT_EXCEEDED');
    expect(sandbox.order(o.orderId)).toMatchObject({ status: 'AUTHORIZED', captureCount: 0 });
  });

  it('allows ONE partial capture: PARTIALLY_CAPTURED, remainder reversed, no further capture', async () => {
    const o = await authorizedOrder(api);
    const res = await capture(o.orderId, 20_000);
    expect(res.body.data.status).toBe('PARTIALLY_CAPTURED');
    expect(sandbox.order(o.orderId)).toMatchObject({ capturedAmount: 20_000, reversedAmount: 30_000, captureCount: 1 });
    const more = await capture(o.orderId, 10_000);
    expect(more.status).toBe(422);
  });

  it('fails the order when the acquirer declines the capture', async () => {
    const o = await authorizedOrder(api, { card: CARDS.captureDeclined });
    const res = await capture(o.orderId);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('PAYMENT_DECLINED');
    expect(sandbox.order(o.orderId)).toMatchObject({ status: 'FAILED', captureCount: 0, captureAttempts: 1 });
  });
});

describe('cancel', () => {
  it('cancels an AUTHORIZED order, reverses it, and then refuses capture', async () => {
    const o = await authorizedOrder(api);
    const res = await cancel(o.orderId);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'CANCELLED', payments: [{ status: 'CANCELLED' }] });
    const after = await capture(o.orderId);
    expect(after.status).toBe(422);
    expect(sandbox.order(o.orderId)).toMatchObject({ status: 'CANCELLED', captureCount: 0, reversedAmount: 50_000 });
  });

  it('refuses cancel after capture and cancel of an order never authorized', async () => {
    const o = await authorizedOrder(api);
    await capture(o.orderId);
    const res = await cancel(o.orderId);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('INVALID_ORDER_STATUS');
    const pending = await pendingOrder(api);
    expect((await cancel(pending.orderId)).status).toBe(422);
  });
});

describe('refunds', () => {
  const refund = (orderId: string, value: number, ref = uniqueRef('rf')) =>
    api.post(`/api/pay/v1/refunds/${orderId}`, {
      merchant_order_reference: ref,
      order_amount: { value, currency: 'INR' },
    });

  it('refunds a processed order partially then fully, as REFUND orders linked to the parent', async () => {
    const o = await authorizedOrder(api);
    await capture(o.orderId);
    const first = await refund(o.orderId, 10_000);
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ type: 'REFUND', parent_order_id: o.orderId, status: 'PROCESSED' });
    expect(sandbox.order(o.orderId)?.status).toBe('PARTIALLY_REFUNDED');
    await refund(o.orderId, 40_000);
    expect(sandbox.order(o.orderId)).toMatchObject({ status: 'FULLY_REFUNDED', refundedAmount: 50_000 });
  });

  it('refuses refunds above the refundable amount and refunds of unsettled orders', async () => {
    const o = await authorizedOrder(api);
    expect((await refund(o.orderId, 100)).status).toBe(422);
    await capture(o.orderId, 20_000);
    const over = await refund(o.orderId, 20_001);
    expect(over.status).toBe(422);
    expect(over.body.code).toBe('AMOUNT_LIMIT_EXCEEDED');
  });

  it('treats a repeated refund reference as the same refund, and a conflicting one as DUPLICATE_REQUEST', async () => {
    const o = await authorizedOrder(api);
    await capture(o.orderId);
    const a = await refund(o.orderId, 5_000, 'rf-same');
    const b = await refund(o.orderId, 5_000, 'rf-same');
    expect(b.body.data.order_id).toBe(a.body.data.order_id);
    expect(sandbox.order(o.orderId)?.refundedAmount).toBe(5_000);
    const c = await refund(o.orderId, 6_000, 'rf-same');
    expect(c.status).toBe(422);
    expect(c.body.code).toBe('DUPLICATE_REQUEST');
  });
});

describe('points and saved cards', () => {
  const split = (card: string, cardValue: number, points: number) => ({
    payments: [
      {
        payment_method: 'CARD',
        payment_amount: { value: cardValue, currency: 'INR' },
        payment_option: { card_details: { card_number: card, cvv: '123', expiry_month: '12', expiry_year: '2099' } },
      },
      {
        payment_method: 'POINTS',
        payment_amount: { value: points, currency: 'INR' },
        payment_option: { points_card_details: { card_number: card } },
      },
    ],
  });

  it('refuses points above the redeemable share and points on a card without points', async () => {
    const a = await api.post('/api/pay/v1/orders', orderBody({ order_amount: { value: 10_000, currency: 'INR' } }));
    const over = await api.post(
      `/api/pay/v1/orders/${a.body.data.order_id as string}/payments`,
      split(CARDS.nativeOtp, 2_000, 8_000),
    );
    expect(over.status).toBe(422);
    expect(over.body.code).toBe('AMOUNT_LIMIT_EXCEEDED');
    const none = await api.post(
      `/api/pay/v1/orders/${a.body.data.order_id as string}/payments`,
      split(CARDS.challenge, 5_000, 5_000),
    );
    expect(none.body.code).toBe('POINTS_NOT_ELIGIBLE');
  });

  it('saves a card with save: true for the order customer and pays with its token_id + cvv', async () => {
    const customer = uniqueRef('cust');
    const order = { purchase_details: { customer: { customer_id: customer } } };
    const created = await api.post('/api/pay/v1/orders', orderBody(order));
    const id = created.body.data.order_id as string;
    const paid = await api.post(
      `/api/pay/v1/orders/${id}/payments`,
      cardPayment(CARDS.nativeOtp, 50_000, { save: true }),
    );
    await authorizeWithOtp(api, paid.body.data.payments[0].id);
    const tokens = await api.get(`/api/v1/customer/${customer}/tokens`);
    expect(tokens.body.tokens).toHaveLength(1);
    expect(JSON.stringify(tokens.body)).not.toContain(CARDS.nativeOtp);
    const second = await api.post('/api/pay/v1/orders', orderBody(order));
    const tokenPay = (extra: Record<string, unknown>) => ({
      payments: [
        {
          payment_method: 'CARD',
          payment_amount: { value: 50_000, currency: 'INR' },
          payment_option: { card_token_details: { token_id: tokens.body.tokens[0].token_id, ...extra } },
        },
      ],
    });
    const noCvv = await api.post(`/api/pay/v1/orders/${second.body.data.order_id as string}/payments`, tokenPay({}));
    expect(noCvv.status).toBe(400);
    const ok = await api.post(
      `/api/pay/v1/orders/${second.body.data.order_id as string}/payments`,
      tokenPay({ cvv: '123' }),
    );
    expect(ok.status).toBe(200);
    expect(ok.body.data.payments[0].payment_option.card_data.last4_digit).toBe('1112');
  });

  it('creates customers, reads them back, and refuses a duplicate merchant_customer_reference', async () => {
    const ref = uniqueRef('mcr');
    const created = await api.post('/api/v1/customer', { merchant_customer_reference: ref, first_name: 'Kevin' });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ merchant_customer_reference: ref, status: 'INACTIVE' });
    const id = created.body.customer_id as string;
    expect((await api.get(`/api/v1/customer/${id}`)).body.first_name).toBe('Kevin');
    expect((await api.get(`/api/v1/customer/${id}/tokens`)).body.tokens).toEqual([]);
    const dup = await api.post('/api/v1/customer', { merchant_customer_reference: ref });
    expect(dup.status).toBe(422);
    expect(dup.body.code).toBe('DUPLICATE_REQUEST');
    expect((await api.get('/api/v1/customer/cust-v1-none')).status).toBe(404);
  });

  it('refuses an unknown token_id with 422 INVALID_TOKEN', async () => {
    const created = await api.post('/api/pay/v1/orders', orderBody());
    const res = await api.post(`/api/pay/v1/orders/${created.body.data.order_id as string}/payments`, {
      payments: [
        {
          payment_method: 'CARD',
          payment_amount: { value: 50_000, currency: 'INR' },
          payment_option: { card_token_details: { token_id: 'token-v1-unknown', cvv: '123' } },
        },
      ],
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('INVALID_TOKEN');
  });
});

describe('transition table', () => {
  it('has no way out of CANCELLED, FAILED or FULLY_REFUNDED and no capture path from CANCELLED', () => {
    const all = Object.values(ORDER_STATUS);
    for (const terminal of ['CANCELLED', 'FAILED', 'FULLY_REFUNDED'] as OrderStatus[]) {
      expect(all.filter((to) => canTransition(terminal, to))).toEqual([]);
    }
    expect(canTransition('AUTHORIZED', 'PROCESSED')).toBe(true);
    expect(canTransition('PROCESSED', 'AUTHORIZED')).toBe(false);
  });

  it('lets an unpaid order (CREATED or ATTEMPTED) expire to FAILED, and nothing else skip PENDING', () => {
    expect(canTransition('CREATED', 'FAILED')).toBe(true);
    expect(canTransition('ATTEMPTED', 'FAILED')).toBe(true);
    for (const from of ['CREATED', 'ATTEMPTED'] as OrderStatus[]) {
      expect(Object.values(ORDER_STATUS).filter((to) => canTransition(from, to))).toEqual(['PENDING', 'FAILED']);
    }
  });

  it('never records two captures or a capture after cancel, whatever the sequence of calls', async () => {
    type Op = { kind: 'capture'; value: number | undefined } | { kind: 'cancel' } | { kind: 'refund' };
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('capture' as const),
        value: fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: undefined }),
      }),
      fc.constant({ kind: 'cancel' as const }),
      fc.constant({ kind: 'refund' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 5 }), async (ops: Op[]) => {
        const o = await authorizedOrder(api);
        for (const step of ops) {
          if (step.kind === 'capture') await capture(o.orderId, step.value);
          else if (step.kind === 'cancel') await cancel(o.orderId);
          else
            await api.post(`/api/pay/v1/refunds/${o.orderId}`, {
              merchant_order_reference: uniqueRef('rf'),
              order_amount: { value: 100, currency: 'INR' },
            });
          const s = sandbox.order(o.orderId)!;
          expect(s.captureCount).toBeLessThanOrEqual(1);
          if (s.cancelledAt !== undefined) expect(s.captureCount).toBe(0);
          expect(s.capturedAmount).toBeLessThanOrEqual(s.authorizedAmount);
          expect(s.refundedAmount).toBeLessThanOrEqual(s.capturedAmount);
        }
      }),
      { numRuns: 25 },
    );
  });
});
