/**
 * The entry points' other modes: `npm start` against an existing Temporal (`TEMPORAL_ADDRESS`) and an existing
 * Plural endpoint (`PLURAL_BASE_URL` + credentials; here a sandbox this test owns, standing in for the real gateway),
 * and configuration errors of `npm start` and `npm run api` (exit code 78, every problem listed, no value echoed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as apiMain } from '../../api/server';
import { startSandbox } from '../../plural-sandbox';
import type { RunningSandbox } from '../../plural-sandbox';
import type { RunningDevServer } from '../../temporal-server';
import { CARDS } from '../support/cards';
import { startOwnDevServer } from '../support/temporal';
import { waitFor } from '../support/wait';
import { apiClient, startStackProcess } from './stack-process';

const CALLBACK_SECRET_HEX = 'c0ffee00112233445566778899aabbccddeeff00';
const WEBHOOK_SECRET = 'external-gateway-webhook-secret';
const CLIENT_SECRET = 'external-gateway-client-secret';

let temporal: RunningDevServer;
let gateway: RunningSandbox;
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plural-entry-'));
  dirs.push(dir);
  return dir;
};

beforeAll(async () => {
  [temporal, gateway] = await Promise.all([
    // A server of this file's own, for its namespace: the stack must use it rather than start one.
    startOwnDevServer({ namespace: 'payments-e2e' }),
    startSandbox({
      clientId: 'external-client',
      clientSecret: CLIENT_SECRET,
      callbackSecretHex: CALLBACK_SECRET_HEX,
      webhookSecret: WEBHOOK_SECRET,
    }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([gateway?.stop(), temporal?.stop()]);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('npm start with TEMPORAL_ADDRESS and PLURAL_BASE_URL', () => {
  it('uses the given Temporal and gateway instead of starting its own, and pays through them', async () => {
    const stack = await startStackProcess(tempDir(), {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'payments-e2e',
      PLURAL_BASE_URL: gateway.baseUrl,
      PLURAL_CLIENT_ID: 'external-client',
      PLURAL_CLIENT_SECRET: CLIENT_SECRET,
      PLURAL_CALLBACK_SECRET_HEX: CALLBACK_SECRET_HEX,
      PLURAL_WEBHOOK_SECRET: WEBHOOK_SECRET,
      API_KEYS: 'sk_external_key_0123456789',
      // A real gateway's stack takes no published key (README, "Against the real Plural gateway").
      API_FINGERPRINT_KEY: 'external-fingerprint-key-0123456789',
    });
    try {
      expect(stack.info).toMatchObject({
        temporal: { address: temporal.address, namespace: 'payments-e2e', devServer: false },
        plural: { baseUrl: gateway.baseUrl, sandbox: false },
      });
      expect(stack.info.temporalUi).toBeUndefined();
      expect(stack.info.devApiKey).toBeUndefined();
      expect(stack.output()).toContain('(from API_KEYS)');
      expect(stack.output()).not.toContain('sk_external_key_0123456789');
      gateway.setWebhookUrl(`${stack.info.api}/v1/webhooks/plural`);

      const call = apiClient({ ...stack.info, devApiKey: 'sk_external_key_0123456789' });
      const reference = `external-${Date.now()}`;
      const created = await call('POST', '/v1/payments', {
        merchant_order_reference: reference,
        amount: { value: 20_000, currency: 'INR' },
        pre_auth: false,
        card: { number: CARDS.nativeOtp, name: 'Test', expiry_month: '12', expiry_year: '2035', cvv: '739' },
      });
      expect(created.status).toBe(201);
      const paid = await call('POST', `/v1/payments/${reference}/otp`, { otp: '123456' });
      expect(paid.status).toBeLessThan(300);
      await waitFor('the payment to be PROCESSED', async () => {
        const body = (await call('GET', `/v1/payments/${reference}`)).body;
        return body.status === 'PROCESSED' ? body : undefined;
      });
      // The payment ran on the given cluster and namespace, and the gateway's webhooks verified with its secret.
      const orderId = String(created.body.order_id);
      expect(gateway.order(orderId)?.status).toBe('PROCESSED');
      const hooks = await waitFor('the ORDER_PROCESSED webhook', () => {
        const list = gateway.webhookDeliveries().filter((d) => d.orderId === orderId);
        return list.some((d) => d.eventType === 'ORDER_PROCESSED') ? list : undefined;
      });
      expect(hooks.every((d) => d.status === 200)).toBe(true);
    } finally {
      expect(await stack.stop('SIGTERM')).toBe(0);
    }
  }, 180_000);

  it('stops with exit code 78 and lists every bad key when the configuration is wrong', async () => {
    const err = await startStackProcess(tempDir(), {
      API_PORT: 'eighty',
      PLURAL_BASE_URL: gateway.baseUrl,
      PLURAL_CLIENT_SECRET: CLIENT_SECRET,
    }).then(
      () => new Error('the stack started'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toContain('exited with code 78');
    expect(err.message).toContain('API_PORT');
    expect(err.message).toContain('PLURAL_CLIENT_ID is required');
    expect(err.message).toContain('PLURAL_WEBHOOK_SECRET is required');
    // With the stack's own refusal for a real gateway, in the same list.
    expect(err.message).toContain('API_FINGERPRINT_KEY must be set with a real Plural gateway');
    expect(err.message).not.toContain(CLIENT_SECRET);
  }, 60_000);
});

describe('npm run api', () => {
  it('returns exit code 78 when required keys are missing', async () => {
    expect(await apiMain({ LOG_LEVEL: 'silent' })).toBe(78);
  });

  it('returns exit code 78 for API_PORT=0 without API_PUBLIC_URL', async () => {
    expect(
      await apiMain({
        API_KEYS: 'sk_test_aaaaaaaaaaaaaaaa',
        API_FINGERPRINT_KEY: 'fingerprint-key-0123456789',
        PLURAL_CALLBACK_SECRET_HEX: CALLBACK_SECRET_HEX,
        PLURAL_WEBHOOK_SECRET: WEBHOOK_SECRET,
        PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 3).toString('base64')}`,
        API_PORT: '0',
        TEMPORAL_ADDRESS: temporal.address,
      }),
    ).toBe(78);
  });
});
