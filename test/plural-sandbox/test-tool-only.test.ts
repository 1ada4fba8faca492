/**
 * The sandbox is a test tool only: its control API answers only to the control token, its webhooks go to loopback
 * unless a host is explicitly allowed (and a refusal says nothing about the target), and the links and redirects it
 * hands out come from its configured public URL (never the client's `Host` header).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSandbox, SandboxOptions } from '../../plural-sandbox';
import {
  authorizedOrder,
  cardPayment,
  checkout,
  orderBody,
  pendingOrder,
  startWithApi,
  waitUntil,
  webhookReceiver,
} from './helpers';
import type { Api } from './helpers';
import { CARDS } from '../support/cards';

let running: RunningSandbox[] = [];
afterEach(async () => {
  await Promise.all(running.map((s) => s.stop()));
  running = [];
});

async function start(options: SandboxOptions = {}): Promise<{ sandbox: RunningSandbox; api: Api }> {
  const started = await startWithApi(options);
  running.push(started.sandbox);
  return started;
}

describe('control API', () => {
  const CONTROL_CALLS: readonly [string, string][] = [
    ['GET', '/__sandbox/faults'],
    ['PATCH', '/__sandbox/faults'],
    ['PUT', '/__sandbox/faults'],
    ['DELETE', '/__sandbox/faults'],
    ['GET', '/__sandbox/orders'],
    ['GET', '/__sandbox/orders/v1-any'],
    ['POST', '/__sandbox/orders/v1-any/settle'],
    ['POST', '/__sandbox/checkout/any-token/payments'],
    ['POST', '/__sandbox/payments/any-payment/authenticate'],
    ['GET', '/__sandbox/webhooks'],
    ['PUT', '/__sandbox/webhook-url'],
    ['GET', '/__sandbox/no-such-thing'],
  ];

  it('refuses every call without the control token, or with another token, with 401', async () => {
    const { api } = await start();
    for (const [method, path] of CONTROL_CALLS) {
      for (const token of [null, 'not-the-control-token-0123', api.token!]) {
        const res = await api.call(method, path, method === 'GET' ? undefined : {}, { token });
        expect({ method, path, status: res.status }).toEqual({ method, path, status: 401 });
        expect(res.body).toMatchObject({ code: 'UNAUTHORIZED' });
      }
    }
  });

  it('does not approve a payment without the token; does with it', async () => {
    const { sandbox, api } = await start();
    const o = await pendingOrder(api, { card: CARDS.challenge });
    const path = `/__sandbox/payments/${o.paymentId}/authenticate`;
    const refused = await api.call('POST', path, { result: 'approve' }, { token: null });
    expect(refused.status).toBe(401);
    expect(sandbox.order(o.orderId)?.status).toBe('PENDING');
    const approved = await api.post(path, { result: 'approve' });
    expect(approved.status).toBe(200);
    expect(sandbox.order(o.orderId)?.status).toBe('AUTHORIZED');
  });

  it('takes a configured token, and refuses one too short to be a secret', async () => {
    const controlToken = 'configured-control-token-0123456789';
    const { sandbox, api } = await start({ controlToken });
    expect(sandbox.controlToken).toBe(controlToken);
    expect((await api.call('GET', '/__sandbox/faults', undefined, { token: controlToken })).status).toBe(200);
    await expect(start({ controlToken: 'short' })).rejects.toThrow(/controlToken/);
  });

  it('makes a different token at each start', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    expect(a.sandbox.controlToken).not.toBe(b.sandbox.controlToken);
    expect(a.sandbox.controlToken.length).toBeGreaterThanOrEqual(32);
  });
});

/**
 * An address off loopback: this machine's first non-loopback IPv4 address, where the test's servers listen too; on a
 * machine with loopback alone, TEST-NET-1's (RFC 5737, never routed), where the refusals are compared all the same.
 */
const offLoopback =
  Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address ?? '192.0.2.1';

