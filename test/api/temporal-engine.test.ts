/**
 * The API over the real engine: createTemporalEngine against the official Temporal dev server, the payment worker and
 * the Plural sandbox, driven over HTTP only. Native-OTP pre-auth → capture, a wrong OTP, the challenge page with
 * its signed callback (delivered once, however often the browser comes back, and the sandbox's webhooks),
 * idempotent create, and readiness.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayProbe } from '../../api/gateway-probe';
import type { GatewayProbe } from '../../api/gateway-probe';
import { startApiServer } from '../../api/main';
import type { RunningApi } from '../../api/main';
import { createTemporalEngine } from '../../api/temporal-engine';
import { InMemoryCardVault } from '../../card-vault';
import { CARDS } from '../support/cards';
import { sharedTemporalAddress } from '../support/temporal';
import { waitFor } from '../support/wait';
import { createLogger } from '../../observability';
import type { PluralClient } from '../../plural-client';
import { signCallback, webhookHeaders } from '../../plural-client';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import { createPaymentWorker } from '../../worker/worker';
import { paymentWorkflowId, SEARCH_ATTRIBUTE } from '../../workflows/definitions';
import { pluralClientFor } from '../support/plural';

const CVV = '739';
/** Distinctive OTPs (the sandbox accepts CORRECT_OTP), so finding one in a history or a log means it leaked. */
const CORRECT_OTP = '73914628';
const WRONG_OTP = '52086417';
const API_KEY = 'sk_integration_key_0123456789';
const SUCCESS_URL = 'https://merchant.example.test/paid';

let sandbox: RunningSandbox;
let connection: Connection;
let nativeConnection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let vault: InMemoryCardVault;
let plural: PluralClient;
let api: RunningApi;
const logLines: string[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Reply {
  status: number;
  body: Record<string, unknown> & { error?: { code: string } };
  headers: Headers;
}

async function call(method: string, path: string, body?: unknown, on: RunningApi = api): Promise<Reply> {
  const res = await fetch(`${on.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${API_KEY}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    redirect: 'manual',
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Reply['body']) : {}, headers: res.headers };
}

/** Reads the payment through `on` (the main API unless told) until `done` holds; returns the last body read. */
function until(
  ref: string,
  done: (b: Reply['body']) => boolean,
  what: string,
  on: RunningApi = api,
): Promise<Reply['body']> {
  let last: Reply['body'] = {};
  return waitFor(
    what,
    async () => {
      last = (await call('GET', `/v1/payments/${ref}`, undefined, on)).body;
      return done(last) ? last : undefined;
    },
    { timeoutMs: 30_000, describeLast: () => `last status ${String(last.status)}` },
  );
}

/**
 * A Temporal client whose workflow handles send every query through `around` (given the real query to call or not):
 * a read that races a workflow's progress, or one that no worker answers.
 */
function clientQuerying(around: (query: () => Promise<unknown>) => Promise<unknown>): Client {
  const client = new Client({ connection });
  const getHandle = client.workflow.getHandle.bind(client.workflow);
  client.workflow.getHandle = ((...args: Parameters<typeof getHandle>) => {
    const handle = getHandle(...args);
    const query = handle.query.bind(handle);
    handle.query = ((...q: Parameters<typeof query>) => around(() => query(...q))) as typeof handle.query;
    return handle;
  }) as typeof client.workflow.getHandle;
  return client;
}

/** The text of every payload in a history (base64 `data` decoded). */
function payloadText(history: unknown): string {
  return [...JSON.stringify(history).matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)]
    .map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'))
    .join('\n');
}

/** PAN, CVV and OTPs found in a history's payloads (empty when clean). */
function secretsIn(history: unknown): string[] {
  const text = payloadText(history);
  const found: string[] = [];
  for (const pan of [CARDS.nativeOtp, CARDS.challenge])
    if (text.includes(pan)) found.push(`PAN ending ${pan.slice(-4)}`);
  if (/"cvv"\s*:|"739"/i.test(text)) found.push('CVV');
  if (text.includes(CORRECT_OTP)) found.push('correct OTP');
  if (text.includes(WRONG_OTP)) found.push('wrong OTP');
  // `otp` as a string value (the payment state's `otp` is an object of attempt counters, which is fine).
  if (/"otp"\s*:\s*"/i.test(text)) found.push('an otp value');
  return found;
}

const card = (number: string) => ({ number, name: 'Test Holder', expiry_month: '12', expiry_year: '2035', cvv: CVV });

beforeAll(async () => {
  sandbox = await startSandbox({
    seed: 7,
    callbackMode: 'redirect',
    webhookRetryScale: 0.001,
    otp: { correctOtp: CORRECT_OTP },
  });
  connection = await Connection.connect({ address: sharedTemporalAddress() });
  nativeConnection = await NativeConnection.connect({ address: sharedTemporalAddress() });
  vault = new InMemoryCardVault();
  plural = pluralClientFor(sandbox, 5_000);
  const silent = createLogger({ level: 'silent' });
  worker = await createPaymentWorker({ connection: nativeConnection, plural, vault, logger: silent });
  running = worker.run();
  const port = await freePort();
  api = await startApiServer({
    port,
    engine: createTemporalEngine({ client: new Client({ connection }) }),
    vault,
    apiKeys: [API_KEY],
    callbackSecretHex: sandbox.credentials.callbackSecretHex,
    webhookSecret: sandbox.credentials.webhookSecret,
    fingerprintKey: 'integration-fingerprint-key',
    publicBaseUrl: `http://127.0.0.1:${port}`,
    returnUrls: { success: SUCCESS_URL, failure: 'https://merchant.example.test/failed' },
    logger: createLogger({ level: 'info', destination: { write: (l: string) => void logLines.push(l) } }),
    timings: { startWaitMs: 15_000, actionWaitMs: 15_000 },
  });
  sandbox.setWebhookUrl(`${api.url}/v1/webhooks/plural`);
}, 180_000);

