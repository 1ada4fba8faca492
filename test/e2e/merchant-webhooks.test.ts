/**
 * End to end over HTTP on the real dev server (the stack as `npm start` runs it, in a child process): the merchant's
 * webhook endpoint is down for a while (connections refused, then 503 answers), then comes back and receives every
 * event of the payment exactly once, in order, each verified with the `standardwebhooks` library. Retries are
 * shortened through PAYMENT_WEBHOOK_RETRY_* (the same schedule, faster); nothing here is timed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWebhookSecret } from '../../merchant-webhooks';
import { CARDS } from '../support/cards';
import { MerchantReceiver } from '../support/merchant-receiver';
import { waitFor } from '../support/wait';
import { apiClient, startStackProcess } from './stack-process';
import type { StackProcess } from './stack-process';

const SECRET = newWebhookSecret();
let dataDir: string;
let stack: StackProcess;
let receiver: MerchantReceiver;
let call: ReturnType<typeof apiClient>;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'plural-e2e-webhooks-'));
  receiver = new MerchantReceiver(SECRET);
  // Bind once to learn a port, then go down: connections to it are refused until it starts again.
  await receiver.start();
  await receiver.stop();
  stack = await startStackProcess(dataDir, {
    MERCHANT_WEBHOOK_URL: receiver.url,
    MERCHANT_WEBHOOK_SECRET: SECRET,
    PAYMENT_WEBHOOK_RETRY_INITIAL_MS: '100',
    PAYMENT_WEBHOOK_RETRY_MAX_MS: '500',
  });
  call = apiClient(stack.info);
}, 180_000);

afterAll(async () => {
  await stack?.stop('SIGKILL');
  await receiver?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('merchant webhooks, end to end over HTTP', () => {
  it('names the configured endpoint in READY and runs no receiver of its own', () => {
    expect(stack.info.merchantWebhooks).toEqual({ endpoint: receiver.url, receiver: undefined });
  });

  it('delivers every event once, in order, signed, to an endpoint that was down for a while', async () => {
    const reference = `e2e-mw-${Date.now()}`;
    const created = await call('POST', '/v1/payments', {
      merchant_order_reference: reference,
      amount: { value: 125_000, currency: 'INR' },
      pre_auth: true,
      card: { number: CARDS.nativeOtp, name: 'Test Holder', expiry_month: '12', expiry_year: '2035', cvv: '739' },
    });
    expect(created.status).toBe(201);
    expect((await call('POST', `/v1/payments/${reference}/otp`, { otp: '123456' })).body.status).toBe('AUTHORIZED');
    expect((await call('POST', `/v1/payments/${reference}/capture`)).body.status).toBe('PROCESSED');
    const refunded = await call('POST', `/v1/payments/${reference}/refunds`, {
      merchant_refund_reference: 'refund-1',
      amount: { value: 25_000, currency: 'INR' },
    });
    expect(refunded.status).toBe(201);

    // Down: the worker's attempts found the port closed.
    await waitFor('a refused attempt in the log', () =>
      stack
        .output()
        .split('\n')
        .some((l) => l.includes('merchant webhook attempt failed') && l.includes('unreachable (ECONNREFUSED)')),
    );
    // Up, but answering 503 for a few attempts; nothing is accepted meanwhile.
    receiver.mode = 'unavailable';
    await receiver.start();
    await waitFor('attempts answered 503', () => Promise.resolve(receiver.attempts >= 3 ? true : undefined));
    expect(receiver.of(reference)).toEqual([]);
    receiver.mode = 'up';

    const expected = ['payment.awaiting_otp', 'payment.authorized', 'payment.processed', 'refund.processed'];
    const got = await waitFor('every event', () =>
      Promise.resolve(receiver.of(reference).length >= expected.length ? receiver.of(reference) : undefined),
    );
    expect(got.map((d) => d.body.type)).toEqual(expected);
    expect(got.map((d) => d.body.sequence)).toEqual([1, 2, 3, 4]);
    expect(new Set(got.map((d) => d.webhookId)).size).toBe(expected.length);
    expect(got.every((d) => d.webhookId === d.body.id)).toBe(true);
    expect(got[3]!.body.data).toMatchObject({
      merchant_order_reference: reference,
      status: 'PROCESSED',
      captured_amount: { value: 125_000, currency: 'INR' },
      refunded_amount: { value: 25_000, currency: 'INR' },
      refund: {
        merchant_refund_reference: 'refund-1',
        status: 'PROCESSED',
        amount: { value: 25_000, currency: 'INR' },
      },
    });
    expect(receiver.unverified).toEqual([]);
    for (const d of got) expect(d.rawBody).not.toContain(CARDS.nativeOtp);

    // The payment itself says nothing was given up on; and a later event still arrives once.
    const payment = await call('GET', `/v1/payments/${reference}`);
    expect((payment.body.events as { cause: string }[]).some((e) => e.cause.includes('undelivered'))).toBe(false);
    await call('POST', `/v1/payments/${reference}/refunds`, { merchant_refund_reference: 'refund-2' });
    const all = await waitFor('the second refund', () =>
      Promise.resolve(receiver.of(reference).length >= 5 ? receiver.of(reference) : undefined),
    );
    expect(all.map((d) => `${d.body.sequence} ${d.body.type}`)).toEqual([
      '1 payment.awaiting_otp',
      '2 payment.authorized',
      '3 payment.processed',
      '4 refund.processed',
      '5 refund.processed',
    ]);
  }, 120_000);
});
