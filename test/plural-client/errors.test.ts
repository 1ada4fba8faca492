import { describe, expect, it } from 'vitest';
import { errorFromResponse, redactSensitive } from '../../plural-client';

describe('errorFromResponse', () => {
  const ctx = { operation: 'lookup of order X', requestId: 'r' };
  it('classifies retryability by status', () => {
    expect(errorFromResponse(500, undefined, ctx).retryable).toBe(true);
    expect(errorFromResponse(504, undefined, ctx).retryable).toBe(true);
    expect(errorFromResponse(408, undefined, ctx).retryable).toBe(true);
    expect(errorFromResponse(429, undefined, ctx).retryable).toBe(true);
    expect(errorFromResponse(400, { code: 'INVALID_REQUEST' }, ctx).retryable).toBe(false);
    expect(errorFromResponse(409, undefined, ctx).retryable).toBe(false);
    expect(errorFromResponse(422, { code: 'DUPLICATE_REQUEST' }, ctx).retryable).toBe(false);
  });
});

describe('errorFromResponse with an error body partly of another shape', () => {
  const ctx = { operation: 'OTP submission', requestId: 'r' };
  it('keeps Plural’s code, next[] and message when only an optional field has another shape', () => {
    const err = errorFromResponse(
      422,
      {
        code: 'INVALID_OTP',
        message: 'Incorrect OTP entered',
        next: ['SUBMIT_OTP', 'RESEND_OTP'],
        meta_data: { resend_after: '30s' },
        additional_error_details: 'see docs',
      },
      ctx,
    );
    expect(err).toMatchObject({ code: 'INVALID_OTP', next: ['SUBMIT_OTP', 'RESEND_OTP'] });
    expect(err.message).toContain('Incorrect OTP entered');
    expect((err as { resendAfterSeconds?: number }).resendAfterSeconds).toBeUndefined();
    expect(errorFromResponse(422, { code: 'INVALID_OTP', next: 'SUBMIT_OTP' }, ctx)).toMatchObject({
      code: 'INVALID_OTP',
      next: undefined,
    });
    // Without a code there is nothing of Plural's to keep.
    expect(errorFromResponse(422, { message: 'no code' }, ctx).code).toBe('HTTP_422');
  });
});

describe('errorFromResponse with what Plural echoes', () => {
  const SECRET = 'cs_live_7Hq2mZ9xK4pR';
  const TOKEN = 'at_0f9e8d7c6b5a4f3e2d1c';

  it("masks the call's client secret and access token wherever Plural's answer repeats them", () => {
    const auth = errorFromResponse(
      400,
      { error: 'invalid_client', error_description: `client_secret ${SECRET} is not valid` },
      { operation: 'access token request', requestId: 'r', isTokenRequest: true, secrets: [SECRET] },
    );
    expect(auth.message).not.toContain(SECRET);
    expect(auth.message).toContain('client_secret [REDACTED] is not valid');
    const api = errorFromResponse(
      422,
      { code: 'INVALID_REQUEST', message: `token ${TOKEN} cannot pay`, additional_error_details: { reason: TOKEN } },
      { operation: 'create order', requestId: 'r', secrets: [SECRET, TOKEN] },
    );
    expect(JSON.stringify({ message: api.message, details: (api as { details?: unknown }).details })).not.toContain(
      TOKEN,
    );
  });

  it('keeps a code only in the shape of one: a card number or a secret as a code becomes HTTP_<status>', () => {
    const ctx = { operation: 'create order', requestId: 'r', secrets: [SECRET] };
    expect(errorFromResponse(422, { code: 'INVALID_REQUEST', message: 'm' }, ctx).code).toBe('INVALID_REQUEST');
    for (const code of ['4012001037141112', 'card 4012 0010 3714 1112', SECRET, 'X'.repeat(65)]) {
      const err = errorFromResponse(422, { code, message: 'm' }, ctx);
      expect(err.code, code).toBe('HTTP_422');
      expect(err.message).not.toContain(code);
    }
  });
});

describe('redactSensitive', () => {
  it('masks PAN-like digit runs and JWTs but keeps order ids', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.SflKxwRJSMeKKF2QT4fw';
    const text = `card 4012-0010-3714-1112 and 4012001037141112 token ${jwt} order v1-240902072711-aa-KAw3iP`;
    const out = redactSensitive(text);
    expect(out).not.toContain('4012');
    expect(out).not.toContain(jwt);
    expect(out).toContain('v1-240902072711-aa-KAw3iP');
  });

  it('masks a card number a gateway echoes grouped by dots, slashes, underscores or no-break spaces', () => {
    for (const card of [
      '4012.0010.3714.1112',
      '4012/0010/3714/1112',
      '4012_0010_3714_1112',
      '4012\u00a00010\u00a03714\u00a01112',
    ]) {
      expect(redactSensitive(`card ${card} declined`)).toBe('card [REDACTED] declined');
    }
  });

  it('masks a CVV or OTP a gateway echoes after its name, and leaves other numbers alone', () => {
    for (const [text, secret] of [
      ['OTP 482913 is invalid', '482913'],
      ['invalid cvv: 123 for card', '123'],
      ['{"card_cvv":"9876"}', '9876'],
      ['otpCode=55443322 expired', '55443322'],
    ] as const) {
      const out = redactSensitive(text);
      expect(out, text).not.toContain(secret);
      expect(out).toContain('[REDACTED]');
    }
    for (const text of ['amount 5000 exceeds limit of 1000 for order v1-1', 'spinning 123 options 456']) {
      expect(redactSensitive(text)).toBe(text);
    }
  });
});
