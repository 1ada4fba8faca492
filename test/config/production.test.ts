/**
 * Production mode (`NODE_ENV=production`) refuses what only suits development: every secret this repository publishes,
 * a missing secret that development falls back on, and `PAYLOAD_ENCRYPTION=off`. The entry points exit 78 with one
 * line naming the setting.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEV_API_KEY,
  DEV_CODEC_TOKEN,
  DEV_FINGERPRINT_KEY,
  DEV_RETURN_URL_SIGNING_SECRET,
  KNOWN_DEV_VALUES,
  loadApiConfig,
  loadCodecServerConfig,
  loadWorkerConfig,
  ProductionConfigError,
  SANDBOX_PUBLISHED_CREDENTIALS,
} from '../../config';
import type { Env } from '../../config';
import { DEFAULT_CREDENTIALS } from '../../plural-sandbox';
import { newWebhookSecret } from '../../merchant-webhooks';
import { startDevStack } from '../../dev/stack';

const ROOT = path.join(__dirname, '..', '..');
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const PAYLOAD_KEYS = `k2026:${randomBytes(32).toString('base64')}`;

/** Values of a production deployment: none of them published anywhere. */
const WORKER: Record<string, string> = {
  NODE_ENV: 'production',
  PLURAL_BASE_URL: 'https://api.pluralpay.in',
  PLURAL_CLIENT_ID: 'merchant-7f3a',
  PLURAL_CLIENT_SECRET: hex(24),
  CARD_VAULT_URL: 'http://api:8082',
  CARD_VAULT_TOKEN: hex(32),
  PAYLOAD_KEYS,
};
const API: Record<string, string> = {
  NODE_ENV: 'production',
  API_KEYS: hex(24),
  API_FINGERPRINT_KEY: hex(32),
  PLURAL_CALLBACK_SECRET_HEX: hex(32),
  PLURAL_WEBHOOK_SECRET: hex(32),
  CARD_VAULT_TOKEN: hex(32),
  API_METRICS_TOKEN: hex(32),
  API_PUBLIC_URL: 'https://pay.example.com',
  PAYLOAD_KEYS,
};
const CODEC: Record<string, string> = { NODE_ENV: 'production', PAYLOAD_KEYS, CODEC_SERVER_TOKENS: hex(32) };

function refusal(fn: () => unknown): ProductionConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProductionConfigError) return err;
    throw err;
  }
  throw new Error('expected a ProductionConfigError');
}

const loaders = {
  worker: (env: Env) => loadWorkerConfig(env),
  api: (env: Env) => loadApiConfig(env),
  'codec server': (env: Env) => loadCodecServerConfig(env),
};

