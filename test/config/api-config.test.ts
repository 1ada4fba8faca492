import { describe, expect, it } from 'vitest';
import { apiSecrets, ConfigError, loadApiConfig, loadWorkerConfig, resolveApiUrls } from '../../config';
import { PAYMENT_TASK_QUEUE } from '../../workflows/definitions';

const KEY_A = 'sk_test_aaaaaaaaaaaaaaaa';
const KEY_B = 'sk_test_bbbbbbbbbbbbbbbb';
const FINGERPRINT = 'fingerprint-key-0123456789';
const CALLBACK_HEX = '73616e64626f782d63616c6c6261636b2d736563726574';
const WEBHOOK = 'webhook-secret-value';
const PAYLOAD_KEY = Buffer.alloc(32, 9).toString('base64');

const minimal = {
  PAYLOAD_KEYS: `api-1:${PAYLOAD_KEY}`,
  API_KEYS: `${KEY_A}, ${KEY_B}`,
  API_FINGERPRINT_KEY: FINGERPRINT,
  PLURAL_CALLBACK_SECRET_HEX: CALLBACK_HEX,
  PLURAL_WEBHOOK_SECRET: WEBHOOK,
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadApiConfig: return URLs per payment', () => {
  const SECRET = 'return-signing-secret-0123456789abcdef';

  it('reads the allowed hosts and the signing secret, and keeps the secret out of logs', () => {
    const config = loadApiConfig({
      ...minimal,
      RETURN_URL_ALLOWED_HOSTS: 'shop.example, pay.shop.example:8443,xn--bcher-kva.example,127.0.0.1:3000',
      RETURN_URL_SIGNING_SECRET: SECRET,
    });
    expect(config.returnUrl).toEqual({
      allowedHosts: ['shop.example', 'pay.shop.example:8443', 'xn--bcher-kva.example', '127.0.0.1:3000'],
      signingSecret: SECRET,
      allowHttpLoopback: true,
    });
    expect(apiSecrets(config)).toContain(SECRET);
  });

  it('refuses hosts not written as browsers write them, naming the key and never the value', () => {
    for (const hosts of [
      'https://shop.example',
      'Shop.Example',
      'shop.example/return',
      'shop.example:443',
      'bücher.example',
      'user@shop.example',
      'shop.example,,pay.example',
    ]) {
      const err = configError(() =>
        loadApiConfig({ ...minimal, RETURN_URL_ALLOWED_HOSTS: hosts, RETURN_URL_SIGNING_SECRET: SECRET }),
      );
      expect(
        err.issues.map((i) => i.key),
        hosts,
      ).toEqual(['RETURN_URL_ALLOWED_HOSTS']);
    }
  });

  it('wants a signing secret of at least 32 characters with the hosts', () => {
    const missing = configError(() => loadApiConfig({ ...minimal, RETURN_URL_ALLOWED_HOSTS: 'shop.example' }));
    expect(missing.issues.map((i) => i.key)).toEqual(['RETURN_URL_SIGNING_SECRET']);
    const short = configError(() =>
      loadApiConfig({ ...minimal, RETURN_URL_ALLOWED_HOSTS: 'shop.example', RETURN_URL_SIGNING_SECRET: 'short' }),
    );
    expect(short.issues.map((i) => i.key)).toEqual(['RETURN_URL_SIGNING_SECRET']);
    expect(short.message).not.toContain('short');
  });
});

