/**
 * The API's side of tenancy over in-memory engines (the real engine's is `tenancy.test.ts`): the bearer key names the
 * merchant, whose engine alone the request reaches; the customer routes use that merchant's Plural account; an app
 * with several merchants cannot be built without an engine per merchant.
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../api/app';
import { signCallback, webhookHeaders } from '../../plural-client';
import { createReturnLinks } from '../../api/return-link';
import type { ReturnLinks } from '../../api/return-link';
import { createReturnUrlPolicy } from '../../api/return-url';
import type { CustomerDirectory } from '../../api/customers';
import type { MerchantAccount } from '../../config/merchants';
import { createLogger } from '../../observability';
import { FakeEngine, FakeVault } from './fake-engine';
import { CARDS } from '../support/cards';
import { cardPayment } from './helpers';

const merchant = (id: string, apiKeys: string[]): MerchantAccount => ({
  id,
  apiKeys,
  plural: {
    baseUrl: undefined,
    credentials: undefined,
    callbackSecretHex: Buffer.from(`${id}-callback-secret`).toString('hex'),
    webhookSecret: `${id}-webhook-secret`,
  },
  webhookEndpoints: [],
  returnUrlHosts: [],
});
const ACME_KEY = 'sk_acme_app_test_key_000000001';
const GLOBEX_KEY = 'sk_globex_app_test_key_00000001';
const GLOBEX_PAGES = { success: 'https://globex.example/paid', failure: 'https://globex.example/not-paid' };
const MERCHANTS = [
  { ...merchant('acme', [ACME_KEY]), returnUrlHosts: ['shop.acme.example'], returnUrlSigningSecret: 'a'.repeat(32) },
  { ...merchant('globex', [GLOBEX_KEY]), returnPages: GLOBEX_PAGES },
];
const directory = {
  returnUrlHostsFor: (id: string) => MERCHANTS.find((m) => m.id === id)?.returnUrlHosts ?? [],
  returnSigningSecretFor: (id: string) => MERCHANTS.find((m) => m.id === id)?.returnUrlSigningSecret,
};

function makeTenantApi(
  customers: Record<string, CustomerDirectory> = {},
  merchants: MerchantAccount[] = MERCHANTS,
  returnLinks?: ReturnLinks,
) {
  const vault = new FakeVault();
  const engines = { acme: new FakeEngine({}, vault), globex: new FakeEngine({}, vault) };
  const app = createApp({
    engine: engines.acme,
    engineFor: (id) => engines[id as keyof typeof engines],
    customersFor: (id) => customers[id],
    merchants,
    vault,
    fingerprintKey: 'tenancy-app-fingerprint',
    publicBaseUrl: 'http://api.example.test',
    returnUrls: { success: 'https://m.example/ok', failure: 'https://m.example/ko' },
    returnUrlPolicy: createReturnUrlPolicy({ merchants: directory }),
    logger: createLogger({ level: 'silent' }),
    timings: { startWaitMs: 1_000, actionWaitMs: 1_000, readyTimeoutMs: 200 },
    ...(returnLinks ? { returnLinks } : {}),
  });
  return { app, engines };
}

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

describe('tenancy in the API', () => {
  it("accepts a return_url only on the hosts of the caller's merchant", async () => {
    const { app, engines } = makeTenantApi();
    const returnUrl = 'https://shop.acme.example/back';
    const acme = await request(app)
      .post('/v1/payments')
      .set(bearer(ACME_KEY))
      .send({ ...cardPayment('order-r1'), return_url: returnUrl });
    expect(acme.status).toBe(201);
    expect(engines.acme.accepted('create')[0]?.args[0]).toMatchObject({ merchantId: 'acme', returnUrl });
    const globex = await request(app)
      .post('/v1/payments')
      .set(bearer(GLOBEX_KEY))
      .send({ ...cardPayment('order-r1'), return_url: returnUrl });
    expect(globex.status).toBe(400);
    expect(globex.body.error.code).toBe('return_url_not_allowed');
    expect(engines.globex.calls).toEqual([]);
  });

  it("starts a payment on the caller's merchant, with its callback path and merchantId in the input", async () => {
    const { app, engines } = makeTenantApi();
    const res = await request(app).post('/v1/payments').set(bearer(GLOBEX_KEY)).send(cardPayment('order-1'));
    expect(res.status).toBe(201);
    expect(engines.acme.calls).toEqual([]);
    const [create] = engines.globex.accepted('create');
    expect(create?.args[0]).toMatchObject({
      merchantId: 'globex',
      merchantOrderReference: 'order-1',
      callbackUrl: 'http://api.example.test/v1/callbacks/plural/globex',
    });
    // The other merchant's key finds nothing under that reference, and its actions reach no engine of globex.
    expect((await request(app).get('/v1/payments/order-1').set(bearer(ACME_KEY))).status).toBe(404);
    expect((await request(app).post('/v1/payments/order-1/cancel').set(bearer(ACME_KEY))).status).toBe(404);
    expect(engines.globex.mutatingCalls.map((c) => c.method)).toEqual(['create']);
    // Its own key reads it.
    expect((await request(app).get('/v1/payments/order-1').set(bearer(GLOBEX_KEY))).status).toBe(200);
  });

  it("uses the caller's merchant's customer vault, and 503 for a merchant without Plural credentials", async () => {
    const created: string[] = [];
    const directory: CustomerDirectory = {
      create: (c) => {
        created.push(c.merchantCustomerReference);
        return Promise.resolve({
          customerId: 'cust-1',
          merchantCustomerReference: c.merchantCustomerReference,
          status: undefined,
          createdAt: undefined,
        });
      },
      savedCards: () => Promise.resolve([]),
    };
    const { app } = makeTenantApi({ acme: directory });
    const body = { merchant_customer_reference: 'c-1' };
    expect((await request(app).post('/v1/customers').set(bearer(ACME_KEY)).send(body)).status).toBe(201);
    const other = await request(app).post('/v1/customers').set(bearer(GLOBEX_KEY)).send(body);
    expect(other.status).toBe(503);
    expect(other.body.error.code).toBe('customers_unavailable');
    expect(created).toEqual(['c-1']);
  });

  it("labels each request's metrics with the merchant its key or path named, 'none' when it named none", async () => {
    const { app } = makeTenantApi();
    expect((await request(app).post('/v1/payments').set(bearer(ACME_KEY)).send(cardPayment('order-m1'))).status).toBe(
      201,
    );
    await request(app).get('/v1/payments/order-m1').set(bearer(GLOBEX_KEY)); // another merchant's payment: 404
    await request(app).get('/v1/payments/order-m1').set(bearer('sk_not_a_key_of_anyone_0000000'));
    // A webhook to globex's path signed with acme's secret: counted against globex, whose secret refused it.
    const body = JSON.stringify({ event_type: 'ORDER_PROCESSED', data: {} });
    const timestamp = Math.floor(Date.now() / 1000);
    await request(app)
      .post('/v1/webhooks/plural/globex')
      .set('Content-Type', 'application/json')
      .set(webhookHeaders({ id: 'msg_m1', timestamp, body, secret: 'acme-webhook-secret' }))
      .send(body);
    const text = (await request(app).get('/metrics')).text;
    const requests = (labels: string) =>
      new RegExp(`^api_http_requests_total\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1];
    expect(requests('method="POST",route="/v1/payments",status="201",merchant="acme"')).toBe('1');
    expect(requests('method="GET",route="/v1/payments/:merchant_order_reference",status="404",merchant="globex"')).toBe(
      '1',
    );
    expect(requests('method="GET",route="/v1/payments/:merchant_order_reference",status="401",merchant="none"')).toBe(
      '1',
    );
    expect(requests('method="POST",route="/v1/webhooks/plural/:merchant_id",status="401",merchant="globex"')).toBe('1');
    expect(text).toMatch(
      /^api_signature_failures_total\{source="webhook",reason="no_matching_signature",merchant="globex"\} 1$/m,
    );
    expect(text).toMatch(/^api_http_request_duration_seconds_count\{.*merchant="acme"\} 1$/m);
    expect(text).not.toMatch(/merchant="(?!acme"|globex"|none")/);
  });

  it("returns the customer of a payment without return_url to its merchant's own pages, else the shared ones", async () => {
    await returnsToPages(makeTenantApi().app);
  });

  it("signs only links to the shared pages, which name the merchant: a link to a merchant's own pages is unsigned", async () => {
    const links = createReturnLinks({ key: new Uint8Array(32).fill(7) });
    const { globex, acme } = await returnsToPages(makeTenantApi({}, MERCHANTS, links).app, false);
    // Signed without a merchant, globex's link would verify on the shared pages as the default merchant's payment.
    expect(new URL(globex).searchParams.has('signature')).toBe(false);
    const shared = new URL(acme);
    expect(shared.searchParams.get('merchant_id')).toBe('acme');
    expect(links.verify(Object.fromEntries(shared.searchParams))).toMatchObject({ ok: true, merchantId: 'acme' });
  });

  /** Callbacks of globex (its own pages) and acme (the shared ones); the locations they redirect to. */
  async function returnsToPages(app: ReturnType<typeof makeTenantApi>['app'], exact = true) {
    const challenge = (ref: string) =>
      cardPayment(ref, {
        card: { number: CARDS.challenge, name: 'A', expiry_month: '01', expiry_year: '2031', cvv: '999' },
      });
    /** Plural's signed callback for the order of `ref`, on `merchant`'s path. */
    const callback = async (merchant: 'acme' | 'globex', key: string, ref: string, status: string) => {
      const created = await request(app).post('/v1/payments').set(bearer(key)).send(challenge(ref));
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const fields = { order_id: String(created.body.order_id), status };
      const secret = MERCHANTS.find((m) => m.id === merchant)!.plural.callbackSecretHex!;
      return request(app)
        .post(`/v1/callbacks/plural/${merchant}`)
        .type('form')
        .send({ ...fields, signature: signCallback(fields, secret) });
    };
    const paid = await callback('globex', GLOBEX_KEY, 'order-p1', 'AUTHORIZED');
    expect(paid.status).toBe(303);
    expect(paid.headers.location).toBe(`${GLOBEX_PAGES.success}?merchant_order_reference=order-p1&status=AUTHORIZED`);
    const declined = await callback('globex', GLOBEX_KEY, 'order-p2', 'FAILED');
    expect(declined.headers.location).toMatch(
      /^https:\/\/globex\.example\/not-paid\?merchant_order_reference=order-p2&/,
    );
    // acme names no pages of its own: the API's shared MERCHANT_SUCCESS_URL, told whose payment it is.
    const shared = await callback('acme', ACME_KEY, 'order-p3', 'AUTHORIZED');
    const sharedPrefix = 'https://m.example/ok?merchant_order_reference=order-p3&status=AUTHORIZED&merchant_id=acme';
    if (exact) expect(shared.headers.location).toBe(sharedPrefix);
    else expect(shared.headers.location).toMatch(new RegExp(`^${sharedPrefix.replace(/[.?]/g, '\\$&')}&`));
    return { globex: String(paid.headers.location), acme: String(shared.headers.location) };
  }

  it("a callback delivered to one merchant, replayed on another's path, never reads that merchant's payment", async () => {
    // Two accounts sharing Plural's callback secret (one Plural account behind two merchant ids, say), both with a
    // payment under the same reference.
    const shared = MERCHANTS.map((m) => ({
      ...m,
      plural: { ...m.plural, callbackSecretHex: MERCHANTS[0]!.plural.callbackSecretHex },
    }));
    const { app, engines } = makeTenantApi({}, shared);
    const challenge = cardPayment('order-same', {
      card: { number: CARDS.challenge, name: 'A', expiry_month: '01', expiry_year: '2031', cvv: '999' },
    });
    const acme = await request(app).post('/v1/payments').set(bearer(ACME_KEY)).send(challenge);
    expect((await request(app).post('/v1/payments').set(bearer(GLOBEX_KEY)).send(challenge)).status).toBe(201);
    engines.globex.payments.get('order-same')!.state.pluralOrderId = 'v1-ord-globex-own'; // its own Plural order
    const fields = { order_id: String(acme.body.order_id), status: 'AUTHORIZED' };
    const form = { ...fields, signature: signCallback(fields, shared[0]!.plural.callbackSecretHex!) };
    expect((await request(app).post('/v1/callbacks/plural/acme').type('form').send(form)).status).toBe(303);
    engines.globex.calls.length = 0;
    const replayed = await request(app).post('/v1/callbacks/plural/globex').type('form').send(form);
    // Delivered to globex's engine, which has no payment for acme's order: not found, and globex's payment unread.
    expect(replayed.status).toBe(404);
    expect(engines.globex.calls.map((c) => c.method)).not.toContain('get');
  });

  it('refuses to build an app of merchant accounts without an engine per merchant', () => {
    const vault = new FakeVault();
    expect(() =>
      createApp({
        engine: new FakeEngine({}, vault),
        merchants: MERCHANTS,
        vault,
        fingerprintKey: 'k',
        publicBaseUrl: 'http://x',
        returnUrls: { success: 'http://x/ok', failure: 'http://x/ko' },
      }),
    ).toThrow(/engineFor is required for merchant accounts other than default/);
  });
});
