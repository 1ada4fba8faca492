/**
 * What Plural would refuse is refused at the edge with a 400 naming the field and a specific code: a currency other
 * than INR, an amount above the API's limit, an expired card, unprintable characters in names and free text.
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { ACCEPTED_CURRENCIES, DEFAULT_MAX_AMOUNT } from '../../api/schemas';
import { CardVaultError } from '../../card-vault';
import { CARDS } from '../support/cards';
import { auth, cardPayment, makeApi } from './helpers';
import type { TestApi } from './helpers';

/** An API whose clock reads `iso` (and moves on from there, so bounded waits still end). */
function apiAt(iso: string, overrides: Parameters<typeof makeApi>[1] = {}): TestApi {
  const offset = Date.parse(iso) - Date.now();
  return makeApi({}, { now: () => Date.now() + offset, ...overrides });
}

const card = (overrides: Record<string, unknown> = {}) => ({
  number: CARDS.nativeOtp,
  name: 'Asha Rao',
  expiry_month: '12',
  expiry_year: '2030',
  cvv: '123',
  ...overrides,
});

async function refused(api: TestApi, body: Record<string, unknown>, path: string, code: string) {
  const res = await request(api.app).post('/v1/payments').set(auth).send(body);
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe(code);
  expect((res.body as { error: { issues: { path: string }[] } }).error.issues[0]?.path).toBe(path);
  expect(api.engine.mutatingCalls).toEqual([]);
  return res;
}

