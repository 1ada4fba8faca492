import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RETRY_SCHEDULE_SECONDS, type RunningSandbox, type SandboxOptions } from '../../plural-sandbox';
import { CARDS } from '../support/cards';
import {
  authorizedOrder,
  pendingOrder,
  sleep,
  startWithApi,
  uniqueRef,
  waitUntil,
  webhookReceiver,
  type ReceivedWebhook,
} from './helpers';
import type { Api } from './helpers';

type Receiver = Awaited<ReturnType<typeof webhookReceiver>>;
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function setup(
  respond?: (n: number) => number,
  options: SandboxOptions = {},
): Promise<{ sandbox: RunningSandbox; api: Api; hook: Receiver }> {
  const hook = await webhookReceiver(respond);
  const { sandbox, api } = await startWithApi({ webhookUrl: hook.url, webhookSecret: 'whsec-test', ...options });
  cleanups.push(
    () => hook.close(),
    () => sandbox.stop(),
  );
  return { sandbox, api, hook };
}

/** Standard-Webhooks verification written from the spec, independent of the sandbox's code. */
function verify(w: ReceivedWebhook, secret: string): boolean {
  const id = String(w.headers['webhook-id']);
  const ts = String(w.headers['webhook-timestamp']);
  const expected = createHmac('sha256', secret).update(`${id}.${ts}.${w.body}`).digest('base64');
  return w.headers['webhook-signature'] === `v1,${expected}`;
}

interface WebhookPayload {
  event_type: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- order JSON read ad hoc
  data: any;
}
const event = (w: ReceivedWebhook): WebhookPayload => JSON.parse(w.body) as WebhookPayload;