describe('production mode (NODE_ENV=production)', () => {
  it('starts the worker, API and codec server with values of their own', () => {
    expect(() => loadWorkerConfig(WORKER)).not.toThrow();
    expect(() => loadApiConfig(API)).not.toThrow();
    // Return URLs: a secret of its own, and http:// loopback URLs are not accepted in production mode.
    const withReturns = loadApiConfig({
      ...API,
      RETURN_URL_ALLOWED_HOSTS: 'shop.example',
      RETURN_URL_SIGNING_SECRET: hex(32),
    });
    expect(withReturns.returnUrl.allowHttpLoopback).toBe(false);
    expect(() => loadCodecServerConfig(CODEC)).not.toThrow();
  });

  it("refuses each of the Plural sandbox's published credentials, naming the setting", () => {
    const cases: [keyof typeof loaders, Record<string, string>, string, string][] = [
      ['api', API, 'PLURAL_CALLBACK_SECRET_HEX', "is the Plural sandbox's published callback secret"],
      ['api', API, 'PLURAL_WEBHOOK_SECRET', "is the Plural sandbox's published webhook secret"],
      ['worker', WORKER, 'PLURAL_CLIENT_ID', "is the Plural sandbox's published client id"],
      ['worker', WORKER, 'PLURAL_CLIENT_SECRET', "is the Plural sandbox's published client secret"],
    ];
    const published: Record<string, string> = {
      PLURAL_CALLBACK_SECRET_HEX: SANDBOX_PUBLISHED_CREDENTIALS.callbackSecretHex,
      PLURAL_WEBHOOK_SECRET: SANDBOX_PUBLISHED_CREDENTIALS.webhookSecret,
      PLURAL_CLIENT_ID: SANDBOX_PUBLISHED_CREDENTIALS.clientId,
      PLURAL_CLIENT_SECRET: SANDBOX_PUBLISHED_CREDENTIALS.clientSecret,
    };
    for (const [name, env, key, message] of cases) {
      const err = refusal(() => loaders[name]({ ...env, [key]: published[key] }));
      expect(err.issues).toEqual([{ key, message }]);
      expect(err.message).not.toContain(published[key]);
    }
  });

  it("refuses the dev stack's and the old compose file's keys and tokens, also as one entry of a list", () => {
    const cases: [keyof typeof loaders, Record<string, string>, string, string][] = [
      ['api', API, 'API_KEYS', `${hex(24)},${DEV_API_KEY}`],
      ['api', API, 'API_KEYS', 'dev-api-key-change-me-0001'],
      ['api', API, 'API_FINGERPRINT_KEY', DEV_FINGERPRINT_KEY],
      ['api', API, 'API_FINGERPRINT_KEY', 'dev-fingerprint-key-change-me'],
      ['api', API, 'CARD_VAULT_TOKEN', 'dev-card-vault-token-change-me-0123456789'],
      ['worker', WORKER, 'CARD_VAULT_TOKEN', 'dev-card-vault-token-change-me-0123456789'],
      ['codec server', CODEC, 'CODEC_SERVER_TOKENS', DEV_CODEC_TOKEN],
      ['api', API, 'RETURN_URL_SIGNING_SECRET', DEV_RETURN_URL_SIGNING_SECRET],
    ];
    for (const [name, env, key, value] of cases) {
      const err = refusal(() => loaders[name]({ ...env, [key]: value }));
      expect(err.issues.map((i) => i.key)).toEqual([key]);
      for (const part of value.split(',')) expect(err.message).not.toContain(part);
    }
  });

  it('refuses a payload key the dev stack made (dev-YYYYMMDD, dev-ephemeral), in every process', () => {
    const devKey = `dev-20261204:${randomBytes(32).toString('base64')}`;
    for (const [name, env] of [
      ['worker', WORKER],
      ['api', API],
      ['codec server', CODEC],
    ] as const) {
      const err = refusal(() => loaders[name]({ ...env, PAYLOAD_KEYS: `${PAYLOAD_KEYS},${devKey}` }));
      expect(err.issues).toEqual([
        { key: 'PAYLOAD_KEYS', message: 'holds key dev-20261204, a key the dev stack made' },
      ]);
    }
    const ephemeral = `dev-ephemeral:${randomBytes(32).toString('base64')}`;
    expect(refusal(() => loadApiConfig({ ...API, PAYLOAD_KEYS: ephemeral })).issues).toHaveLength(1);
  });

  it('refuses PAYLOAD_ENCRYPTION=off in the worker and the API', () => {
    for (const [name, env] of [
      ['worker', WORKER],
      ['api', API],
    ] as const) {
      const err = refusal(() => loaders[name]({ ...env, PAYLOAD_ENCRYPTION: 'off', PAYLOAD_KEYS: '' }));
      expect(err.issues).toEqual([
        { key: 'PAYLOAD_ENCRYPTION', message: 'is off, which stores workflow data in Temporal in clear' },
      ]);
    }
  });

  it('refuses a missing card-vault secret, which development replaces with an in-process vault', () => {
    const worker = refusal(() => loadWorkerConfig({ ...WORKER, CARD_VAULT_URL: '', CARD_VAULT_TOKEN: '' }));
    expect(worker.issues.map((i) => i.key)).toEqual(['CARD_VAULT_URL', 'CARD_VAULT_TOKEN']);
    const api = refusal(() => loadApiConfig({ ...API, CARD_VAULT_TOKEN: '' }));
    expect(api.issues.map((i) => i.key)).toEqual(['CARD_VAULT_TOKEN']);
    expect(api.message).toMatch(
      /^refusing to start the api in production mode \(NODE_ENV=production\): CARD_VAULT_TOKEN is required/,
    );
  });

  it("refuses a missing metrics token: the API's /metrics would answer anyone, with every merchant's counts", () => {
    const api = refusal(() => loadApiConfig({ ...API, API_METRICS_TOKEN: '' }));
    expect(api.issues.map((i) => i.key)).toEqual(['API_METRICS_TOKEN']);
    expect(api.message).toMatch(/API_METRICS_TOKEN is required \(without it the API's \/metrics answers whoever/);
    expect(loadApiConfig(API).metricsToken).toBe(API.API_METRICS_TOKEN);
  });

  it('refuses a missing public URL: the callback URL sent to Plural would be the listen address', () => {
    const api = refusal(() => loadApiConfig({ ...API, API_PUBLIC_URL: '' }));
    expect(api.issues.map((i) => i.key)).toEqual(['API_PUBLIC_URL']);
    expect(api.message).toMatch(/API_PUBLIC_URL is required \(without it the callback URL sent to Plural/);
    expect(loadApiConfig(API).publicUrl).toBe('https://pay.example.com');
  });

  it('refuses MERCHANT_WEBHOOK_URL over plain http, unless MERCHANT_WEBHOOK_ALLOW_HTTP=true (a private network)', () => {
    const hooks = {
      MERCHANT_WEBHOOK_URL: 'http://merchant.internal/hooks',
      MERCHANT_WEBHOOK_SECRET: newWebhookSecret(),
    };
    for (const [name, env] of [
      ['worker', WORKER],
      ['api', API],
    ] as const) {
      const err = refusal(() => loaders[name]({ ...env, ...hooks }));
      expect(err.message).toContain('MERCHANT_WEBHOOK_URL is an http:// URL, which sends payment events unencrypted');
      expect(err.message).not.toContain('merchant.internal');
      expect(() => loaders[name]({ ...env, ...hooks, MERCHANT_WEBHOOK_ALLOW_HTTP: 'true' })).not.toThrow();
      const https = { ...hooks, MERCHANT_WEBHOOK_URL: 'https://merchant.example/hooks' };
      expect(() => loaders[name]({ ...env, ...https })).not.toThrow();
    }
  });

  it('says it all in one line: every setting at fault, no value', () => {
    const err = refusal(() =>
      loadApiConfig({
        ...API,
        API_KEYS: DEV_API_KEY,
        PLURAL_WEBHOOK_SECRET: SANDBOX_PUBLISHED_CREDENTIALS.webhookSecret,
        PAYLOAD_ENCRYPTION: 'off',
      }),
    );
    expect(err.message.split('\n')).toHaveLength(1);
    expect(err.issues.map((i) => i.key)).toEqual(['API_KEYS', 'PLURAL_WEBHOOK_SECRET', 'PAYLOAD_ENCRYPTION']);
    expect(err.message).not.toContain(DEV_API_KEY);
    expect(err.message).not.toContain(SANDBOX_PUBLISHED_CREDENTIALS.webhookSecret);
  });

  it('changes nothing outside production mode: development values are accepted', () => {
    const dev = {
      ...API,
      NODE_ENV: 'development',
      API_KEYS: DEV_API_KEY,
      CARD_VAULT_TOKEN: '',
      API_METRICS_TOKEN: '',
    };
    expect(() => loadApiConfig(dev)).not.toThrow();
    expect(() => loadApiConfig({ ...dev, NODE_ENV: '' })).not.toThrow();
  });

  it("keeps the one list in step with the sandbox's defaults", () => {
    expect(SANDBOX_PUBLISHED_CREDENTIALS).toEqual(DEFAULT_CREDENTIALS);
    const known = new Set(KNOWN_DEV_VALUES.map((k) => k.value));
    for (const value of [...Object.values(DEFAULT_CREDENTIALS), DEV_API_KEY, DEV_FINGERPRINT_KEY, DEV_CODEC_TOKEN]) {
      expect(known.has(value)).toBe(true);
    }
  });

  it('stops the one-command dev stack too: its development keys are refused', async () => {
    const err = await startDevStack({
      env: { NODE_ENV: 'production', DEV_DATA_DIR: 'none', LOG_LEVEL: 'silent' },
    }).then(
      // A stack that starts is a failed test: stop it, so it leaves no Temporal server behind.
      (stack) => stack.stop().then(() => undefined),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual(
      expect.arrayContaining([
        { key: 'API_KEYS', message: "holds the dev stack's API key" },
        { key: 'PLURAL_WEBHOOK_SECRET', message: "is the Plural sandbox's published webhook secret" },
      ]),
    );
  });
});

/** Runs an entry point as `npm run …` does, and returns its exit code and output. */
function run(entry: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    // A process that does not refuse would serve on: stop it, so the test fails rather than leaves it running.
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('entry points in production mode', () => {
  it.each([
    ['worker/main.ts', { ...WORKER, PLURAL_CLIENT_SECRET: SANDBOX_PUBLISHED_CREDENTIALS.clientSecret }, 'worker'],
    ['api/server.ts', { ...API, PLURAL_WEBHOOK_SECRET: SANDBOX_PUBLISHED_CREDENTIALS.webhookSecret }, 'api'],
    ['payload-codec/main.ts', { ...CODEC, CODEC_SERVER_TOKENS: DEV_CODEC_TOKEN }, 'codec server'],
  ])(
    '%s exits 78 with one line naming the setting',
    async (entry, env, name) => {
      const { code, output } = await run(entry, env);
      expect(code).toBe(78);
      const lines = output.trim().split('\n');
      expect(lines).toHaveLength(1);
      const line = JSON.parse(lines[0]!) as { level: number; msg: string };
      expect(line.level).toBe(60);
      expect(line.msg).toMatch(
        new RegExp(`^refusing to start the ${name} in production mode \\(NODE_ENV=production\\): `),
      );
      expect(line.msg).toMatch(/(PLURAL_CLIENT_SECRET|PLURAL_WEBHOOK_SECRET|CODEC_SERVER_TOKENS) (is|holds) /);
      for (const secret of [SANDBOX_PUBLISHED_CREDENTIALS.clientSecret, SANDBOX_PUBLISHED_CREDENTIALS.webhookSecret]) {
        expect(output).not.toContain(secret);
      }
      expect(output).not.toContain(DEV_CODEC_TOKEN);
      // Printed for the record (the issue asks to show the refusals).
      console.log(`${entry}: ${line.msg}`);
    },
    60_000,
  );
});
