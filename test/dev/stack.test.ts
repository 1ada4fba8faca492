/**
 * The dev stack's parts that decide without starting anything: its plan (what it starts itself and the configuration
 * it fills in) and its shutdown order; and the one failure path the end-to-end tests do not take, a piece that cannot
 * start, after which nothing the stack had started is left running.
 */
import net from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import {
  ConfigError,
  DEV_API_KEY,
  DEV_CODEC_TOKEN,
  DEV_FINGERPRINT_KEY,
  DEV_RETURN_URL_SIGNING_SECRET,
  ENV_WEBHOOK_ENDPOINT_ID,
} from '../../config';
import { startDevStack } from '../../dev/stack';
import { planStack } from '../../dev/stack/plan';
import type { SandboxAddress } from '../../dev/stack/plan';
import { Shutdown } from '../../dev/stack/shutdown';
import { createLogger } from '../../observability';
import type { AppLogger } from '../../observability';
import { DEFAULT_CREDENTIALS } from '../../plural-sandbox';
import { freePort } from '../../temporal-server';

const QUIET = { DEV_DATA_DIR: 'none', LOG_LEVEL: 'silent', WORKER_METRICS_PORT: '0' };

const sandboxAt = (baseUrl: string, id: string): SandboxAddress => ({
  baseUrl,
  credentials: {
    clientId: `${id}-client`,
    clientSecret: `${id}-client-secret-0123456`,
    callbackSecretHex: Buffer.from(`${id}-callback-key-0123`).toString('hex'),
    webhookSecret: `${id}-webhook-secret-0123456`,
  },
});

