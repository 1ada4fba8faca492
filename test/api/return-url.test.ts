/**
 * Return URLs per payment: a `return_url` is taken only for a host the merchant configured (never an open redirect),
 * and Plural's callback sends the browser there with the payment's reference and status as the engine knows it, a
 * timestamp and an HMAC the merchant verifies — for a replayed or stale callback too, without trusting its claim.
 */
import Ajv2020 from 'ajv/dist/2020';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import {
  buildOpenApiDocument,
  checkReturnUrl,
  createReturnUrlPolicy,
  returnSignature,
  returnSignatureCanonical,
  verifyReturn,
} from '../../api';
import type { ReturnUrlPolicy } from '../../api';
import { signCallback } from '../../plural-client';
import { CARDS } from '../support/cards';
import { waitFor } from '../support/wait';
import { auth, CALLBACK_SECRET_HEX, cardPayment, makeApi, SUCCESS_URL } from './helpers';

const SECRET = 'return-signing-secret-for-tests-0123456789';
const HOSTS = ['shop.example', 'pay.shop.example:8443', '127.0.0.1:4000'];
const policy = (overrides: Partial<ReturnUrlPolicy> = {}): ReturnUrlPolicy => ({
  ...createReturnUrlPolicy({ hosts: HOSTS, signingSecret: SECRET, allowHttpLoopback: false }),
  ...overrides,
});
const challengeCard = { number: CARDS.challenge, name: 'A', expiry_month: '01', expiry_year: '2031', cvv: '999' };

/** A challenge-card payment with `return_url`, created through the API. */
async function createWithReturn(api: ReturnType<typeof makeApi>, ref: string, returnUrl: string) {
  const res = await request(api.app)
    .post('/v1/payments')
    .set(auth)
    .send(cardPayment(ref, { card: challengeCard, return_url: returnUrl }));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res;
}

/** Plural's signed browser callback for `orderId`, as the browser posts it. */
function callback(api: ReturnType<typeof makeApi>, orderId: string, status = 'AUTHORIZED') {
  const fields = { order_id: orderId, status };
  return request(api.app)
    .post('/v1/callbacks/plural')
    .type('form')
    .send({ ...fields, signature: signCallback(fields, CALLBACK_SECRET_HEX) });
}

