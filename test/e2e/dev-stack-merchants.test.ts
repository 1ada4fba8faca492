/**
 * `npm start` with merchant accounts (`MERCHANTS`): the stack starts a sandbox per merchant with that merchant's
 * Plural credentials, and every merchant pays through its own key, its own Plural account and its own webhook path,
 * seeing none of the other's payments. Driven over HTTP only, as dev-stack.test.ts drives the single merchant.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARDS } from '../support/cards';
import { waitFor } from '../support/wait';
import { completeChallenge, submitForm } from './forms';
import { apiClient, startStackProcess } from './stack-process';
import type { StackProcess } from './stack-process';

const OTP = '123456';
const MERCHANTS = ['acme', 'globex'] as const;
type Merchant = (typeof MERCHANTS)[number];
const KEYS: Record<Merchant, string> = {
  acme: 'sk_dev_acme_merchant_0123456789',
  globex: 'sk_dev_globex_merchant_012345678',
};
/** Each merchant's own Plural account (its sandbox runs with these). */
const account = (id: Merchant) => ({
  id,
  apiKeys: [KEYS[id]],
  plural: {
    clientId: `${id}-dev-client`,
    clientSecret: `${id}-dev-client-secret-0123`,
    callbackSecretHex: Buffer.from(`${id}-dev-callback-key-01`).toString('hex'),
    webhookSecret: `${id}-dev-webhook-secret-0123`,
  },
});

let dataDir: string;
let stack: StackProcess;
let seq = 0;
const ref = (what: string) => `m-${what}-${Date.now()}-${++seq}`;
const call = (merchant: Merchant) => apiClient(stack.info, KEYS[merchant]);
const merchantInfo = (id: Merchant) => {
  const info = stack.info.merchants?.find((m) => m.id === id);
  if (!info) throw new Error(`READY lists no merchant ${id}`);
  return info;
};

interface Delivery {
  eventType: string;
  orderId: string;
  outcome: string;
  status?: number;
}

/** The webhooks `merchant`'s sandbox sent about `orderId` (its control API, with its own token). */
async function deliveries(merchant: Merchant, orderId: string): Promise<Delivery[]> {
  const m = merchantInfo(merchant);
  const res = await fetch(`${m.pluralBaseUrl}/__sandbox/webhooks`, {
    headers: { authorization: `Bearer ${m.controlToken ?? ''}` },
  });
  return ((await res.json()) as { deliveries: Delivery[] }).deliveries.filter((d) => d.orderId === orderId);
}

const createPayment = (merchant: Merchant, reference: string, card: string) =>
  call(merchant)('POST', '/v1/payments', {
    merchant_order_reference: reference,
    amount: { value: 125_000, currency: 'INR' },
    pre_auth: true,
    card: { number: card, name: 'Test Holder', expiry_month: '12', expiry_year: '2035', cvv: '739' },
  });

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'plural-e2e-merchants-'));
  stack = await startStackProcess(dataDir, { MERCHANTS: JSON.stringify(MERCHANTS.map(account)) });
}, 180_000);

