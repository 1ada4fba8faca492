/**
 * One engine, many merchants, over the real engine: two merchant accounts read from `MERCHANTS` by the API's and the
 * worker's own loaders, each with its own Plural account (a sandbox each, with its own credentials and secrets), the
 * payment worker on a task queue of this file's own, the official Temporal dev server, driven over HTTP only. A key
 * sees and acts on its merchant's payments only; another merchant's payment answers exactly as an unknown one; both
 * merchants may use the same reference; each payment goes to its own merchant's Plural account; a webhook or callback
 * signed with another merchant's secret moves nothing.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer } from '../../api/main';
import type { RunningApi } from '../../api/main';
import { createTemporalEngine } from '../../api/temporal-engine';
import { InMemoryCardVault } from '../../card-vault';
import { loadApiConfig, loadWorkerConfig } from '../../config';
import { createLogger } from '../../observability';
import { PluralClient, signCallback, webhookHeaders } from '../../plural-client';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import { createMerchantPluralClients } from '../../worker/plural-clients';
import type { MerchantPluralClientSet } from '../../worker/plural-clients';
import { createPaymentWorker } from '../../worker/worker';
import { paymentWorkflowId, SEARCH_ATTRIBUTE } from '../../workflows/definitions';
import { CARDS } from '../support/cards';
import { installQuietRuntime, sharedTemporalAddress } from '../support/temporal';
import { waitFor } from '../support/wait';

const OTP_CARD = CARDS.nativeOtp;
const CORRECT_OTP = '73914628';
const RUN = `ten${Date.now().toString(36)}`;
const TASK_QUEUE = `tenancy-${RUN}`;
const ACME_KEY = 'sk_acme_tenancy_key_0123456789';
const ACME_KEY_ROTATED = 'sk_acme_tenancy_key_rotated_01';
const GLOBEX_KEY = 'sk_globex_tenancy_key_012345678';

/** Each merchant's Plural account: a sandbox with credentials and secrets of its own. */
const ACCOUNTS = {
  acme: {
    clientId: 'acme-plural-client',
    clientSecret: 'acme-plural-client-secret-4b1e',
    callbackSecretHex: Buffer.from('acme-callback-secret-key').toString('hex'),
    webhookSecret: 'acme-plural-webhook-secret-9d2c',
  },
  globex: {
    clientId: 'globex-plural-client',
    clientSecret: 'globex-plural-client-secret-7a0f',
    callbackSecretHex: Buffer.from('globex-callback-secret-k').toString('hex'),
    webhookSecret: 'globex-plural-webhook-secret-3e8b',
  },
} as const;
type MerchantName = keyof typeof ACCOUNTS;
const KEYS: Record<MerchantName, string> = { acme: ACME_KEY, globex: GLOBEX_KEY };

const sandboxes = {} as Record<MerchantName, RunningSandbox>;
let connection: Connection;
let nativeConnection: NativeConnection;
let worker: Worker | undefined;
let running: Promise<void> | undefined;
let vault: InMemoryCardVault;
let clients: MerchantPluralClientSet | undefined;
let api: RunningApi;

interface Reply {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string; type: string } };
}

async function call(key: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Reply['body']) : {} };
}

const as = (merchant: MerchantName) => ({
  call: (method: string, path: string, body?: unknown) => call(KEYS[merchant], method, path, body),
});

const payment = (ref: string, value = 10_000) => ({
  merchant_order_reference: ref,
  amount: { value, currency: 'INR' },
  pre_auth: true,
  card: { number: OTP_CARD, name: 'Tenancy Test', expiry_month: '12', expiry_year: '2035', cvv: '739' },
});

/** The text of every payload in a workflow's history (payloads are in clear here: no codec). */
async function historyText(workflowId: string): Promise<string> {
  const history = await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory();
  return [...JSON.stringify(history).matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)]
    .map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'))
    .join('\n');
}