describe('return_url on create: only hosts the merchant configured', () => {
  const tricks: [string, string][] = [
    ['a host that is not configured', 'https://evil.example/return'],
    ['userinfo naming the allowed host', 'https://shop.example@evil.example/return'],
    ['userinfo in front of the allowed host', 'https://user:pw@shop.example/return'],
    ['an empty userinfo', 'https://@shop.example/return'],
    ['the allowed host as a subdomain label', 'https://shop.example.evil.example/return'],
    ['mixed case around another host', 'https://SHOP.EXAMPLE.Evil.Example/return'],
    ['a suffix of the allowed host', 'https://evilshop.example/return'],
    ['a scheme-relative URL', '//evil.example/return'],
    ['a path only', '/return'],
    ['backslashes', 'https://shop.example\\@evil.example/'],
    ['backslashes as slashes', 'https:\\\\evil.example\\return'],
    ['javascript:', 'javascript:alert(document.cookie)'],
    ['JaVaScRiPt: with slashes', 'JaVaScRiPt://shop.example/%0Aalert(1)'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['http to a public host', 'http://shop.example/return'],
    ['http to loopback outside development', 'http://127.0.0.1:4000/return'],
    ['a fragment', 'https://shop.example/return#frag'],
    ['an empty fragment', 'https://shop.example/return#'],
    ['another port of an allowed host', 'https://shop.example:8443/return'],
    ['the default port of a host allowed on another', 'https://pay.shop.example/return'],
    ['an IDN look-alike (Cyrillic а)', 'https://shop.ex\u0430mple/return'],
    ['a punycode host', 'https://xn--shop-example.example/return'],
    ['a trailing dot', 'https://shop.example./return'],
    ['a tab inside', 'https://shop.example/re\tturn'],
    ['a leading space', ' https://shop.example/return'],
    ['https without slashes', 'https:shop.example/return'],
    ['an IP for the host', 'https://93.184.216.34/return'],
    ['more than 2048 characters', `https://shop.example/${'a'.repeat(2048)}`],
  ];

  it.each(tricks)('refuses %s with 400 return_url_not_allowed, before the vault or the engine', async (_, url) => {
    const api = makeApi({}, { returnUrlPolicy: policy() });
    const res = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('ru-trick', { return_url: url }));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'return_url_not_allowed' });
    expect(res.body.error.issues).toEqual([{ path: 'return_url', message: expect.any(String) as unknown }]);
    expect(api.engine.calls).toEqual([]);
    expect(api.vault.secrets.size).toBe(0);
    // The answer names the rule, never the URL.
    expect(JSON.stringify(res.body)).not.toContain('evil');
  });

  it('refuses every return_url when the merchant has no hosts or no signing secret', async () => {
    for (const returnUrlPolicy of [
      undefined,
      policy({ returnUrlHostsFor: () => [] }),
      policy({ returnSigningSecretFor: () => undefined }),
    ]) {
      const api = makeApi({}, returnUrlPolicy ? { returnUrlPolicy } : {});
      const res = await request(api.app)
        .post('/v1/payments')
        .set(auth)
        .send(cardPayment('ru-none', { return_url: 'https://shop.example/return' }));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('return_url_not_allowed');
      expect(api.engine.calls).toEqual([]);
    }
  });

  it('refuses a return_url that is not a string, or holds a card number', async () => {
    const api = makeApi({}, { returnUrlPolicy: policy() });
    const notString = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('ru-type', { return_url: { href: 'https://shop.example/' } }));
    expect(notString.status).toBe(400);
    expect(notString.body.error.issues[0].path).toBe('return_url');
    const pan = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('ru-pan', { return_url: `https://shop.example/r?card=${CARDS.nativeOtp}` }));
    expect(pan.status).toBe(400);
    expect(pan.body.error.code).toBe('card_number_in_text');
    expect(api.engine.calls).toEqual([]);
  });

  it('takes an allowed host (exact host and port), stores it normalized and returns it in the payment', async () => {
    const api = makeApi({}, { returnUrlPolicy: policy() });
    const cases: [string, string][] = [
      ['https://shop.example/return?cart=7', 'https://shop.example/return?cart=7'],
      ['HTTPS://Shop.Example:443/Return', 'https://shop.example/Return'],
      ['https://pay.shop.example:8443/r', 'https://pay.shop.example:8443/r'],
    ];
    let n = 0;
    for (const [given, stored] of cases) {
      const ref = `ru-ok-${++n}`;
      const res = await request(api.app)
        .post('/v1/payments')
        .set(auth)
        .send(cardPayment(ref, { return_url: given }));
      expect(res.status).toBe(201);
      expect(res.body.return_url).toBe(stored);
      expect(api.engine.payments.get(ref)?.input.returnUrl).toBe(stored);
      expect((await request(api.app).get(`/v1/payments/${ref}`).set(auth)).body.return_url).toBe(stored);
    }
  });

  it('takes http:// for a loopback host only when development allows it', async () => {
    const api = makeApi({}, { returnUrlPolicy: policy({ allowHttpLoopback: true }) });
    const ok = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('ru-loop', { return_url: 'http://127.0.0.1:4000/return' }));
    expect(ok.status).toBe(201);
    expect(ok.body.return_url).toBe('http://127.0.0.1:4000/return');
    const publicHttp = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('ru-loop-2', { return_url: 'http://shop.example/return' }));
    expect(publicHttp.status).toBe(400);
    expect(publicHttp.body.error.code).toBe('return_url_not_allowed');
  });

  it('is part of the request: the same reference with another return_url is a conflict', async () => {
    const api = makeApi({}, { returnUrlPolicy: policy() });
    const body = cardPayment('ru-idem', { return_url: 'https://shop.example/a' });
    expect((await request(api.app).post('/v1/payments').set(auth).send(body)).status).toBe(201);
    expect((await request(api.app).post('/v1/payments').set(auth).send(body)).status).toBe(200);
    const other = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send({ ...body, return_url: 'https://shop.example/b' });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('idempotency_conflict');
  });

  it('a payment without return_url shows return_url null', async () => {
    const api = makeApi({}, { returnUrlPolicy: policy() });
    const res = await request(api.app).post('/v1/payments').set(auth).send(cardPayment('ru-without'));
    expect(res.status).toBe(201);
    expect(res.body.return_url).toBeNull();
  });
});

