import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { ActionNotAcceptedError, PaymentNotFoundError } from '../../api/engine';
import { legacyRequestFingerprint } from '../../api/fingerprint';
import { CreatePaymentSchema } from '../../api/schemas';
import type { PaymentWorkflowInput } from '../../workflows/definitions';
import { CHALLENGE_LAST4, CORRECT_OTP } from './fake-engine';
import type { FakeEngineOptions } from './fake-engine';
import { CARDS } from '../support/cards';
import { API_KEY, auth, cardPayment, makeApi, OTHER_API_KEY } from './helpers';
import type { TestApi } from './helpers';

async function created(api: TestApi, ref: string, overrides: Record<string, unknown> = {}) {
  const res = await request(api.app).post('/v1/payments').set(auth).send(cardPayment(ref, overrides));
  expect(res.status).toBe(201);
  return res;
}

async function authorized(api: TestApi, ref: string) {
  await created(api, ref);
  const res = await request(api.app).post(`/v1/payments/${ref}/otp`).set(auth).send({ otp: CORRECT_OTP });
  expect(res.body.status).toBe('AUTHORIZED');
  return res;
}

function issuePaths(res: request.Response): string[] {
  return (res.body as { error: { issues: { path: string }[] } }).error.issues.map((i) => i.path);
}

function startInput(api: TestApi): PaymentWorkflowInput {
  const start = api.engine.calls.find((c) => c.method === 'create');
  expect(start).toBeDefined();
  return start!.args[0] as PaymentWorkflowInput;
}

describe('merchant authentication', () => {
  it('rejects a request without an API key with 401 and reaches no engine', async () => {
    const api = makeApi();
    const res = await request(api.app).post('/v1/payments').send(cardPayment('ref-1'));
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.body.error).toMatchObject({ type: 'authentication_error', code: 'missing_api_key' });
    expect(api.engine.calls).toEqual([]);
  });

  it('rejects a wrong API key with 401', async () => {
    const api = makeApi();
    const res = await request(api.app).get('/v1/payments/ref-1').set('Authorization', `Bearer ${API_KEY}x`);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_api_key');
    expect(api.engine.calls).toEqual([]);
  });

  it('rejects a non-bearer scheme with 401', async () => {
    const api = makeApi();
    const res = await request(api.app).get('/v1/payments/ref-1').set('Authorization', `Basic ${API_KEY}`);
    expect(res.status).toBe(401);
  });

  it('accepts every configured key', async () => {
    const api = makeApi();
    for (const key of [API_KEY, OTHER_API_KEY]) {
      const res = await request(api.app).get('/v1/payments/ref-1').set('Authorization', `Bearer ${key}`);
      expect(res.status).toBe(404);
    }
  });

  it('checks the key before reading the body (malformed JSON without a key is 401)', async () => {
    const api = makeApi();
    const res = await request(api.app).post('/v1/payments').type('json').send('{not json');
    expect(res.status).toBe(401);
  });
});

