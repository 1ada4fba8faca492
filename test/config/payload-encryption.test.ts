import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  codecServerSecrets,
  ConfigError,
  loadApiConfig,
  loadCodecServerConfig,
  loadWorkerConfig,
  SECRET_KEYS,
  workerSecrets,
} from '../../config';

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const worker = {
  PLURAL_BASE_URL: 'https://pluraluat.v2.pinepg.in',
  PLURAL_CLIENT_ID: 'merchant-1',
  PLURAL_CLIENT_SECRET: 'client-secret-value',
};
const api = {
  API_KEYS: 'sk_test_aaaaaaaaaaaaaaaa',
  API_FINGERPRINT_KEY: 'fingerprint-key-0123456789',
  PLURAL_CALLBACK_SECRET_HEX: '73616e64626f782d63616c6c6261636b',
  PLURAL_WEBHOOK_SECRET: 'webhook-secret-value',
};
const TOKEN = 'c'.repeat(40);

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('PAYLOAD_KEYS and PAYLOAD_ENCRYPTION', () => {
  it('parses a ring in order: the first key encrypts, all decrypt', () => {
    const config = loadWorkerConfig({ ...worker, PAYLOAD_KEYS: ` k2026:${K1} , k2025:${K2}` });
    expect(config.payloadEncryption).toEqual({
      mode: 'on',
      keys: [
        { id: 'k2026', key: Buffer.from(K1, 'base64') },
        { id: 'k2025', key: Buffer.from(K2, 'base64') },
      ],
    });
    expect(workerSecrets(config)).toEqual(expect.arrayContaining([K1, K2]));
  });

  it('requires PAYLOAD_KEYS while encryption is on (the default), for the worker and the API', () => {
    for (const err of [configError(() => loadWorkerConfig(worker)), configError(() => loadApiConfig(api))]) {
      const issue = err.issues.find((i) => i.key === 'PAYLOAD_KEYS');
      expect(issue?.message).toMatch(/^is required while PAYLOAD_ENCRYPTION is on/);
      expect(issue?.message).toContain('PAYLOAD_ENCRYPTION=off');
    }
  });

  it('PAYLOAD_ENCRYPTION=off is an explicit opt-out that needs no keys', () => {
    expect(loadWorkerConfig({ ...worker, PAYLOAD_ENCRYPTION: 'off' }).payloadEncryption).toEqual({ mode: 'off' });
    expect(loadApiConfig({ ...api, PAYLOAD_ENCRYPTION: 'off' }).payloadEncryption).toEqual({ mode: 'off' });
    expect(configError(() => loadWorkerConfig({ ...worker, PAYLOAD_ENCRYPTION: 'no' })).issues).toEqual([
      { key: 'PAYLOAD_ENCRYPTION', message: 'must be on or off' },
    ]);
  });

  it.each([
    [
      'a key of 16 bytes',
      () => `k1:${randomBytes(16).toString('base64')}`,
      /key k1 must be standard base64 of exactly 32 bytes/,
    ],
    [
      'a key of 33 bytes',
      () => `k1:${randomBytes(33).toString('base64')}`,
      /key k1 must be standard base64 of exactly 32/,
    ],
    ['hex instead of base64', () => `k1:${randomBytes(32).toString('hex')}`, /key k1 must be standard base64/],
    ['a missing id', () => K1, /entry 1 must start with a key id/],
    ['a bad id', () => `bad id:${K1}`, /entry 1 must start with a key id/],
    ['a duplicate id', () => `k1:${K1},k1:${K2}`, /key id k1 appears more than once/],
    ['an empty entry', () => `k1:${K1},`, /entry 2 must start with a key id/],
  ])('rejects %s with a clear message that never echoes key material', (_what, value, message) => {
    const raw = value();
    const err = configError(() => loadWorkerConfig({ ...worker, PAYLOAD_KEYS: raw }));
    expect(err.issues.map((i) => i.key)).toEqual(['PAYLOAD_KEYS']);
    expect(err.issues[0]?.message).toMatch(message);
    for (const part of raw.split(/[,:]/).filter((p) => p.length >= 16)) expect(err.message).not.toContain(part);
    expect(err.message).not.toContain(K1);
    expect(err.message).not.toContain(K2);
  });

  it('counts PAYLOAD_KEYS and CODEC_SERVER_TOKENS as secrets', () => {
    expect(SECRET_KEYS).toEqual(expect.arrayContaining(['PAYLOAD_KEYS', 'CODEC_SERVER_TOKENS']));
  });
});

describe('loadCodecServerConfig', () => {
  it('applies the defaults and reads the keys, tokens and CORS origins', () => {
    const config = loadCodecServerConfig({
      PAYLOAD_KEYS: `k1:${K1},k0:${K2}`,
      CODEC_SERVER_TOKENS: `${TOKEN}, ${'d'.repeat(32)}`,
      CODEC_CORS_ORIGINS: 'http://localhost:8233, https://temporal-ui.example.com/',
    });
    expect(config).toEqual({
      listen: { host: '127.0.0.1', port: 8081 },
      keys: [
        { id: 'k1', key: Buffer.from(K1, 'base64') },
        { id: 'k0', key: Buffer.from(K2, 'base64') },
      ],
      auth: { kind: 'token', tokens: [TOKEN, 'd'.repeat(32)] },
      corsOrigins: ['http://localhost:8233', 'https://temporal-ui.example.com'],
      logLevel: 'info',
    });
    expect(codecServerSecrets(config)).toEqual([K1, K2, TOKEN, 'd'.repeat(32)]);
  });

  it('requires the keys and the tokens (unless CODEC_SERVER_AUTH=none)', () => {
    const err = configError(() => loadCodecServerConfig({}));
    expect(err.issues.map((i) => i.key).sort()).toEqual(['CODEC_SERVER_TOKENS', 'PAYLOAD_KEYS']);
    const none = loadCodecServerConfig({ PAYLOAD_KEYS: `k1:${K1}`, CODEC_SERVER_AUTH: 'none' });
    expect(none.auth).toEqual({ kind: 'none' });
  });

  it('rejects short tokens and origins with a path, without echoing them', () => {
    const err = configError(() =>
      loadCodecServerConfig({
        PAYLOAD_KEYS: `k1:${K1}`,
        CODEC_SERVER_TOKENS: 'short-token-value',
        CODEC_CORS_ORIGINS: 'http://localhost:8233/ui',
        CODEC_SERVER_PORT: '99999',
      }),
    );
    expect(err.issues.map((i) => i.key).sort()).toEqual([
      'CODEC_CORS_ORIGINS',
      'CODEC_SERVER_PORT',
      'CODEC_SERVER_TOKENS',
    ]);
    expect(err.message).not.toContain('short-token-value');
  });
});