describe("the callback's redirect to a payment's return_url", () => {
  it('sends the browser there with the confirmed status, a timestamp and a signature the merchant verifies', async () => {
    const api = makeApi({}, { returnUrlPolicy: policy() });
    const created = await createWithReturn(api, 'ru-cb-1', 'https://shop.example/return?cart=7');
    const before = Date.now();
    const res = await callback(api, String(created.body.order_id));
    expect(res.status).toBe(303);
    const location = new URL(String(res.headers.location));
    expect(`${location.origin}${location.pathname}`).toBe('https://shop.example/return');
    expect([...location.searchParams.keys()]).toEqual([
      'cart',
      'merchant_order_reference',
      'status',
      'timestamp',
      'signature',
    ]);
    expect(location.searchParams.get('cart')).toBe('7');
    const verified = verifyReturn(location.searchParams, SECRET);
    expect(verified).toEqual({
      ok: true,
      reference: 'ru-cb-1',
      status: 'AUTHORIZED',
      timestamp: expect.any(Number) as unknown,
    });
    expect(verified.ok && verified.timestamp * 1000).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    // The canonical string, as the README documents it.
    const p = location.searchParams;
    expect(p.get('signature')).toBe(returnSignature(SECRET, p.get('timestamp')!, 'ru-cb-1', 'AUTHORIZED'));
    expect(returnSignatureCanonical('1700000000', 'ru-cb-1', 'AUTHORIZED')).toBe('1700000000.ru-cb-1.AUTHORIZED');
  });

  it("signs the engine's status, not the callback's claim: a declined payment returns FAILED", async () => {
    const api = makeApi({}, { returnUrlPolicy: policy() });
    const created = await createWithReturn(api, 'ru-cb-2', 'https://shop.example/return');
    const res = await callback(api, String(created.body.order_id), 'FAILED');
    expect(res.status).toBe(303);
    const location = new URL(String(res.headers.location));
    expect(verifyReturn(location.searchParams, SECRET)).toMatchObject({ ok: true, status: 'FAILED' });
  });

  it('a replayed callback after the payment moved on redirects with the status it has now', async () => {
    const api = makeApi({}, { returnUrlPolicy: policy() });
    const created = await createWithReturn(api, 'ru-cb-3', 'https://shop.example/return');
    const orderId = String(created.body.order_id);
    const first = await callback(api, orderId);
    expect(verifyReturn(new URL(String(first.headers.location)).searchParams, SECRET)).toMatchObject({
      status: 'AUTHORIZED',
    });
    const cancelled = await request(api.app).post('/v1/payments/ru-cb-3/cancel').set(auth).send({});
    expect(cancelled.status).toBe(200);
    await waitFor('the payment to be CANCELLED', () =>
      api.engine.payments.get('ru-cb-3')?.state.status === 'CANCELLED' ? true : undefined,
    );
    // The same signed callback again (a reload, or a copy): not delivered, and the redirect does not say AUTHORIZED.
    const replay = await callback(api, orderId);
    expect(replay.status).toBe(303);
    const location = new URL(String(replay.headers.location));
    expect(verifyReturn(location.searchParams, SECRET)).toMatchObject({ ok: true, status: 'CANCELLED' });
    expect(api.engine.calls.filter((c) => c.method === 'deliverCallback')).toHaveLength(1);
  });

  it('a callback too old to deliver redirects with the unconfirmed status, not its claim', async () => {
    const later = () => Date.now() + 3 * 3_600_000;
    const api = makeApi({}, { returnUrlPolicy: policy(), now: later });
    const created = await createWithReturn(api, 'ru-cb-4', 'https://shop.example/return');
    const res = await callback(api, String(created.body.order_id), 'AUTHORIZED');
    expect(res.status).toBe(303);
    const location = new URL(String(res.headers.location));
    expect(verifyReturn(location.searchParams, SECRET, { nowMs: later() })).toMatchObject({
      ok: true,
      status: 'AWAITING_CHALLENGE',
    });
    expect(api.engine.payments.get('ru-cb-4')?.state.status).toBe('AWAITING_CHALLENGE');
  });

  it('a host the merchant has removed since is not redirected to: the configured return page is', async () => {
    const hosts = [...HOSTS];
    const api = makeApi({}, { returnUrlPolicy: policy({ returnUrlHostsFor: () => hosts }) });
    const created = await createWithReturn(api, 'ru-cb-5', 'https://shop.example/return');
    hosts.splice(0, hosts.length);
    const res = await callback(api, String(created.body.order_id));
    expect(res.status).toBe(303);
    const location = new URL(String(res.headers.location));
    expect(`${location.origin}${location.pathname}`).toBe(SUCCESS_URL);
    expect(location.searchParams.get('timestamp')).toBeNull();
  });

  it('a payment without return_url goes to the configured return page as before', async () => {
    const api = makeApi({}, { returnUrlPolicy: policy() });
    const created = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .send(cardPayment('ru-cb-6', { card: challengeCard }));
    const res = await callback(api, String(created.body.order_id));
    expect(res.status).toBe(303);
    const location = new URL(String(res.headers.location));
    expect(`${location.origin}${location.pathname}`).toBe(SUCCESS_URL);
    expect([...location.searchParams.keys()]).toEqual(['merchant_order_reference', 'status']);
  });
});

