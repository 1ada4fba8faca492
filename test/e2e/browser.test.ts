/**
 * A real browser (Debian's Chromium, headless, through playwright-core) walks the sandbox's challenge page: it
 * clicks Approve, follows the auto-submitting callback form to the API, and lands on the merchant's return page,
 * which shows the payment's status. The stack runs as `npm start` runs it.
 *
 * Without `/usr/bin/chromium` the test is skipped locally (`apt-get install -y chromium` enables it); under CI
 * (`CI` set) it runs regardless and fails when the browser is missing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARDS } from '../support/cards';
import { launchChromium, shouldRunBrowserTests } from '../support/chromium';
import { apiClient, startStackProcess } from './stack-process';
import type { StackProcess } from './stack-process';

const runBrowser = shouldRunBrowserTests('test/e2e/browser.test.ts');

describe.skipIf(!runBrowser)('the challenge page in headless Chromium', () => {
  let dataDir: string;
  let stack: StackProcess;
  let browser: Browser;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'plural-browser-'));
    [stack, browser] = await Promise.all([startStackProcess(dataDir), launchChromium()]);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop('SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('approves the challenge and lands on the merchant return page showing AUTHORIZED', async () => {
    const call = apiClient(stack.info);
    const reference = `browser-${Date.now()}`;
    const created = await call('POST', '/v1/payments', {
      merchant_order_reference: reference,
      amount: { value: 49_900, currency: 'INR' },
      pre_auth: true,
      card: { number: CARDS.challenge, name: 'Test Holder', expiry_month: '12', expiry_year: '2035', cvv: '739' },
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('AWAITING_CHALLENGE');

    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(String(created.body.challenge_url));
      await expect.poll(() => page.title()).toMatch(/authenticate/i);
      // Approve → the sandbox's auto-submitting form → our callback → 303 → the merchant return page.
      await Promise.all([
        page.waitForURL((url) => url.pathname === '/dev/return', { timeout: 20_000 }),
        page.getByRole('button', { name: 'Approve' }).click(),
      ]);
      const landed = new URL(page.url());
      expect(`${landed.origin}${landed.pathname}`).toBe(stack.info.returnPage);
      expect(landed.searchParams.get('merchant_order_reference')).toBe(reference);
      expect(await page.locator('#status').textContent()).toBe('AUTHORIZED');
      expect(await page.locator('#reference').textContent()).toBe(reference);
    } finally {
      await context.close();
    }
    expect((await call('GET', `/v1/payments/${reference}`)).body.status).toBe('AUTHORIZED');
  }, 60_000);
});
