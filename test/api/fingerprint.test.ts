import { describe, expect, it } from 'vitest';
import { canonicalJson, requestFingerprint } from '../../api/fingerprint';
import { CreatePaymentSchema } from '../../api/schemas';
import { cardPayment, OTP_CARD } from './helpers';

const KEY = 'fingerprint-test-key';
const fp = (body: Record<string, unknown>, key = KEY) => requestFingerprint(CreatePaymentSchema.parse(body), key);
const withCard = (card: Record<string, unknown>) =>
  cardPayment('fp-1', {
    card: { number: OTP_CARD, name: 'Asha Rao', expiry_month: '12', expiry_year: '2030', cvv: '123', ...card },
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
    expect(fp(withCard({ number: '5555555555554444' }))).not.toBe(fp(withCard({})));
    expect(fp(withCard({ expiry_year: '2031' }))).not.toBe(fp(withCard({})));
    expect(fp(withCard({}), 'another-key')).not.toBe(fp(withCard({})));
  });
});