describe('return URL rules and signatures', () => {
  it('the request and the payment with return_url and merchant_metadata conform to the OpenAPI document', async () => {
    const doc = buildOpenApiDocument({ serverUrl: 'x' });
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const validate = ajv.compile({ $ref: 'doc#/components/schemas/Payment' });
    const validateRequest = ajv.compile({ $ref: 'doc#/components/schemas/CreatePaymentRequest' });
    const body = cardPayment('ru-doc', { return_url: 'https://shop.example/r', merchant_metadata: { a: 'b' } });
    expect(validateRequest(body), JSON.stringify(validateRequest.errors)).toBe(true);
    expect(validateRequest({ ...body, return_url: 'x'.repeat(2049) })).toBe(false);
    const api = makeApi({}, { returnUrlPolicy: policy() });
    const res = await request(api.app).post('/v1/payments').set(auth).send(body);
    expect(res.body).toMatchObject({ return_url: 'https://shop.example/r', merchant_metadata: { a: 'b' } });
    expect(validate(res.body), JSON.stringify(validate.errors)).toBe(true);
    const plain = await request(api.app).post('/v1/payments').set(auth).send(cardPayment('ru-doc-2'));
    expect(validate(plain.body), JSON.stringify(validate.errors)).toBe(true);
  });

  it('compares the host after parsing: IDN as punycode, default port dropped', () => {
    expect(checkReturnUrl('https://bücher.example/x', ['xn--bcher-kva.example'])).toEqual({
      ok: true,
      url: 'https://xn--bcher-kva.example/x',
    });
    expect(checkReturnUrl('https://shop.example:443/x', ['shop.example'])).toMatchObject({ ok: true });
    expect(checkReturnUrl('https://shop.example/x', ['shop.example:443'])).toMatchObject({ ok: false });
  });

  it('refuses a policy whose hosts are not in canonical form', () => {
    for (const host of [
      'Shop.Example',
      'https://shop.example',
      'shop.example:443',
      'shop.example/x',
      'bücher.example',
    ]) {
      expect(() => createReturnUrlPolicy({ hosts: [host], signingSecret: SECRET })).toThrow(/canonical form/);
    }
    expect(() => createReturnUrlPolicy({ hosts: [], signingSecret: 'short' })).toThrow(/at least 32/);
  });

  it('verifies only what was signed, once each, and only while fresh', () => {
    const nowMs = Date.parse('2026-06-01T00:00:00Z');
    const ts = String(nowMs / 1000);
    const good = new URLSearchParams({
      merchant_order_reference: 'order-1',
      status: 'PROCESSED',
      timestamp: ts,
      signature: returnSignature(SECRET, ts, 'order-1', 'PROCESSED'),
    });
    expect(verifyReturn(good, SECRET, { nowMs })).toMatchObject({ ok: true });
    const edited = (name: string, value: string) => {
      const p = new URLSearchParams(good);
      p.set(name, value);
      return verifyReturn(p, SECRET, { nowMs });
    };
    expect(edited('status', 'FAILED')).toEqual({ ok: false, reason: 'invalid_signature' });
    expect(edited('merchant_order_reference', 'order-2')).toEqual({ ok: false, reason: 'invalid_signature' });
    expect(edited('timestamp', String(Number(ts) + 1))).toEqual({ ok: false, reason: 'invalid_signature' });
    expect(verifyReturn(good, 'another-secret-of-sufficient-length-000', { nowMs })).toEqual({
      ok: false,
      reason: 'invalid_signature',
    });
    const repeated = new URLSearchParams(good);
    repeated.append('status', 'FAILED');
    expect(verifyReturn(repeated, SECRET, { nowMs })).toEqual({ ok: false, reason: 'missing' });
    expect(verifyReturn(good, SECRET, { nowMs: nowMs + 601_000 })).toEqual({ ok: false, reason: 'expired' });
  });
});
