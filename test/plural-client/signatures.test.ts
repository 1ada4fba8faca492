import { describe, expect, it } from 'vitest';
import {
  callbackSigningString,
  signCallback,
  signWebhook,
  verifyCallbackSignature,
  verifyWebhook,
  WEBHOOK_VERIFICATION_FAILURE,
  webhookHeaders,
} from '../../plural-client';
import { thrownBy } from '../support/thrown';

// Independent vectors, computed once with OpenSSL 3 (not with the code under test):
//   KEY=6e4f8c2a9b1d3e5f7a0c2b4d6e8f1a3c5b7d9e0f2a4c6b8d0e1f3a5c7b9d2e4f
//   printf '%s' 'order_id=v1-4405071524-aa-qlAtAf&payment_status=AUTHORIZED' \
//     | openssl dgst -sha256 -mac HMAC -macopt hexkey:$KEY
//   => 8365b51e917b6d6a80f002ae2a2aef9e8a6022ccd506baf437e0981ea7ef2c52
//   printf '%s' 'error_code=USER_AUTHENTICATION_FAILED&error_message=Consumer Authentication required&order_id=v1-4405071524-aa-qlAtAf&status=FAILED' \
//     | openssl dgst -sha256 -mac HMAC -macopt hexkey:$KEY
//   => 95f32d32f72a8efd5ae95f9151b91d8b42d0719dcfa89dbe021178a078f92299
//   printf '%s' 'error_code=USER_AUTHENTICATION_FAILED&error_message=Consumer Authentication required&order_id=v1-4405071524-aa-qlAtAf&payment_status=FAILED' \
//     | openssl dgst -sha256 -mac HMAC -macopt hexkey:$KEY
//   => bb888c9691860d45f89357e9d6c465e63bbfef1cfbd949d91c662304762adc0c
//   Same success string keyed with the secret's raw string bytes instead (the wrong reading of the key):
//   printf '%s' '...' | openssl dgst -sha256 -hmac $KEY
//   => 8f537b24a5918e52c02a2797f34d6ef7badf2abffbbd0e17fc4f16d670ab6ef0
const CALLBACK_SECRET = '6e4f8c2a9b1d3e5f7a0c2b4d6e8f1a3c5b7d9e0f2a4c6b8d0e1f3a5c7b9d2e4f';
const SUCCESS_SIG = '8365B51E917B6D6A80F002AE2A2AEF9E8A6022CCD506BAF437E0981EA7EF2C52';
const FAILURE_SIG = '95F32D32F72A8EFD5AE95F9151B91D8B42D0719DCFA89DBE021178A078F92299';
const FAILURE_PAYMENT_STATUS_SIG = 'BB888C9691860D45F89357E9D6C465E63BBFEF1CFBD949D91C662304762ADC0C';
const RAW_KEY_SIG = '8F537B24A5918E52C02A2797F34D6EF7BADF2ABFFBBD0E17FC4F16D670AB6EF0';

//   printf '%s' 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W.1731300000.{"event_type":"ORDER_AUTHORIZED","data":{"order_id":"v1-4405071524-aa-qlAtAf","status":"AUTHORIZED"}}' \
//     | openssl dgst -sha256 -hmac abc1234 -binary | base64
//   => O9VYLhPkIQwqN1xuTk/aQ9RDxfpxzXxCF2qqUaE7qMY=
const WEBHOOK_SECRET = 'abc1234';
const WEBHOOK_ID = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
const WEBHOOK_TS = 1731300000;
const WEBHOOK_BODY =
  '{"event_type":"ORDER_AUTHORIZED","data":{"order_id":"v1-4405071524-aa-qlAtAf","status":"AUTHORIZED"}}';
const WEBHOOK_SIG = 'v1,O9VYLhPkIQwqN1xuTk/aQ9RDxfpxzXxCF2qqUaE7qMY=';

const successFields = { payment_status: 'AUTHORIZED', order_id: 'v1-4405071524-aa-qlAtAf' };
const failureFields = {
  status: 'FAILED',
  order_id: 'v1-4405071524-aa-qlAtAf',
  error_message: 'Consumer Authentication required',
  error_code: 'USER_AUTHENTICATION_FAILED',
};