afterAll(async () => {
  await api?.stop();
  if (worker) {
    worker.shutdown();
    await running;
  }
  vault?.close();
  await plural?.close();
  await nativeConnection?.close();
  await connection?.close();
  await Promise.all([sandbox?.stop()]);
}, 60_000);

describe('API over Temporal, the payment worker and the sandbox', () => {
  it('runs a native-OTP pre-auth payment to capture over HTTP', async () => {
    const ref = `it-otp-${Date.now()}`;
    const body = {
      merchant_order_reference: ref,
      amount: { value: 250_000, currency: 'INR' },
      pre_auth: true,
      card: card(CARDS.nativeOtp),
    };
    const created = await call('POST', '/v1/payments', body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'AWAITING_OTP', pre_auth: true, payment_method: 'card' });
    expect(typeof created.body.order_id).toBe('string');

    const again = await call('POST', '/v1/payments', body);
    expect(again.status).toBe(200);
    const conflicting = await call('POST', '/v1/payments', { ...body, amount: { value: 1, currency: 'INR' } });
    expect(conflicting.status).toBe(409);

    const otp = await call('POST', `/v1/payments/${ref}/otp`, { otp: CORRECT_OTP });
    expect(otp.status).toBe(200);
    expect(otp.body.status).toBe('AUTHORIZED');

    const tooMuch = await call('POST', `/v1/payments/${ref}/capture`, { amount: { value: 250_001, currency: 'INR' } });
    expect(tooMuch.status).toBe(400);

    const captured = await call('POST', `/v1/payments/${ref}/capture`);
    expect(captured.status).toBe(200);
    expect(captured.body).toMatchObject({ status: 'PROCESSED', captured_amount: { value: 250_000, currency: 'INR' } });

    const fetched = await call('GET', `/v1/payments/${ref}`);
    expect(fetched.body.status).toBe('PROCESSED');
    expect((fetched.body.events as unknown[]).length).toBeGreaterThanOrEqual(3);

    // Card data and the OTP stay in the vault: no payload in the workflow's history holds the PAN, CVV or OTP.
    const history = await new Client({ connection }).workflow.getHandle(paymentWorkflowId(ref)).fetchHistory();
    expect(payloadText(history)).toContain(ref);
    expect(payloadText(history)).toContain('otpHandle');
    expect(secretsIn(history)).toEqual([]);
    expect(logLines.join('\n')).not.toContain(CARDS.nativeOtp);
    expect(logLines.join('\n')).not.toContain(CORRECT_OTP);
  }, 90_000);

  it('answers a wrong OTP with AWAITING_OTP and fewer attempts left', async () => {
    const ref = `it-wrong-${Date.now()}`;
    const created = await call('POST', '/v1/payments', {
      merchant_order_reference: ref,
      amount: { value: 10_000, currency: 'INR' },
      card: card(CARDS.nativeOtp),
    });
    expect(created.body.status).toBe('AWAITING_OTP');
    const before = (created.body.otp as { attempts_left: number }).attempts_left;
    const wrong = await call('POST', `/v1/payments/${ref}/otp`, { otp: WRONG_OTP });
    expect(wrong.status).toBe(200);
    expect(wrong.body.status).toBe('AWAITING_OTP');
    expect((wrong.body.otp as { attempts_left: number }).attempts_left).toBe(before - 1);
    expect(JSON.stringify(wrong.body)).not.toContain(WRONG_OTP);
    const resend = await call('POST', `/v1/payments/${ref}/otp/resend`);
    expect([200, 429]).toContain(resend.status);
    // Not yet authorized: CLOSING until Plural's pending payment ends (Plural cancels only authorized orders).
    const cancelled = await call('POST', `/v1/payments/${ref}/cancel`);
    expect(cancelled.status).toBe(202);
    expect(cancelled.body.status).toBe('CLOSING');
    expect(cancelled.body.closing).toMatchObject({ reason: 'MERCHANT_CANCEL' });
    const history = await new Client({ connection }).workflow.getHandle(paymentWorkflowId(ref)).fetchHistory();
    expect(payloadText(history)).toContain('otpHandle');
    expect(secretsIn(history)).toEqual([]);
    expect(logLines.join('\n')).not.toContain(WRONG_OTP);
  }, 90_000);

  it('completes the challenge page: the signed callback reaches the workflow and redirects to the merchant', async () => {
    const ref = `it-challenge-${Date.now()}`;
    const created = await call('POST', '/v1/payments', {
      merchant_order_reference: ref,
      amount: { value: 50_000, currency: 'INR' },
      pre_auth: true,
      card: card(CARDS.challenge),
    });
    expect(created.body.status).toBe('AWAITING_CHALLENGE');
    const challenge = new URL(String(created.body.challenge_url));
    // The customer approves on the sandbox's page; the sandbox redirects the browser to our callback URL.
    const page = await fetch(challenge.origin + challenge.pathname, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: challenge.searchParams.get('token') ?? '', action: 'approve' }).toString(),
      redirect: 'manual',
    });
    expect(page.status).toBe(303);
    const callbackUrl = page.headers.get('location')!;
    expect(callbackUrl.startsWith(`${api.url}/v1/callbacks/plural?`)).toBe(true);

    const forged = new URL(callbackUrl);
    forged.searchParams.set('status', 'FAILED');
    expect((await fetch(forged, { redirect: 'manual' })).status).toBe(401);

    // The engine finds the payment by its Plural order and refuses to signal one that started before the bound.
    const fields = Object.fromEntries(new URL(callbackUrl).searchParams);
    const engine = createTemporalEngine({ client: new Client({ connection }) });
    const signal = { orderId: String(fields.order_id), status: 'AUTHORIZED' };
    expect(await engine.deliverCallback(signal, { startedAfterMs: Date.now() + 60_000 })).toEqual({
      delivered: false,
      tooOld: true,
      merchantOrderReference: ref,
    });

    const back = await fetch(callbackUrl, { redirect: 'manual' });
    expect(back.status).toBe(303);
    expect(back.headers.get('location')).toBe(`${SUCCESS_URL}?merchant_order_reference=${ref}&status=AUTHORIZED`);
    const paid = await until(ref, (b) => b.status === 'AUTHORIZED', 'AUTHORIZED after the callback');
    expect(paid.next_actions).toContain('CAPTURE');
    // The customer reloads the return URL: the same redirect, and no second Signal reaches the payment.
    const reload = await fetch(callbackUrl, { redirect: 'manual' });
    expect(reload.status).toBe(303);
    expect(reload.headers.get('location')).toBe(back.headers.get('location'));
    const history = await new Client({ connection }).workflow.getHandle(paymentWorkflowId(ref)).fetchHistory();
    const callbacks = (history.events ?? []).filter(
      (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'callbackReceived',
    );
    expect(callbacks).toHaveLength(1);
    // The sandbox also sent signed webhooks for the order, and the API accepted each with 200.
    const orderId = String(created.body.order_id);
    await until(
      ref,
      () => sandbox.webhookDeliveries().some((d) => d.orderId === orderId && d.eventType === 'ORDER_AUTHORIZED'),
      'the ORDER_AUTHORIZED webhook',
    );
    const deliveries = sandbox.webhookDeliveries().filter((d) => d.orderId === orderId);
    expect(deliveries.every((d) => d.outcome === 'delivered' && d.status === 200)).toBe(true);
  }, 90_000);

  it('acknowledges a signed webhook for a finished payment without a workflow to signal, and redirects its callback', async () => {
    const ref = `it-done-${Date.now()}`;
    const created = await call('POST', '/v1/payments', {
      merchant_order_reference: ref,
      amount: { value: 10_000, currency: 'INR' },
      card: card(CARDS.nativeOtp),
    });
    expect((await call('POST', `/v1/payments/${ref}/otp`, { otp: CORRECT_OTP })).body.status).toBe('PROCESSED');
    await until(ref, () => sandbox.webhookDeliveries().some((d) => d.orderId === created.body.order_id), 'webhooks');
    // Refunded in full, nothing is left to refund: the workflow completes without waiting out its refund window.
    expect((await call('POST', `/v1/payments/${ref}/refunds`, { merchant_refund_reference: 'all' })).status).toBe(201);
    await new Client({ connection }).workflow.getHandle(paymentWorkflowId(ref)).result(); // the workflow has closed
    const body = JSON.stringify({
      event_type: 'ORDER_PROCESSED',
      data: {
        order_id: created.body.order_id,
        merchant_order_reference: ref,
        status: 'PROCESSED',
        order_amount: { value: 10_000, currency: 'INR' },
        payments: [],
      },
    });
    const headers = webhookHeaders({
      id: 'msg_replayed',
      timestamp: Math.floor(Date.now() / 1000),
      body,
      secret: sandbox.credentials.webhookSecret,
    });
    const res = await fetch(`${api.url}/v1/webhooks/plural`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, delivered: false });

    // A customer's browser coming back this late finds the payment by its order and goes to the merchant's page.
    const engine = createTemporalEngine({ client: new Client({ connection }) });
    const orderId = String(created.body.order_id);
    const endedAnswer = { delivered: false, ended: true, merchantOrderReference: ref };
    expect(await engine.deliverCallback({ orderId, status: 'PROCESSED' })).toEqual(endedAnswer);
    // However old: the reload of an ended payment's return page, not a stale callback for a running one.
    const everyPaymentTooOld = { startedAfterMs: Date.now() + 60_000 };
    expect(await engine.deliverCallback({ orderId, status: 'PROCESSED' }, everyPaymentTooOld)).toEqual(endedAnswer);
    const fields = { order_id: orderId, status: 'PROCESSED' };
    const query = new URLSearchParams({
      ...fields,
      signature: signCallback(fields, sandbox.credentials.callbackSecretHex),
    });
    const back = await fetch(`${api.url}/v1/callbacks/plural?${query.toString()}`, { redirect: 'manual' });
    expect(back.status).toBe(303);
    expect(back.headers.get('location')).toBe(`${SUCCESS_URL}?merchant_order_reference=${ref}&status=PROCESSED`);
  }, 90_000);

  /**
   * A payment that has just continued as new: search lists its order under the closed run until it has indexed the new
   * run's. Runs `deliver` with the order id and returns the names of the signals the current run received.
   */
  async function afterAContinueAsNew(
    ref: string,
    deliver: (engine: ReturnType<typeof createTemporalEngine>, orderId: string) => Promise<unknown>,
  ): Promise<string[]> {
    const client = new Client({ connection });
    const workflowId = paymentWorkflowId(ref);
    const orderId = `v1-can-${randomUUID()}`;
    // No worker polls this queue: each run only records what it receives.
    const taskQueue = `runs-without-a-worker-${randomUUID()}`;
    const earlier = await client.workflow.start('paymentWorkflow', {
      taskQueue,
      workflowId,
      args: [],
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTE.PLURAL_ORDER_ID, value: orderId }],
    });
    await earlier.terminate('the run before a continue-as-new, as search sees it');
    const current = await client.workflow.start('paymentWorkflow', { taskQueue, workflowId, args: [] });
    try {
      const listed = `PluralOrderId = '${orderId}'`;
      await waitFor('search to list the earlier run under the order', async () => {
        for await (const info of client.workflow.list({ query: listed }))
          return info.runId === earlier.firstExecutionRunId;
        return false;
      });
      await deliver(createTemporalEngine({ client }), orderId);
      const { events } = await client.workflow.getHandle(workflowId, current.firstExecutionRunId).fetchHistory();
      const signalled = (events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes);
      return signalled.map((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? '');
    } finally {
      await current.terminate('test over');
    }
  }

  it('delivers a refund’s webhook to the payment’s current run while search lists its order under an earlier run only', async () => {
    // Plural's REFUND_* webhook names the refund's parent order only, and is the one word of a refund made on Plural's
    // dashboard: it must reach the run now going, not be acknowledged as undeliverable.
    const ref = `it-can-${Date.now()}`;
    const signals = await afterAContinueAsNew(ref, async (engine, orderId) => {
      const refund = {
        webhookId: 'msg_refund_on_dashboard',
        eventType: 'REFUND_PROCESSED',
        orderId: `v1-refund-${randomUUID()}`,
        orderStatus: 'PROCESSED',
        parentOrderId: orderId,
      };
      expect(await engine.deliverWebhook(undefined, refund)).toEqual({ delivered: true, merchantOrderReference: ref });
    });
    expect(signals).toEqual(['webhookReceived']);
  });

  it('delivers a callback to the payment’s current run while search lists its order under an earlier run only', async () => {
    // Not answered as for an ended payment: the customer's return is the payment's news until Plural's webhook comes.
    const ref = `it-can-cb-${Date.now()}`;
    const signals = await afterAContinueAsNew(ref, async (engine, orderId) => {
      expect(await engine.deliverCallback({ orderId, status: 'AUTHORIZED' })).toEqual({
        delivered: true,
        merchantOrderReference: ref,
      });
    });
    expect(signals).toEqual(['callbackReceived']);
  });

  it('answers a signed callback for an order no payment owns with 404', async () => {
    const fields = { order_id: 'v1-not-ours', status: 'AUTHORIZED' };
    const query = new URLSearchParams({
      ...fields,
      signature: signCallback(fields, sandbox.credentials.callbackSecretHex),
    });
    const res = await fetch(`${api.url}/v1/callbacks/plural?${query.toString()}`, { redirect: 'manual' });
    expect(res.status).toBe(404);
  });

  it('the history scan flags a PAN, a CVV or an OTP in a payload (so the checks above can fail)', () => {
    const history = (value: object) => ({
      events: [{ payloads: [{ data: Buffer.from(JSON.stringify(value)).toString('base64') }] }],
    });
    expect(secretsIn(history({ submissionId: 's', otpHandle: 'cvm1.abc' }))).toEqual([]);
    expect(secretsIn(history({ submissionId: 's', otp: CORRECT_OTP }))).toEqual(['correct OTP', 'an otp value']);
    expect(secretsIn(history({ note: `wrong ${WRONG_OTP}` }))).toEqual(['wrong OTP']);
    expect(secretsIn(history({ number: CARDS.nativeOtp, cvv: CVV }))).toEqual([
      `PAN ending ${CARDS.nativeOtp.slice(-4)}`,
      'CVV',
    ]);
  });

  it('reports ready while Temporal is reachable, and 404 for an unknown payment', async () => {
    expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
    expect((await call('GET', '/v1/payments/never-created')).status).toBe(404);
  });
});

