/**
 * The sandbox is a test tool only: the links and redirects it hands out come from its configured public URL (never
 * the client's `Host` header).
 */
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSandbox, SandboxOptions } from '../../plural-sandbox';
import { cardPayment, checkout, orderBody, startWithApi, TEST_CARD } from './helpers';
import type { Api } from './helpers';

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
      JSON.stringify(cardPayment(TEST_CARD.challengeOnly, 50_000)),
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
