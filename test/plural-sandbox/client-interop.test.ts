import { afterEach, describe, expect, it } from 'vitest';
import { parseCallback } from '../../plural-client/callbacks';
import { verifyCallbackSignature, verifyWebhook } from '../../plural-client/signatures';
import type { SandboxOptions } from '../../plural-sandbox';
import { CARDS } from '../support/cards';
import { authorizedOrder, pendingOrder, startWithApi, webhookReceiver } from './helpers';

/** The sandbox's signed output must verify with the engine's own client helpers (plural-client/signatures.ts). */

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function start(
  webhookUrl?: string,
  options: SandboxOptions = {},
): Promise<Awaited<ReturnType<typeof startWithApi>>> {
  const started = await startWithApi({
    webhookUrl,
    callbackSecretHex: '0a1b2c3d4e5f',
    webhookSecret: 'interop-secret',
    ...options,
  });
  cleanups.push(() => started.sandbox.stop());
  return started;
}

describe('plural-client verifies what the sandbox signs', () => {
  it('accepts success and failure callbacks and rejects a tampered one', async () => {
    const { api } = await start();
    const ok = await pendingOrder(api);
    const success = await api.post(`/__sandbox/payments/${ok.paymentId}/authenticate`, { result: 'approve' });
    const fields = success.body.callback.fields as Record<string, string>;
    expect(verifyCallbackSignature(fields, '0a1b2c3d4e5f')).toBe(true);
    expect(verifyCallbackSignature({ ...fields, payment_status: 'FAILED' }, '0a1b2c3d4e5f')).toBe(false);

    const bad = await pendingOrder(api, { card: CARDS.declined });
    const failure = await api.post(`/__sandbox/payments/${bad.paymentId}/authenticate`, { result: 'approve' });
    const failed = failure.body.callback.fields as Record<string, string>;
    expect(failed.error_code).toBe('PAYMENT_DECLINED');
    expect(verifyCallbackSignature(failed, '0a1b2c3d4e5f')).toBe(true);
  });

  it.each(['payment_status', 'status'] as const)(
    'parses the callback sent with callbackStatusField %s to the same result',
    async (field) => {
      const { api } = await start(undefined, { callbackStatusField: field });
      const bad = await pendingOrder(api, { card: CARDS.declined });
      const res = await api.post(`/__sandbox/payments/${bad.paymentId}/authenticate`, { result: 'approve' });
      const fields = res.body.callback.fields as Record<string, string>;
      expect(Object.keys(fields).sort()).toEqual(
        ['error_code', 'error_message', 'order_id', field, 'signature'].sort(),
      );
      expect(verifyCallbackSignature(fields, '0a1b2c3d4e5f')).toBe(true);
      expect(parseCallback(fields)).toEqual({
        ok: true,
        callback: {
          orderId: bad.orderId,
          status: 'FAILED',
          statusField: field,
          errorCode: 'PAYMENT_DECLINED',
          errorMessage: 'Payment declined by the issuer',
        },
      });
    },
  );

  it('accepts webhooks, including retried deliveries, and rejects them under another secret', async () => {
    const hook = await webhookReceiver((n) => (n === 1 ? 500 : 200));
    cleanups.push(() => hook.close());
    const { api } = await start(hook.url);
    await authorizedOrder(api);
    await hook.waitFor(2);
    for (const w of hook.received) {
      expect(verifyWebhook({ headers: w.headers, rawBody: w.body, secret: 'interop-secret' })).toMatchObject({
        ok: true,
      });
      expect(verifyWebhook({ headers: w.headers, rawBody: w.body, secret: 'other' })).toMatchObject({ ok: false });
    }
  });
});