describe('callback signature', () => {
  it('builds the signing string from every field but signature, sorted by key, joined with &', () => {
    expect(callbackSigningString({ ...failureFields, signature: 'X' })).toBe(
      'error_code=USER_AUTHENTICATION_FAILED&error_message=Consumer Authentication required&order_id=v1-4405071524-aa-qlAtAf&status=FAILED',
    );
  });

  it('verifies the OpenSSL vector for a success callback', () => {
    expect(verifyCallbackSignature({ ...successFields, signature: SUCCESS_SIG }, CALLBACK_SECRET)).toBe(true);
  });

  it('verifies the OpenSSL vector for a failure callback with four signed fields', () => {
    expect(verifyCallbackSignature({ ...failureFields, signature: FAILURE_SIG }, CALLBACK_SECRET)).toBe(true);
  });

  it('verifies the OpenSSL vector for a failure callback carrying payment_status (the guides disagree on the name)', () => {
    const { status, ...rest } = failureFields;
    const fields = { ...rest, payment_status: status, signature: FAILURE_PAYMENT_STATUS_SIG };
    expect(verifyCallbackSignature(fields, CALLBACK_SECRET)).toBe(true);
    expect(verifyCallbackSignature({ ...fields, payment_status: 'AUTHORIZED' }, CALLBACK_SECRET)).toBe(false);
    // The same values under the other field name sign a different string.
    expect(verifyCallbackSignature({ ...failureFields, signature: FAILURE_PAYMENT_STATUS_SIG }, CALLBACK_SECRET)).toBe(
      false,
    );
  });

  it('accepts a lowercase hex signature', () => {
    expect(verifyCallbackSignature({ ...successFields, signature: SUCCESS_SIG.toLowerCase() }, CALLBACK_SECRET)).toBe(
      true,
    );
  });

  it('decodes the hex secret to key bytes (a signature keyed with the raw string is rejected)', () => {
    expect(verifyCallbackSignature({ ...successFields, signature: RAW_KEY_SIG }, CALLBACK_SECRET)).toBe(false);
  });

  it('rejects a tampered field', () => {
    expect(
      verifyCallbackSignature(
        { ...successFields, payment_status: 'PROCESSED', signature: SUCCESS_SIG },
        CALLBACK_SECRET,
      ),
    ).toBe(false);
  });

  it('rejects an extra unsigned field', () => {
    expect(
      verifyCallbackSignature({ ...successFields, error_code: 'X', signature: SUCCESS_SIG }, CALLBACK_SECRET),
    ).toBe(false);
  });

  it('rejects a missing, truncated or non-hex signature without throwing', () => {
    expect(verifyCallbackSignature(successFields, CALLBACK_SECRET)).toBe(false);
    expect(verifyCallbackSignature({ ...successFields, signature: SUCCESS_SIG.slice(2) }, CALLBACK_SECRET)).toBe(false);
    expect(verifyCallbackSignature({ ...successFields, signature: 'Z'.repeat(64) }, CALLBACK_SECRET)).toBe(false);
  });

  it('throws a message without the secret when the secret is not hex', () => {
    const secret = 'not-hex-secret!';
    expect(() => verifyCallbackSignature({ ...successFields, signature: SUCCESS_SIG }, secret)).toThrow(/hex/);
    const err = thrownBy(() => verifyCallbackSignature({ ...successFields, signature: SUCCESS_SIG }, secret));
    expect(String(err)).not.toContain(secret);
  });

  it('signCallback produces the OpenSSL vector, uppercase', () => {
    expect(signCallback(successFields, CALLBACK_SECRET)).toBe(SUCCESS_SIG);
    expect(signCallback(failureFields, CALLBACK_SECRET)).toBe(FAILURE_SIG);
  });
});

