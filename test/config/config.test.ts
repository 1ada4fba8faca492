import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  collectIssues,
  CONFIG_KEYS,
  ConfigError,
  loadPaymentDurations,
  loadWorkerConfig,
  workerSecrets,
} from '../../config';
import { DEPLOYMENT_KEYS } from '../../config/keys';
import { PAYMENT_TASK_QUEUE } from '../../workflows/definitions';

const SECRET = 'client-secret-value-xyz';
const VAULT_TOKEN = 'v'.repeat(40);
const PAYLOAD_KEY = Buffer.alloc(32, 7).toString('base64');

const minimal = {
  PLURAL_BASE_URL: 'https://pluraluat.v2.pinepg.in/',
  PLURAL_CLIENT_ID: 'merchant-1',
  PLURAL_CLIENT_SECRET: SECRET,
  PAYLOAD_KEYS: `k1:${PAYLOAD_KEY}`,
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

describe('loadWorkerConfig', () => {
  it('applies the documented defaults to a minimal environment', () => {
    const { merchants, ...config } = loadWorkerConfig(minimal);
    // One merchant, `default`, from the single-merchant keys.
    expect(merchants.merchants).toEqual([
      {
        id: 'default',
        apiKeys: [],
        plural: {
          baseUrl: 'https://pluraluat.v2.pinepg.in',
          credentials: { clientId: 'merchant-1', clientSecret: SECRET },
          callbackSecretHex: undefined,
          webhookSecret: undefined,
        },
        webhookEndpoints: [],
        returnUrlHosts: [],
      },
    ]);
    expect(config).toEqual({
      temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: PAYMENT_TASK_QUEUE },
      plural: { baseUrl: 'https://pluraluat.v2.pinepg.in', timeoutMs: 15_000 },
      cardVault: { kind: 'memory' },
      payloadEncryption: { mode: 'on', keys: [{ id: 'k1', key: Buffer.alloc(32, 7) }] },
      metrics: { host: '127.0.0.1', port: 9464 },
      logLevel: 'info',
      merchantWebhooks: { endpoints: { default: [] }, directory: expect.anything() },
      worker: {
        maxConcurrentActivities: 100,
        maxCachedWorkflows: undefined,
        workflowBundlePath: undefined,
        shutdownGraceMs: 10_000,
      },
    });
  });

  it('reads every key when set', () => {
    const config = loadWorkerConfig({
      ...minimal,
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'payments-prod',
      TEMPORAL_TASK_QUEUE: 'payments-v2',
      PLURAL_TIMEOUT_MS: '5000',
      CARD_VAULT_URL: 'http://api:8082',
      CARD_VAULT_TOKEN: VAULT_TOKEN,
      WORKER_METRICS_HOST: '0.0.0.0',
      WORKER_METRICS_PORT: '0',
      WORKER_SHUTDOWN_GRACE_MS: '2000',
      WORKFLOW_BUNDLE_PATH: '/app/workflow-bundle.js',
      LOG_LEVEL: 'debug',
      MAX_CONCURRENT_ACTIVITIES: '20',
      MAX_CACHED_WORKFLOWS: '500',
    });
    expect(config.temporal).toEqual({
      address: 'temporal.internal:7233',
      namespace: 'payments-prod',
      taskQueue: 'payments-v2',
    });
    expect(config.plural.timeoutMs).toBe(5000);
    expect(config.cardVault).toEqual({ kind: 'http', url: 'http://api:8082', token: VAULT_TOKEN });
    expect(config.metrics).toEqual({ host: '0.0.0.0', port: 0 });
    expect(config.logLevel).toBe('debug');
    expect(config.worker).toEqual({
      maxConcurrentActivities: 20,
      maxCachedWorkflows: 500,
      workflowBundlePath: '/app/workflow-bundle.js',
      shutdownGraceMs: 2000,
    });
    expect(workerSecrets(config)).toEqual([SECRET, VAULT_TOKEN, PAYLOAD_KEY]);
  });

  it('treats empty values as unset', () => {
    expect(loadWorkerConfig({ ...minimal, TEMPORAL_ADDRESS: '', LOG_LEVEL: '  ' }).temporal.address).toBe(
      '127.0.0.1:7233',
    );
  });

  it('lists every missing required key in one error', () => {
    const err = configError(() => loadWorkerConfig({}));
    expect(err.issues.map((i) => i.key).sort()).toEqual([
      'PAYLOAD_KEYS',
      'PLURAL_BASE_URL',
      'PLURAL_CLIENT_ID',
      'PLURAL_CLIENT_SECRET',
    ]);
    expect(err.message).toContain('invalid worker configuration (4 problems');
    expect(err.message).toContain('PLURAL_CLIENT_SECRET is required (');
  });

  it('lists every bad key with what is expected, never echoing values', () => {
    const badToken = 'short-secret-token';
    const err = configError(() =>
      loadWorkerConfig({
        ...minimal,
        TEMPORAL_ADDRESS: 'no-port',
        PLURAL_BASE_URL: 'ftp://user:pw@example.com',
        PLURAL_TIMEOUT_MS: '1.5',
        CARD_VAULT_URL: 'http://api/internal/card-vault',
        CARD_VAULT_TOKEN: badToken,
        WORKER_METRICS_PORT: '70000',
        LOG_LEVEL: 'loud',
        MAX_CONCURRENT_ACTIVITIES: '0',
        MAX_CACHED_WORKFLOWS: 'many',
      }),
    );
    expect(Object.fromEntries(err.issues.map((i) => [i.key, i.message]))).toEqual({
      TEMPORAL_ADDRESS: 'must be host:port, e.g. 127.0.0.1:7233',
      PLURAL_BASE_URL: expect.stringContaining('must be an http(s) URL without credentials'),
      PLURAL_TIMEOUT_MS: 'must be an integer between 100 and 20000 (ms)',
      CARD_VAULT_TOKEN: expect.stringContaining('must be at least 32 characters'),
      WORKER_METRICS_PORT: 'must be an integer between 0 and 65535 (0 disables)',
      LOG_LEVEL: 'must be one of trace, debug, info, warn, error, fatal, silent',
      MAX_CONCURRENT_ACTIVITIES: 'must be an integer between 1 and 10000',
      MAX_CACHED_WORKFLOWS: 'must be an integer between 0 and 1000000',
    });
    expect(err.message).not.toContain(badToken);
    expect(err.message).not.toContain('pw@');
    expect(err.message).not.toContain(SECRET);
  });

  it('requires the card-vault URL and token together', () => {
    expect(configError(() => loadWorkerConfig({ ...minimal, CARD_VAULT_URL: 'http://api/v' })).issues).toEqual([
      { key: 'CARD_VAULT_TOKEN', message: 'is required when CARD_VAULT_URL is set' },
    ]);
    expect(configError(() => loadWorkerConfig({ ...minimal, CARD_VAULT_TOKEN: VAULT_TOKEN })).issues).toEqual([
      { key: 'CARD_VAULT_URL', message: 'is required when CARD_VAULT_TOKEN is set' },
    ]);
  });
});

