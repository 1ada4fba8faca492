/**
 * End to end over HTTP, on the stack `npm start` runs (API, worker, sandbox, Temporal): a payment's `return_url` is
 * taken only for the configured host, the customer's browser comes back there after the challenge page with a
 * signature the merchant's page verifies, and `merchant_metadata` round-trips without reaching any log line.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyReturn } from '../../api';
import type { ReturnVerification } from '../../api';
import { CARDS } from '../support/cards';
import { parseForms, submitForm } from './forms';
import { apiClient, startStackProcess } from './stack-process';
import type { StackProcess } from './stack-process';

const SECRET = randomBytes(24).toString('hex');
const METADATA = { basket: 'BASKET-ZEPHYR-42', campaign: 'MONSOON-TEAL-SALE' };

let dataDir: string;
let stack: StackProcess;
let call: ReturnType<typeof apiClient>;
let merchant: Server;
let merchantOrigin: string;
/** What the merchant's return page received, each verified as the README tells merchants to. */
const arrivals: { path: string; query: URLSearchParams; verified: ReturnVerification }[] = [];
let seq = 0;
const ref = (what: string) => `e2e-ret-${what}-${Date.now()}-${++seq}`;
const card = (number: string) => ({ number, name: 'Test Holder', expiry_month: '12', expiry_year: '2035', cvv: '739' });

beforeAll(async () => {
  // The merchant's return page: records each arrival and answers what it made of the signature.
  merchant = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://merchant.invalid');
    const verified = verifyReturn(url.searchParams, SECRET, { toleranceSeconds: 300 });
    arrivals.push({ path: url.pathname, query: url.searchParams, verified });
    res.writeHead(verified.ok ? 200 : 400, { 'content-type': 'text/plain' }).end(verified.ok ? verified.status : 'no');
  });
  await new Promise<void>((resolve) => merchant.listen(0, '127.0.0.1', resolve));
  const { port } = merchant.address() as AddressInfo;
  merchantOrigin = `http://127.0.0.1:${port}`;
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'plural-e2e-ret-'));
  stack = await startStackProcess(dataDir, {
    RETURN_URL_ALLOWED_HOSTS: `127.0.0.1:${port}`,
    RETURN_URL_SIGNING_SECRET: SECRET,
    LOG_LEVEL: 'debug',
  });
  call = apiClient(stack.info);
}, 180_000);