describe('POST /v1/payments', () => {
  it('creates a native-OTP card payment: 201, AWAITING_OTP, Location, no card data in the workflow input', async () => {
    const api = makeApi();
    const res = await created(api, 'order-1');
    expect(res.headers.location).toBe('/v1/payments/order-1');
    expect(res.body).toMatchObject({
      merchant_order_reference: 'order-1',
      status: 'AWAITING_OTP',
      amount: { value: 150_000, currency: 'INR' },
      pre_auth: true,
      payment_method: 'card',
      order_id: 'v1-ord-order-1',
      next_actions: expect.arrayContaining(['SUBMIT_OTP']),
      otp: { attempts_left: 3, resends_left: 2 },
    });
    const input = startInput(api);
    expect(input.method).toEqual({ kind: 'card', cardHandle: 'vh_1', last4: '1112' });
    expect(input.callbackUrl).toBe('http://api.example.test/v1/callbacks/plural');
    const serialized = JSON.stringify(api.engine.calls);
    expect(serialized).not.toContain(CARDS.nativeOtp);
    expect(serialized).not.toContain('"123"');
    expect(serialized).not.toContain('Asha');
    expect(api.vault.secrets.get('vh_1')).toEqual({
      number: CARDS.nativeOtp,
      cvv: '123',
      name: 'Asha Rao',
      expiryMonth: '12',
      expiryYear: '2030',
    });
    expect(JSON.stringify(res.body)).not.toContain(CARDS.nativeOtp);
  });

  it('answers a challenge-page card with AWAITING_CHALLENGE and its challenge_url', async () => {
    const api = makeApi();
    const res = await created(api, 'order-ch', {
      card: { number: CARDS.challenge, name: 'A B', expiry_month: '01', expiry_year: '2031', cvv: '999' },
    });
    expect(CARDS.challenge.endsWith(CHALLENGE_LAST4)).toBe(true);
    expect(res.body.status).toBe('AWAITING_CHALLENGE');
    expect(res.body.challenge_url).toMatch(/^https:\/\//);
  });

  it('answers hosted checkout with the redirect_url and puts nothing in the vault', async () => {
    const api = makeApi();
    const body = { merchant_order_reference: 'hc-1', amount: { value: 1000, currency: 'INR' }, hosted_checkout: true };
    const res = await request(api.app).post('/v1/payments').set(auth).send(body);
    expect(res.status).toBe(201);
    expect(res.body.redirect_url).toBe('https://checkout.example.test/pay/hc-1');
    expect(res.body.pre_auth).toBe(false);
    expect(api.vault.secrets.size).toBe(0);
    expect(startInput(api).method).toEqual({ kind: 'hosted_checkout' });
  });

  it('puts only the CVV of a saved-card payment in the vault', async () => {
    const api = makeApi();
    const body = {
      merchant_order_reference: 'tok-1',
      amount: { value: 1000, currency: 'INR' },
      card_token: { token_id: 'token-abc', cvv: '4321' },
    };
    expect((await request(api.app).post('/v1/payments').set(auth).send(body)).status).toBe(201);
    expect(startInput(api).method).toEqual({ kind: 'card_token', tokenId: 'token-abc', cvvHandle: 'vh_1' });
    expect(api.vault.secrets.get('vh_1')).toEqual({ cvv: '4321' });
  });

  it('refuses a card number given as a saved card’s token_id, without echoing it or starting anything', async () => {
    const api = makeApi();
    const body = {
      merchant_order_reference: 'tok-2',
      amount: { value: 1000, currency: 'INR' },
      card_token: { token_id: CARDS.nativeOtp, cvv: '4321' },
    };
    const res = await request(api.app).post('/v1/payments').set(auth).send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('card_number_in_text');
    const issues = (res.body as { error: { issues: { path: string }[] } }).error.issues;
    expect(issues.map((i) => i.path)).toContain('card_token.token_id');
    expect(res.text).not.toContain(CARDS.nativeOtp);
    expect(api.engine.mutatingCalls).toEqual([]);
  });

  it('puts a network token and its cryptogram in the vault, passing only the handle and last4', async () => {
    const api = makeApi();
    const body = {
      merchant_order_reference: 'nt-1',
      amount: { value: 1000, currency: 'INR' },
      network_token: {
        token: '4895370012345678',
        cryptogram: 'AAABBBCCC111',
        expiry_month: '05',
        expiry_year: '2029',
        last4: '1111',
      },
    };
    expect((await request(api.app).post('/v1/payments').set(auth).send(body)).status).toBe(201);
    expect(startInput(api).method).toEqual({ kind: 'network_token', handle: 'vh_1', last4: '1111' });
    expect(JSON.stringify(api.engine.calls)).not.toContain('AAABBBCCC111');
  });

  it('starts card + points with the customer’s consent', async () => {
    const api = makeApi();
    await created(api, 'pts-1', { points: { customer_consent: true, registered_mobile_number: '9876543210' } });
    expect(startInput(api).method).toEqual({
      kind: 'card_points',
      cardHandle: 'vh_1',
      last4: '1112',
      registeredMobileNumber: '9876543210',
      customerConsent: true,
    });
  });

  it('rejects points without consent with 400 naming points.customer_consent', async () => {
    const api = makeApi();
    const res = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('pts-2', { points: { customer_consent: false, registered_mobile_number: '9876543210' } }));
    expect(res.status).toBe(400);
    expect(issuePaths(res)).toContain('points.customer_consent');
    expect(api.engine.mutatingCalls).toEqual([]);
  });

  it('maps the optional customer to the workflow input', async () => {
    const api = makeApi();
    await created(api, 'cust-1', {
      customer: { customer_id: 'c-1', email: 'a@b.example', mobile_number: '9876543210' },
    });
    expect(startInput(api).customer).toEqual({ customerId: 'c-1', email: 'a@b.example', mobileNumber: '9876543210' });
  });

  it('rejects two payment methods with 400', async () => {
    const api = makeApi();
    const res = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('two', { hosted_checkout: true }));
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/exactly one payment method/);
  });

  it('rejects a request with no payment method with 400', async () => {
    const api = makeApi();
    const res = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send({ merchant_order_reference: 'none', amount: { value: 1, currency: 'INR' } });
    expect(res.status).toBe(400);
    expect(res.body.error.type).toBe('invalid_request_error');
  });

  it('names each missing field as required (not as a value of the wrong type)', async () => {
    const api = makeApi();
    const { amount: _amount, ...withoutAmount } = cardPayment('missing-1');
    const card = { ...(withoutAmount.card as Record<string, unknown>) };
    delete card.cvv;
    const res = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send({ ...withoutAmount, card });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('payment request is invalid: amount: is required');
    expect(res.body.error.issues).toEqual(
      expect.arrayContaining([
        { path: 'amount', message: 'is required' },
        { path: 'card.cvv', message: 'is required' },
      ]),
    );
    // A value of the wrong type still says what was expected.
    const wrong = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('missing-2', { amount: 'x' }));
    expect(wrong.body.error.message).toBe(
      'payment request is invalid: amount: Invalid input: expected object, received string',
    );
  });

  it.each([
    ['a fractional amount', { amount: { value: 10.5, currency: 'INR' } }, 'amount.value'],
    ['a string amount', { amount: { value: '100', currency: 'INR' } }, 'amount.value'],
    ['a zero amount', { amount: { value: 0, currency: 'INR' } }, 'amount.value'],
    ['a lowercase currency', { amount: { value: 100, currency: 'inr' } }, 'amount.currency'],
    ['a reference with a space', { merchant_order_reference: 'a b' }, 'merchant_order_reference'],
    ['a 51-character reference', { merchant_order_reference: 'x'.repeat(51) }, 'merchant_order_reference'],
    ['a pre_auth string', { pre_auth: 'yes' }, 'pre_auth'],
    ['an unknown field', { surprise: 1 }, '(body)'],
  ])('rejects %s with 400 and the field path', async (_name, overrides, path) => {
    const api = makeApi();
    const res = await request(api.app).post('/v1/payments').set(auth).send(cardPayment('bad-1', overrides));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(issuePaths(res)).toContain(path);
    expect(api.engine.mutatingCalls).toEqual([]);
  });

  it('rejects a card failing the Luhn check without echoing the number or the CVV', async () => {
    const api = makeApi();
    const bad = '4012001037141113';
    const res = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(
        cardPayment('luhn', { card: { number: bad, name: 'X', expiry_month: '12', expiry_year: '2030', cvv: '987' } }),
      );
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([{ path: 'card.number', message: expect.stringMatching(/Luhn/) }]);
    expect(res.text).not.toContain(bad);
    expect(res.text).not.toContain('987');
    expect(api.logs.join('')).not.toContain(bad);
  });

  it('never echoes card values in validation messages, even with unknown card fields', async () => {
    const api = makeApi();
    const res = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(
        cardPayment('echo', {
          card: {
            number: CARDS.nativeOtp,
            name: 7,
            expiry_month: '13',
            expiry_year: '30',
            cvv: '12a',
            [CARDS.nativeOtp]: 'x',
          },
        }),
      );
    expect(res.status).toBe(400);
    expect(res.text).not.toContain(CARDS.nativeOtp);
    expect(res.text).not.toContain('12a');
    expect(res.body.error.issues.length).toBeGreaterThanOrEqual(4);
  });

  it('answers malformed JSON with 400 invalid_json and no parser details', async () => {
    const api = makeApi();
    const res = await request(api.app).post('/v1/payments').set(auth).type('json').send('{"card": {"number": "4012');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: {
        type: 'invalid_request_error',
        code: 'invalid_json',
        message: 'request body is not valid JSON (a JSON object is expected)',
      },
    });
  });

  it('answers a JSON array body with 400', async () => {
    const api = makeApi();
    const res = await request(api.app).post('/v1/payments').set(auth).send([1, 2]);
    expect(res.status).toBe(400);
  });

  it('answers a body over the limit with 413', async () => {
    const api = makeApi();
    const res = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('big', { customer: { first_name: 'x'.repeat(40_000) } }));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('body_too_large');
  });

  it('answers a non-JSON body with 415', async () => {
    const api = makeApi();
    const res = await request(api.app).post('/v1/payments').set(auth).type('text/plain').send('hello');
    expect(res.status).toBe(415);
  });

  it('answers a missing body with 400', async () => {
    const api = makeApi();
    const res = await request(api.app).post('/v1/payments').set(auth);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('body_required');
  });

  it('answers the same reference and body again with 200 and the existing payment, starting nothing', async () => {
    const api = makeApi();
    const first = await created(api, 'idem-1');
    const again = await request(api.app).post('/v1/payments').set(auth).send(cardPayment('idem-1'));
    expect(again.status).toBe(200);
    expect(again.body.created_at).toBe(first.body.created_at);
    expect(api.engine.payments.size).toBe(1);
    // The repeat's own copy of the card went to the vault and was destroyed once the payment said it was not new.
    expect(api.vault.secrets.size).toBe(1);
  });

  it('destroys the card hand-off when the payment ends before any payment was made (Plural refused the order)', async () => {
    const api = makeApi({ orderRefused: true });
    const res = await request(api.app).post('/v1/payments').set(auth).send(cardPayment('refused-1'));
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('FAILED');
    expect(api.vault.secrets.size).toBe(0);
    expect(api.vault.destroyed).toHaveLength(1);
  });

  it('answers the same reference with a different body with 409', async () => {
    const api = makeApi();
    await created(api, 'idem-2');
    const res = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('idem-2', { amount: { value: 150_001, currency: 'INR' } }));
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ type: 'conflict_error', code: 'idempotency_conflict' });
  });

  it('answers the same reference with another card of the same last 4 digits and expiry with 409', async () => {
    const api = makeApi();
    await created(api, 'idem-card');
    // Luhn-valid, ends in 1112 like CARDS.nativeOtp, same expiry: only the full number tells them apart.
    const other = '4000000000051112';
    const res = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(
        cardPayment('idem-card', {
          card: { number: other, name: 'Asha Rao', expiry_month: '12', expiry_year: '2030', cvv: '123' },
        }),
      );
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('idempotency_conflict');
    expect(res.text).not.toContain(other);
    // The identical request still answers 200, whatever the CVV.
    const again = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(
        cardPayment('idem-card', {
          card: { number: CARDS.nativeOtp, name: 'Asha Rao', expiry_month: '12', expiry_year: '2030', cvv: '999' },
        }),
      );
    expect(again.status).toBe(200);
  });

  it('answers the same reference with another saved-card token with 409', async () => {
    const api = makeApi();
    const body = (tokenId: string) => ({
      merchant_order_reference: 'idem-tok',
      amount: { value: 1000, currency: 'INR' },
      card_token: { token_id: tokenId, cvv: '123' },
    });
    expect((await request(api.app).post('/v1/payments').set(auth).send(body('token-a'))).status).toBe(201);
    expect((await request(api.app).post('/v1/payments').set(auth).send(body('token-a'))).status).toBe(200);
    expect((await request(api.app).post('/v1/payments').set(auth).send(body('token-b'))).status).toBe(409);
  });

  it('still answers a repeat of an ended payment created before v2 fingerprints (stored v1:) with 200', async () => {
    // Only an ended payment can carry a v1 fingerprint here: a running one from an older build runs on its own workers.
    const api = makeApi();
    const body = cardPayment('idem-v1');
    api.engine.seed(
      {
        merchantOrderReference: 'idem-v1',
        amount: { value: 150_000, currency: 'INR' },
        preAuth: true,
        method: { kind: 'card', cardHandle: 'vh_old', last4: '1112' },
      },
      legacyRequestFingerprint(CreatePaymentSchema.parse(body), 'fingerprint-key-for-tests'),
      'PROCESSED',
    );
    expect((await request(api.app).post('/v1/payments').set(auth).send(body)).status).toBe(200);
    const changed = cardPayment('idem-v1', { amount: { value: 1, currency: 'INR' } });
    expect((await request(api.app).post('/v1/payments').set(auth).send(changed)).status).toBe(409);
  });

  it('stores a fingerprint that holds no card data', async () => {
    const api = makeApi();
    await created(api, 'fp-1');
    const fingerprint = (api.engine.calls.find((c) => c.method === 'create')!.args[1] as { requestFingerprint: string })
      .requestFingerprint;
    expect(fingerprint).toMatch(/^v2:[0-9a-f]{64}$/);
    expect(fingerprint).not.toContain(CARDS.nativeOtp);
  });

  it('treats a concurrent identical request that loses the start race as 200 and destroys its vault entry', async () => {
    const api = makeApi();
    const [a, b] = await Promise.all([
      request(api.app).post('/v1/payments').set(auth).send(cardPayment('race-1')),
      request(api.app).post('/v1/payments').set(auth).send(cardPayment('race-1')),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(api.vault.secrets.size).toBe(1);
  });

  it('answers 503 when Temporal did not confirm the start, keeping the card for a retry of the same request', async () => {
    const api = makeApi();
    // As when the Temporal server dies mid-request: no answer within the wait, and no payment to be found.
    api.engine.create = () => Promise.resolve({ answered: false });
    const res = await request(api.app).post('/v1/payments').set(auth).send(cardPayment('lost-start'));
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'engine_unavailable' });
    expect(api.vault.destroyed).toEqual([]);
    expect(api.vault.secrets.size).toBe(1);
  });

  it('answers 202 with the CREATED payment and its Location when it is not actionable within the wait', async () => {
    const api = makeApi({ unresponsive: true }, { timings: { startWaitMs: 30 } });
    const res = await request(api.app).post('/v1/payments').set(auth).send(cardPayment('slow-1'));
    expect(res.status).toBe(202);
    expect(res.headers.location).toBe('/v1/payments/slow-1');
    expect(res.body.status).toBe('CREATED');
  });

  it('answers 409, not 202, for another request under a running reference that no worker answered in time', async () => {
    const engineOptions: FakeEngineOptions = {};
    // A wait well above the fake engine's transition timer, so that the first create is answered on a loaded machine.
    const api = makeApi(engineOptions, { timings: { startWaitMs: 200, actionWaitMs: 1_000, readyTimeoutMs: 200 } });
    expect((await request(api.app).post('/v1/payments').set(auth).send(cardPayment('slow-2'))).status).toBe(201);
    engineOptions.unresponsive = true;
    const other = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('slow-2', { amount: { value: 999, currency: 'INR' } }));
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('idempotency_conflict');
    const same = await request(api.app).post('/v1/payments').set(auth).send(cardPayment('slow-2'));
    expect(same.status).toBe(202);
    expect(same.body.status).toBe('AWAITING_OTP');
  });
});