afterAll(async () => {
  await stack?.stop('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start with merchant accounts', () => {
  it('exits 78 on a bad merchant entry, naming the setting, the entry and the field, never a value', async () => {
    const bad = { ...account('acme'), plural: { ...account('acme').plural, webhookSecret: undefined } };
    const dir = mkdtempSync(path.join(os.tmpdir(), 'plural-e2e-merchants-bad-'));
    try {
      const error = await startStackProcess(dir, { MERCHANTS: JSON.stringify([bad]) }).then(
        () => new Error('the stack started'),
        (err: unknown) => err as Error,
      );
      expect(error.message).toMatch(/exited with code 78/);
      expect(error.message).toContain('MERCHANTS merchant acme (entry 1): plural.webhookSecret is required');
      expect(error.message).not.toContain(KEYS.acme);
      expect(error.message).not.toContain(account('acme').plural.clientSecret);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('starts a sandbox per merchant and says where each is, with no development key of its own', async () => {
    expect(stack.info.devApiKey).toBeUndefined();
    expect(stack.info.merchants?.map((m) => [m.id, m.sandbox, m.webhookPath])).toEqual([
      ['acme', true, '/v1/webhooks/plural/acme'],
      ['globex', true, '/v1/webhooks/plural/globex'],
    ]);
    expect(merchantInfo('acme').pluralBaseUrl).not.toBe(merchantInfo('globex').pluralBaseUrl);
    expect(stack.output()).toMatch(/Merchant globex +Plural http:\/\/127\.0\.0\.1:\d+ \(sandbox/);
    const ready = await fetch(`${stack.info.api}/readyz`);
    expect(await ready.json()).toMatchObject({ status: 'ready', gateway: { reachable: true } });
  });

  it('pays each merchant through its own key, Plural account and webhook path, and hides each from the other', async () => {
    const reference = ref('otp');
    const orders = {} as Record<Merchant, string>;
    // The same reference for both: references are unique per merchant.
    for (const merchant of MERCHANTS) {
      const created = await createPayment(merchant, reference, CARDS.nativeOtp);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.status).toBe('AWAITING_OTP');
      orders[merchant] = String(created.body.order_id);
      expect((await call(merchant)('POST', `/v1/payments/${reference}/otp`, { otp: OTP })).body.status).toBe(
        'AUTHORIZED',
      );
      expect((await call(merchant)('POST', `/v1/payments/${reference}/capture`)).body.status).toBe('PROCESSED');
    }
    expect(orders.acme).not.toBe(orders.globex);
    for (const [merchant, other] of [
      ['acme', 'globex'],
      ['globex', 'acme'],
    ] as const) {
      // Each sandbox's webhooks reached the API on the merchant's path, verified with that merchant's secret...
      const seen = await waitFor(`${merchant}'s ORDER_PROCESSED webhook`, async () => {
        const list = await deliveries(merchant, orders[merchant]);
        return list.some((d) => d.eventType === 'ORDER_PROCESSED') ? list : undefined;
      });
      expect(seen.every((d) => d.outcome === 'delivered' && d.status === 200)).toBe(true);
      // ...and no sandbox knows the other merchant's order.
      expect(await deliveries(other, orders[merchant])).toEqual([]);
    }
    const only = ref('only-acme');
    expect((await createPayment('acme', only, CARDS.nativeOtp)).status).toBe(201);
    expect((await call('globex')('GET', `/v1/payments/${only}`)).status).toBe(404);
    expect((await call('acme')('GET', `/v1/payments/${only}`)).status).toBe(200);
  }, 90_000);

  it("returns a merchant's customer to the dev return page, which shows that merchant's payment", async () => {
    // The same reference at acme, still awaiting its OTP: the page must not show it for globex's link.
    const reference = ref('challenge');
    expect((await createPayment('acme', reference, CARDS.nativeOtp)).status).toBe(201);
    const created = await createPayment('globex', reference, CARDS.challenge);
    expect(created.body.status).toBe('AWAITING_CHALLENGE');
    const { callbackForm } = await completeChallenge(String(created.body.challenge_url), 'Approve');
    expect(callbackForm.action).toBe(`${stack.info.api}/v1/callbacks/plural/globex`);
    const callback = await submitForm(callbackForm);
    expect(callback.status).toBe(303);
    const returnUrl = new URL(callback.headers.get('location') ?? '');
    expect(`${returnUrl.origin}${returnUrl.pathname}`).toBe(stack.info.returnPage);
    expect(returnUrl.searchParams.get('merchant_id')).toBe('globex');
    const page = await (await fetch(returnUrl)).text();
    expect(page).toContain('<span id="status">AUTHORIZED</span>');
    // The link signs its merchant: moved to acme it shows nothing.
    returnUrl.searchParams.set('merchant_id', 'acme');
    expect((await fetch(returnUrl)).status).toBe(403);
  }, 60_000);
});