describe('loadPaymentDurations', () => {
  it('returns only the durations that are set', () => {
    expect(loadPaymentDurations({})).toEqual({});
    expect(loadPaymentDurations({ PAYMENT_OTP_WINDOW_MS: '300000', PAYMENT_AUTO_CANCEL_AFTER_MS: '86400000' })).toEqual(
      {
        otpWindowMs: 300_000,
        autoCancelAfterMs: 86_400_000,
      },
    );
  });

  it('rejects an auto-cancel that would come after the authorization expires', () => {
    const err = configError(() =>
      loadPaymentDurations({
        PAYMENT_AUTO_CANCEL_AFTER_MS: '604800000',
        PAYMENT_AUTHORIZATION_LIFETIME_MS: '86400000',
      }),
    );
    expect(err.issues.map((i) => i.key)).toEqual(['PAYMENT_AUTO_CANCEL_AFTER_MS']);
  });

  it('rejects out-of-range values with the key name', () => {
    const err = configError(() => loadPaymentDurations({ PAYMENT_CHALLENGE_WINDOW_MS: '10' }));
    expect(err.issues).toEqual([
      { key: 'PAYMENT_CHALLENGE_WINDOW_MS', message: 'must be an integer between 60000 and 86400000 (ms)' },
    ]);
  });
});

describe('CONFIG_KEYS', () => {
  it('names each key after itself', () => {
    for (const [name, value] of Object.entries(CONFIG_KEYS)) expect(value).toBe(name);
  });

  it('documents every key in config/README.md', () => {
    const readme = readFileSync(path.join(__dirname, '..', '..', 'config', 'README.md'), 'utf8');
    const undocumented = Object.values(CONFIG_KEYS).filter((key) => !readme.includes(`| \`${key}\``));
    expect(undocumented).toEqual([]);
  });

  it('keeps from child processes every deployment key, and only where the Temporal binaries are passes through', () => {
    // bench/lib/child.ts and test/e2e/stack-process.ts drop these from the shell's environment.
    const passed = Object.values(CONFIG_KEYS).filter((key) => !DEPLOYMENT_KEYS.includes(key));
    expect(passed.sort()).toEqual(['TEMPORAL_CLI_PATH', 'TEMPORAL_TEST_SERVER_PATH']);
  });
});

describe('collectIssues', () => {
  it("runs every loader, keeps what the good ones return and each bad one's issues once", () => {
    const { issues, attempt } = collectIssues();
    const bad = (key: string) => (): never => {
      throw new ConfigError('test', [{ key, message: 'is required' }]);
    };
    expect(attempt(() => 42)).toBe(42);
    expect(attempt(bad('A'))).toBeUndefined();
    expect(attempt(bad('B'))).toBeUndefined();
    expect(attempt(bad('A'))).toBeUndefined();
    expect(issues).toEqual([
      { key: 'A', message: 'is required' },
      { key: 'B', message: 'is required' },
    ]);
  });

  it('rethrows what is not a configuration error', () => {
    const { attempt } = collectIssues();
    expect(() =>
      attempt(() => {
        throw new TypeError('a bug, not a bad key');
      }),
    ).toThrow(TypeError);
  });
});
