/**
 * The operator's console, in a real browser: the Temporal Web UI served by the dev stack (`temporal server start-dev`,
 * as `npm start` runs it) finds a payment by its `MerchantOrderReference` search attribute, opens it, and shows its
 * input decrypted through the stack's codec endpoint — while neither the page nor the history Temporal stores holds
 * the card number or CVV.
 *
 * The customer's name is the witness of decoding: it is in the workflow input, which the stored history holds only
 * encrypted, so the page can show it only if the UI's browser called `<api>/codec/decode` and got it decrypted.
 *
 * Without `/usr/bin/chromium` the test is skipped locally; under CI it fails instead (test/support/chromium.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTemporalBinary } from '../../temporal-server';
import { paymentWorkflowId } from '../../workflows/definitions';
import { CARDS } from '../support/cards';
import { launchChromium, shouldRunBrowserTests } from '../support/chromium';
import { waitFor } from '../support/wait';
import { apiClient, startStackProcess } from './stack-process';
import type { StackProcess } from './stack-process';

const PAN = CARDS.nativeOtp;
const CVV = '6083';
/** Distinctive enough that finding it anywhere means it came from this payment's input. */
const CUSTOMER = { first_name: 'Philippa', last_name: 'Quennell-Achterberg' };
const OTP = '123456'; // the dev stack's sandbox accepts it

/** Every way a card number or CVV could show: plain, grouped as on a card, the CVV as a JSON string or number. */
function cardDataIn(text: string): string[] {
  const found: string[] = [];
  if (text.includes(PAN)) found.push('PAN');
  if (text.includes(PAN.replace(/(\d{4})(?=\d)/g, '$1 '))) found.push('grouped PAN');
  // The CVV alone, not as part of a longer number, a timestamp or a base64 run.
  if (new RegExp(`(?<![\\w.:+/=-])${CVV}(?![\\w.:+/=-])`).test(text)) found.push('CVV');
  return found;
}

const runBrowser = shouldRunBrowserTests('test/e2e/temporal-ui.test.ts');