describe('webhook target', () => {
  const ELSEWHERE = [
    'http://10.0.0.7:8080/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://attacker.example/hook',
    'http://localhost.attacker.example/hook',
    'http://127.0.0.1.nip.io/hook',
    'http://[::ffff:10.0.0.7]/hook',
    'http://[fd00::2]:22/',
    'http://0.0.0.0:22/',
  ];

  it('refuses every URL off loopback with the same answer, and keeps the URL it had', async () => {
    const hook = await webhookReceiver();
    try {
      const { api } = await start({ webhookUrl: hook.url });
      const answers = new Set<string>();
      for (const url of ELSEWHERE) {
        const res = await api.put('/__sandbox/webhook-url', { url });
        expect({ url, status: res.status }).toEqual({ url, status: 400 });
        answers.add(res.text);
      }
      expect(answers.size).toBe(1);
      expect((await api.get('/__sandbox/webhooks')).body.url).toBe(hook.url);
    } finally {
      await hook.close();
    }
  });

  it('answers an open and a closed port off loopback alike, without connecting to either (no port-scan oracle)', async () => {
    let connections = 0;
    const open = createServer((_req, res) => res.end('ok'));
    open.on('connection', () => (connections += 1));
    await new Promise<void>((resolve) => open.listen(0, '0.0.0.0', resolve));
    const openPort = (open.address() as AddressInfo).port;
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '0.0.0.0', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    try {
      const { api } = await start();
      const a = await api.put('/__sandbox/webhook-url', { url: `http://${offLoopback}:${openPort}/` });
      const b = await api.put('/__sandbox/webhook-url', { url: `http://${offLoopback}:${closedPort}/` });
      expect([a.status, b.status]).toEqual([400, 400]);
      expect(a.text).toBe(b.text);
      expect(a.text).not.toContain(String(openPort));
      await authorizedOrder(api);
      expect(connections).toBe(0);
    } finally {
      open.closeAllConnections();
      await new Promise<void>((resolve) => open.close(() => resolve()));
    }
  });

  it('refuses such a URL as an option and from setWebhookUrl, before sending anything', async () => {
    await expect(start({ webhookUrl: 'http://10.0.0.7/hook' })).rejects.toThrow(/webhookUrl must point at loopback/);
    const { sandbox } = await start();
    expect(() => sandbox.setWebhookUrl('http://attacker.example/hook')).toThrow(/must point at loopback/);
    expect(() => sandbox.setWebhookUrl('http://[::1]:9/hook')).not.toThrow();
  });

  it('sends to loopback, and to a host only when webhookAllowedHosts names it', async () => {
    const hook = await webhookReceiver();
    try {
      const { api, sandbox } = await start({ webhookAllowedHosts: ['Hooks.Example.Test'] });
      expect((await api.put('/__sandbox/webhook-url', { url: 'https://hooks.example.test/plural' })).status).toBe(200);
      expect((await api.put('/__sandbox/webhook-url', { url: 'https://other.example.test/plural' })).status).toBe(400);
      expect((await api.put('/__sandbox/webhook-url', { url: hook.url })).status).toBe(200);
      await authorizedOrder(api);
      await waitUntil(() => sandbox.webhookDeliveries().some((d) => d.outcome === 'delivered'));
      expect(hook.received.length).toBeGreaterThan(0);
    } finally {
      await hook.close();
    }
  });
});

const EVIL_HOST = 'attacker.example:4444';

/** A call with a forged `Host` header (fetch cannot set one; undici's request can). */
async function withHost(
  api: Api,
  method: 'GET' | 'POST',
  path: string,
  body?: string,
  contentType = 'application/json',
): Promise<{ status: number; location: string | undefined; json: unknown }> {
  const res = await request(`${api.baseUrl}${path}`, {
    method,
    headers: {
      host: EVIL_HOST,
      ...(api.token ? { authorization: `Bearer ${api.token}` } : {}),
      ...(body !== undefined ? { 'content-type': contentType } : {}),
    },
    body,
  });
  const text = await res.body.text();
  const location = res.headers.location;
  return {
    status: res.statusCode,
    location: typeof location === 'string' ? location : undefined,
    json: contentType === 'application/json' && text.startsWith('{') ? JSON.parse(text) : undefined,
  };
}

describe('links and redirects', () => {
  it.each([
    ['the bound address', {}],
    ['the configured publicUrl', { publicUrl: 'https://sandbox.test.example/' }],
  ] as const)('come from %s, never from the Host header', async (_name, options: SandboxOptions) => {
    const { sandbox, api } = await start(options);
    const base = options.publicUrl?.replace(/\/$/, '') ?? sandbox.baseUrl;

    const link = await withHost(api, 'POST', '/api/checkout/v1/orders', JSON.stringify(orderBody()));
    expect(link.status).toBe(200);
    const { redirect_url: redirectUrl, token } = link.json as { redirect_url: string; token: string };
    expect(redirectUrl.startsWith(`${base}/`)).toBe(true);

    const pay = await withHost(
      api,
      'POST',
      '/api/v3/checkout-bff/redirect/checkout',
      new URLSearchParams({ token, card: 'mastercard-challenge' }).toString(),
      'application/x-www-form-urlencoded',
    );
    expect(pay.status).toBe(303);
    expect(pay.location?.startsWith(`${base}/web/auth/landing/`)).toBe(true);
    // The paid link's page sends the browser on to the challenge page, at the same base.
    const again = await withHost(api, 'GET', `/api/v3/checkout-bff/redirect/checkout?token=${token}`);
    expect(again.status).toBe(303);
    expect(again.location?.startsWith(`${base}/web/auth/landing/`)).toBe(true);

    const order = await withHost(api, 'POST', '/api/pay/v1/orders', JSON.stringify(orderBody()));
    const orderId = (order.json as { data: { order_id: string } }).data.order_id;
    const payment = await withHost(
      api,
      'POST',
      `/api/pay/v1/orders/${orderId}/payments`,
      JSON.stringify(cardPayment(CARDS.challenge, 50_000)),
    );
    expect(payment.status).toBe(200);
    const challengeUrl = (payment.json as { data: { challenge_url: string } }).data.challenge_url;
    expect(challengeUrl.startsWith(`${base}/web/auth/landing/`)).toBe(true);
    expect(JSON.stringify([link, pay, again, payment])).not.toContain('attacker.example');
  });

  it('refuses a publicUrl that is not an http(s) base URL', async () => {
    await expect(start({ publicUrl: 'javascript:alert(1)' })).rejects.toThrow(/publicUrl/);
    await expect(start({ publicUrl: 'http://sandbox.test/?next=evil' })).rejects.toThrow(/publicUrl/);
  });

  it('hands out links a browser can follow as they are', async () => {
    const { api } = await start();
    const c = await checkout(api);
    expect((await fetch(c.redirectUrl)).status).toBe(200);
  });
});