describe('GET /v1/payments/{ref}', () => {
  it('returns the payment resource with its events', async () => {
    const api = makeApi();
    await created(api, 'get-1');
    const res = await request(api.app).get('/v1/payments/get-1').set(auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ merchant_order_reference: 'get-1', status: 'AWAITING_OTP' });
    expect(res.body.events).toEqual([expect.objectContaining({ from: 'CREATED', to: 'AWAITING_OTP' })]);
    expect(typeof res.body.created_at).toBe('string');
  });

  it('answers an unknown reference with 404', async () => {
    const api = makeApi();
    const res = await request(api.app).get('/v1/payments/nope').set(auth);
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ type: 'not_found_error', code: 'payment_not_found' });
  });

  it('answers a malformed reference with 400 without asking the engine', async () => {
    const api = makeApi();
    const res = await request(api.app).get('/v1/payments/has%20space').set(auth);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_reference');
    expect(api.engine.calls).toEqual([]);
  });
});

describe('POST /v1/payments/{ref}/otp', () => {
  it('answers a correct OTP with 200 and the authorized payment', async () => {
    const api = makeApi();
    const res = await authorized(api, 'otp-1');
    expect(res.status).toBe(200);
    expect(res.body.next_actions).toContain('CAPTURE');
    expect(res.body.otp.last_submission).toEqual({ outcome: 'ACCEPTED', message: null });
  });

  it('answers a wrong OTP with 200, AWAITING_OTP and one attempt fewer', async () => {
    const api = makeApi();
    await created(api, 'otp-2');
    const res = await request(api.app).post('/v1/payments/otp-2/otp').set(auth).send({ otp: '000000' });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('AWAITING_OTP');
    expect(res.body.otp.attempts_left).toBe(2);
    expect(res.body.otp.last_submission.outcome).toBe('INCORRECT');
  });

  it('answers the last wrong OTP with FAILED', async () => {
    const api = makeApi();
    await created(api, 'otp-3');
    const statuses: number[] = [];
    let body: { status?: string; failure?: { code: string } } = {};
    for (let i = 0; i < 3; i++) {
      const res = await request(api.app).post('/v1/payments/otp-3/otp').set(auth).send({ otp: '0000' });
      statuses.push(res.status);
      body = res.body as typeof body;
    }
    expect(statuses).toEqual([200, 200, 200]);
    expect(body.status).toBe('FAILED');
    expect(body.failure?.code).toBe('OTP_ATTEMPTS_EXHAUSTED');
  });

  it.each([['12'], ['123456789'], ['12a456'], [123456]])('answers OTP %j with 400 and signals nothing', async (otp) => {
    const api = makeApi();
    await created(api, 'otp-4');
    const res = await request(api.app).post('/v1/payments/otp-4/otp').set(auth).send({ otp });
    expect(res.status).toBe(400);
    expect(res.text).not.toContain(String(otp));
    expect(api.engine.calls.filter((c) => c.method === 'submitOtp')).toEqual([]);
  });

  it('answers 409 when the payment is not awaiting an OTP', async () => {
    const api = makeApi();
    await authorized(api, 'otp-5');
    const res = await request(api.app).post('/v1/payments/otp-5/otp').set(auth).send({ otp: CORRECT_OTP });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('payment_not_awaiting_otp');
  });

  it('sends a keyed digest of the OTP, the same for the same OTP of the same payment only, so a repeat joins the first', async () => {
    const api = makeApi();
    await created(api, 'otp-d1');
    await created(api, 'otp-d2');
    for (const [ref, otp] of [
      ['otp-d1', '000000'],
      ['otp-d1', '000000'],
      ['otp-d1', '111111'],
      ['otp-d2', '000000'],
    ] as const) {
      await request(api.app).post(`/v1/payments/${ref}/otp`).set(auth).send({ otp });
    }
    const digests = api.engine.calls
      .filter((c) => c.method === 'submitOtp')
      .map((c) => (c.args[1] as { otpDigest: string }).otpDigest);
    expect(digests[0]).toBe(digests[1]);
    expect(new Set(digests).size).toBe(3);
    for (const d of digests) expect(d).not.toMatch(/000000|111111/);
  });

  it('answers 503 gateway_unavailable when Plural could not be reached and the payment still awaits the OTP', async () => {
    const api = makeApi();
    const waiting = (await created(api, 'otp-g1')).body as { status: string };
    expect(waiting.status).toBe('AWAITING_OTP');
    const state = structuredClone(api.engine.payments.get('otp-g1')!.state);
    api.engine.submitOtp = () =>
      Promise.resolve({
        answered: true,
        answer: { outcome: 'IGNORED', attemptsLeft: 3, message: 'Plural returned HTTP 503', state },
      });
    const put = vi.spyOn(api.vault, 'put');
    const res = await request(api.app).post('/v1/payments/otp-g1/otp').set(auth).send({ otp: CORRECT_OTP });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body.error.code).toBe('gateway_unavailable');
    expect(res.text).not.toContain(CORRECT_OTP);
    // The OTP was not used: its hand-off is dropped now, not at its TTL.
    const handle = (await put.mock.results[0]!.value) as string;
    expect(api.vault.secrets.has(handle)).toBe(false);
  });

  it('answers 409 otp_resend_required when the workflow held the OTP back until a resend', async () => {
    const api = makeApi();
    await created(api, 'otp-r1');
    const state = structuredClone(api.engine.payments.get('otp-r1')!.state);
    state.otp = { ...state.otp!, resendRequired: true };
    state.nextActions = ['RESEND_OTP', 'CANCEL'];
    const message = 'Plural takes no OTP until one is resent: this one was not sent; resend the OTP first';
    api.engine.submitOtp = () =>
      Promise.resolve({ answered: true, answer: { outcome: 'IGNORED', attemptsLeft: 2, message, state } });
    const res = await request(api.app).post('/v1/payments/otp-r1/otp').set(auth).send({ otp: CORRECT_OTP });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'otp_resend_required', message });
  });

  it('answers 409 authentication_window_closed for an OTP the workflow answered after its window closed', async () => {
    const api = makeApi();
    await created(api, 'otp-w1');
    const state = structuredClone(api.engine.payments.get('otp-w1')!.state);
    state.otp = { ...state.otp!, windowEndsAt: new Date(Date.now() - 1_000).toISOString() };
    state.nextActions = ['CANCEL'];
    api.engine.submitOtp = () =>
      Promise.resolve({
        answered: true,
        answer: { outcome: 'IGNORED', attemptsLeft: 3, message: 'the authentication window has closed', state },
      });
    const res = await request(api.app).post('/v1/payments/otp-w1/otp').set(auth).send({ otp: CORRECT_OTP });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('authentication_window_closed');
    expect(res.body.error.message).toContain('otp-w1');
    expect(res.text).not.toContain(CORRECT_OTP);
  });

  it('refuses an OTP and a resend once the authentication window closed (the validator), 409 authentication_window_closed', async () => {
    const api = makeApi();
    await created(api, 'otp-w2');
    const entry = api.engine.payments.get('otp-w2')!;
    entry.state.otp = { ...entry.state.otp!, windowEndsAt: new Date(Date.now() - 1_000).toISOString() };
    entry.state.nextActions = ['CANCEL'];
    for (const path of ['otp', 'otp/resend']) {
      const res = await request(api.app)
        .post(`/v1/payments/otp-w2/${path}`)
        .set(auth)
        .send(path === 'otp' ? { otp: CORRECT_OTP } : {});
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('authentication_window_closed');
    }
  });

  it('answers 404 for an unknown payment', async () => {
    const api = makeApi();
    const res = await request(api.app).post('/v1/payments/ghost/otp').set(auth).send({ otp: CORRECT_OTP });
    expect(res.status).toBe(404);
  });

  it('answers 202 with the payment when the outcome is not known within the wait', async () => {
    const api = makeApi({}, { timings: { actionWaitMs: 30 } });
    await created(api, 'otp-6');
    api.engine.options.unresponsive = true;
    const res = await request(api.app).post('/v1/payments/otp-6/otp').set(auth).send({ otp: CORRECT_OTP });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('AWAITING_OTP');
  });

  it('puts the OTP in the vault and signals only its handle, destroyed once the outcome is known', async () => {
    const api = makeApi();
    await created(api, 'otp-h1');
    const put = vi.spyOn(api.vault, 'put');
    const res = await request(api.app).post('/v1/payments/otp-h1/otp').set(auth).send({ otp: CORRECT_OTP });
    expect(res.body.status).toBe('AUTHORIZED');
    expect(put).toHaveBeenCalledWith({ otp: CORRECT_OTP }, 10 * 60_000);
    const handle = await put.mock.results[0]!.value;
    const sent = api.engine.calls.filter((c) => c.method === 'submitOtp').map((c) => c.args[1]);
    expect(sent).toEqual([{ otpHandle: handle, otpDigest: expect.stringMatching(/^otp1:[0-9a-f]{32}$/) }]);
    expect(JSON.stringify(api.engine.calls)).not.toContain(CORRECT_OTP);
    expect(api.vault.destroyed).toContain(handle);
    expect(api.vault.secrets.has(handle as string)).toBe(false);
  });

  it('keeps the OTP in the vault for otpTtlMs', async () => {
    const api = makeApi({}, { otpTtlMs: 90_000 });
    await created(api, 'otp-h2');
    const put = vi.spyOn(api.vault, 'put');
    await request(api.app).post('/v1/payments/otp-h2/otp').set(auth).send({ otp: CORRECT_OTP });
    expect(put).toHaveBeenCalledWith({ otp: CORRECT_OTP }, 90_000);
  });

  it('reports a submission whose OTP hand-off is gone as FAILED, still AWAITING_OTP, no attempt used', async () => {
    const api = makeApi();
    await created(api, 'otp-h3');
    const put = api.vault.put.bind(api.vault);
    vi.spyOn(api.vault, 'put').mockImplementation(async (secret, ttlMs) => {
      const handle = await put(secret, ttlMs);
      api.vault.secrets.delete(handle); // expired before the engine read it
      return handle;
    });
    const res = await request(api.app).post('/v1/payments/otp-h3/otp').set(auth).send({ otp: CORRECT_OTP });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('AWAITING_OTP');
    expect(res.body.otp.attempts_left).toBe(3);
    expect(res.body.otp.last_submission).toEqual({
      outcome: 'FAILED',
      message: expect.stringMatching(/submit the OTP again/),
    });
    expect(res.text).not.toContain(CORRECT_OTP);
  });

  it('destroys the OTP hand-off when the Update cannot be delivered', async () => {
    const api = makeApi();
    await created(api, 'otp-h4');
    const put = vi.spyOn(api.vault, 'put');
    api.engine.submitOtp = () => Promise.reject(new PaymentNotFoundError('otp-h4'));
    const res = await request(api.app).post('/v1/payments/otp-h4/otp').set(auth).send({ otp: CORRECT_OTP });
    expect(res.status).toBe(404);
    const handle = (await put.mock.results[0]!.value) as string;
    expect(api.vault.destroyed).toContain(handle);
    expect([...api.vault.secrets.values()].some((secret) => secret.otp !== undefined)).toBe(false);
  });

  it('keeps the OTP hand-off when no worker took the Update up in time (it may still run and read it): 503', async () => {
    const api = makeApi();
    await created(api, 'otp-h5');
    const put = vi.spyOn(api.vault, 'put');
    api.engine.submitOtp = () => Promise.reject(new ActionNotAcceptedError('otp-h5', 'submitOtp'));
    const res = await request(api.app).post('/v1/payments/otp-h5/otp').set(auth).send({ otp: CORRECT_OTP });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body.error).toMatchObject({
      code: 'engine_unavailable',
      message: expect.stringMatching(
        /^payment otp-h5 has not taken the submitOtp request: .*send the same request again/,
      ),
    });
    const handle = (await put.mock.results[0]!.value) as string;
    expect(api.vault.destroyed).not.toContain(handle);
    expect(api.vault.secrets.get(handle)).toEqual({ otp: CORRECT_OTP });
    expect(res.text).not.toContain(CORRECT_OTP);
  });

  it('never logs the OTP, the card number or the CVV', async () => {
    const api = makeApi();
    await authorized(api, 'otp-7');
    const logs = api.logs.join('\n');
    expect(api.logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(CORRECT_OTP);
    expect(logs).not.toContain(CARDS.nativeOtp);
    expect(logs).not.toContain(API_KEY);
  });
});