describe('webhook signature', () => {
  const headers = {
    'webhook-id': WEBHOOK_ID,
    'webhook-timestamp': String(WEBHOOK_TS),
    'webhook-signature': WEBHOOK_SIG,
  };
  const verify = (over: Partial<Parameters<typeof verifyWebhook>[0]> = {}) =>
    verifyWebhook({ headers, rawBody: WEBHOOK_BODY, secret: WEBHOOK_SECRET, nowSeconds: WEBHOOK_TS + 10, ...over });

  it('verifies the OpenSSL vector', () => {
    expect(verify()).toEqual({ ok: true, id: WEBHOOK_ID, timestamp: WEBHOOK_TS });
  });

  it('verifies a Buffer body byte for byte', () => {
    expect(verify({ rawBody: Buffer.from(WEBHOOK_BODY, 'utf8') }).ok).toBe(true);
  });

  it('finds the matching entry among several space-separated signatures', () => {
    const sig = `v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v2,ignored ${WEBHOOK_SIG}`;
    expect(verify({ headers: { ...headers, 'webhook-signature': sig } }).ok).toBe(true);
  });

  it('reads header names case-insensitively', () => {
    const upper = {
      'Webhook-Id': WEBHOOK_ID,
      'Webhook-Timestamp': String(WEBHOOK_TS),
      'Webhook-Signature': WEBHOOK_SIG,
    };
    expect(verify({ headers: upper }).ok).toBe(true);
  });

  it('rejects a body changed by one byte', () => {
    expect(verify({ rawBody: WEBHOOK_BODY.replace('AUTHORIZED"}}', 'PROCESSED"}}') })).toEqual({
      ok: false,
      reason: WEBHOOK_VERIFICATION_FAILURE.NO_MATCHING_SIGNATURE,
    });
  });

  it('rejects the wrong secret', () => {
    expect(verify({ secret: 'abc1235' }).ok).toBe(false);
  });

  it('rejects a signature with the wrong version prefix', () => {
    const sig = WEBHOOK_SIG.replace('v1,', 'v2,');
    expect(verify({ headers: { ...headers, 'webhook-signature': sig } })).toEqual({
      ok: false,
      reason: WEBHOOK_VERIFICATION_FAILURE.NO_MATCHING_SIGNATURE,
    });
  });

  it('refuses a v1 entry that is not exactly the canonical base64 of the digest (junk, trailing bytes, padding)', () => {
    const b64 = WEBHOOK_SIG.slice('v1,'.length);
    // Each decodes to the right digest with Node's lenient base64 decoder.
    const lenient = [
      `${b64}!!`,
      `${b64}junk`,
      `${b64}=AAAA`,
      `${b64}=`,
      b64.slice(0, -1),
      b64.replace('/', '_'),
      `${b64.slice(0, -2)}Z=`,
      `${b64.slice(0, 10)}.${b64.slice(10)}`,
    ];
    for (const entry of lenient) {
      expect(Buffer.from(entry, 'base64').equals(Buffer.from(b64, 'base64'))).toBe(true);
      expect(verify({ headers: { ...headers, 'webhook-signature': `v1,${entry}` } })).toEqual({
        ok: false,
        reason: WEBHOOK_VERIFICATION_FAILURE.MALFORMED_SIGNATURE,
      });
    }
    // A malformed entry beside the exact one does not spoil it (several entries are allowed).
    expect(verify({ headers: { ...headers, 'webhook-signature': `v1,${b64}!! ${WEBHOOK_SIG}` } }).ok).toBe(true);
  });

  it('rejects timestamps outside the 300 s window and accepts the edges', () => {
    expect(verify({ nowSeconds: WEBHOOK_TS + 300 }).ok).toBe(true);
    expect(verify({ nowSeconds: WEBHOOK_TS - 300 }).ok).toBe(true);
    expect(verify({ nowSeconds: WEBHOOK_TS + 301 })).toEqual({
      ok: false,
      reason: WEBHOOK_VERIFICATION_FAILURE.TIMESTAMP_TOO_OLD,
    });
    expect(verify({ nowSeconds: WEBHOOK_TS - 301 })).toEqual({
      ok: false,
      reason: WEBHOOK_VERIFICATION_FAILURE.TIMESTAMP_TOO_NEW,
    });
  });

  it('rejects missing headers and a non-numeric timestamp', () => {
    const { 'webhook-id': _id, ...noId } = headers;
    expect(verify({ headers: noId })).toEqual({ ok: false, reason: WEBHOOK_VERIFICATION_FAILURE.MISSING_HEADERS });
    expect(verify({ headers: { ...headers, 'webhook-timestamp': '17313e5' } })).toEqual({
      ok: false,
      reason: WEBHOOK_VERIFICATION_FAILURE.INVALID_TIMESTAMP,
    });
  });

  it('signWebhook and webhookHeaders produce the OpenSSL vector', () => {
    const input = { id: WEBHOOK_ID, timestamp: WEBHOOK_TS, body: WEBHOOK_BODY, secret: WEBHOOK_SECRET };
    expect(signWebhook(input)).toBe(WEBHOOK_SIG);
    expect(webhookHeaders(input)).toEqual(headers);
  });
});
