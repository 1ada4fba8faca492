/**
 * The API options both API processes (`npm run api` and the dev stack) take from configuration: each setting is passed
 * on when set and left out when not, so the app's own defaults apply.
 */
import { describe, expect, it } from 'vitest';
import { configuredOptions } from '../../api';
import { loadApiConfig } from '../../config';
import { MINIMAL_API_ENV } from '../support/config-env';

const minimal = MINIMAL_API_ENV;

describe('configuredOptions', () => {
  it('passes on every API setting that is set', () => {
    const config = loadApiConfig({
      ...minimal,
      API_METRICS_TOKEN: 'metrics-token-0123456789abcdef0123456789',
      API_MAX_AMOUNT: '500000',
      API_BODY_LIMIT_BYTES: '65536',
      API_START_WAIT_MS: '4000',
      PAYMENT_OTP_WINDOW_MS: '600000',
      API_PUBLIC_URL: 'https://pay.example.in',
      MERCHANT_WEBHOOK_URL: 'https://merchant.example.in/hooks',
      MERCHANT_WEBHOOK_SECRET: 'whsec_' + Buffer.from('merchant-webhook-signing-key-0123').toString('base64'),
    });
    const options = configuredOptions(config, 43210);
    expect(options).toMatchObject({
      fingerprintKey: 'fingerprint-key-0123456789',
      publicBaseUrl: 'https://pay.example.in',
      metricsToken: 'metrics-token-0123456789abcdef0123456789',
      maxAmount: 500_000,
      bodyLimitBytes: 65_536,
      timings: expect.objectContaining({ startWaitMs: 4000 }) as unknown,
      paymentDurations: expect.objectContaining({ otpWindowMs: 600_000 }) as unknown,
    });
    expect(options.merchantWebhooks?.merchantWebhookEndpoints('default')).toHaveLength(1);
  });

  it('leaves out what is not set, and resolves the URLs with the bound port', () => {
    const options = configuredOptions(loadApiConfig(minimal), 43210);
    for (const key of ['metricsToken', 'maxAmount', 'bodyLimitBytes', 'paymentLimits']) {
      expect(options).not.toHaveProperty(key);
    }
    expect(options.publicBaseUrl).toBe('http://127.0.0.1:43210');
    expect(options.returnUrls.success).toMatch(/^http:\/\/127\.0\.0\.1:43210\//);
  });
});