describe('webhooks', () => {
  it('sends ORDER_AUTHORIZED with Standard-Webhooks headers and {event_type, data: <order>}', async () => {
    const { api, hook } = await setup();
    const o = await authorizedOrder(api);
    await hook.waitFor(1);
    const w = hook.received[0]!;
    expect(w.headers['webhook-id']).toMatch(/^msg_/);
    expect(Number(w.headers['webhook-timestamp'])).toBeGreaterThan(1_600_000_000);
    expect(verify(w, 'whsec-test')).toBe(true);
    expect(verify(w, 'other-secret')).toBe(false);
    const e = event(w);
    expect(e.event_type).toBe('ORDER_AUTHORIZED');
    expect(e.data).toMatchObject({ order_id: o.orderId, status: 'AUTHORIZED', payments: [{ status: 'AUTHORIZED' }] });
  });

  it('sends ORDER_PROCESSED after a capture (status PARTIALLY_CAPTURED for a partial one) and ORDER_CANCELLED', async () => {
    const { api, hook } = await setup();
    const full = await authorizedOrder(api);
    await api.put(`/api/pay/v1/orders/${full.orderId}/capture`, { merchant_capture_reference: uniqueRef('c') });
    const partial = await authorizedOrder(api);
    await api.put(`/api/pay/v1/orders/${partial.orderId}/capture`, {
      merchant_capture_reference: uniqueRef('c'),
      capture_amount: { value: 100, currency: 'INR' },
    });
    const cancelled = await authorizedOrder(api);
    await api.put(`/api/pay/v1/orders/${cancelled.orderId}/cancel`);
    await hook.waitFor(6);
    const seen = hook.received
      .map(event)
      .map((e) => `${e.data.order_id as string}:${e.event_type}:${e.data.status as string}`);
    expect(seen).toContain(`${full.orderId}:ORDER_PROCESSED:PROCESSED`);
    expect(seen).toContain(`${partial.orderId}:ORDER_PROCESSED:PARTIALLY_CAPTURED`);
    expect(seen).toContain(`${cancelled.orderId}:ORDER_CANCELLED:CANCELLED`);
  });

  it('sends PAYMENT_FAILED with the payment error_detail when authentication fails', async () => {
    const { api, hook } = await setup();
    const o = await pendingOrder(api, { card: CARDS.challenge });
    await api.post(`/__sandbox/payments/${o.paymentId}/authenticate`, { result: 'decline' });
    await hook.waitFor(1);
    const e = event(hook.received[0]!);
    expect(e.event_type).toBe('PAYMENT_FAILED');
    expect(e.data.status).toBe('ATTEMPTED');
    expect(e.data.payments[0]).toMatchObject({
      status: 'FAILED',
      error_detail: { code: 'USER_AUTHENTICATION_FAILED' },
    });
  });

  it('sends PAYMENT_FAILED (PAYMENT_EXPIRED) on its own when the customer never finishes authentication', async () => {
    const { api, hook } = await setup(undefined, { paymentTimeoutSeconds: 0.1 });
    const o = await pendingOrder(api);
    await hook.waitFor(1);
    const e = event(hook.received[0]!);
    expect(e.event_type).toBe('PAYMENT_FAILED');
    expect(e.data).toMatchObject({
      order_id: o.orderId,
      status: 'ATTEMPTED',
      payments: [{ error_detail: { code: 'PAYMENT_EXPIRED' } }],
    });
  });

  it('sends REFUND_PROCESSED with the refund order', async () => {
    const { api, hook } = await setup();
    const o = await authorizedOrder(api);
    await api.put(`/api/pay/v1/orders/${o.orderId}/capture`, { merchant_capture_reference: uniqueRef('c') });
    await api.post(`/api/pay/v1/refunds/${o.orderId}`, {
      merchant_order_reference: uniqueRef('rf'),
      order_amount: { value: 1000, currency: 'INR' },
    });
    await hook.waitFor(3);
    const refund = hook.received.map(event).find((e) => e.event_type === 'REFUND_PROCESSED');
    expect(refund?.data).toMatchObject({ type: 'REFUND', parent_order_id: o.orderId });
  });

  it('retries on non-2xx with the same webhook-id, following the scaled schedule', async () => {
    const { api, hook, sandbox } = await setup((n) => (n <= 2 ? 500 : 204), { webhookRetryScale: 0.01 });
    await authorizedOrder(api);
    await hook.waitFor(3);
    const ids = new Set(hook.received.map((w) => w.headers['webhook-id']));
    expect(ids.size).toBe(1);
    for (const w of hook.received) expect(verify(w, 'whsec-test')).toBe(true);
    // Attempt 3 comes RETRY_SCHEDULE_SECONDS[1] (5 s) * scale = 50 ms after attempt 2.
    const gap = hook.received[2]!.at - hook.received[1]!.at;
    expect(gap).toBeGreaterThanOrEqual(RETRY_SCHEDULE_SECONDS[1]! * 1000 * 0.01 - 5);
    await waitUntil(() => sandbox.webhookDeliveries().length === 3);
    const log = sandbox.webhookDeliveries();
    expect(log.map((d) => d.outcome)).toEqual(['failed', 'failed', 'delivered']);
    expect(log.map((d) => d.attempt)).toEqual([1, 2, 3]);
  });

  it('stops after the schedule is exhausted (1 + 8 attempts)', async () => {
    const { api, hook, sandbox } = await setup(() => 503, { webhookRetryScale: 0.000001 });
    await authorizedOrder(api);
    await hook.waitFor(RETRY_SCHEDULE_SECONDS.length + 1);
    await waitUntil(() => sandbox.webhookDeliveries().length === RETRY_SCHEDULE_SECONDS.length + 1);
    await sleep(300);
    expect(hook.received).toHaveLength(RETRY_SCHEDULE_SECONDS.length + 1);
    expect(sandbox.webhookDeliveries().at(-1)).toMatchObject({ attempt: 9, outcome: 'failed', status: 503 });
  });

  it('counts a receiver that does not answer within the timeout as a failed attempt and retries', async () => {
    let hangFirst = true;
    const received: number[] = [];
    const server = createServer((req, res) => {
      req.resume();
      received.push(Date.now());
      if (hangFirst) {
        hangFirst = false;
        return; // never answers
      }
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const { api, sandbox } = await startWithApi({ webhookUrl: `http://127.0.0.1:${port}/h`, webhookTimeoutMs: 100 });
    cleanups.push(
      () => sandbox.stop(),
      () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    );
    await authorizedOrder(api);
    await waitUntil(() => sandbox.webhookDeliveries().length >= 2);
    expect(sandbox.webhookDeliveries().map((d) => d.outcome)).toEqual(['failed', 'delivered']);
    expect(sandbox.webhookDeliveries()[0]?.error).toBeDefined();
  });

  it('stop() cancels pending retries: nothing is delivered afterwards', async () => {
    const hook = await webhookReceiver(() => 500);
    cleanups.push(() => hook.close());
    const { api, sandbox } = await startWithApi({ webhookUrl: hook.url, webhookRetryScale: 0.05 });
    await authorizedOrder(api);
    await hook.waitFor(2);
    await sandbox.stop();
    await sleep(50); // a request already on the wire at stop() may still land
    const count = hook.received.length;
    await sleep(400);
    expect(hook.received.length).toBe(count);
  });

  it('records no_url when no webhook URL is configured, and takes a new URL at run time', async () => {
    const { api, sandbox } = await startWithApi();
    cleanups.push(() => sandbox.stop());
    await authorizedOrder(api);
    await waitUntil(() => sandbox.webhookDeliveries().length > 0);
    expect(sandbox.webhookDeliveries().map((d) => d.outcome)).toEqual(['no_url']);
    const hook = await webhookReceiver();
    cleanups.push(() => hook.close());
    const set = await api.put('/__sandbox/webhook-url', { url: hook.url });
    expect(set.status).toBe(200);
    await authorizedOrder(api);
    await hook.waitFor(1);
    expect(event(hook.received[0]!).event_type).toBe('ORDER_AUTHORIZED');
  });
});