describe.skipIf(!runBrowser)('the Temporal Web UI of the dev stack, in headless Chromium', () => {
  let dataDir: string;
  let stack: StackProcess;
  let browser: Browser;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'plural-temporal-ui-'));
    [stack, browser] = await Promise.all([startStackProcess(dataDir), launchChromium()]);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop('SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('finds a payment by MerchantOrderReference and shows its decoded input, and no card data anywhere', async () => {
    const { temporalUi, codec, temporal } = stack.info;
    expect(temporalUi, 'the stack runs the dev server with its UI').toBeDefined();
    expect(codec, 'payload encryption is on').toBeDefined();

    const call = apiClient(stack.info);
    const reference = `ui-${Date.now()}`;
    const workflowId = paymentWorkflowId(reference);
    const created = await call('POST', '/v1/payments', {
      merchant_order_reference: reference,
      amount: { value: 73_500, currency: 'INR' },
      pre_auth: true,
      customer: CUSTOMER,
      card: { number: PAN, name: 'Philippa Q', expiry_month: '12', expiry_year: '2035', cvv: CVV },
    });
    expect(created.status).toBe(201);
    const otp = await call('POST', `/v1/payments/${reference}/otp`, { otp: OTP });
    expect(otp.body.status).toBe('AUTHORIZED');

    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    try {
      const page = await context.newPage();
      // What the UI's browser got from the codec endpoint: every payload it could show, in clear.
      const codecAnswers: Promise<{ status: number; text: string }>[] = [];
      page.on('response', (res: Response) => {
        if (res.request().method() === 'POST' && res.url().startsWith(`${codec!.endpoint}/`)) {
          codecAnswers.push(decodedText(res));
        }
      });

      // The list, filtered by the search attribute (what the query box puts in the URL). Visibility may trail the
      // workflow's start by a moment: load the list again until the row is there.
      const query = `MerchantOrderReference = '${reference}'`;
      const listUrl = `${temporalUi}/namespaces/${temporal.namespace}/workflows?query=${encodeURIComponent(query)}`;
      const row = page.locator(`a[href*="/workflows/${encodeURIComponent(workflowId)}/"]`).first();
      await waitFor(
        `the workflow list to show ${workflowId}`,
        async () => {
          await page.goto(listUrl);
          return row.waitFor({ timeout: 5_000 }).then(
            () => true,
            () => undefined,
          );
        },
        { timeoutMs: 30_000 },
      );
      await row.click();
      await page.waitForURL((url) => url.pathname.includes(`/workflows/${encodeURIComponent(workflowId)}/`));

      // The workflow's page: its id, its type, and its input decoded (the customer's name is only in the encrypted
      // input payload).
      await page.getByRole('heading', { name: workflowId }).waitFor({ timeout: 20_000 });
      await page.getByText('paymentWorkflow').first().waitFor({ timeout: 20_000 });
      await waitForText(page, CUSTOMER.last_name, codecAnswers);
      const pageText = await page.locator('body').innerText();
      expect(pageText).toContain(`"merchantOrderReference": "${reference}"`);
      expect(pageText).toContain(`"firstName": "${CUSTOMER.first_name}"`);

      expect(cardDataIn(pageText), 'card data in the page text').toEqual([]);
      expect(cardDataIn(await page.content()), 'card data in the page HTML').toEqual([]);
      const answers = await Promise.all(codecAnswers);
      expect(answers.map((a) => a.status).filter((s) => s !== 200)).toEqual([]);
      const decoded = answers.map((a) => a.text).join('\n');
      expect(decoded).toContain(CUSTOMER.last_name);
      expect(cardDataIn(decoded), 'card data in what the codec decoded for the UI').toEqual([]);
    } finally {
      await context.close();
    }

    // The history as Temporal stores it, read as an operator would without the codec.
    const raw = await rawHistoryJson(workflowId);
    expect(raw).toContain(workflowId);
    expect(raw, 'payloads stored encrypted').toContain(Buffer.from('binary/encrypted').toString('base64'));
    expect(raw, 'the stored input is encrypted').not.toContain(CUSTOMER.last_name);
    expect(cardDataIn(raw), 'card data in the raw history').toEqual([]);
  }, 120_000);

  /** `temporal workflow show --output json`, with no codec (no configuration file or environment either). */
  async function rawHistoryJson(workflowId: string): Promise<string> {
    const cli = findTemporalBinary('cli');
    if (!cli) throw new Error('no Temporal CLI found: run node temporal-server/install.cjs');
    const { stdout } = await promisify(execFile)(
      cli.path,
      [
        'workflow',
        'show',
        '--workflow-id',
        workflowId,
        '--output',
        'json',
        '--address',
        stack.info.temporal.address,
        '--namespace',
        stack.info.temporal.namespace,
        '--disable-config-file',
        '--disable-config-env',
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    return stdout;
  }
});

/** The payloads of a codec answer, their data decoded from base64. */
async function decodedText(res: Response): Promise<{ status: number; text: string }> {
  const status = res.status();
  const body = (await res.json().catch(() => ({}))) as { payloads?: { data?: string }[] };
  const text = (body.payloads ?? []).map((p) => Buffer.from(p.data ?? '', 'base64').toString('utf8')).join('\n');
  return { status, text };
}

/** Waits for `text` on the page; on timeout, says what the codec endpoint answered the UI. */
function waitForText(
  page: Page,
  text: string,
  codecAnswers: Promise<{ status: number; text: string }>[],
): Promise<boolean> {
  return waitFor(`the page to show "${text}" (the decoded input)`, () => page.getByText(text).first().isVisible(), {
    timeoutMs: 30_000,
    describeLast: async () => {
      const statuses = (await Promise.all(codecAnswers)).map((a) => a.status);
      return `codec endpoint answers to the UI: ${
        statuses.length > 0 ? statuses.join(', ') : 'none (the UI never called it)'
      }`;
    },
  });
}
