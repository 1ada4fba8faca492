/**
 * Standard Webhooks signing and verification, and the events' ids and bodies. The signature is also computed here
 * from the specification's text with node:crypto, so a library change that signed something else would fail.
 */
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  deliveryEventId,
  merchantEventBody,
  merchantEventId,
  newWebhookSecret,
  signWebhook,
  verifyWebhook,
  WEBHOOK_SECRET_PATTERN,
} from '../../merchant-webhooks';
import type { MerchantEvent } from '../../workflows/definitions';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const AT = new Date('2026-12-05T10:00:00.000Z');
const BODY = '{"type":"payment.processed","data":{"status":"PROCESSED"}}';

describe('signWebhook', () => {
  it('signs "id.timestamp.body" with HMAC-SHA256 of the base64-decoded secret, as v1,<base64>', () => {
    const headers = signWebhook(SECRET, 'evt_1', AT, BODY);
    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key)
      .update(`evt_1.${AT.getTime() / 1000}.${BODY}`)
      .digest('base64');
    expect(headers).toEqual({
      'webhook-id': 'evt_1',
      'webhook-timestamp': '1796464800',
      'webhook-signature': `v1,${expected}`,
    });
  });

  it("is verified by the standardwebhooks library (the merchant's code in the README)", () => {
    const now = new Date();
    const headers = signWebhook(SECRET, 'evt_2', now, BODY);
    expect(new Webhook(SECRET).verify(BODY, { ...headers })).toEqual(JSON.parse(BODY));
  });
});

describe('verifyWebhook', () => {
  const signedNow = (body = BODY, secret = SECRET) => signWebhook(secret, 'evt_3', new Date(), body);

  it('accepts a delivery signed with the secret and returns its parsed body', () => {
    expect(verifyWebhook(SECRET, { ...signedNow() }, BODY)).toEqual({
      ok: true,
      id: 'evt_3',
      payload: JSON.parse(BODY),
    });
  });

  it('refuses a body changed after signing', () => {
    const result = verifyWebhook(SECRET, { ...signedNow() }, BODY.replace('PROCESSED', 'CANCELLED'));
    expect(result).toEqual({ ok: false, reason: 'No matching signature found' });
  });

  it('refuses a delivery signed with another secret', () => {
    const result = verifyWebhook(SECRET, { ...signedNow(BODY, newWebhookSecret()) }, BODY);
    expect(result.ok).toBe(false);
  });

  it('refuses a delivery signed more than five minutes ago (a replay)', () => {
    const headers = signWebhook(SECRET, 'evt_4', new Date(Date.now() - 6 * 60_000), BODY);
    expect(verifyWebhook(SECRET, { ...headers }, BODY)).toEqual({ ok: false, reason: 'Message timestamp too old' });
  });

  it('refuses a delivery without the headers', () => {
    expect(verifyWebhook(SECRET, {}, BODY)).toEqual({ ok: false, reason: 'Missing required headers' });
  });
});

describe('newWebhookSecret', () => {
  it('makes whsec_ secrets of 32 random bytes that the configuration accepts', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(WEBHOOK_SECRET_PATTERN);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(a);
  });
});

describe('merchantEventId', () => {
  it('is the same for the same workflow and sequence, and differs for any other', () => {
    const id = merchantEventId('payment:ord-1', 1);
    expect(id).toMatch(/^evt_[A-Za-z0-9_-]{32}$/);
    expect(merchantEventId('payment:ord-1', 1)).toBe(id);
    expect(merchantEventId('payment:ord-1', 2)).not.toBe(id);
    expect(merchantEventId('payment:ord-2', 1)).not.toBe(id);
    // No ambiguity between a reference ending in a digit and the sequence.
    expect(merchantEventId('payment:ord-1', 12)).not.toBe(merchantEventId('payment:ord-11', 2));
  });

  it('does not echo the order reference', () => {
    expect(merchantEventId('payment:secret-looking-ref', 1)).not.toContain('secret-looking-ref');
  });

  it('tells apart two payments under one workflow id (a reference used again) by their creation times', () => {
    const first = merchantEventId('payment:ord-1', 1, '2026-10-01T10:00:00.000Z');
    expect(merchantEventId('payment:ord-1', 1, '2026-10-01T10:00:00.000Z')).toBe(first);
    expect(merchantEventId('payment:ord-1', 1, '2026-12-05T10:00:00.000Z')).not.toBe(first);
    // A delivery scheduled before the creation time was part of the id keeps the id it had.
    const event = { sequence: 1, payment: { createdAt: '2026-10-01T10:00:00.000Z' } } as MerchantEvent;
    expect(deliveryEventId({ workflowId: 'payment:ord-1', event })).toBe(merchantEventId('payment:ord-1', 1));
    expect(deliveryEventId({ workflowId: 'payment:ord-1', event, idVersion: 2 })).toBe(first);
  });
});

describe('merchantEventBody', () => {
  const event: MerchantEvent = {
    sequence: 4,
    type: 'refund.processed',
    at: '2026-12-05T10:00:00.000Z',
    payment: {
      merchantOrderReference: 'ord-1',
      method: 'card',
      preAuth: true,
      status: 'PROCESSED',
      pluralOrderId: 'v1-123',
      amount: { value: 5000, currency: 'INR' },
      amountCaptured: { value: 5000, currency: 'INR' },
      amountRefunded: { value: 1000, currency: 'INR' },
      failure: undefined,
      createdAt: '2026-12-05T09:00:00.000Z',
      updatedAt: '2026-12-05T10:00:00.000Z',
    },
    refund: {
      reason: 'MERCHANT',
      amount: { value: 1000, currency: 'INR' },
      merchantRefundReference: 'r-1',
      reference: 'x',
      refundOrderId: 'v1-456',
      status: 'PROCESSED',
      at: '2026-12-05T09:59:00.000Z',
    },
  };

  it("holds the event's id, type, time and sequence, and the payment's public fields in minor units", () => {
    expect(merchantEventBody('default', 'evt_given', event)).toEqual({
      id: 'evt_given',
      type: 'refund.processed',
      timestamp: '2026-12-05T10:00:00.000Z',
      sequence: 4,
      data: {
        object: 'payment',
        merchant_id: 'default',
        merchant_order_reference: 'ord-1',
        status: 'PROCESSED',
        amount: { value: 5000, currency: 'INR' },
        pre_auth: true,
        payment_method: 'card',
        order_id: 'v1-123',
        captured_amount: { value: 5000, currency: 'INR' },
        refunded_amount: { value: 1000, currency: 'INR' },
        failure: null,
        created_at: '2026-12-05T09:00:00.000Z',
        updated_at: '2026-12-05T10:00:00.000Z',
        refund: {
          object: 'refund',
          merchant_refund_reference: 'r-1',
          reason: 'MERCHANT',
          merchant_reason: null,
          amount: { value: 1000, currency: 'INR' },
          status: 'PROCESSED',
          refund_order_id: 'v1-456',
          failure: null,
          created_at: '2026-12-05T09:59:00.000Z',
        },
      },
    });
  });
});