beforeAll(async () => {
  installQuietRuntime();
  sandboxes.acme = await startSandbox({ seed: 21, otp: { correctOtp: CORRECT_OTP }, ...ACCOUNTS.acme });
  sandboxes.globex = await startSandbox({ seed: 22, otp: { correctOtp: CORRECT_OTP }, ...ACCOUNTS.globex });
  // The merchants as an operator writes them, read by the worker's and the API's own loaders.
  const merchants = (['acme', 'globex'] as const).map((id) => ({
    id,
    apiKeys: id === 'acme' ? [ACME_KEY, ACME_KEY_ROTATED] : [GLOBEX_KEY],
    plural: { baseUrl: sandboxes[id].baseUrl, ...ACCOUNTS[id] },
  }));
  const env = { MERCHANTS: JSON.stringify(merchants), PAYLOAD_ENCRYPTION: 'off' };
  const workerConfig = loadWorkerConfig(env);
  const apiConfig = loadApiConfig({ ...env, API_FINGERPRINT_KEY: 'tenancy-fingerprint-key' });

  connection = await Connection.connect({ address: sharedTemporalAddress() });
  nativeConnection = await NativeConnection.connect({ address: sharedTemporalAddress() });
  vault = new InMemoryCardVault();
  const silent = createLogger({ level: 'silent' });
  clients = createMerchantPluralClients(workerConfig.merchants, { timeoutMs: 5_000 });
  worker = await createPaymentWorker({
    connection: nativeConnection,
    plural: clients.get,
    vault,
    logger: silent,
    taskQueue: TASK_QUEUE,
  });
  running = worker.run();
  const client = new Client({ connection });
  const engineFor = (merchantId: string) => createTemporalEngine({ client, taskQueue: TASK_QUEUE, merchantId });
  api = await startApiServer({
    engine: engineFor('acme'),
    engineFor,
    merchants: apiConfig.merchants.merchants,
    vault,
    fingerprintKey: apiConfig.fingerprintKey,
    publicBaseUrl: 'http://127.0.0.1:1',
    returnUrls: { success: 'https://merchant.example.test/paid', failure: 'https://merchant.example.test/failed' },
    logger: silent,
    timings: { startWaitMs: 15_000, actionWaitMs: 15_000 },
  });
}, 180_000);

afterAll(async () => {
  await api?.stop();
  if (worker && worker.getState() === 'RUNNING') worker.shutdown();
  await running;
  vault?.close();
  await clients?.close();
  await nativeConnection?.close();
  await connection?.close();
  await Promise.all(Object.values(sandboxes).map((s) => s.stop()));
}, 60_000);