async function accepted(api: TestApi, body: Record<string, unknown>) {
  const res = await request(api.app).post('/v1/payments').set(auth).send(body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

describe('currency', () => {
  it('accepts INR only, documented as such', async () => {
    expect(ACCEPTED_CURRENCIES).toEqual(['INR']);
    for (const currency of ['USD', 'EUR', 'AED']) {
      const res = await refused(
        makeApi(),
        cardPayment(`cur-${currency}`, { amount: { value: 1000, currency } }),
        'amount.currency',
        'currency_not_supported',
      );
      expect(res.body.error.message).toContain('INR');
    }
  });
});

describe('amount', () => {
  it('refuses more than the default limit (₹10,00,000) and accepts the limit itself', async () => {
    expect(DEFAULT_MAX_AMOUNT).toBe(100_000_000);
    await refused(
      makeApi(),
      cardPayment('big-1', { amount: { value: DEFAULT_MAX_AMOUNT + 1, currency: 'INR' } }),
      'amount.value',
      'amount_too_large',
    );
    await accepted(makeApi(), cardPayment('big-2', { amount: { value: DEFAULT_MAX_AMOUNT, currency: 'INR' } }));
  });

  it('takes the limit from configuration', async () => {
    const api = makeApi({}, { maxAmount: 5_000 });
    await refused(
      api,
      cardPayment('lim-1', { amount: { value: 5_001, currency: 'INR' } }),
      'amount.value',
      'amount_too_large',
    );
    await accepted(api, cardPayment('lim-2', { amount: { value: 5_000, currency: 'INR' } }));
  });

  it('does not apply to captures, which the authorized amount bounds', async () => {
    const api = makeApi({}, { maxAmount: 5_000 });
    const res = await request(api.app)
      .post('/v1/payments/none/capture')
      .set(auth)
      .send({ amount: { value: 9_000, currency: 'INR' } });
    expect(res.status).toBe(404);
  });
});

describe('card expiry', () => {
  it('refuses a card whose expiry month has passed, naming the month or the year', async () => {
    await refused(
      apiAt('2026-12-04T12:00:00Z'),
      cardPayment('exp-1', { card: card({ expiry_month: '11', expiry_year: '2026' }) }),
      'card.expiry_month',
      'card_expired',
    );
    await refused(
      apiAt('2026-12-04T12:00:00Z'),
      cardPayment('exp-2', { card: card({ expiry_month: '12', expiry_year: '2025' }) }),
      'card.expiry_year',
      'card_expired',
    );
  });

  it('accepts a card through the last day of its expiry month, wherever the customer is', async () => {
    await accepted(
      apiAt('2026-12-31T23:00:00Z'),
      cardPayment('exp-3', { card: card({ expiry_month: '12', expiry_year: '2026' }) }),
    );
    // Already January in India (UTC+5:30), still December at UTC-12: not refused here.
    await accepted(
      apiAt('2027-01-01T05:00:00Z'),
      cardPayment('exp-4', { card: card({ expiry_month: '12', expiry_year: '2026' }) }),
    );
    await refused(
      apiAt('2027-01-01T13:00:00Z'),
      cardPayment('exp-5', { card: card({ expiry_month: '12', expiry_year: '2026' }) }),
      'card.expiry_year',
      'card_expired',
    );
  });

  it('checks a network token’s expiry too', async () => {
    await refused(
      apiAt('2026-12-04T12:00:00Z'),
      {
        merchant_order_reference: 'exp-nt',
        amount: { value: 1000, currency: 'INR' },
        network_token: {
          token: '4111111111111111',
          cryptogram: 'AgAAAGQkm6LscccAAAA5gz4AAAA=',
          expiry_month: '03',
          expiry_year: '2024',
          last4: '1111',
        },
      },
      'network_token.expiry_year',
      'card_expired',
    );
  });
});

describe('unprintable characters', () => {
  it.each([
    ['a NUL in the cardholder name', { card: card({ name: 'Asha\u0000Rao' }) }, 'card.name'],
    ['a newline in the cardholder name', { card: card({ name: 'Asha\nRao' }) }, 'card.name'],
    ['a bidi override in a first name', { customer: { first_name: 'Asha\u202eoaR' } }, 'customer.first_name'],
    ['a zero-width space in a last name', { customer: { last_name: 'R\u200Bao' } }, 'customer.last_name'],
    ['a lone surrogate in notes', { notes: 'gift \ud800' }, 'notes'],
    [
      'a tab in an address',
      { customer: { billing_address: { address1: 'a\tb' } } },
      'customer.billing_address.address1',
    ],
    ['a line separator in metadata', { merchant_metadata: { memo: 'x\u2028y' } }, 'merchant_metadata.memo'],
    [
      'a control character in the user agent',
      { device_info: { browser_user_agent: 'UA\u001b[31m' } },
      'device_info.browser_user_agent',
    ],
  ])('refuses %s', async (_what, extra, path) => {
    await refused(makeApi(), cardPayment('unp-1', extra), path, 'unprintable_characters');
  });

  it('accepts names in any script, with the joiners Indic scripts need, and emoji', async () => {
    await accepted(
      makeApi(),
      cardPayment('script-1', {
        card: card({ name: 'आशा राव' }),
        customer: { first_name: 'க்ஷ', last_name: 'ന്\u200Dറ' },
        notes: 'thanks 🙏🏽 👩\u200D💻',
      }),
    );
  });

  it('refuses a control character in a cancel reason', async () => {
    const api = makeApi();
    await accepted(api, cardPayment('cancel-1'));
    const res = await request(api.app).post('/v1/payments/cancel-1/cancel').set(auth).send({ reason: 'x\u0007' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('unprintable_characters');
  });

  it('refuses a customer_id that is not a gateway id', async () => {
    await refused(
      makeApi(),
      cardPayment('cid-1', { customer: { customer_id: 'cust 1' } }),
      'customer.customer_id',
      'invalid_request',
    );
  });
});

describe('the card vault', () => {
  for (const code of ['VAULT_FULL', 'VAULT_UNAVAILABLE', 'VAULT_UNAUTHORIZED'] as const) {
    it(`answers 503 card_vault_unavailable when it fails ${code}, for a card and for an OTP, starting nothing`, async () => {
      const api = makeApi();
      api.vault.put = () => Promise.reject(new CardVaultError(code, `card vault failed: ${code}`));
      const created = await request(api.app).post('/v1/payments').set(auth).send(cardPayment('vault-1'));
      expect(created.status).toBe(503);
      expect(created.headers['retry-after']).toBe('1');
      expect(created.body.error).toMatchObject({ type: 'service_unavailable_error', code: 'card_vault_unavailable' });
      expect(api.engine.calls).toHaveLength(0);
      const otp = await request(api.app).post('/v1/payments/vault-1/otp').set(auth).send({ otp: '123456' });
      expect(otp.status).toBe(503);
      expect(otp.body.error.code).toBe('card_vault_unavailable');
      expect(JSON.stringify([created.body, otp.body])).not.toMatch(/VAULT_|at .*\.ts/);
    });
  }
});

describe('keys the caller chooses', () => {
  it('never names a card-number-like metadata key in an error, however the value is wrong', async () => {
    const api = makeApi();
    for (const [path, body] of [
      ['/v1/payments', cardPayment('meta-key', { merchant_metadata: { [CARDS.nativeOtp]: 1 } })],
      ['/v1/customers', { merchant_customer_reference: 'c-1', merchant_metadata: { [CARDS.nativeOtp]: 1 } }],
    ] as const) {
      const res = await request(api.app).post(path).set(auth).send(body);
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).not.toContain(CARDS.nativeOtp);
      expect(JSON.stringify(res.body)).not.toMatch(/\d{6}/);
    }
    // A plain key is still named, so the merchant knows which one to fix.
    const named = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('meta-key-2', { merchant_metadata: { order_note: 1 } }));
    expect(named.body.error.issues).toEqual([{ path: 'merchant_metadata.order_note', message: expect.any(String) }]);
  });
});
