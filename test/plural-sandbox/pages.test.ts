import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, TEST_CARDS, type RunningSandbox, type SandboxOptions } from '../../plural-sandbox';
import { CARDS } from '../support/cards';
import { answerChallenge, checkout, orderBody, parseForm, payOnPage, pendingOrder, startWithApi } from './helpers';
import type { Api } from './helpers';

/** A line-by-line port of the GenerateHash sample in Plural's guides (hex key -> bytes, HMAC-SHA256, upper hex). */
function javaGenerateHash(input: string, strSecretKey: string): string {
  const key = new Uint8Array(strSecretKey.length / 2);
  for (let i = 0; i < strSecretKey.length / 2; i++) key[i] = parseInt(strSecretKey.substring(i * 2, i * 2 + 2), 16);
  return createHmac('sha256', key).update(input, 'utf8').digest('hex').toUpperCase();
}

function verifyCallback(fields: Record<string, string>, secretHex: string): boolean {
  const input = Object.keys(fields)
    .filter((k) => k !== 'signature')
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join('&');
  return fields.signature === javaGenerateHash(input, secretHex);
}

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

describe('hosted checkout page', () => {
  it('answers the checkout link request as the guide shows', async () => {
    const { api } = await start();
    const res = await api.post('/api/checkout/v1/orders', orderBody());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ response_code: 200, response_message: 'Order Creation Successful.' });
  });

  it('serves real HTML with the test cards by label and no card number in it', async () => {
    const { api } = await start();
    const c = await checkout(api);
    const page = await fetch(c.redirectUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('<form method="post"');
    for (const card of TEST_CARDS) {
      expect(html).toContain(card.key);
      expect(html).not.toContain(card.number);
      expect(html).not.toContain(card.number.slice(-4) + '<');
    }
  });

  it('pays with a test card, authenticates on the challenge page and posts a signed AUTHORIZED callback (pre_auth)', async () => {
    const { api, sandbox } = await start();
    const c = await checkout(api, { pre_auth: true });
    const pay = await payOnPage(sandbox.baseUrl, c.token, 'visa-native-otp');
    expect(pay.status).toBe(303);
    const challengeUrl = pay.headers.get('location')!;
    expect((await fetch(challengeUrl)).status).toBe(200);
    const done = await answerChallenge(challengeUrl, 'approve');
    expect(done.status).toBe(200);
    const form = parseForm(await done.text());
    expect(form.action).toBe('https://merchant.example/callback');
    expect(form.fields).toEqual({ order_id: c.orderId, payment_status: 'AUTHORIZED', signature: expect.any(String) });
    expect(verifyCallback(form.fields, sandbox.credentials.callbackSecretHex)).toBe(true);
    expect(verifyCallback({ ...form.fields, payment_status: 'PROCESSED' }, sandbox.credentials.callbackSecretHex)).toBe(
      false,
    );
    expect(sandbox.order(c.orderId)?.status).toBe('AUTHORIZED');
  });

  it('honours pre_auth false: the callback and the order say PROCESSED', async () => {
    const { api, sandbox } = await start();
    const c = await checkout(api, { pre_auth: false });
    const pay = await payOnPage(sandbox.baseUrl, c.token, 'mastercard-challenge');
    const form = parseForm(await (await answerChallenge(pay.headers.get('location')!, 'approve')).text());
    expect(form.fields.payment_status).toBe('PROCESSED');
    expect(sandbox.order(c.orderId)?.status).toBe('PROCESSED');
  });

  it('shows the expired card as refused (422) and lets the customer pick another card', async () => {
    const { api, sandbox } = await start();
    const c = await checkout(api);
    const refused = await payOnPage(sandbox.baseUrl, c.token, 'visa-expired');
    expect(refused.status).toBe(422);
    expect(await refused.text()).toContain('CARD_EXPIRED');
    expect(sandbox.order(c.orderId)?.status).toBe('CREATED');
    expect((await payOnPage(sandbox.baseUrl, c.token, 'visa-native-otp')).status).toBe(303);
  });

  it('answers an unknown checkout token with a 404 page', async () => {
    const { sandbox } = await start();
    expect((await fetch(`${sandbox.baseUrl}/api/v3/checkout-bff/redirect/checkout?token=nope`)).status).toBe(404);
  });
});