describe('one engine, many merchants', () => {
  it('lets two merchants use the same reference: two payments, each at its own Plural account', async () => {
    const ref = `${RUN}-same`;
    const a = await as('acme').call('POST', '/v1/payments', payment(ref, 11_100));
    const g = await as('globex').call('POST', '/v1/payments', payment(ref, 22_200));
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    expect(g.status, JSON.stringify(g.body)).toBe(201);
    expect(a.body).toMatchObject({ merchant_order_reference: ref, status: 'AWAITING_OTP' });
    expect(g.body).toMatchObject({ merchant_order_reference: ref, status: 'AWAITING_OTP' });
    // Each merchant reads its own payment under the shared reference.
    expect((await as('acme').call('GET', `/v1/payments/${ref}`)).body.amount).toEqual({
      value: 11_100,
      currency: 'INR',
    });
    expect((await as('globex').call('GET', `/v1/payments/${ref}`)).body.amount).toEqual({
      value: 22_200,
      currency: 'INR',
    });
    // Each order exists at its own merchant's Plural account only (the worker used that merchant's credentials).
    const orderOf = (r: Reply) => String(r.body.order_id);
    const plural = (m: MerchantName) =>
      new PluralClient({
        baseUrl: sandboxes[m].baseUrl,
        clientId: ACCOUNTS[m].clientId,
        clientSecret: ACCOUNTS[m].clientSecret,
      });
    const [pa, pg] = [plural('acme'), plural('globex')];
    try {
      expect((await pa.getOrder(orderOf(a))).order_amount.value).toBe(11_100);
      expect((await pg.getOrder(orderOf(g))).order_amount.value).toBe(22_200);
      await expect(pg.getOrder(orderOf(a))).rejects.toThrow();
      await expect(pa.getOrder(orderOf(g))).rejects.toThrow();
    } finally {
      await pa.close();
      await pg.close();
    }
    // Workflow ids and the MerchantId search attribute name the merchant; the input carries its id, no secret.
    const handle = new Client({ connection }).workflow.getHandle(paymentWorkflowId(ref, 'acme'));
    expect(handle.workflowId).toBe(`payment:acme:${ref}`);
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(SEARCH_ATTRIBUTE.MERCHANT_ID)).toBe('acme');
    const text = await historyText(`payment:acme:${ref}`);
    expect(text).toContain('"merchantId":"acme"');
    for (const secret of Object.values(ACCOUNTS).flatMap((s) => [s.clientSecret, s.webhookSecret, s.callbackSecretHex]))
      expect(text).not.toContain(secret);
    expect(text).not.toContain(ACME_KEY);
    // Both keys of a merchant in rotation reach its payments.
    expect((await call(ACME_KEY_ROTATED, 'GET', `/v1/payments/${ref}`)).body.amount).toEqual({
      value: 11_100,
      currency: 'INR',
    });
  }, 90_000);

  it("answers another merchant's payment exactly as an unknown one (404), for reads and every action", async () => {
    const ref = `${RUN}-acme-only`;
    expect((await as('acme').call('POST', '/v1/payments', payment(ref))).status).toBe(201);
    const unknown = `${RUN}-nobody`;
    const attempts: [string, string, unknown][] = [
      ['GET', '', undefined],
      ['POST', '/otp', { otp: CORRECT_OTP }],
      ['POST', '/otp/resend', undefined],
      ['POST', '/capture', undefined],
      ['POST', '/cancel', undefined],
      ['POST', '/refunds', { merchant_refund_reference: 'r1', amount: { value: 100, currency: 'INR' } }],
    ];
    for (const [method, suffix, body] of attempts) {
      const theirs = await as('globex').call(method, `/v1/payments/${ref}${suffix}`, body);
      const none = await as('globex').call(method, `/v1/payments/${unknown}${suffix}`, body);
      expect(theirs.status, `${method} ${suffix}: ${JSON.stringify(theirs.body)}`).toBe(404);
      expect(none.status).toBe(404);
      // The same answer but for the reference the caller sent: nothing tells that the payment exists elsewhere.
      expect(JSON.stringify(theirs.body).replaceAll(ref, 'REF')).toBe(
        JSON.stringify(none.body).replaceAll(unknown, 'REF'),
      );
    }
    // Nothing reached acme's payment: it is still waiting for its OTP, with no Update in its history.
    const mine = await as('acme').call('GET', `/v1/payments/${ref}`);
    expect(mine.body.status).toBe('AWAITING_OTP');
    const history = await new Client({ connection }).workflow.getHandle(paymentWorkflowId(ref, 'acme')).fetchHistory();
    const updates = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(updates).toHaveLength(1); // the create's own update-with-start
    // And acme still acts on it: the OTP authorizes it at acme's Plural account.
    expect((await as('acme').call('POST', `/v1/payments/${ref}/otp`, { otp: CORRECT_OTP })).body.status).toBe(
      'AUTHORIZED',
    );
  }, 90_000);

  it("lists each merchant's payments only", async () => {
    const mine = `${RUN}-list-acme`;
    const theirs = `${RUN}-list-globex`;
    expect((await as('acme').call('POST', '/v1/payments', payment(mine))).status).toBe(201);
    expect((await as('globex').call('POST', '/v1/payments', payment(theirs))).status).toBe(201);
    const refsOf = async (m: MerchantName) => {
      const res = await as(m).call('GET', `/v1/payments?reference_prefix=${RUN}&limit=100`);
      expect(res.status).toBe(200);
      return (res.body.data as { merchant_order_reference: string }[]).map((p) => p.merchant_order_reference);
    };
    // Visibility lags the workflows: wait until each list shows its own newest payment.
    const acmeRefs = await waitFor('acme list', async () => {
      const r = await refsOf('acme');
      return r.includes(mine) ? r : undefined;
    });
    const globexRefs = await waitFor('globex list', async () => {
      const r = await refsOf('globex');
      return r.includes(theirs) ? r : undefined;
    });
    expect(acmeRefs).not.toContain(theirs);
    expect(acmeRefs).toContain(`${RUN}-acme-only`);
    expect(globexRefs).not.toContain(mine);
    expect(globexRefs).not.toContain(`${RUN}-acme-only`);
    // The shared reference shows once in each list: each merchant's own payment.
    expect(acmeRefs.filter((r) => r === `${RUN}-same`)).toHaveLength(1);
    expect(globexRefs.filter((r) => r === `${RUN}-same`)).toHaveLength(1);
    // An operator finds a merchant's payments with the search attribute (as in the Temporal UI).
    const ids: string[] = [];
    for await (const info of new Client({ connection }).workflow.list({
      query: `MerchantId = 'globex' AND MerchantOrderReference STARTS_WITH '${RUN}'`,
    }))
      ids.push(info.workflowId);
    expect(ids).toContain(`payment:globex:${theirs}`);
    expect(ids.every((id) => id.startsWith('payment:globex:'))).toBe(true);
    // A cursor issued to one merchant does not open for another.
    const page = await as('acme').call('GET', `/v1/payments?reference_prefix=${RUN}&limit=1`);
    const cursor = page.body.next_cursor;
    expect(typeof cursor).toBe('string');
    const reused = await as('globex').call(
      'GET',
      `/v1/payments?reference_prefix=${RUN}&limit=1&cursor=${String(cursor)}`,
    );
    expect(reused.status).toBe(400);
    expect(reused.body.error?.code).toBe('invalid_cursor');
  }, 90_000);

  it("verifies Plural's webhooks and callbacks with the merchant's own secret: another merchant's moves nothing", async () => {
    const ref = `${RUN}-forged`;
    const created = await as('acme').call('POST', '/v1/payments', payment(ref));
    expect(created.status).toBe(201);
    const orderId = String(created.body.order_id);
    const body = JSON.stringify({
      event_type: 'ORDER_AUTHORIZED',
      data: {
        order_id: orderId,
        merchant_order_reference: ref,
        status: 'AUTHORIZED',
        order_amount: { value: 10_000, currency: 'INR' },
        pre_auth: true,
        payments: [],
      },
    });
    const post = (path: string, secret: string, id: string) =>
      fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: {
          ...webhookHeaders({ id, timestamp: Math.floor(Date.now() / 1000), body, secret }),
          'content-type': 'application/json',
        },
        body,
      });
    // Signed with globex's secret, sent to acme's path: refused.
    expect((await post('/v1/webhooks/plural/acme', ACCOUNTS.globex.webhookSecret, 'msg_forged_1')).status).toBe(401);
    // Signed with globex's secret, sent to globex's path: genuine for globex, whose payments do not include acme's.
    const other = await post('/v1/webhooks/plural/globex', ACCOUNTS.globex.webhookSecret, 'msg_forged_2');
    expect(other.status).toBe(200);
    expect(await other.json()).toEqual({ received: true, delivered: false });
    // No default merchant is configured: the single-merchant path and an unknown merchant's are not routes.
    expect((await post('/v1/webhooks/plural', ACCOUNTS.acme.webhookSecret, 'msg_3')).status).toBe(404);
    expect((await post('/v1/webhooks/plural/initech', ACCOUNTS.acme.webhookSecret, 'msg_4')).status).toBe(404);
    // A browser callback signed with globex's key, on acme's callback path: refused; on globex's: no such payment.
    const fields = { order_id: orderId, status: 'AUTHORIZED' };
    const callback = (path: string, hex: string) =>
      fetch(
        `${api.url}${path}?${new URLSearchParams({ ...fields, signature: signCallback(fields, hex) }).toString()}`,
        {
          redirect: 'manual',
        },
      );
    expect((await callback('/v1/callbacks/plural/acme', ACCOUNTS.globex.callbackSecretHex)).status).toBe(401);
    expect((await callback('/v1/callbacks/plural/globex', ACCOUNTS.globex.callbackSecretHex)).status).toBe(404);
    // Nothing reached acme's payment.
    const history = await historyText(paymentWorkflowId(ref, 'acme'));
    expect(history).not.toContain('msg_forged');
    expect((await as('acme').call('GET', `/v1/payments/${ref}`)).body.status).toBe('AWAITING_OTP');
    // The genuine one, signed with acme's secret on acme's path, is delivered.
    const genuine = await post('/v1/webhooks/plural/acme', ACCOUNTS.acme.webhookSecret, 'msg_genuine');
    expect(await genuine.json()).toEqual({ received: true, delivered: true });
  }, 90_000);
});