describe('loadApiConfig', () => {
  it('applies the documented defaults to a minimal environment', () => {
    const { merchants, ...config } = loadApiConfig(minimal);
    expect(merchants.ids).toEqual(['default']);
    expect(merchants.get('default')).toMatchObject({
      apiKeys: [KEY_A, KEY_B],
      plural: { callbackSecretHex: CALLBACK_HEX, webhookSecret: WEBHOOK, credentials: undefined },
    });
    expect(config).toEqual({
      temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: PAYMENT_TASK_QUEUE },
      listen: { host: '127.0.0.1', port: 8080 },
      publicUrl: undefined,
      returnUrls: { success: undefined, failure: undefined },
      returnUrl: { allowedHosts: [], signingSecret: undefined, allowHttpLoopback: true },
      apiKeys: [KEY_A, KEY_B],
      fingerprintKey: FINGERPRINT,
      plural: { callbackSecretHex: CALLBACK_HEX, webhookSecret: WEBHOOK },
      cardVaultToken: undefined,
      cardVaultListen: { host: '127.0.0.1', port: 8082 },
      metricsToken: undefined,
      payloadEncryption: { mode: 'on', keys: [{ id: 'api-1', key: Buffer.alloc(32, 9) }] },
      bodyLimitBytes: undefined,
      timings: {},
      paymentDurations: {},
      paymentLimits: {},
      merchantWebhooks: { endpoints: { default: [] }, directory: expect.anything() },
      logLevel: 'info',
    });
  });

  it('reads every key when set', () => {
    const config = loadApiConfig({
      ...minimal,
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'payments-prod',
      TEMPORAL_TASK_QUEUE: 'payments-v2',
      API_HOST: '0.0.0.0',
      API_PORT: '0',
      API_PUBLIC_URL: 'https://pay.example.com/',
      MERCHANT_SUCCESS_URL: 'https://shop.example.com/paid',
      MERCHANT_FAILURE_URL: 'https://shop.example.com/failed',
      API_BODY_LIMIT_BYTES: '65536',
      API_START_WAIT_MS: '2000',
      API_ACTION_WAIT_MS: '5000',
      API_MAX_AMOUNT: '5000000',
      CARD_VAULT_TOKEN: 't'.repeat(40),
      CARD_VAULT_HOST: '10.0.0.5',
      CARD_VAULT_PORT: '9082',
      API_METRICS_TOKEN: 'm'.repeat(40),
      LOG_LEVEL: 'warn',
      PAYMENT_OTP_WINDOW_MS: '120000',
    });
    expect(config).toMatchObject({
      temporal: { address: 'temporal.internal:7233', namespace: 'payments-prod', taskQueue: 'payments-v2' },
      listen: { host: '0.0.0.0', port: 0 },
      publicUrl: 'https://pay.example.com',
      returnUrls: { success: 'https://shop.example.com/paid', failure: 'https://shop.example.com/failed' },
      cardVaultToken: 't'.repeat(40),
      cardVaultListen: { host: '10.0.0.5', port: 9082 },
      metricsToken: 'm'.repeat(40),
      bodyLimitBytes: 65_536,
      timings: { startWaitMs: 2_000, actionWaitMs: 5_000 },
      maxAmount: 5_000_000,
      paymentDurations: { otpWindowMs: 120_000 },
      logLevel: 'warn',
    });
  });

  it('lists every missing required key in one error', () => {
    const err = configError(() => loadApiConfig({}));
    expect(err.issues.map((i) => i.key).sort()).toEqual(
      ['API_FINGERPRINT_KEY', 'API_KEYS', 'PAYLOAD_KEYS', 'PLURAL_CALLBACK_SECRET_HEX', 'PLURAL_WEBHOOK_SECRET'].sort(),
    );
    expect(err.message).toContain('invalid api configuration (5 problems');
  });

  it('lists bad keys and bad durations together, never echoing values', () => {
    const err = configError(() =>
      loadApiConfig({
        ...minimal,
        API_KEYS: `${KEY_A},short-key`,
        API_PORT: '70000',
        PLURAL_CALLBACK_SECRET_HEX: 'not-hex-secret-value',
        MERCHANT_SUCCESS_URL: 'ftp://shop.example.com',
        PAYMENT_OTP_WINDOW_MS: '5',
      }),
    );
    expect(err.issues.map((i) => i.key).sort()).toEqual(
      ['API_KEYS', 'API_PORT', 'MERCHANT_SUCCESS_URL', 'PAYMENT_OTP_WINDOW_MS', 'PLURAL_CALLBACK_SECRET_HEX'].sort(),
    );
    for (const value of [KEY_A, 'short-key', 'not-hex-secret-value', 'ftp://shop']) {
      expect(err.message).not.toContain(value);
    }
  });

  it("refuses the card vault's port on the API's public port, and a short metrics token", () => {
    const vault = { ...minimal, CARD_VAULT_TOKEN: 'v'.repeat(40) };
    const err = configError(() =>
      loadApiConfig({ ...vault, API_PORT: '9000', CARD_VAULT_PORT: '9000', API_METRICS_TOKEN: 'short' }),
    );
    expect(err.issues).toEqual([
      { key: 'API_METRICS_TOKEN', message: expect.stringContaining('at least 32 characters') },
      {
        key: 'CARD_VAULT_PORT',
        message: "must differ from API_PORT (the card vault never shares the API's public port)",
      },
    ]);
    expect(err.message).not.toContain('short');
    // The API's default port counts too; two ephemeral ports (tests) are two different ports.
    expect(configError(() => loadApiConfig({ ...vault, CARD_VAULT_PORT: '8080' })).issues[0]?.key).toBe(
      'CARD_VAULT_PORT',
    );
    expect(() => loadApiConfig({ ...vault, API_PORT: '0', CARD_VAULT_PORT: '0' })).not.toThrow();
    // A token with a space passes a length check but no Authorization header the vault reads: every card payment
    // would park. Refused at start, in the API and in the worker, naming the key and not the value.
    const spaced = 'a card vault passphrase with spaces 0123';
    for (const load of [loadApiConfig, loadWorkerConfig]) {
      const refused = configError(() =>
        load({ ...vault, CARD_VAULT_URL: 'http://api:8082', CARD_VAULT_TOKEN: spaced }),
      );
      expect(refused.issues.filter((issue) => issue.key === 'CARD_VAULT_TOKEN')).toEqual([
        { key: 'CARD_VAULT_TOKEN', message: expect.stringContaining('printable ASCII without spaces') },
      ]);
      expect(refused.message).not.toContain(spaced);
    }
    // Without CARD_VAULT_TOKEN no vault listener is started, so its port cannot clash with anything.
    expect(() => loadApiConfig({ ...minimal, CARD_VAULT_PORT: '8080' })).not.toThrow();
  });

  it('treats empty values as unset', () => {
    const config = loadApiConfig({ ...minimal, API_PORT: '', API_PUBLIC_URL: ' ' });
    expect(config.listen.port).toBe(8080);
    expect(config.publicUrl).toBeUndefined();
  });

  it('reads Plural’s origin and credentials as optional, and masks the client secret', () => {
    expect(loadApiConfig(minimal).plural).toMatchObject({ baseUrl: undefined, credentials: undefined });
    const config = loadApiConfig({
      ...minimal,
      PLURAL_BASE_URL: 'https://pluraluat.v2.pinepg.in/',
      PLURAL_CLIENT_ID: 'client-id-1',
      PLURAL_CLIENT_SECRET: 'client-secret-value-1',
      PLURAL_TIMEOUT_MS: '4000',
    });
    expect(config.plural).toMatchObject({
      baseUrl: 'https://pluraluat.v2.pinepg.in',
      credentials: { clientId: 'client-id-1', clientSecret: 'client-secret-value-1' },
      timeoutMs: 4_000,
    });
    expect(apiSecrets(config)).toContain('client-secret-value-1');
    expect(loadApiConfig({ ...minimal, PLURAL_BASE_URL: 'https://pluraluat.v2.pinepg.in' }).plural.credentials).toBe(
      undefined,
    );
  });

  it('wants both Plural credentials, and the origin they are for', () => {
    const half = configError(() =>
      loadApiConfig({ ...minimal, PLURAL_BASE_URL: 'https://x.test', PLURAL_CLIENT_ID: 'id' }),
    );
    expect(half.issues.map((i) => i.key)).toEqual(['PLURAL_CLIENT_SECRET']);
    const noOrigin = configError(() =>
      loadApiConfig({ ...minimal, PLURAL_CLIENT_ID: 'id', PLURAL_CLIENT_SECRET: 'secret-value-1' }),
    );
    expect(noOrigin.issues.map((i) => i.key)).toEqual(['PLURAL_BASE_URL']);
    expect(noOrigin.message).not.toContain('secret-value-1');
  });

  it('rejects a short card-vault token', () => {
    const err = configError(() => loadApiConfig({ ...minimal, CARD_VAULT_TOKEN: 'too-short' }));
    expect(err.issues.map((i) => i.key)).toEqual(['CARD_VAULT_TOKEN']);
  });
});