describe('POST /v1/payments/{ref}/otp/resend', () => {
  it('answers a resend before the OTP may be resent with 429 and Retry-After, signalling nothing', async () => {
    const api = makeApi({ resendAfterMs: 30_000 });
    await created(api, 'rs-1');
    const res = await request(api.app).post('/v1/payments/rs-1/otp/resend').set(auth);
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(29);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(30);
    expect(res.body.error.type).toBe('rate_limit_error');
    // Refused by the payment's validator: nothing was done (in Temporal, nothing is written to history).
    expect(api.engine.accepted('resendOtp')).toEqual([]);
  });

  it('resends when allowed: 200 and one resend fewer', async () => {
    const api = makeApi({ resendAfterMs: 0 });
    await created(api, 'rs-2');
    const res = await request(api.app).post('/v1/payments/rs-2/otp/resend').set(auth).send({});
    expect(res.status).toBe(200);
    expect(res.body.otp.resends_left).toBe(1);
    expect(res.body.otp.last_resend.outcome).toBe('SENT');
  });

  it('answers 409 once no resends are left', async () => {
    const api = makeApi({ resendAfterMs: 0 });
    await created(api, 'rs-3');
    for (let i = 0; i < 2; i++)
      expect((await request(api.app).post('/v1/payments/rs-3/otp/resend').set(auth)).status).toBe(200);
    const res = await request(api.app).post('/v1/payments/rs-3/otp/resend').set(auth);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('otp_resend_limit_reached');
  });

  it('answers 409 when the payment is not awaiting an OTP', async () => {
    const api = makeApi({ resendAfterMs: 0 });
    await authorized(api, 'rs-4');
    const res = await request(api.app).post('/v1/payments/rs-4/otp/resend').set(auth);
    expect(res.status).toBe(409);
  });

  it('answers 503 (ask again) when Plural could not be reached to resend, the payment still awaiting the OTP', async () => {
    const api = makeApi({ resendAfterMs: 0, resendUnreachable: true });
    await created(api, 'rs-6');
    const res = await request(api.app).post('/v1/payments/rs-6/otp/resend').set(auth);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('gateway_unavailable');
    expect(res.headers['retry-after']).toBe('1');
  });

  it('answers a body with fields with 400', async () => {
    const api = makeApi({ resendAfterMs: 0 });
    await created(api, 'rs-5');
    const res = await request(api.app).post('/v1/payments/rs-5/otp/resend').set(auth).send({ otp: '1' });
    expect(res.status).toBe(400);
  });
});

