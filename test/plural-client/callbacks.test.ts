import { describe, expect, it } from 'vitest';
import { parseCallback, signCallback, verifyCallbackSignature } from '../../plural-client';

const ORDER_ID = 'v1-4405071524-aa-qlAtAf';

describe('parseCallback', () => {
  it('reads payment_status, as the pre-authorization and pay-by-points guides show it', () => {
    expect(parseCallback({ order_id: ORDER_ID, payment_status: 'AUTHORIZED', signature: 'X' })).toEqual({
      ok: true,
      callback: { orderId: ORDER_ID, status: 'AUTHORIZED', statusField: 'payment_status' },
    });
  });

  it('reads status, as the native-OTP and tokenization guides show it', () => {
    expect(parseCallback({ order_id: ORDER_ID, status: 'PROCESSED' })).toEqual({
      ok: true,
      callback: { orderId: ORDER_ID, status: 'PROCESSED', statusField: 'status' },
    });
  });

  it('carries error_code and error_message of a failure', () => {
    const parsed = parseCallback({
      order_id: ORDER_ID,
      payment_status: 'FAILED',
      error_code: 'USER_AUTHENTICATION_FAILED',
      error_message: 'Consumer Authentication required',
    });
    expect(parsed).toMatchObject({
      ok: true,
      callback: {
        status: 'FAILED',
        errorCode: 'USER_AUTHENTICATION_FAILED',
        errorMessage: 'Consumer Authentication required',
      },
    });
  });

  it('accepts both fields when they agree and refuses them when they disagree', () => {
    expect(parseCallback({ order_id: ORDER_ID, payment_status: 'FAILED', status: 'FAILED' })).toMatchObject({
      ok: true,
      callback: { status: 'FAILED', statusField: 'payment_status' },
    });
    const conflict = parseCallback({ order_id: ORDER_ID, payment_status: 'AUTHORIZED', status: 'FAILED' });
    expect(conflict).toEqual({ ok: false, message: expect.stringContaining('disagree') });
  });

  it('refuses fields with neither status field, or a malformed order id, without echoing values', () => {
    const none = parseCallback({ order_id: ORDER_ID });
    expect(none).toEqual({ ok: false, message: expect.stringContaining('payment_status (or status) is required') });
    const bad = parseCallback({ order_id: '4012001037141112 <script>', payment_status: 'AUTHORIZED' });
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad)).not.toContain('4012001037141112');
    expect(parseCallback({ order_id: ORDER_ID, payment_status: 'authorized' }).ok).toBe(false);
  });

  it('parses what verifyCallbackSignature accepted, under either field name', () => {
    const secret = '0a1b2c3d4e5f';
    for (const field of ['payment_status', 'status']) {
      const unsigned = { order_id: ORDER_ID, [field]: 'AUTHORIZED' };
      const fields = { ...unsigned, signature: signCallback(unsigned, secret) };
      expect(verifyCallbackSignature(fields, secret)).toBe(true);
      expect(parseCallback(fields)).toMatchObject({ ok: true, callback: { status: 'AUTHORIZED' } });
    }
  });
});