describe('resolveApiUrls', () => {
  it('derives the public URL from the bound port and points the merchant pages at the dev return page', () => {
    const urls = resolveApiUrls(loadApiConfig({ ...minimal, API_HOST: '0.0.0.0', API_PORT: '0' }), 41234);
    expect(urls).toEqual({
      publicUrl: 'http://127.0.0.1:41234',
      callbackUrl: 'http://127.0.0.1:41234/v1/callbacks/plural',
      returnUrls: { success: 'http://127.0.0.1:41234/dev/return', failure: 'http://127.0.0.1:41234/dev/return' },
    });
  });

  it('keeps the configured public URL and merchant pages', () => {
    const urls = resolveApiUrls(
      loadApiConfig({
        ...minimal,
        API_PUBLIC_URL: 'https://pay.example.com',
        MERCHANT_SUCCESS_URL: 'https://shop.example.com/ok',
      }),
      8080,
    );
    expect(urls.callbackUrl).toBe('https://pay.example.com/v1/callbacks/plural');
    expect(urls.returnUrls).toEqual({
      success: 'https://shop.example.com/ok',
      failure: 'https://pay.example.com/dev/return',
    });
  });
});

describe('apiSecrets', () => {
  it('lists every secret value for the logger to mask', () => {
    const secrets = apiSecrets(loadApiConfig({ ...minimal, CARD_VAULT_TOKEN: 'v'.repeat(40) }));
    expect(secrets.sort()).toEqual(
      [KEY_A, KEY_B, FINGERPRINT, CALLBACK_HEX, WEBHOOK, 'v'.repeat(40), PAYLOAD_KEY].sort(),
    );
  });
});