describe('POST /v1/payments/{ref}/capture', () => {
  it('captures the full amount: 200 PROCESSED', async () => {
    const api = makeApi();
    await authorized(api, 'cap-1');
    const res = await request(api.app).post('/v1/payments/cap-1/capture').set(auth);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('PROCESSED');
    expect(res.body.captured_amount).toEqual({ value: 150_000, currency: 'INR' });
    expect(res.body.last_capture.outcome).toBe('CAPTURED');
  });

  it('captures a partial amount and passes it to the engine', async () => {
    const api = makeApi();
    await authorized(api, 'cap-2');
    const res = await request(api.app)
      .post('/v1/payments/cap-2/capture')
      .set(auth)
      .send({ amount: { value: 100_000, currency: 'INR' } });
    expect(res.status).toBe(200);
    expect(res.body.captured_amount).toEqual({ value: 100_000, currency: 'INR' });
    const call = api.engine.calls.find((c) => c.method === 'capture')!;
    expect(call.args[1]).toMatchObject({ amount: { value: 100_000, currency: 'INR' } });
  });

  it('answers an amount above the authorized amount with 400 saying both amounts', async () => {
    const api = makeApi();
    await authorized(api, 'cap-3');
    const res = await request(api.app)
      .post('/v1/payments/cap-3/capture')
      .set(auth)
      .send({ amount: { value: 150_001, currency: 'INR' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'capture_amount_too_large',
      message: 'capture amount 150001 exceeds authorized 150000 for order cap-3',
    });
    expect(api.engine.accepted('capture')).toEqual([]);
  });

  it('answers a currency other than the authorized one with 400', async () => {
    const api = makeApi();
    await authorized(api, 'cap-4');
    const res = await request(api.app)
      .post('/v1/payments/cap-4/capture')
      .set(auth)
      .send({ amount: { value: 1, currency: 'USD' } });
    expect(res.status).toBe(400);
  });

  it('answers a non-integer amount with 400', async () => {
    const api = makeApi();
    await authorized(api, 'cap-5');
    const res = await request(api.app)
      .post('/v1/payments/cap-5/capture')
      .set(auth)
      .send({ amount: { value: 1.5, currency: 'INR' } });
    expect(res.status).toBe(400);
    expect(res.body.error.issues[0].path).toBe('amount.value');
  });

  it('answers 409 when the payment is not AUTHORIZED', async () => {
    const api = makeApi();
    await created(api, 'cap-6');
    const res = await request(api.app).post('/v1/payments/cap-6/capture').set(auth);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('payment_not_authorized');
  });

  it('answers 409 when the gateway refuses the capture', async () => {
    const api = makeApi({ captureOutcome: 'REJECTED' });
    await authorized(api, 'cap-7');
    const res = await request(api.app).post('/v1/payments/cap-7/capture').set(auth);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('capture_rejected');
  });

  it('answers 202 when the capture is parked for an operator', async () => {
    const api = makeApi({ captureOutcome: 'PARKED' });
    await authorized(api, 'cap-8');
    const res = await request(api.app).post('/v1/payments/cap-8/capture').set(auth);
    expect(res.status).toBe(202);
    expect(res.body.last_capture.outcome).toBe('PARKED');
  });
});

describe('POST /v1/payments/{ref}/cancel', () => {
  it('cancels an authorized pre-auth: 200 CANCELLED', async () => {
    const api = makeApi();
    await authorized(api, 'can-1');
    const res = await request(api.app).post('/v1/payments/can-1/cancel').set(auth).send({ reason: 'customer left' });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('CANCELLED');
    expect(api.engine.calls.find((c) => c.method === 'cancel')!.args[1]).toMatchObject({ reason: 'customer left' });
  });

  it('answers 202 when the cancel is parked (Plural kept failing it): the payment tries it again on its own', async () => {
    const api = makeApi({ cancelParks: true });
    await authorized(api, 'can-9');
    const res = await request(api.app).post('/v1/payments/can-9/cancel').set(auth);
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('AUTHORIZED');
    expect(res.body.parked).toMatchObject({ operation: 'cancel' });
  });

  it('answers 409 cancel_not_applied, not "ended", when Plural answered the cancel with its order still AUTHORIZED', async () => {
    const api = makeApi({ cancelWithoutEffect: true });
    await authorized(api, 'can-10');
    const res = await request(api.app).post('/v1/payments/can-10/cancel').set(auth);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('cancel_not_applied');
    expect(res.body.error.message).toMatch(/still reads AUTHORIZED: it is not cancelled yet; send the cancel again/);
    expect((await request(api.app).get('/v1/payments/can-10').set(auth)).body.status).toBe('AUTHORIZED');
  });

  it('answers 409 for a final payment', async () => {
    const api = makeApi();
    await authorized(api, 'can-2');
    await request(api.app).post('/v1/payments/can-2/capture').set(auth);
    const res = await request(api.app).post('/v1/payments/can-2/cancel').set(auth);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('payment_not_cancellable');
    expect(api.engine.accepted('cancel')).toEqual([]);
  });

  it('answers 202 CLOSING for a payment not yet authorized (Plural cancels only authorizations), and again on a repeat', async () => {
    const api = makeApi();
    const created = await request(api.app).post('/v1/payments').set(auth).send(cardPayment('can-3'));
    expect(created.body.status).toBe('AWAITING_OTP');
    const res = await request(api.app).post('/v1/payments/can-3/cancel').set(auth).send({ reason: 'order withdrawn' });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('CLOSING');
    const again = await request(api.app).post('/v1/payments/can-3/cancel').set(auth);
    expect(again.status).toBe(202);
    expect(again.body.status).toBe('CLOSING');
    expect((again.body.events as { to: string }[]).filter((e) => e.to === 'CLOSING')).toHaveLength(1);
  });

  it('answers 409 for a sale Plural is processing: it is refunded, not cancelled', async () => {
    const api = makeApi();
    await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('can-4', { pre_auth: false }));
    api.engine.force('can-4', 'PROCESSING');
    const res = await request(api.app).post('/v1/payments/can-4/cancel').set(auth);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/cannot be cancelled \(refund it once PROCESSED\)/);
  });

  it('answers 404 for an unknown payment', async () => {
    const api = makeApi();
    expect((await request(api.app).post('/v1/payments/ghost/cancel').set(auth)).status).toBe(404);
  });
});
