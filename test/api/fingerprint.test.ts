import { describe, expect, it } from 'vitest';
import { canonicalJson, fingerprintMatches, legacyRequestFingerprint, requestFingerprint } from '../../api/fingerprint';
import { CreatePaymentSchema } from '../../api/schemas';
import { CARDS } from '../support/cards';
import { cardPayment } from './helpers';

const KEY = 'fingerprint-test-key';
const fp = (body: Record<string, unknown>, key = KEY) => requestFingerprint(CreatePaymentSchema.parse(body), key);
const withCard = (card: Record<string, unknown>) =>
  cardPayment('fp-1', {
    card: { number: CARDS.nativeOtp, name: 'Asha Rao', expiry_month: '12', expiry_year: '2030', cvv: '123', ...card },
  });

describe('request fingerprints', () => {
  it('canonical JSON ignores key order and undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: undefined }], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [1, { f: 2 }] }, b: 1 }),
    );
  });

  it('is the same for the same request and differs for a different amount', () => {
    expect(fp(withCard({}))).toBe(fp(withCard({})));
    expect(fp(withCard({}))).not.toBe(fp({ ...withCard({}), amount: { value: 1, currency: 'INR' } }));
  });

  it('does not depend on the CVV or the cardholder name (they are not part of it)', () => {
    expect(fp(withCard({ cvv: '999', name: 'Someone Else' }))).toBe(fp(withCard({})));
  });

  it('depends on the last 4 digits and the expiry, and on the key', () => {
    expect(fp(withCard({ number: CARDS.challenge }))).not.toBe(fp(withCard({})));
    expect(fp(withCard({ expiry_year: '2031' }))).not.toBe(fp(withCard({})));
    expect(fp(withCard({}), 'another-key')).not.toBe(fp(withCard({})));
  });

  it('depends on the full card number, not only its last 4 digits and expiry (v2)', () => {
    // Luhn-valid, ends in 1112 like CARDS.nativeOtp: v1 could not tell them apart.
    const twin = withCard({ number: '4000000000051112' });
    expect(fp(twin)).not.toBe(fp(withCard({})));
    expect(legacyRequestFingerprint(CreatePaymentSchema.parse(twin), KEY)).toBe(
      legacyRequestFingerprint(CreatePaymentSchema.parse(withCard({})), KEY),
    );
  });

  it('depends on the saved-card token and on the network token, through keyed hashes only', () => {
    const token = (token_id: string) => ({
      merchant_order_reference: 'fp-t',
      amount: { value: 1000, currency: 'INR' },
      card_token: { token_id, cvv: '123' },
    });
    expect(fp(token('token-a'))).toBe(fp(token('token-a')));
    expect(fp(token('token-a'))).not.toBe(fp(token('token-b')));
    const network = (t: string) => ({
      merchant_order_reference: 'fp-n',
      amount: { value: 1000, currency: 'INR' },
      network_token: { token: t, cryptogram: 'AgAAAGQk', expiry_month: '03', expiry_year: '2034', last4: '1111' },
    });
    expect(fp(network('4111111111111111'))).not.toBe(fp(network('4000000000061111')));
    expect(fp(network('4111111111111111'))).toMatch(/^v2:[0-9a-f]{64}$/);
  });

  it('depends on notes and metadata, not on the browser details of a retry', () => {
    expect(fp({ ...withCard({}), notes: 'a' })).not.toBe(fp({ ...withCard({}), notes: 'b' }));
    expect(fp({ ...withCard({}), merchant_metadata: { k: 'a' } })).not.toBe(fp(withCard({})));
    expect(fp({ ...withCard({}), device_info: { browser_language: 'en' } })).toBe(fp(withCard({})));
  });

  it('matches a stored fingerprint the way it was computed: v2 by the card, v1 (older payments) as before', () => {
    const body = CreatePaymentSchema.parse(withCard({}));
    const twin = CreatePaymentSchema.parse(withCard({ number: '4000000000051112' }));
    const v2 = requestFingerprint(body, KEY);
    const v1 = legacyRequestFingerprint(body, KEY);
    expect(v1).toMatch(/^v1:[0-9a-f]{64}$/);
    expect(fingerprintMatches(body, KEY, v2)).toBe(true);
    expect(fingerprintMatches(twin, KEY, v2)).toBe(false);
    expect(fingerprintMatches(body, KEY, v1)).toBe(true);
    // A v1 payment cannot tell the twin card apart: it answers as it always did.
    expect(fingerprintMatches(twin, KEY, v1)).toBe(true);
    expect(fingerprintMatches(body, KEY, undefined)).toBe(false);
    expect(fingerprintMatches(body, KEY, `v9:${v2.slice(3)}`)).toBe(false);
    expect(fingerprintMatches(body, 'another-key', v2)).toBe(false);
  });

  it('never holds card data in its text, only in keyed hashes', () => {
    const value = fp(withCard({}));
    expect(value).not.toContain(CARDS.nativeOtp);
    expect(value).not.toContain('1112');
  });
});