describe('challenge page (bank ACS)', () => {
  it('declining sends the browser to failure_callback_url with a signed USER_AUTHENTICATION_FAILED', async () => {
    const { api, sandbox } = await start();
    const o = await pendingOrder(api, { card: CARDS.challenge });
    const page = await fetch(o.challengeUrl);
    expect(await page.text()).toContain('value="decline"');
    const form = parseForm(await (await answerChallenge(o.challengeUrl, 'decline')).text());
    expect(form.action).toBe('https://merchant.example/failure');
    expect(form.fields).toEqual({
      order_id: o.orderId,
      payment_status: 'FAILED',
      error_code: 'USER_AUTHENTICATION_FAILED',
      error_message: 'Consumer Authentication Failed',
      signature: expect.stringMatching(/^[0-9A-F]{64}$/),
    });
    expect(verifyCallback(form.fields, sandbox.credentials.callbackSecretHex)).toBe(true);
    expect(sandbox.order(o.orderId)?.status).toBe('ATTEMPTED');
  });

  it("signs exactly the guides' string: error_code, error_message, order_id, payment_status, sorted", async () => {
    const { api, sandbox } = await start();
    const o = await pendingOrder(api, { card: CARDS.challenge });
    const { fields } = parseForm(await (await answerChallenge(o.challengeUrl, 'decline')).text());
    const input = `error_code=USER_AUTHENTICATION_FAILED&error_message=Consumer Authentication Failed&order_id=${o.orderId}&payment_status=FAILED`;
    expect(fields.signature).toBe(javaGenerateHash(input, sandbox.credentials.callbackSecretHex));
  });

  it('with callbackStatusField status, sends and signs status instead of payment_status', async () => {
    const { api, sandbox } = await start({ callbackStatusField: 'status' });
    const o = await pendingOrder(api);
    const { fields } = parseForm(await (await answerChallenge(o.challengeUrl, 'approve')).text());
    expect(fields).toEqual({ order_id: o.orderId, status: 'AUTHORIZED', signature: expect.any(String) });
    expect(fields.signature).toBe(
      javaGenerateHash(`order_id=${o.orderId}&status=AUTHORIZED`, sandbox.credentials.callbackSecretHex),
    );
  });

  it('approving a card the issuer declines reports its error code in the signed callback', async () => {
    const { api, sandbox } = await start();
    const o = await pendingOrder(api, { card: CARDS.declined });
    const form = parseForm(await (await answerChallenge(o.challengeUrl, 'approve')).text());
    expect(form.fields).toMatchObject({ payment_status: 'FAILED', error_code: 'PAYMENT_DECLINED' });
    expect(verifyCallback(form.fields, sandbox.credentials.callbackSecretHex)).toBe(true);
  });

  it('is single-use: after completion the link answers 404 and a second POST cannot change the result', async () => {
    const { api, sandbox } = await start();
    const o = await pendingOrder(api);
    await answerChallenge(o.challengeUrl, 'approve');
    expect((await fetch(o.challengeUrl)).status).toBe(404);
    expect((await answerChallenge(o.challengeUrl, 'decline')).status).toBe(404);
    expect(sandbox.order(o.orderId)?.status).toBe('AUTHORIZED');
  });

  it('with callbackMode redirect, answers 303 to callback_url with the signed fields as query parameters', async () => {
    const { api } = await start({ callbackMode: 'redirect', callbackSecretHex: 'abcdef0123456789' });
    const o = await pendingOrder(api);
    const done = await answerChallenge(o.challengeUrl, 'approve');
    expect(done.status).toBe(303);
    const location = new URL(done.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('https://merchant.example/callback');
    const fields = Object.fromEntries(location.searchParams);
    expect(verifyCallback(fields, 'abcdef0123456789')).toBe(true);
  });

  it('refuses a form without approve/decline with 400', async () => {
    const sandbox = await startSandbox();
    running.push(sandbox);
    const res = await fetch(`${sandbox.baseUrl}/web/auth/landing/`, {
      method: 'POST',
      body: new URLSearchParams({ token: 'x', action: 'maybe' }),
    });
    expect(res.status).toBe(400);
  });
});
