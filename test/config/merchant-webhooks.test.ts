import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEV_MERCHANT_WEBHOOK_SECRET,
  loadApiConfig,
  loadPaymentLimits,
  loadWorkerConfig,
  ProductionConfigError,
  workerSecrets,
} from '../../config';
import { MINIMAL_API_ENV, MINIMAL_WORKER_ENV } from '../support/config-env';
import { newWebhookSecret } from '../../merchant-webhooks';

const WORKER = MINIMAL_WORKER_ENV;
const API = MINIMAL_API_ENV;
const SECRET = newWebhookSecret();
const URL = 'https://merchant.example/hooks';

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('merchant webhook configuration', () => {
  it("gives the default merchant one endpoint, 'default', that the directory finds by id", () => {
    const { merchantWebhooks } = loadWorkerConfig({
      ...WORKER,
      MERCHANT_WEBHOOK_URL: URL,
      MERCHANT_WEBHOOK_SECRET: SECRET,
    });
    const endpoint = { id: 'default', url: URL, secret: SECRET };
    expect(merchantWebhooks.directory.merchantWebhookEndpoints('default')).toEqual([endpoint]);
    expect(merchantWebhooks.directory.merchantWebhookEndpoint('default', 'default')).toEqual(endpoint);
    expect(merchantWebhooks.directory.merchantWebhookEndpoint('default', 'other')).toBeUndefined();
    expect(merchantWebhooks.directory.merchantWebhookEndpoints('merchant-b')).toEqual([]);
    expect(merchantWebhooks.directory.merchantWebhookEndpoints('__proto__')).toEqual([]);
  });

  it('gives the API the same endpoints, and the logger the secret to mask', () => {
    const api = loadApiConfig({ ...API, MERCHANT_WEBHOOK_URL: URL, MERCHANT_WEBHOOK_SECRET: SECRET });
    expect(api.merchantWebhooks.directory.merchantWebhookEndpoints('default').map((e) => e.id)).toEqual(['default']);
    const worker = loadWorkerConfig({ ...WORKER, MERCHANT_WEBHOOK_URL: URL, MERCHANT_WEBHOOK_SECRET: SECRET });
    expect(workerSecrets(worker)).toContain(SECRET);
  });

  it("keeps the endpoint's URL as written: a trailing slash can be a route of its own, and redirects are not followed", () => {
    const slashed = 'https://merchant.example/hooks/payments/';
    const { merchantWebhooks } = loadWorkerConfig({
      ...WORKER,
      MERCHANT_WEBHOOK_URL: slashed,
      MERCHANT_WEBHOOK_SECRET: SECRET,
    });
    expect(merchantWebhooks.directory.merchantWebhookEndpoint('default', 'default')?.url).toBe(slashed);
    const api = loadApiConfig({ ...API, MERCHANT_SUCCESS_URL: 'https://shop.example/paid/' });
    expect(api.returnUrls.success).toBe('https://shop.example/paid/');
  });

  it('wants the URL and the secret together', () => {
    expect(thrown(() => loadWorkerConfig({ ...WORKER, MERCHANT_WEBHOOK_URL: URL })).issues).toEqual([
      { key: 'MERCHANT_WEBHOOK_SECRET', message: expect.stringContaining('MERCHANT_WEBHOOK_URL') },
    ]);
  });

  it('refuses a secret that is not whsec_ base64, without echoing it', () => {
    const err = thrown(() =>
      loadApiConfig({ ...API, MERCHANT_WEBHOOK_URL: URL, MERCHANT_WEBHOOK_SECRET: 'not-a-whsec-secret-value' }),
    );
    expect(err.issues.map((i) => i.key)).toEqual(['MERCHANT_WEBHOOK_SECRET']);
    expect(err.message).not.toContain('not-a-whsec-secret-value');
  });

  it("refuses the dev stack's published secret in production mode", () => {
    expect(() =>
      loadWorkerConfig({
        ...WORKER,
        NODE_ENV: 'production',
        CARD_VAULT_URL: 'http://api:8082',
        CARD_VAULT_TOKEN: 't'.repeat(40),
        MERCHANT_WEBHOOK_URL: URL,
        MERCHANT_WEBHOOK_SECRET: DEV_MERCHANT_WEBHOOK_SECRET,
      }),
    ).toThrow(ProductionConfigError);
  });
});

describe('loadPaymentLimits', () => {
  it('returns only the retry settings that are set', () => {
    expect(loadPaymentLimits({})).toEqual({});
    expect(
      loadPaymentLimits({
        PAYMENT_WEBHOOK_RETRY_INITIAL_MS: '200',
        PAYMENT_WEBHOOK_RETRY_MAX_MS: '1000',
        PAYMENT_WEBHOOK_DELIVERY_WINDOW_MS: '3600000',
      }),
    ).toEqual({
      webhookRetryInitialIntervalMs: 200,
      webhookRetryMaximumIntervalMs: 1000,
      webhookDeliveryWindowMs: 3_600_000,
    });
  });

  it('refuses a first retry delay above the cap', () => {
    expect(
      thrown(() =>
        loadPaymentLimits({ PAYMENT_WEBHOOK_RETRY_INITIAL_MS: '5000', PAYMENT_WEBHOOK_RETRY_MAX_MS: '1000' }),
      ).issues,
    ).toEqual([{ key: 'PAYMENT_WEBHOOK_RETRY_INITIAL_MS', message: 'must not exceed PAYMENT_WEBHOOK_RETRY_MAX_MS' }]);
  });
});