describe('the API while Plural fails, over the real engine (the sandbox’s fault injection)', () => {
  /** A second API over the same engine: payments retry Plural every 0.3-0.6 s, and the API waits 4 s at most. */
  let fast: RunningApi;
  let probe: GatewayProbe;

  beforeAll(async () => {
    probe = createGatewayProbe({ baseUrl: sandbox.baseUrl });
    fast = await startApiServer({
      engine: createTemporalEngine({ client: new Client({ connection }) }),
      vault,
      apiKeys: [API_KEY],
      callbackSecretHex: sandbox.credentials.callbackSecretHex,
      webhookSecret: sandbox.credentials.webhookSecret,
      fingerprintKey: 'integration-fingerprint-key',
      publicBaseUrl: api.url,
      returnUrls: { success: SUCCESS_URL, failure: 'https://merchant.example.test/failed' },
      logger: createLogger({ level: 'silent' }),
      timings: { startWaitMs: 4_000, actionWaitMs: 4_000 },
      paymentLimits: {
        activityRetryInitialIntervalMs: 300,
        activityRetryMaximumIntervalMs: 600,
        activityMaxAttempts: 60,
      },
      gatewayProbe: probe,
    });
  });
  afterAll(async () => {
    sandbox.setFaults({ errorRate: 0, paths: [] });
    await fast?.stop();
    await probe?.close();
  });

  const fastCall = (method: string, path: string, body?: unknown) => call(method, path, body, fast);

  it('answers a create that Plural keeps failing with the payment CREATED and gateway.retrying, then goes on', async () => {
    const ref = `it-down-${Date.now()}`;
    sandbox.setFaults({ errorRate: 1, paths: ['/api/pay/v1/orders'] });
    let created: Reply;
    try {
      created = await fastCall('POST', '/v1/payments', {
        merchant_order_reference: ref,
        amount: { value: 10_000, currency: 'INR' },
        pre_auth: true,
        card: card(CARDS.nativeOtp),
      });
    } finally {
      sandbox.setFaults({ errorRate: 0, paths: [] });
    }
    // Not actionable within the wait: 202, the payment as it is (its gateway retries shown), read it again later.
    expect(created.status).toBe(202);
    expect(created.body.status).toBe('CREATED');
    expect(created.body.gateway).toMatchObject({
      status: 'unavailable',
      reason: 'gateway_unavailable',
      operation: 'createOrder',
      retrying: true,
      max_attempts: 60,
      last_error: expect.stringMatching(/^HTTP 50\d( [A-Z_]+)?$/),
    });
    expect((created.body.gateway as { attempt: number }).attempt).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(created.body.gateway)).not.toContain(CARDS.nativeOtp);

    // Plural is back: the same payment goes on by itself, and the gateway field clears.
    const recovered = await until(ref, (b) => b.status === 'AWAITING_OTP', 'AWAITING_OTP after the outage', fast);
    expect(recovered.gateway).toBeNull();
    // Let it go (CANCELLED, or CLOSING while Plural's order is not final).
    expect([200, 202]).toContain((await fastCall('POST', `/v1/payments/${ref}/cancel`)).status);
  }, 60_000);

  /** A pre-auth payment through the fast API, taken to AUTHORIZED with the right OTP while Plural answers. */
  async function authorizedPayment(prefix: string): Promise<string> {
    const ref = `${prefix}-${Date.now()}`;
    const created = await fastCall('POST', '/v1/payments', {
      merchant_order_reference: ref,
      amount: { value: 20_000, currency: 'INR' },
      pre_auth: true,
      card: card(CARDS.nativeOtp),
    });
    expect(created.body.status).toBe('AWAITING_OTP');
    expect(created.body.gateway).toBeNull();
    expect((await fastCall('POST', `/v1/payments/${ref}/otp`, { otp: CORRECT_OTP })).body.status).toBe('AUTHORIZED');
    return ref;
  }

  it('answers a capture that Plural keeps failing with 202 and gateway.retrying on captureOrder', async () => {
    const ref = await authorizedPayment('it-capdown');

    sandbox.setFaults({ errorRate: 1, paths: ['/capture'] });
    let capture: Reply;
    try {
      capture = await fastCall('POST', `/v1/payments/${ref}/capture`);
    } finally {
      sandbox.setFaults({ errorRate: 0, paths: [] });
    }
    expect(capture.status).toBe(202);
    expect(capture.body.status).toBe('AUTHORIZED');
    expect(capture.body.gateway).toMatchObject({ operation: 'captureOrder', retrying: true });
    expect((capture.body.gateway as { attempt: number }).attempt).toBeGreaterThanOrEqual(2);

    const processed = await until(ref, (b) => b.status === 'PROCESSED', 'PROCESSED after the outage', fast);
    expect(processed.gateway).toBeNull();
    expect(sandbox.order(String(processed.order_id))?.captureCount).toBe(1);
  }, 60_000);

  it('never pairs a state with a retry that ended after the read began (PROCESSED is not shown retrying captureOrder)', async () => {
    const ref = await authorizedPayment('it-capdone');
    sandbox.setFaults({ errorRate: 1, paths: ['/capture'] });
    try {
      const capture = await fastCall('POST', `/v1/payments/${ref}/capture`);
      expect(capture.body.gateway).toMatchObject({ operation: 'captureOrder', retrying: true });
      // A read whose describe sees the capture retrying, and whose query comes only once Plural is back and the
      // capture has gone through: the moment a real read can fall into.
      const client = clientQuerying(async (query) => {
        sandbox.setFaults({ errorRate: 0, paths: [] });
        await until(ref, (b) => b.status === 'PROCESSED', 'PROCESSED after the outage', fast);
        return query();
      });
      const record = await createTemporalEngine({ client }).get(ref);
      expect(record?.state.status).toBe('PROCESSED');
      expect(record?.gateway).toBeUndefined();
    } finally {
      sandbox.setFaults({ errorRate: 0, paths: [] });
    }
  }, 60_000);

  it('reports the sandbox reachable on /readyz alongside the engine', async () => {
    const res = await fetch(`${fast.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ready',
      engine: { reachable: true },
      gateway: { reachable: true },
    });
  });
});

describe('merchant actions as Updates over the real engine', () => {
  it('answers concurrent identical creates all at once: one 201, the rest 200 with the same payment', async () => {
    const ref = `it-same-${Date.now()}`;
    const body = {
      merchant_order_reference: ref,
      amount: { value: 20_000, currency: 'INR' },
      card: card(CARDS.nativeOtp),
    };
    const replies = await Promise.all(Array.from({ length: 6 }, () => call('POST', '/v1/payments', body)));
    expect(replies.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    expect(new Set(replies.map((r) => r.body.order_id)).size).toBe(1);
    expect(replies.every((r) => r.body.status === 'AWAITING_OTP')).toBe(true);
  }, 60_000);

  it('tells each of 12 parallel captures of different amounts its own outcome: one captures, none is told another’s amount', async () => {
    const ref = `it-race-${Date.now()}`;
    const created = await call('POST', '/v1/payments', {
      merchant_order_reference: ref,
      amount: { value: 100_000, currency: 'INR' },
      pre_auth: true,
      card: card(CARDS.nativeOtp),
    });
    expect(created.status).toBe(201);
    expect((await call('POST', `/v1/payments/${ref}/otp`, { otp: CORRECT_OTP })).body.status).toBe('AUTHORIZED');
    const amounts = Array.from({ length: 12 }, (_, i) => 50_000 + i * 1_000);
    const replies = await Promise.all(
      amounts.map((value) => call('POST', `/v1/payments/${ref}/capture`, { amount: { value, currency: 'INR' } })),
    );
    const captured = replies.filter((r) => r.status === 200);
    expect(captured).toHaveLength(1);
    const winner = amounts[replies.indexOf(captured[0]!)];
    expect(captured[0]!.body.captured_amount).toEqual({ value: winner, currency: 'INR' });
    // Every other request was refused with its own reason (Plural allows one capture), never answered as a success.
    for (const r of replies.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(409);
      expect(['capture_limit_reached', 'payment_not_authorized']).toContain(r.body.error?.code);
    }
    const final = await call('GET', `/v1/payments/${ref}`);
    expect(final.body).toMatchObject({ status: 'PROCESSED', captured_amount: { value: winner, currency: 'INR' } });
  }, 60_000);

  it('refunds over HTTP: of two concurrent partial refunds that together exceed the captured amount, exactly one succeeds', async () => {
    const ref = `it-refund-${Date.now()}`;
    const created = await call('POST', '/v1/payments', {
      merchant_order_reference: ref,
      amount: { value: 10_000, currency: 'INR' },
      pre_auth: true,
      card: card(CARDS.nativeOtp),
    });
    expect(created.status).toBe(201);
    const early = await call('POST', `/v1/payments/${ref}/refunds`, { merchant_refund_reference: 'early' });
    expect(early.status).toBe(409);
    expect(early.body.error?.code).toBe('payment_not_refundable');
    expect((await call('POST', `/v1/payments/${ref}/otp`, { otp: CORRECT_OTP })).body.status).toBe('AUTHORIZED');
    expect((await call('POST', `/v1/payments/${ref}/capture`)).status).toBe(200);
    const orderId = String(created.body.order_id);

    const [a, b] = await Promise.all(
      ['a', 'b'].map((id) =>
        call('POST', `/v1/payments/${ref}/refunds`, {
          merchant_refund_reference: `half-${id}`,
          amount: { value: 6_000, currency: 'INR' },
        }),
      ),
    );
    expect([a!.status, b!.status].sort()).toEqual([201, 400]);
    const won = a!.status === 201 ? a! : b!;
    const lost = a!.status === 201 ? b! : a!;
    expect(lost.body.error?.code).toBe('refund_amount_too_large');
    expect(won.body).toMatchObject({
      object: 'refund',
      reason: 'MERCHANT',
      amount: { value: 6_000, currency: 'INR' },
      status: 'PROCESSED',
      payment: {
        refunded_amount: { value: 6_000, currency: 'INR' },
        refundable_amount: { value: 4_000, currency: 'INR' },
      },
    });
    expect(sandbox.order(orderId)).toMatchObject({ refundedAmount: 6_000, refundIds: [won.body.refund_order_id] });

    // The same reference and amount again: the same refund (200); another amount: 409.
    const again = await call('POST', `/v1/payments/${ref}/refunds`, {
      merchant_refund_reference: won.body.merchant_refund_reference,
      amount: { value: 6_000, currency: 'INR' },
    });
    expect(again.status).toBe(200);
    expect(again.body.refund_order_id).toBe(won.body.refund_order_id);
    const clash = await call('POST', `/v1/payments/${ref}/refunds`, {
      merchant_refund_reference: won.body.merchant_refund_reference,
      amount: { value: 1_000, currency: 'INR' },
    });
    expect(clash.status).toBe(409);
    expect(clash.body.error?.code).toBe('refund_reference_conflict');

    // Plural's REFUND_PROCESSED webhook is about the refund order: the API routes it to the payment by its parent.
    await until(
      ref,
      (p) => (p.events as { cause: string }[]).some((e) => /^webhook REFUND_PROCESSED .* received/.test(e.cause)),
      'the REFUND_PROCESSED webhook in the payment',
    );

    // The rest: the payment has nothing left, its workflow completes, and GET still shows every refund.
    const rest = await call('POST', `/v1/payments/${ref}/refunds`, { merchant_refund_reference: 'rest' });
    expect(rest.status).toBe(201);
    expect(rest.body.amount).toEqual({ value: 4_000, currency: 'INR' });
    await new Client({ connection }).workflow.getHandle(paymentWorkflowId(ref)).result();
    const final = await call('GET', `/v1/payments/${ref}`);
    expect(final.body).toMatchObject({
      status: 'PROCESSED',
      captured_amount: { value: 10_000, currency: 'INR' },
      refunded_amount: { value: 10_000, currency: 'INR' },
    });
    expect(
      (final.body.refunds as { merchant_refund_reference: string; status: string }[]).map((r) => [
        r.merchant_refund_reference,
        r.status,
      ]),
    ).toEqual([
      [won.body.merchant_refund_reference, 'PROCESSED'],
      ['rest', 'PROCESSED'],
    ]);
    expect(sandbox.order(orderId)).toMatchObject({ status: 'FULLY_REFUNDED', refundedAmount: 10_000 });
    // After the workflow: a repeat is still answered with its refund; a new one finds nothing left.
    expect((await call('POST', `/v1/payments/${ref}/refunds`, { merchant_refund_reference: 'rest' })).status).toBe(200);
    const more = await call('POST', `/v1/payments/${ref}/refunds`, { merchant_refund_reference: 'more' });
    expect(more.status).toBe(409);
    expect(more.body.error?.code).toBe('nothing_to_refund');
  }, 90_000);

  it('asks a worker again, once, when it refused the query (as one does rather than run a payment outside a task)', async () => {
    // workflows/task-boundary.ts: a worker refuses a query it could only answer by applying events outside a workflow
    // task. Here the first query fails as such a refusal would; the read asks again and answers fresh.
    let queries = 0;
    const client = clientQuerying((query) => {
      queries += 1;
      return queries === 1 ? Promise.reject(new Error('Encoded failure')) : query();
    });
    const engine = createTemporalEngine({ client, queryTimeoutMs: 3_000 });
    const ref = `it-requery-${Date.now()}`;
    const created = await call('POST', '/v1/payments', {
      merchant_order_reference: ref,
      amount: { value: 4_200, currency: 'INR' },
      card: card(CARDS.nativeOtp),
    });
    expect(created.status).toBe(201);
    const record = await engine.get(ref);
    expect(record).toMatchObject({ state: { status: 'AWAITING_OTP' } });
    expect(record?.stale).toBeUndefined();
    expect(queries).toBe(2);
    await call('POST', `/v1/payments/${ref}/cancel`, {});
  }, 60_000);

  it('reads a moved payment from its search attributes over the memo, in stale reads and in lists', async () => {
    // The workflow writes its memo again only when amounts move; status, order id and last change are search
    // attributes. A payment at AWAITING_OTP still has the API's memo (CREATED, no order id) underneath.
    const ref = `it-summary-${Date.now()}`;
    const created = await call('POST', '/v1/payments', {
      merchant_order_reference: ref,
      amount: { value: 6_100, currency: 'INR' },
      card: card(CARDS.nativeOtp),
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('AWAITING_OTP');
    const orderId = created.body.order_id as string;
    expect(orderId).toEqual(expect.any(String));
    // Through a client whose queries no worker answers (every one refused).
    const client = clientQuerying(() => Promise.reject(new Error('no worker')));
    const described = await client.workflow.getHandle(paymentWorkflowId(ref)).describe();
    expect(described.memo?.payment).toMatchObject({ status: 'CREATED' });
    // The read is stale, and says what the search attributes say.
    const engine = createTemporalEngine({ client, queryTimeoutMs: 300 });
    const record = await engine.get(ref);
    expect(record).toMatchObject({ stale: true, state: { status: 'AWAITING_OTP', pluralOrderId: orderId } });
    expect(Date.parse(record!.state.updatedAt)).toBeGreaterThan(Date.parse(record!.state.createdAt));
    // The list reads visibility (a moment behind): the same summary once it has caught up.
    const listed = await waitFor('the payment listed at AWAITING_OTP', async () => {
      const page = await engine.list({ limit: 5, referencePrefix: ref });
      const summary = page.payments.find((p) => p.merchantOrderReference === ref);
      return summary?.status === 'AWAITING_OTP' ? summary : undefined;
    });
    expect(listed).toMatchObject({ pluralOrderId: orderId, amount: { value: 6_100, currency: 'INR' } });
    await call('POST', `/v1/payments/${ref}/cancel`, {});
  }, 60_000);

  it('answers reads from the memo, marked stale, when no worker answers', async () => {
    // An API whose payments go to a task queue no worker polls: nothing answers the Update or the query.
    const idle = await startApiServer({
      engine: createTemporalEngine({
        client: new Client({ connection }),
        taskQueue: `no-worker-${Date.now()}`,
        queryTimeoutMs: 500,
      }),
      vault,
      apiKeys: [API_KEY],
      callbackSecretHex: sandbox.credentials.callbackSecretHex,
      webhookSecret: sandbox.credentials.webhookSecret,
      fingerprintKey: 'integration-fingerprint-key',
      publicBaseUrl: api.url,
      returnUrls: { success: SUCCESS_URL, failure: 'https://merchant.example.test/failed' },
      logger: createLogger({ level: 'silent' }),
      timings: { startWaitMs: 800, actionWaitMs: 800 },
    });
    const ref = `it-stale-${Date.now()}`;
    try {
      const created = await call(
        'POST',
        '/v1/payments',
        { merchant_order_reference: ref, amount: { value: 7_500, currency: 'INR' }, card: card(CARDS.nativeOtp) },
        idle,
      );
      expect(created.status).toBe(202);
      expect(created.body).toMatchObject({
        merchant_order_reference: ref,
        status: 'CREATED',
        amount: { value: 7_500, currency: 'INR' },
        payment_method: 'card',
        stale: true,
      });
      const read = await call('GET', `/v1/payments/${ref}`, undefined, idle);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ status: 'CREATED', stale: true });
      expect(JSON.stringify(read.body)).not.toContain(CARDS.nativeOtp);

      // An action no worker takes up is not promised with a 202 (Temporal holds it only in memory, and the validator
      // has not run): 503, send it again.
      for (const [path, body] of [
        ['cancel', { reason: 'customer left' }],
        ['capture', {}],
      ] as const) {
        const action = await call('POST', `/v1/payments/${ref}/${path}`, body, idle);
        expect(action.status).toBe(503);
        expect(action.headers.get('retry-after')).toBe('1');
        expect(action.body.error).toMatchObject({
          code: 'engine_unavailable',
          message: expect.stringContaining(`payment ${ref} has not taken the ${path} request`),
        });
      }
    } finally {
      await idle.stop();
      await new Client({ connection }).workflow.getHandle(paymentWorkflowId(ref)).terminate('test cleanup');
    }
  }, 60_000);
});