afterAll(async () => {
  await stack?.stop('SIGKILL');
  await new Promise<void>((resolve) => (merchant ? merchant.close(() => resolve()) : resolve()));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('return_url and merchant_metadata, end to end', () => {
  it('refuses open-redirect attempts with 400 return_url_not_allowed and starts nothing', async () => {
    const host = merchantOrigin.replace('http://', '');
    for (const attempt of [
      `http://${host}@evil.example/return`,
      `http://${host}.evil.example/return`,
      `https://evil.example/?next=${merchantOrigin}`,
      '//evil.example/return',
      `http:\\\\evil.example\\${host}`,
      'javascript:alert(1)//',
      `${merchantOrigin}/return#https://evil.example`,
      `http://127.0.0.2:${host.split(':')[1]}/return`,
    ]) {
      const reference = ref('evil');
      const res = await call('POST', '/v1/payments', {
        merchant_order_reference: reference,
        amount: { value: 10_000, currency: 'INR' },
        card: card(CARDS.challenge),
        return_url: attempt,
      });
      expect(res.status, attempt).toBe(400);
      expect(res.body.error?.code, attempt).toBe('return_url_not_allowed');
      expect((await call('GET', `/v1/payments/${reference}`)).status, attempt).toBe(404);
    }
  });

  it("brings the browser back to the payment's return_url after the challenge, signed, with the metadata kept", async () => {
    const reference = ref('challenge');
    const created = await call('POST', '/v1/payments', {
      merchant_order_reference: reference,
      amount: { value: 125_000, currency: 'INR' },
      pre_auth: true,
      card: card(CARDS.challenge),
      merchant_metadata: METADATA,
      return_url: `${merchantOrigin}/shop/return?cart=9`,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      status: 'AWAITING_CHALLENGE',
      return_url: `${merchantOrigin}/shop/return?cart=9`,
      merchant_metadata: METADATA,
    });

    // The customer's browser: the challenge page, Approve, the auto-submitting form back to the API's callback.
    const page = await fetch(String(created.body.challenge_url));
    const form = parseForms(await page.text(), page.url).find((f) => f.buttons.some((b) => b.label === 'Approve'));
    expect(form).toBeDefined();
    const afterClick = await submitForm(
      form!,
      form!.buttons.find((b) => b.label === 'Approve'),
    );
    const callbackForm = parseForms(await afterClick.text(), afterClick.url).find((f) => f.id === 'callback');
    expect(callbackForm?.action).toBe(`${stack.info.api}/v1/callbacks/plural`);
    const callback = await submitForm(callbackForm!);
    expect(callback.status).toBe(303);
    const location = callback.headers.get('location') ?? '';
    expect(location.startsWith(`${merchantOrigin}/shop/return?`)).toBe(true);

    // …and follows the redirect to the merchant, whose page verifies it.
    const landed = await fetch(location);
    expect(landed.status).toBe(200);
    expect(await landed.text()).toBe('AUTHORIZED');
    const arrival = arrivals.at(-1)!;
    expect(arrival.path).toBe('/shop/return');
    expect(arrival.query.get('cart')).toBe('9');
    expect(arrival.verified).toMatchObject({ ok: true, reference, status: 'AUTHORIZED' });

    const read = await call('GET', `/v1/payments/${reference}`);
    expect(read.body).toMatchObject({
      status: 'AUTHORIZED',
      return_url: `${merchantOrigin}/shop/return?cart=9`,
      merchant_metadata: METADATA,
    });
    // The same callback again (a reload): the redirect is still signed and says what the payment is now.
    const cancelled = await call('POST', `/v1/payments/${reference}/cancel`, {});
    expect(cancelled.body.status).toBe('CANCELLED');
    const reload = await submitForm(callbackForm!);
    const again = verifyReturn(new URL(reload.headers.get('location') ?? '').searchParams, SECRET);
    expect(again).toMatchObject({ ok: true, reference, status: 'CANCELLED' });
  }, 90_000);

  it("brings the browser back to the payment's return_url after Plural's hosted checkout, signed", async () => {
    const reference = ref('hosted');
    const created = await call('POST', '/v1/payments', {
      merchant_order_reference: reference,
      amount: { value: 49_900, currency: 'INR' },
      hosted_checkout: true,
      return_url: `${merchantOrigin}/hosted/return`,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'AWAITING_CHALLENGE', return_url: `${merchantOrigin}/hosted/return` });
    // On Plural's page the customer picks a card (no card data reaches the engine), then approves the challenge.
    const checkout = new URL(String(created.body.redirect_url));
    const picked = await fetch(checkout, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: checkout.searchParams.get('token')!,
        card: 'mastercard-challenge',
      }).toString(),
    });
    expect(picked.status).toBe(303);
    const challenge = await fetch(new URL(picked.headers.get('location') ?? '', checkout));
    const form = parseForms(await challenge.text(), challenge.url).find((f) =>
      f.buttons.some((b) => b.label === 'Approve'),
    );
    expect(form).toBeDefined();
    const afterClick = await submitForm(
      form!,
      form!.buttons.find((b) => b.label === 'Approve'),
    );
    const callbackForm = parseForms(await afterClick.text(), afterClick.url).find((f) => f.id === 'callback');
    expect(callbackForm?.action).toBe(`${stack.info.api}/v1/callbacks/plural`);
    const callback = await submitForm(callbackForm!);
    expect(callback.status).toBe(303);
    const landed = await fetch(callback.headers.get('location') ?? '');
    expect(landed.status).toBe(200);
    expect(arrivals.at(-1)).toMatchObject({
      path: '/hosted/return',
      verified: { ok: true, reference, status: 'PROCESSED' },
    });
  }, 90_000);

  it('writes neither the metadata nor the return-signing secret to the API or worker output', () => {
    const out = stack.output();
    // The API's and the worker's lines are both there (debug level), for the payments above.
    expect(out).toContain('"route":"/v1/payments"');
    expect(out).toContain('Plural order created');
    for (const value of [...Object.values(METADATA), SECRET]) {
      expect(out.includes(value), `output contains ${value.slice(0, 6)}…`).toBe(false);
    }
  });
});
