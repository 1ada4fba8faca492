/**
 * The sandbox's pages (hosted checkout, the challenge page, the callback page, their message pages) carry helmet's
 * headers with a Content-Security-Policy that allows exactly what each page does, and answer errors as pages.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSandbox, SandboxOptions } from '../../plural-sandbox';
import { answerChallenge, checkout, payOnPage, pendingOrder, startWithApi } from './helpers';
import { CARDS } from '../support/cards';
import type { Api } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const CHECKOUT = '/api/v3/checkout-bff/redirect/checkout';

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

interface Page {
  status: number;
  headers: Headers;
  text: string;
}

const read = async (res: Response): Promise<Page> => ({
  status: res.status,
  headers: res.headers,
  text: await res.text(),
});

/** The CSP as directive → sources. */
function csp(page: Page): Map<string, string[]> {
  const header = page.headers.get('content-security-policy') ?? '';
  return new Map(
    header
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...sources]) => [name!, sources]),
  );
}

const hashOf = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** helmet's headers, the inline style allowed by its hash, no inline script unless `script`, and no leak. */
function expectSecurePage(page: Page, script: 'none' | 'auto-submit'): void {
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  expect(page.text).not.toMatch(/\bat .+\(|node_modules|\.ts:\d+/);
  expect(page.text).not.toContain(ROOT);
  expect(page.headers.get('x-frame-options')).toBe('DENY');
  expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  const policy = csp(page);
  expect(policy.get('default-src')).toEqual(["'none'"]);
  expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
  expect(policy.get('base-uri')).toEqual(["'none'"]);
  expect(page.headers.get('content-security-policy')).not.toMatch(/unsafe-inline|unsafe-eval/);
  const style = /<style>([\s\S]*?)<\/style>/.exec(page.text)?.[1];
  expect(style).toBeDefined();
  expect(policy.get('style-src')).toEqual([hashOf(style!)]);
  const inlineScript = /<script>([\s\S]*?)<\/script>/.exec(page.text)?.[1];
  if (script === 'none') {
    expect(inlineScript).toBeUndefined();
    expect(policy.get('script-src')).toEqual(["'none'"]);
  } else {
    expect(policy.get('script-src')).toEqual([hashOf(inlineScript!)]);
  }
}

describe('sandbox pages', () => {
  it('hosted checkout: form-action only to itself and the public URL', async () => {
    const { sandbox, api } = await start();
    const c = await checkout(api);
    const page = await read(await fetch(c.redirectUrl));
    expect(page.status).toBe(200);
    expectSecurePage(page, 'none');
    expect(csp(page).get('form-action')).toEqual(["'self'", new URL(sandbox.baseUrl).origin]);
  });

  it('challenge page: form-action only to itself (form_post), open in redirect mode', async () => {
    const { api } = await start();
    const o = await pendingOrder(api, { card: CARDS.challenge });
    const page = await read(await fetch(o.challengeUrl));
    expect(page.status).toBe(200);
    expectSecurePage(page, 'none');
    expect(csp(page).get('form-action')).toEqual(["'self'"]);

    const redirecting = await start({ callbackMode: 'redirect' });
    const r = await pendingOrder(redirecting.api, { card: CARDS.challenge });
    const open = await read(await fetch(r.challengeUrl));
    expectSecurePage(open, 'none');
    expect(csp(open).has('form-action')).toBe(false);
  });

  it("callback page: runs only its own auto-submit script, allowed by that script's hash", async () => {
    const { api } = await start();
    const o = await pendingOrder(api, { card: CARDS.challenge });
    const page = await read(await answerChallenge(o.challengeUrl, 'approve'));
    expect(page.status).toBe(200);
    expect(page.text).toContain('<form id="callback" method="post"');
    expectSecurePage(page, 'auto-submit');
  });

  it('message pages (unknown link, used link) are locked down: no form, no script', async () => {
    const { api } = await start();
    const unknown = await read(await fetch(`${api.baseUrl}${CHECKOUT}?token=nope`));
    expect(unknown.status).toBe(404);
    expectSecurePage(unknown, 'none');
    const o = await pendingOrder(api, { card: CARDS.challenge });
    await answerChallenge(o.challengeUrl, 'approve');
    const used = await read(await fetch(o.challengeUrl));
    expect(used.status).toBe(404);
    expectSecurePage(used, 'none');
  });

  it('answers a form it cannot read with a 400 page, not JSON', async () => {
    const { api } = await start();
    const c = await checkout(api);
    for (const p of [CHECKOUT, '/web/auth/landing/']) {
      const res = await fetch(`${api.baseUrl}${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${c.token}&card=${'x'.repeat(20_000)}`,
      });
      const page = await read(res);
      expect({ p, status: page.status }).toEqual({ p, status: 400 });
      expectSecurePage(page, 'none');
    }
  });

  it('answers a refused payment on the checkout page as a page carrying the code only', async () => {
    const { api } = await start();
    const c = await checkout(api);
    const page = await read(await payOnPage(api.baseUrl, c.token, 'visa-expired'));
    expect(page.status).toBe(422);
    expectSecurePage(page, 'none');
    expect(page.text).toContain('CARD_EXPIRED');
  });
});
