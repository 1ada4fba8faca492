import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { EngineUnavailableError } from '../../api/engine';
import { returnPageStatus } from '../../api/routes/gateway-events';
import { signCallback, webhookHeaders } from '../../plural-client';
import type { WebhookReceivedSignal } from '../../workflows/definitions';
import { webhookSignalProblem } from '../../workflows/signal-guards';
import { CARDS } from '../support/cards';
import { waitFor } from '../support/wait';
import {
  auth,
  CALLBACK_SECRET_HEX,
  cardPayment,
  FAILURE_URL,
  makeApi,
  orderWebhookBody,
  SUCCESS_URL,
  WEBHOOK_SECRET,
} from './helpers';
import type { FakeEngineOptions } from './fake-engine';
import type { TestApi } from './helpers';

const signed = (fields: Record<string, string>, secret = CALLBACK_SECRET_HEX) => ({
  ...fields,
  signature: signCallback(fields, secret),
});

async function challengePayment(api: TestApi, ref: string): Promise<string> {
  const res = await request(api.app)
    .post('/v1/payments')
    .set(auth)
    .send(
      cardPayment(ref, {
        card: { number: CARDS.challenge, name: 'A', expiry_month: '01', expiry_year: '2031', cvv: '999' },
      }),
    );
  expect(res.body.status).toBe('AWAITING_CHALLENGE');
  api.engine.calls.length = 0;
  return res.body.order_id as string;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function sendWebhook(api: TestApi, body: string, headers: Record<string, string>) {
  return request(api.app).post('/v1/webhooks/plural').set('Content-Type', 'application/json').set(headers).send(body);
}

describe('GET|POST /v1/callbacks/plural', () => {
  it('verifies a POSTed form callback, signals the payment and redirects to the success page', async () => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'cb-1');
    const res = await request(api.app)
      .post('/v1/callbacks/plural')
      .type('form')
      .send(signed({ order_id: orderId, status: 'AUTHORIZED' }));
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${SUCCESS_URL}?merchant_order_reference=cb-1&status=AUTHORIZED`);
    expect(api.engine.mutatingCalls).toEqual([
      { method: 'deliverCallback', args: [{ orderId, status: 'AUTHORIZED' }] },
    ]);
    // The fake engine moves the payment a moment later (its transition timer).
    await waitFor('cb-1 AUTHORIZED', async () => {
      const payment = await request(api.app).get('/v1/payments/cb-1').set(auth);
      return payment.body.status === 'AUTHORIZED';
    });
  });

  it('verifies a GET callback (query string) and redirects a failure to the failure page', async () => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'cb-2');
    const fields = signed({
      order_id: orderId,
      status: 'FAILED',
      error_code: 'PAYMENT_DECLINED',
      error_message: 'Declined by issuer',
    });
    const res = await request(api.app).get('/v1/callbacks/plural').query(fields);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${FAILURE_URL}?merchant_order_reference=cb-2&status=FAILED`);
    expect(api.engine.mutatingCalls[0]!.args[0]).toEqual({
      orderId,
      status: 'FAILED',
      errorCode: 'PAYMENT_DECLINED',
      errorMessage: 'Declined by issuer',
    });
  });

  it('shows a callback with an error_code as a failure while the payment awaits its result, whatever its status', () => {
    // Plural's guides show a failure callback as AUTHORIZED with USER_AUTHENTICATION_REQUIRED.
    const failure = { status: 'AUTHORIZED', errorCode: 'USER_AUTHENTICATION_REQUIRED' };
    expect(returnPageStatus('AWAITING_CHALLENGE', failure)).toBe('FAILED');
    expect(returnPageStatus(undefined, failure)).toBe('FAILED');
    expect(returnPageStatus('AWAITING_CHALLENGE', { status: 'AUTHORIZED' })).toBe('AUTHORIZED');
    expect(returnPageStatus('AWAITING_CHALLENGE', { status: 'AUTHORIZED', errorCode: '' })).toBe('AUTHORIZED');
    // Once the engine has confirmed the result with Plural, the page shows the engine's.
    expect(returnPageStatus('AUTHORIZED', failure)).toBe('AUTHORIZED');
    expect(returnPageStatus('FAILED', { status: 'AUTHORIZED' })).toBe('FAILED');
  });

  it("takes the status as payment_status, the field Plural's guides show", async () => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'cb-ps');
    const res = await request(api.app)
      .post('/v1/callbacks/plural')
      .type('form')
      .send(signed({ order_id: orderId, payment_status: 'AUTHORIZED' }));
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${SUCCESS_URL}?merchant_order_reference=cb-ps&status=AUTHORIZED`);
    expect(api.engine.mutatingCalls).toEqual([
      { method: 'deliverCallback', args: [{ orderId, status: 'AUTHORIZED' }] },
    ]);
  });

  it('refuses a signed callback whose payment_status and status disagree, with a 400', async () => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'cb-both');
    const res = await request(api.app)
      .post('/v1/callbacks/plural')
      .type('form')
      .send(signed({ order_id: orderId, payment_status: 'FAILED', status: 'AUTHORIZED' }));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_callback');
    expect(api.engine.mutatingCalls).toEqual([]);
  });

  it('accepts a lowercase hex signature', async () => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'cb-3');
    const fields = { order_id: orderId, status: 'AUTHORIZED' };
    const res = await request(api.app)
      .get('/v1/callbacks/plural')
      .query({ ...fields, signature: signCallback(fields, CALLBACK_SECRET_HEX).toLowerCase() });
    expect(res.status).toBe(303);
  });

  it.each([
    ['no signature', (f: Record<string, string>) => ({ order_id: f.order_id!, status: 'AUTHORIZED' })],
    ['an empty signature', (f: Record<string, string>) => ({ ...f, signature: '' })],
    ['a tampered status', (f: Record<string, string>) => ({ ...f, status: 'PROCESSED' })],
    ['an added field', (f: Record<string, string>) => ({ ...f, extra: '1' })],
    [
      'a signature by another secret',
      (f: Record<string, string>) => signed({ order_id: f.order_id!, status: 'AUTHORIZED' }, 'ff'.repeat(32)),
    ],
    ['a non-hex signature', (f: Record<string, string>) => ({ ...f, signature: 'z'.repeat(64) })],
  ])('answers a callback with %s with 401 and reaches no payment', async (_name, forge) => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'cb-bad');
    const fields = forge(signed({ order_id: orderId, status: 'AUTHORIZED' }));
    for (const res of [
      await request(api.app).get('/v1/callbacks/plural').query(fields),
      await request(api.app).post('/v1/callbacks/plural').type('form').send(fields),
    ]) {
      expect(res.status).toBe(401);
      expect(res.body.error.type).toBe('authentication_error');
    }
    expect(api.engine.mutatingCalls).toEqual([]);
    const metrics = await api.metrics.registry.getSingleMetricAsString('api_signature_failures_total');
    expect(metrics).toMatch(/source="callback"/);
  });

  it('answers a repeated field (array) with 401 and reaches no payment', async () => {
    const api = makeApi();
    const res = await request(api.app).get('/v1/callbacks/plural?order_id=a&order_id=b&status=X&signature=00');
    expect(res.status).toBe(401);
    expect(api.engine.mutatingCalls).toEqual([]);
  });

  it("refuses a field named with '=' or '&' (a genuine callback regrouped under its signature) with 401", async () => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'cb-regrouped');
    const fields = {
      error_code: 'USER_AUTHENTICATION_REQUIRED',
      error_message: 'M',
      order_id: orderId,
      status: 'AUTHORIZED',
    };
    const genuine = signed(fields);
    // The same signed string, `error_code=…&error_message=M&…`, with the error folded into a field's name.
    const regrouped = {
      [`error_code=${fields.error_code}&error_message`]: fields.error_message,
      order_id: orderId,
      status: 'AUTHORIZED',
      signature: genuine.signature,
    };
    const res = await request(api.app).post('/v1/callbacks/plural').type('form').send(regrouped);
    expect(res.status).toBe(401);
    expect(api.engine.mutatingCalls).toEqual([]);
    // The genuine callback is taken.
    const ok = await request(api.app).post('/v1/callbacks/plural').type('form').send(genuine);
    expect(ok.status).toBe(303);
    expect(api.engine.mutatingCalls).toHaveLength(1);
  });

  it('answers a validly signed callback for an unknown order with 404', async () => {
    const api = makeApi();
    const res = await request(api.app)
      .get('/v1/callbacks/plural')
      .query(signed({ order_id: 'v1-unknown', status: 'AUTHORIZED' }));
    expect(res.status).toBe(404);
  });

  it("sends the customer of a payment that has already ended to the merchant's page, delivering nothing", async () => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'cb-ended');
    // The payment ended FAILED (here through a first callback; in production usually a webhook, before the
    // customer's browser came back).
    const first = signed({ order_id: orderId, status: 'FAILED', error_code: 'PAYMENT_DECLINED', error_message: 'a' });
    expect((await request(api.app).get('/v1/callbacks/plural').query(first)).status).toBe(303);
    await waitFor(
      'cb-ended FAILED',
      async () => (await request(api.app).get('/v1/payments/cb-ended').set(auth)).body.status === 'FAILED',
    );

    const fields = signed({ order_id: orderId, status: 'FAILED', error_code: 'PAYMENT_DECLINED' });
    const res = await request(api.app).post('/v1/callbacks/plural').type('form').send(fields);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${FAILURE_URL}?merchant_order_reference=cb-ended&status=FAILED`);
    expect((await request(api.app).get('/v1/payments/cb-ended').set(auth)).body.status).toBe('FAILED');
  });

  it("sends the customer to the page of the payment's own status once the engine knows better than the callback", async () => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'cb-cancelled');
    // The merchant cancelled while the customer was still on the bank's page, and the customer then paid there.
    expect((await request(api.app).post('/v1/payments/cb-cancelled/cancel').set(auth).send({})).body.status).toBe(
      'CLOSING',
    );
    const res = await request(api.app)
      .post('/v1/callbacks/plural')
      .type('form')
      .send(signed({ order_id: orderId, status: 'AUTHORIZED' }));
    expect(res.status).toBe(303);
    // Not the success page: the engine will give that money back.
    expect(res.headers.location).toBe(`${FAILURE_URL}?merchant_order_reference=cb-cancelled&status=CLOSING`);
  });

  it("waits for the workflow's confirmation at most returnStatusWaitMs, its reads included, and not after a stale read", async () => {
    const engineOptions: FakeEngineOptions = {};
    const api = makeApi(engineOptions, { returnStatusWaitMs: 600 });
    const reads = () => api.engine.calls.filter((c) => c.method === 'get').length;
    const slow = await challengePayment(api, 'cb-wait-slow');
    const stale = await challengePayment(api, 'cb-wait-stale');
    engineOptions.unresponsive = true; // no worker confirms the callbacks
    const get = api.engine.get.bind(api.engine);
    api.engine.get = async (ref) => {
      await new Promise((r) => setTimeout(r, 250));
      return get(ref);
    };
    let before = reads();
    const waited = await request(api.app)
      .get('/v1/callbacks/plural')
      .query(signed({ order_id: slow, payment_status: 'AUTHORIZED' }));
    expect(waited.status).toBe(303);
    // Reads of 250 ms within 600: two or three, where counting only the pauses between them made five.
    expect(reads() - before).toBeLessThanOrEqual(3);
    api.engine.stale = true; // answered from the memo: no worker
    before = reads();
    const answered = await request(api.app)
      .get('/v1/callbacks/plural')
      .query(signed({ order_id: stale, payment_status: 'AUTHORIZED' }));
    expect(answered.status).toBe(303);
    expect(reads() - before).toBe(1);
  });

  it("gives the customer's browser a page to reload, not a JSON error, while the engine is down; the reload delivers", async () => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'cb-down');
    const deliver = api.engine.deliverCallback.bind(api.engine);
    api.engine.deliverCallback = () => Promise.reject(new EngineUnavailableError('Temporal is unreachable'));
    const form = signed({ order_id: orderId, status: 'AUTHORIZED' });
    const browser = () =>
      request(api.app)
        .post('/v1/callbacks/plural')
        .set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8')
        .type('form');
    const down = await browser().send(form);
    expect(down.status).toBe(503);
    expect(down.headers['content-type']).toMatch(/^text\/html/);
    expect(down.headers['retry-after']).toBe('5');
    expect(down.text).toContain('reload this page');
    expect(down.text).not.toContain(orderId);
    // A client asking for JSON keeps the API's error.
    const client = await request(api.app)
      .post('/v1/callbacks/plural')
      .set('Accept', 'application/json')
      .type('form')
      .send(form);
    expect(client.status).toBe(503);
    expect(client.body.error.code).toBe('engine_unavailable');
    // Nothing was remembered as delivered: once the engine is back, the reload delivers and redirects.
    api.engine.deliverCallback = deliver;
    const reload = await browser().send(form);
    expect(reload.status).toBe(303);
    expect(reload.headers.location).toBe(`${SUCCESS_URL}?merchant_order_reference=cb-down&status=AUTHORIZED`);
    expect(api.engine.mutatingCalls).toEqual([
      { method: 'deliverCallback', args: [{ orderId, status: 'AUTHORIZED' }] },
    ]);
  });

  it('answers a validly signed callback without order_id with 400', async () => {
    const api = makeApi();
    const res = await request(api.app)
      .get('/v1/callbacks/plural')
      .query(signed({ status: 'AUTHORIZED' }));
    expect(res.status).toBe(400);
    expect(api.engine.mutatingCalls).toEqual([]);
  });

  it('delivers a callback once: a reload or replay (POST, GET, other hex case) redirects the same way, signals nothing and is counted', async () => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'cb-replay');
    const fields = signed({ order_id: orderId, status: 'AUTHORIZED' });
    const first = await request(api.app).post('/v1/callbacks/plural').type('form').send(fields);
    expect(first.status).toBe(303);
    const replays = [
      await request(api.app).post('/v1/callbacks/plural').type('form').send(fields),
      await request(api.app).get('/v1/callbacks/plural').query(fields),
      await request(api.app)
        .get('/v1/callbacks/plural')
        .query({ ...fields, signature: fields.signature.toLowerCase() }),
    ];
    for (const res of replays) {
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(first.headers.location);
    }
    expect(api.engine.mutatingCalls.map((c) => c.method)).toEqual(['deliverCallback']);
    const metrics = await api.metrics.registry.getSingleMetricAsString('api_signature_failures_total');
    expect(metrics).toContain('api_signature_failures_total{source="callback",reason="replayed",merchant="default"} 3');
  });

  it('delivers another signed result for the same order (a failure, then the retried payment)', async () => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'cb-two');
    const failed = signed({ order_id: orderId, status: 'FAILED', error_code: 'PAYMENT_DECLINED' });
    const paid = signed({ order_id: orderId, status: 'AUTHORIZED' });
    expect((await request(api.app).get('/v1/callbacks/plural').query(failed)).status).toBe(303);
    expect((await request(api.app).get('/v1/callbacks/plural').query(paid)).status).toBe(303);
    expect(api.engine.mutatingCalls.map((c) => c.method)).toEqual(['deliverCallback', 'deliverCallback']);
  });

  it('does not deliver a callback for a payment older than the longest customer window + 15 min; redirects, counted too_old', async () => {
    let offsetMs = 0;
    const api = makeApi({}, { now: () => Date.now() + offsetMs });
    const orderId = await challengePayment(api, 'cb-old');
    const fields = signed({ order_id: orderId, status: 'AUTHORIZED' });
    offsetMs = 46 * 60_000; // the default windows: hosted checkout 30 min, + 15 min
    const res = await request(api.app).post('/v1/callbacks/plural').type('form').send(fields);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${SUCCESS_URL}?merchant_order_reference=cb-old&status=AUTHORIZED`);
    expect(api.engine.mutatingCalls.map((c) => c.method)).toEqual(['deliverCallback']);
    await new Promise((r) => setTimeout(r, 20));
    expect((await request(api.app).get('/v1/payments/cb-old').set(auth)).body.status).toBe('AWAITING_CHALLENGE');
    const metrics = await api.metrics.registry.getSingleMetricAsString('api_signature_failures_total');
    expect(metrics).toContain('api_signature_failures_total{source="callback",reason="too_old",merchant="default"} 1');
  });

  it('takes the window from the configured customer windows: 44 min delivers; a 2 h checkout window keeps 2 h 14 min open', async () => {
    let offsetMs = 44 * 60_000;
    const api = makeApi({}, { now: () => Date.now() + offsetMs });
    const orderId = await challengePayment(api, 'cb-young');
    const fields = signed({ order_id: orderId, status: 'AUTHORIZED' });
    expect((await request(api.app).get('/v1/callbacks/plural').query(fields)).status).toBe(303);
    expect(api.engine.mutatingCalls).toHaveLength(1);

    offsetMs = 134 * 60_000;
    const long = makeApi(
      {},
      { now: () => Date.now() + offsetMs, paymentDurations: { checkoutWindowMs: 2 * 3_600_000 } },
    );
    const longOrder = await challengePayment(long, 'cb-long');
    await request(long.app)
      .get('/v1/callbacks/plural')
      .query(signed({ order_id: longOrder, status: 'AUTHORIZED' }));
    expect(long.engine.mutatingCalls).toHaveLength(1);
    const metrics = await long.metrics.registry.getSingleMetricAsString('api_signature_failures_total');
    expect(metrics).not.toContain('too_old');
  });

  it('answers other methods with 405 and an Allow header', async () => {
    const api = makeApi();
    const res = await request(api.app).put('/v1/callbacks/plural');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, POST');
  });
});

describe('POST /v1/webhooks/plural', () => {
  it('verifies a webhook and signals the payment with the webhook-id, then answers 200', async () => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'wh-1');
    const body = orderWebhookBody('wh-1', orderId);
    const res = await sendWebhook(
      api,
      body,
      webhookHeaders({ id: 'msg_1', timestamp: nowSeconds(), body, secret: WEBHOOK_SECRET }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: true, delivered: true });
    expect(api.engine.mutatingCalls).toHaveLength(1);
    const [ref, signal] = api.engine.mutatingCalls[0]!.args as [string, WebhookReceivedSignal];
    expect(ref).toBe('wh-1');
    expect(signal).toEqual({
      webhookId: 'msg_1',
      eventType: 'ORDER_AUTHORIZED',
      orderId,
      orderStatus: 'AUTHORIZED',
    });
  });

  it('passes captured amounts and the payment error on to the workflow', async () => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'wh-2');
    const parsed = JSON.parse(orderWebhookBody('wh-2', orderId, 'PROCESSED', 'ORDER_PROCESSED'));
    parsed.data.payments[0].capture_data = [{ capture_amount: { value: 100_000, currency: 'INR' } }];
    parsed.data.payments[0].error_detail = { code: 'X', message: 'y' };
    const body = JSON.stringify(parsed);
    await sendWebhook(
      api,
      body,
      webhookHeaders({ id: 'msg_2', timestamp: nowSeconds(), body, secret: WEBHOOK_SECRET }),
    );
    const signal = api.engine.mutatingCalls[0]!.args[1] as WebhookReceivedSignal;
    expect(signal.capturedAmount).toEqual({ value: 100_000, currency: 'INR' });
    expect(signal).toMatchObject({ errorCode: 'X', errorMessage: 'y' });
  });

  it('cuts a payment error longer than the workflow keeps, and still delivers the event', async () => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'wh-long');
    const parsed = JSON.parse(orderWebhookBody('wh-long', orderId, 'FAILED', 'ORDER_FAILED'));
    parsed.data.payments[0].error_detail = { code: 'C'.repeat(200), message: 'm'.repeat(5_000) };
    const body = JSON.stringify(parsed);
    const res = await sendWebhook(
      api,
      body,
      webhookHeaders({ id: 'msg_long', timestamp: nowSeconds(), body, secret: WEBHOOK_SECRET }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: true, delivered: true });
    const signal = api.engine.mutatingCalls[0]!.args[1] as WebhookReceivedSignal;
    expect(webhookSignalProblem(signal)).toBeUndefined();
    expect([signal.errorCode?.length, signal.errorMessage?.length]).toEqual([128, 4096]);
  });

  it('answers a signed webhook whose order id the workflow could not use with 400, signalling nothing', async () => {
    const api = makeApi();
    const body = orderWebhookBody('wh-bad-id', `v1-${'x'.repeat(200)}`);
    const res = await sendWebhook(
      api,
      body,
      webhookHeaders({ id: 'msg_bad_id', timestamp: nowSeconds(), body, secret: WEBHOOK_SECRET }),
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_webhook' });
    expect(res.body.error.message).toContain('orderId must be a Plural order id');
    expect(api.engine.mutatingCalls).toEqual([]);
  });

  it('accepts a duplicate delivery harmlessly (200 both times)', async () => {
    const api = makeApi();
    const orderId = await challengePayment(api, 'wh-3');
    const body = orderWebhookBody('wh-3', orderId);
    const headers = webhookHeaders({ id: 'msg_dup', timestamp: nowSeconds(), body, secret: WEBHOOK_SECRET });
    expect((await sendWebhook(api, body, headers)).status).toBe(200);
    expect((await sendWebhook(api, body, headers)).status).toBe(200);
    const webhookEvents = async () => {
      const payment = await request(api.app).get('/v1/payments/wh-3').set(auth);
      return (payment.body as { events: { cause: string }[] }).events.filter((e) => e.cause === 'webhook');
    };
    await waitFor('the webhook applied', async () => (await webhookEvents()).length > 0);
    // The duplicate's effect would come with the first's (the same transition timer): one, not two.
    await new Promise((r) => setTimeout(r, 20));
    expect(await webhookEvents()).toHaveLength(1);
  });

  it('acknowledges a webhook for no known payment with 200 delivered=false', async () => {
    const api = makeApi();
    const body = orderWebhookBody('other-system', 'v1-elsewhere');
    const res = await sendWebhook(
      api,
      body,
      webhookHeaders({ id: 'm', timestamp: nowSeconds(), body, secret: WEBHOOK_SECRET }),
    );
    expect(res.status).toBe(200);
    expect(res.body.delivered).toBe(false);
  });

  it('acknowledges an event type the engine does not act on without signalling', async () => {
    const api = makeApi();
    const body = JSON.stringify({ event_type: 'CUSTOMER_CREATED', data: { customer_id: 'c' } });
    const res = await sendWebhook(
      api,
      body,
      webhookHeaders({ id: 'm', timestamp: nowSeconds(), body, secret: WEBHOOK_SECRET }),
    );
    expect(res.status).toBe(200);
    expect(api.engine.mutatingCalls).toEqual([]);
  });

  it('answers a signed body that is not an order webhook with 400', async () => {
    const api = makeApi();
    const body = JSON.stringify({ event_type: 'ORDER_AUTHORIZED', data: { nope: true } });
    const res = await sendWebhook(
      api,
      body,
      webhookHeaders({ id: 'm', timestamp: nowSeconds(), body, secret: WEBHOOK_SECRET }),
    );
    expect(res.status).toBe(400);
    expect(api.engine.mutatingCalls).toEqual([]);
  });

  const body = orderWebhookBody('wh-x', 'v1-ord-wh-x');
  const sign = (id: string, timestamp: number, secret = WEBHOOK_SECRET) =>
    webhookHeaders({ id, timestamp, body, secret });
  it.each([
    ['no headers', () => ({})],
    ['a wrong secret', () => sign('m', nowSeconds(), 'another-secret')],
    ['a stale timestamp (301 s old)', () => sign('m', nowSeconds() - 301)],
    ['a future timestamp (360 s ahead)', () => sign('m', nowSeconds() + 360)],
    ['a signature for another id', () => ({ ...sign('m', nowSeconds()), 'webhook-id': 'm2' })],
    ['a non-numeric timestamp', () => ({ ...sign('m', nowSeconds()), 'webhook-timestamp': 'soon' })],
    [
      'a garbage signature',
      () => ({ 'webhook-id': 'm', 'webhook-timestamp': String(nowSeconds()), 'webhook-signature': 'v1,AAAA' }),
    ],
  ])('answers a webhook with %s with 401 and reaches no payment', async (_name, headers) => {
    const api = makeApi();
    await request(api.app).post('/v1/payments').set(auth).send(cardPayment('wh-x'));
    api.engine.calls.length = 0;
    const res = await sendWebhook(api, body, headers());
    expect(res.status).toBe(401);
    expect(res.body.error.type).toBe('authentication_error');
    expect(api.engine.calls).toEqual([]);
    const metrics = await api.metrics.registry.getSingleMetricAsString('api_signature_failures_total');
    expect(metrics).toMatch(/source="webhook"/);
  });

  it.each([
    ['trailing junk', (sig: string) => `${sig}!!`],
    ['bytes after the padding', (sig: string) => `${sig}AAAA`],
    ['no padding', (sig: string) => sig.replace(/=$/, '')],
  ])(
    'answers a correct signature with %s with 401 malformed_signature, counted, and reaches no payment',
    async (_name, spoil) => {
      const api = makeApi();
      await request(api.app).post('/v1/payments').set(auth).send(cardPayment('wh-x'));
      api.engine.calls.length = 0;
      const headers = sign('m-junk', nowSeconds());
      const res = await sendWebhook(api, body, {
        ...headers,
        'webhook-signature': spoil(headers['webhook-signature'] ?? ''),
      });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('webhook_malformed_signature');
      expect(api.engine.calls).toEqual([]);
      const metrics = await api.metrics.registry.getSingleMetricAsString('api_signature_failures_total');
      expect(metrics).toContain(
        'api_signature_failures_total{source="webhook",reason="malformed_signature",merchant="default"} 1',
      );
    },
  );

  it('rejects a body altered after signing with 401', async () => {
    const api = makeApi();
    const headers = webhookHeaders({ id: 'm', timestamp: nowSeconds(), body, secret: WEBHOOK_SECRET });
    const res = await sendWebhook(api, body.replace('AUTHORIZED', 'PROCESSED'), headers);
    expect(res.status).toBe(401);
    expect(api.engine.calls).toEqual([]);
  });

  it('answers 503 (so Plural redelivers) when the engine cannot take the signal', async () => {
    const api = makeApi();
    api.engine.deliverWebhook = () => Promise.reject(new EngineUnavailableError('down'));
    const b = orderWebhookBody('wh-y', 'v1-ord-wh-y');
    const res = await sendWebhook(
      api,
      b,
      webhookHeaders({ id: 'm', timestamp: nowSeconds(), body: b, secret: WEBHOOK_SECRET }),
    );
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('engine_unavailable');
  });
});