describe('the dev stack plan', () => {
  it('starts Temporal, one sandbox and its own webhook receiver on a fresh clone, and fills in their addresses', async () => {
    const plan = await planStack({ ...QUIET });
    expect(plan).toMatchObject({ ownTemporal: true, singleSandbox: true, ownReceiver: true, devApiKey: true });
    expect(plan.accounts).toBeUndefined();
    expect(plan.dataDir).toBeUndefined();
    // No data dir: a payload key for this run only.
    expect(plan.devKeys).toMatchObject({ file: undefined });
    expect(plan.preliminary.worker.plural.baseUrl).toBe('http://127.0.0.1:8090');

    const sandbox = sandboxAt('http://127.0.0.1:41001', 'own');
    const configs = plan.configure({
      temporal: '127.0.0.1:41002',
      sandboxes: new Map([['default', sandbox]]),
      receiverUrl: 'http://127.0.0.1:41003/dev/merchant-webhooks',
    });
    expect(configs.worker.temporal.address).toBe('127.0.0.1:41002');
    expect(configs.api.temporal.address).toBe('127.0.0.1:41002');
    expect(configs.worker.plural.baseUrl).toBe('http://127.0.0.1:41001');
    expect(configs.worker.merchants.get('default')?.plural.credentials).toEqual({
      clientId: 'own-client',
      clientSecret: 'own-client-secret-0123456',
    });
    expect(configs.api.plural.webhookSecret).toBe('own-webhook-secret-0123456');
    expect(
      configs.worker.merchantWebhooks.directory.merchantWebhookEndpoint('default', ENV_WEBHOOK_ENDPOINT_ID)?.url,
    ).toBe('http://127.0.0.1:41003/dev/merchant-webhooks');
  });

  it('leaves what the settings name alone: their Temporal, their Plural, their webhook endpoint and API keys', async () => {
    const env = {
      ...QUIET,
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      PLURAL_BASE_URL: 'https://pluraluat.v2.pinepg.in',
      PLURAL_CLIENT_ID: 'merchant-client',
      PLURAL_CLIENT_SECRET: 'merchant-client-secret-0123456789',
      PLURAL_CALLBACK_SECRET_HEX: Buffer.from('merchant-callback-key-0123').toString('hex'),
      PLURAL_WEBHOOK_SECRET: 'merchant-webhook-secret-0123456789',
      MERCHANT_WEBHOOK_URL: 'https://merchant.example.in/hooks/payments',
      MERCHANT_WEBHOOK_SECRET: 'whsec_' + Buffer.from('merchant-webhook-signing-key-0123').toString('base64'),
      API_KEYS: 'sk_merchant_backend_0123456789abcdef',
      API_FINGERPRINT_KEY: 'merchant-fingerprint-key-0123456789',
    };
    const plan = await planStack(env);
    expect(plan).toMatchObject({
      ownTemporal: false,
      singleSandbox: false,
      ownReceiver: false,
      devApiKey: false,
      realGateway: true,
    });
    expect(plan.sandboxAccounts).toEqual([]);
    const configs = plan.configure({
      temporal: '127.0.0.1:41002',
      // Even a sandbox handed in is not used: PLURAL_BASE_URL names the gateway.
      sandboxes: new Map([['default', sandboxAt('http://127.0.0.1:41001', 'stray')]]),
      receiverUrl: 'http://127.0.0.1:41003/dev/merchant-webhooks',
    });
    expect(configs.worker.temporal.address).toBe('temporal.internal:7233');
    expect(configs.worker.plural.baseUrl).toBe('https://pluraluat.v2.pinepg.in');
    expect(configs.worker.merchants.get('default')?.plural.credentials?.clientId).toBe('merchant-client');
    expect(
      configs.worker.merchantWebhooks.directory.merchantWebhookEndpoint('default', ENV_WEBHOOK_ENDPOINT_ID)?.url,
    ).toBe('https://merchant.example.in/hooks/payments');
    expect(configs.api.apiKeys).toEqual(['sk_merchant_backend_0123456789abcdef']);
  });

  it('gives a sandbox to each merchant account without a Plural origin, and its origin to that merchant only', async () => {
    const account = (id: string, baseUrl?: string) => ({
      id,
      apiKeys: [`sk_dev_${id}_merchant_0123456789`],
      plural: {
        ...(baseUrl ? { baseUrl } : {}),
        clientId: `${id}-client`,
        clientSecret: `${id}-client-secret-0123456`,
        callbackSecretHex: Buffer.from(`${id}-callback-key-0123`).toString('hex'),
        webhookSecret: `${id}-webhook-secret-0123456`,
      },
    });
    const plan = await planStack({
      ...QUIET,
      MERCHANTS: JSON.stringify([account('acme'), account('globex', 'https://pluraluat.v2.pinepg.in')]),
      API_FINGERPRINT_KEY: 'merchant-fingerprint-key-0123456789',
    });
    expect(plan.sandboxAccounts.map((m) => m.id)).toEqual(['acme']);
    expect(plan).toMatchObject({ singleSandbox: false, ownReceiver: false, devApiKey: false });
    const configs = plan.configure({
      temporal: '127.0.0.1:41002',
      sandboxes: new Map([['acme', sandboxAt('http://127.0.0.1:41011', 'acme')]]),
      receiverUrl: 'http://127.0.0.1:41003/dev/merchant-webhooks',
    });
    expect(configs.worker.merchants.get('acme')?.plural.baseUrl).toBe('http://127.0.0.1:41011');
    expect(configs.worker.merchants.get('globex')?.plural.baseUrl).toBe('https://pluraluat.v2.pinepg.in');
    // The account keeps its own credentials: the sandbox was started with them.
    expect(configs.worker.merchants.get('acme')?.plural.credentials?.clientId).toBe('acme-client');
  });

  it('names every bad setting at once, before anything starts', async () => {
    const error = await planStack({ ...QUIET, DEV_SANDBOX_PORT: '70000', API_PORT: 'eighty' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('DEV_SANDBOX_PORT');
    expect(message).toContain('API_PORT');
  });

  it("with a real Plural, fills in no published key: the API keys and fingerprint key are the operator's own", async () => {
    const real = {
      ...QUIET,
      PLURAL_BASE_URL: 'https://pluraluat.v2.pinepg.in',
      PLURAL_CLIENT_ID: 'merchant-client',
      PLURAL_CLIENT_SECRET: 'merchant-client-secret-0123456789',
      PLURAL_CALLBACK_SECRET_HEX: Buffer.from('merchant-callback-key-0123').toString('hex'),
      PLURAL_WEBHOOK_SECRET: 'merchant-webhook-secret-0123456789',
      API_PUBLIC_URL: 'https://pay-dev.example.com',
    };
    const issues = async (env: Record<string, string>) => {
      const error = await planStack(env).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).issues.map((i) => `${i.key} ${i.message}`);
    };
    // The README's own example sets neither: the stack refuses, naming both, rather than guard Plural with a key
    // printed in this repository.
    const unset = await issues(real);
    expect(unset).toEqual([
      expect.stringMatching(/^API_KEYS must be set with a real Plural gateway/),
      expect.stringMatching(/^API_FINGERPRINT_KEY must be set with a real Plural gateway/),
    ]);
    // Published values given by hand are refused too, each named.
    const published = await issues({
      ...real,
      API_KEYS: `sk_merchant_backend_0123456789abcdef,${DEV_API_KEY}`,
      API_FINGERPRINT_KEY: DEV_FINGERPRINT_KEY,
      RETURN_URL_SIGNING_SECRET: DEV_RETURN_URL_SIGNING_SECRET,
      CODEC_SERVER_TOKENS: DEV_CODEC_TOKEN,
    });
    expect(published.map((i) => i.split(' ')[0])).toEqual([
      'API_KEYS',
      'API_FINGERPRINT_KEY',
      'RETURN_URL_SIGNING_SECRET',
      'CODEC_SERVER_TOKENS',
    ]);
    expect(published.join('\n')).not.toContain(DEV_API_KEY);
    // A merchant account with its own Plural origin counts as a real Plural as well.
    const account = {
      id: 'globex',
      apiKeys: ['sk_globex_merchant_0123456789abcdef'],
      plural: {
        baseUrl: 'https://pluraluat.v2.pinepg.in',
        clientId: 'globex-client',
        clientSecret: 'globex-client-secret-0123456',
        callbackSecretHex: Buffer.from('globex-callback-key-0123').toString('hex'),
        webhookSecret: 'globex-webhook-secret-0123456',
      },
    };
    expect(await issues({ ...QUIET, MERCHANTS: JSON.stringify([account]) })).toEqual([
      expect.stringMatching(/^API_FINGERPRINT_KEY must be set/),
    ]);
    // So are published values in the accounts: a real Plural account's every key, and the engine's own keys of an
    // account on a sandbox (whose Plural credentials are the sandbox's to publish).
    const onSandbox = {
      id: 'acme',
      apiKeys: [DEV_API_KEY],
      plural: { ...DEFAULT_CREDENTIALS },
    };
    expect(
      await issues({
        ...QUIET,
        API_FINGERPRINT_KEY: 'merchant-fingerprint-key-0123456789',
        MERCHANTS: JSON.stringify([
          { ...account, plural: { ...account.plural, clientSecret: DEFAULT_CREDENTIALS.clientSecret } },
          onSandbox,
        ]),
      }),
    ).toEqual([
      expect.stringMatching(/^MERCHANTS merchant globex: plural\.clientSecret is the Plural sandbox's published/),
      "MERCHANTS merchant acme: apiKeys[0] is the dev stack's API key",
    ]);
    // Reported with every other problem, in one error.
    expect(await issues({ ...real, API_PORT: 'eighty' })).toEqual([
      expect.stringMatching(/^API_PORT /),
      expect.stringMatching(/^API_KEYS must be set/),
      expect.stringMatching(/^API_FINGERPRINT_KEY must be set/),
    ]);

    const plan = await planStack({
      ...real,
      API_KEYS: 'sk_merchant_backend_0123456789abcdef',
      API_FINGERPRINT_KEY: 'merchant-fingerprint-key-0123456789',
    });
    // No unauthenticated receiver listing what it received, and no development key printed.
    expect(plan).toMatchObject({ realGateway: true, ownReceiver: false, devApiKey: false });
    const configs = plan.configure({
      temporal: '127.0.0.1:41002',
      sandboxes: new Map(),
      receiverUrl: 'http://127.0.0.1:41003/dev/merchant-webhooks',
    });
    expect(configs.api.apiKeys).toEqual(['sk_merchant_backend_0123456789abcdef']);
    expect(configs.api.fingerprintKey).toBe('merchant-fingerprint-key-0123456789');
    expect(configs.api.returnUrl.signingSecret).toBeUndefined();
    expect(
      configs.worker.merchantWebhooks.directory.merchantWebhookEndpoint('default', ENV_WEBHOOK_ENDPOINT_ID),
    ).toBeUndefined();
  });

  it("checks with the sandbox's published credentials, so the logger learns them as secrets to mask", async () => {
    const plan = await planStack({ ...QUIET });
    expect(plan.preliminary.api.plural.webhookSecret).toBe(DEFAULT_CREDENTIALS.webhookSecret);
  });
});

describe('the dev stack shutdown', () => {
  const logger = (): AppLogger & { warn: ReturnType<typeof vi.fn> } => {
    const base = createLogger({ name: 'test', level: 'silent' });
    return Object.assign(base, { warn: vi.fn() });
  };

  it('runs the first step first, then the others newest first, once however often it is asked', async () => {
    const order: string[] = [];
    const shutdown = new Shutdown(logger());
    shutdown.add(() => void order.push('temporal'));
    shutdown.add(() => void order.push('sandbox'));
    shutdown.addFirst(() => void order.push('http server'));
    shutdown.add(async () => {
      await new Promise((r) => setTimeout(r, 5));
      order.push('worker');
    });
    await Promise.all([shutdown.run(), shutdown.run()]);
    await shutdown.run();
    expect(order).toEqual(['http server', 'worker', 'sandbox', 'temporal']);
  });

  it('logs a step that fails and still runs the rest', async () => {
    const log = logger();
    const order: string[] = [];
    const shutdown = new Shutdown(log);
    shutdown.add(() => void order.push('temporal'));
    shutdown.add(() => {
      throw new Error('sandbox would not stop');
    });
    shutdown.add(() => Promise.reject(new Error('worker would not drain')));
    await shutdown.run();
    expect(order).toEqual(['temporal']);
    expect(log.warn).toHaveBeenCalledTimes(2);
  });
});

/** Whether something accepts connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('the dev stack, when a piece cannot start', () => {
  it('throws, and stops its HTTP server and the sandbox it had started', async () => {
    const [apiPort, sandboxPort, deadTemporal] = [await freePort(), await freePort(), await freePort()];
    const error = await startDevStack({
      env: {
        ...QUIET,
        API_PORT: String(apiPort),
        DEV_SANDBOX_PORT: String(sandboxPort),
        // Nothing answers there: the worker's connection fails after the HTTP server and the sandbox started.
        TEMPORAL_ADDRESS: `127.0.0.1:${deadTemporal}`,
      },
      logger: createLogger({ name: 'test', level: 'silent' }),
    }).catch((e: unknown) => e);
    // The worker's connection failed, so the HTTP server and the sandbox had started.
    expect(String(error)).toContain(`127.0.0.1:${deadTemporal}`);
    expect(await listening(apiPort)).toBe(false);
    expect(await listening(sandboxPort)).toBe(false);
  }, 60_000);
});

describe('the dev stack, with the settings the standalone API reads', () => {
  it('keeps /metrics behind API_METRICS_TOKEN, as `npm run api` does', async () => {
    const token = 'metrics-token-0123456789abcdef0123456789abcdef';
    const stack = await startDevStack({
      env: {
        ...QUIET,
        API_PORT: '0',
        DEV_SANDBOX_PORT: '0',
        DEV_TEMPORAL_PORT: '0',
        DEV_TEMPORAL_UI_PORT: '0',
        API_METRICS_TOKEN: token,
      },
      logger: createLogger({ name: 'test', level: 'silent' }),
    });
    try {
      const bare = await fetch(stack.info.apiMetrics);
      expect(bare.status).toBe(401);
      expect(await bare.json()).toMatchObject({ error: { code: 'missing_metrics_token' } });
      const authorized = await fetch(stack.info.apiMetrics, { headers: { authorization: `Bearer ${token}` } });
      expect(authorized.status).toBe(200);
      expect(await authorized.text()).toContain('http_requests');
    } finally {
      await stack.stop();
    }
  }, 60_000);
});
