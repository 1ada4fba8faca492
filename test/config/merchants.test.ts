/**
 * Merchant accounts (config/merchants.ts): `MERCHANTS_FILE` / `MERCHANTS` read and validated at start-up by the API
 * and the worker, with errors that name the setting, the entry and the field but never a value; without either, one
 * merchant `default` from the single-merchant keys; production mode refusing published values in any entry.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  apiSecrets,
  ConfigError,
  DEV_API_KEY,
  loadApiConfig,
  loadMerchantAccounts,
  loadWorkerConfig,
  ProductionConfigError,
  SANDBOX_PUBLISHED_CREDENTIALS,
  workerSecrets,
} from '../../config';

const PAYLOAD_KEY = Buffer.alloc(32, 9).toString('base64');
const ACME_KEY = 'sk_acme_live_key_0001_xyzxyzxyz';
const ACME_KEY_NEXT = 'sk_acme_live_key_0002_rotated01';
const GLOBEX_KEY = 'sk_globex_live_key_0001_abcabcab';
const ACME_CLIENT_SECRET = 'acme-client-secret-7f3a9c1d';
const ACME_WEBHOOK_SECRET = 'acme-plural-webhook-secret-31';
const ACME_ENDPOINT_SECRET = 'whsec_YWNtZS1lbmRwb2ludC1zZWNyZXQtMDEyMzQ1Njc4OWFi';
const ACME_RETURN_SECRET = 'acme-return-url-signing-secret-0123456789';

const acme = () => ({
  id: 'acme',
  apiKeys: [ACME_KEY, ACME_KEY_NEXT],
  plural: {
    clientId: 'acme-client',
    clientSecret: ACME_CLIENT_SECRET,
    callbackSecretHex: 'a1'.repeat(16),
    webhookSecret: ACME_WEBHOOK_SECRET,
  },
  webhookEndpoints: [{ id: 'orders', url: 'https://acme.example/hooks/payments/', secret: ACME_ENDPOINT_SECRET }],
  returnUrlHosts: ['Shop.Acme.Example', 'shop.acme.example:8443'],
  returnUrlSigningSecret: ACME_RETURN_SECRET,
});
const globex = () => ({
  id: 'globex',
  apiKeys: [GLOBEX_KEY],
  plural: {
    baseUrl: 'https://api.pluralpay.in',
    clientId: 'globex-client',
    clientSecret: 'globex-client-secret-0c1d2e3f',
    callbackSecretHex: 'b2'.repeat(16),
    webhookSecret: 'globex-plural-webhook-secret',
  },
});

const BASE = { PAYLOAD_KEYS: `k1:${PAYLOAD_KEY}`, API_FINGERPRINT_KEY: 'fingerprint-key-0123456789' };
const WORKER_BASE = { PAYLOAD_KEYS: `k1:${PAYLOAD_KEY}`, PLURAL_BASE_URL: 'https://pluraluat.v2.pinepg.in' };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** Every value of the merchant entries: none may appear in an error. */
const SECRETS = [
  ACME_KEY,
  ACME_KEY_NEXT,
  GLOBEX_KEY,
  ACME_CLIENT_SECRET,
  ACME_WEBHOOK_SECRET,
  ACME_ENDPOINT_SECRET,
  ACME_RETURN_SECRET,
];
const expectNoSecret = (err: Error) => {
  for (const s of SECRETS) expect(err.message).not.toContain(s);
};

describe('loadMerchantAccounts', () => {
  it('reads MERCHANTS_FILE: ids, several keys, Plural secrets, webhook endpoints and return hosts', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'merchants-'));
    const file = path.join(dir, 'merchants.json');
    writeFileSync(file, JSON.stringify([acme(), globex()]));
    const merchants = loadMerchantAccounts({ MERCHANTS_FILE: file }, 'api');
    expect(merchants?.map((m) => m.id)).toEqual(['acme', 'globex']);
    const [a, g] = merchants!;
    expect(a).toEqual({
      id: 'acme',
      apiKeys: [ACME_KEY, ACME_KEY_NEXT],
      plural: {
        baseUrl: undefined,
        credentials: { clientId: 'acme-client', clientSecret: ACME_CLIENT_SECRET },
        callbackSecretHex: 'a1'.repeat(16),
        webhookSecret: ACME_WEBHOOK_SECRET,
      },
      // The endpoint's URL as written (its trailing slash can be a route of its own); hosts lowercased.
      webhookEndpoints: [{ id: 'orders', url: 'https://acme.example/hooks/payments/', secret: ACME_ENDPOINT_SECRET }],
      returnUrlHosts: ['shop.acme.example', 'shop.acme.example:8443'],
      returnUrlSigningSecret: ACME_RETURN_SECRET,
    });
    // Optional lists default to empty; a merchant may name its own Plural origin.
    expect(g).toMatchObject({
      webhookEndpoints: [],
      returnUrlHosts: [],
      plural: { baseUrl: 'https://api.pluralpay.in' },
    });
  });

  it('reads the same JSON inline from MERCHANTS, and names a lone endpoint without an id endpoint-1', () => {
    const entry = { ...acme(), webhookEndpoints: [{ url: 'https://acme.example/a', secret: ACME_ENDPOINT_SECRET }] };
    const merchants = loadMerchantAccounts({ MERCHANTS: JSON.stringify([entry]) }, 'api');
    expect(merchants?.[0]?.webhookEndpoints[0]?.id).toBe('endpoint-1');
  });

  it('requires an id on every endpoint of a merchant with several (a position changes when the list is edited)', () => {
    const entry = {
      ...acme(),
      webhookEndpoints: [
        { id: 'orders', url: 'https://acme.example/a', secret: ACME_ENDPOINT_SECRET },
        { url: 'https://acme.example/b', secret: ACME_ENDPOINT_SECRET },
      ],
    };
    const err = configError(() => loadMerchantAccounts({ MERCHANTS: JSON.stringify([entry]) }, 'api'));
    expect(err.issues.map((i) => i.message)).toEqual([
      'merchant acme (entry 1): webhookEndpoints[1].id is required when a merchant has several endpoints (running ' +
        'payments name their endpoints by id; a position would change when the list is edited; to keep the ids ' +
        'running payments hold, give endpoint-2)',
    ]);
    expectNoSecret(err);
  });

  it('is undefined without MERCHANTS_FILE and MERCHANTS (the single-merchant keys apply)', () => {
    expect(loadMerchantAccounts({ API_KEYS: ACME_KEY, MERCHANTS: '  ' }, 'api')).toBeUndefined();
  });

  it('names the entry and the field of each problem, never a value', () => {
    const bad = [
      { ...acme(), id: 'Acme Corp' },
      { ...globex(), apiKeys: ['short'], plural: { ...globex().plural, clientSecret: undefined } },
      {
        ...acme(),
        id: 'initech',
        webhookEndpoints: [{ url: 'ftp://x', secret: 'tiny' }],
        returnUrlHosts: ['https://x/'],
      },
      { ...acme(), id: 'umbrella', extra: true },
      {
        ...globex(),
        id: 'hooli',
        apiKeys: ['sk_hooli_live_key_0001_abcabcab'],
        returnUrlHosts: ['shop.hooli.example'],
      },
    ];
    const err = configError(() => loadMerchantAccounts({ MERCHANTS: JSON.stringify(bad) }, 'api'));
    const lines = err.issues.map((i) => `${i.key} ${i.message}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^MERCHANTS entry 1: id must be 1-32 lowercase letters/),
        expect.stringMatching(/^MERCHANTS merchant globex \(entry 2\): apiKeys\[0\] must be at least 16 characters/),
        expect.stringMatching(/^MERCHANTS merchant globex \(entry 2\): plural\.clientSecret is required/),
        expect.stringMatching(
          /^MERCHANTS merchant initech \(entry 3\): webhookEndpoints\[0\]\.url must be an http\(s\) URL/,
        ),
        expect.stringMatching(
          /^MERCHANTS merchant initech \(entry 3\): webhookEndpoints\[0\]\.secret must be at least 24/,
        ),
        expect.stringMatching(/^MERCHANTS merchant initech \(entry 3\): returnUrlHosts\[0\] must be a host name/),
        expect.stringMatching(/^MERCHANTS merchant umbrella \(entry 4\): .*extra/),
      ]),
    );
    expect(err.message).toContain('invalid api configuration');
    expectNoSecret(err);
    expect(err.message).not.toContain('short');
  });

  it("reads a merchant's own return pages, and names a bad or half-given one", () => {
    const pages = { success: 'https://globex.example/paid/', failure: 'https://globex.example/not-paid' };
    const merchants = loadMerchantAccounts(
      { MERCHANTS: JSON.stringify([acme(), { ...globex(), returnPages: pages }]) },
      'api',
    );
    expect(merchants?.[0]?.returnPages).toBeUndefined();
    // As written: a page's trailing slash is part of its path.
    expect(merchants?.[1]?.returnPages).toEqual(pages);
    const bad = [
      { ...acme(), returnPages: { success: 'javascript:alert(1)', failure: 'https://acme.example/ko' } },
      { ...globex(), returnPages: { success: 'https://globex.example/ok' } },
    ];
    const err = configError(() => loadMerchantAccounts({ MERCHANTS: JSON.stringify(bad) }, 'api'));
    expect(err.issues.map((i) => i.message)).toEqual([
      expect.stringMatching(/^merchant acme \(entry 1\): returnPages\.success must be an http\(s\) URL/),
      expect.stringMatching(/^merchant globex \(entry 2\): returnPages\.failure is required/),
    ]);
  });

  it('refuses return hosts without the secret that signs the redirect to them', () => {
    const hooli = { ...globex(), returnUrlHosts: ['shop.globex.example'] };
    const err = configError(() => loadMerchantAccounts({ MERCHANTS: JSON.stringify([acme(), hooli]) }, 'api'));
    expect(err.issues.map((i) => i.message)).toEqual([
      'merchant globex (entry 2): returnUrlSigningSecret is required with returnUrlHosts',
    ]);
    expectNoSecret(err);
  });

  it('refuses a repeated merchant id, and a key of two merchants', () => {
    const twin = { ...globex(), id: 'acme', apiKeys: [GLOBEX_KEY] };
    const shared = { ...globex(), apiKeys: [ACME_KEY_NEXT], plural: { ...globex().plural, clientId: 'other-client' } };
    const err = configError(() => loadMerchantAccounts({ MERCHANTS: JSON.stringify([acme(), twin, shared]) }, 'api'));
    expect(err.issues.map((i) => i.message)).toEqual([
      'merchant acme (entry 2): id is already used by entry 1',
      'merchant globex (entry 3): apiKeys[0] is also a key of merchant acme (each key identifies one merchant)',
    ]);
    expectNoSecret(err);
  });

  it('refuses two merchants on one Plural account (same client id at the same origin), not on two origins', () => {
    const sameAccount = {
      ...acme(),
      id: 'initech',
      apiKeys: [GLOBEX_KEY],
      plural: { ...acme().plural, baseUrl: undefined },
    };
    const err = configError(() => loadMerchantAccounts({ MERCHANTS: JSON.stringify([acme(), sameAccount]) }, 'api'));
    expect(err.issues.map((i) => i.message)).toEqual([
      "merchant initech (entry 2): plural.clientId is also merchant acme's at the same Plural origin (each merchant " +
        'needs a Plural account of its own: customers, saved cards and order references belong to the account; ' +
        'give one merchant several apiKeys instead)',
    ]);
    expectNoSecret(err);
    // The same client id at another origin (Plural's UAT and production) is another account.
    const elsewhere = { ...sameAccount, plural: { ...acme().plural, baseUrl: 'https://pluraluat.v2.pinepg.in/' } };
    const both = loadMerchantAccounts({ MERCHANTS: JSON.stringify([acme(), elsewhere]) }, 'api');
    expect(both?.map((m) => m.id)).toEqual(['acme', 'initech']);
    // Unless that origin is the one a merchant without its own baseUrl is on: the process's PLURAL_BASE_URL.
    const sameOrigin = configError(() =>
      loadMerchantAccounts(
        { MERCHANTS: JSON.stringify([acme(), elsewhere]), PLURAL_BASE_URL: 'https://pluraluat.v2.pinepg.in' },
        'worker',
      ),
    );
    expect(sameOrigin.issues.map((i) => i.message)).toEqual([
      expect.stringContaining("merchant initech (entry 2): plural.clientId is also merchant acme's"),
    ]);
  });

  it('says the JSON is invalid without quoting it, and an unreadable file by its error code', () => {
    const text = `[{"id": "acme", "apiKeys": ["${ACME_KEY}"],}]`;
    const invalid = configError(() => loadMerchantAccounts({ MERCHANTS: text }, 'worker'));
    expect(invalid.issues).toEqual([{ key: 'MERCHANTS', message: 'is not valid JSON (a JSON array of merchants)' }]);
    expectNoSecret(invalid);
    const missing = configError(() => loadMerchantAccounts({ MERCHANTS_FILE: '/nonexistent/merchants.json' }, 'api'));
    expect(missing.issues).toEqual([
      { key: 'MERCHANTS_FILE', message: 'cannot be read (ENOENT); it must name a readable JSON file' },
    ]);
    const both = configError(() => loadMerchantAccounts({ MERCHANTS: '[]', MERCHANTS_FILE: '/x.json' }, 'api'));
    expect(both.issues[0]?.key).toBe('MERCHANTS');
    const empty = configError(() => loadMerchantAccounts({ MERCHANTS: '[]' }, 'api'));
    expect(empty.issues).toEqual([{ key: 'MERCHANTS', message: 'must hold at least one merchant' }]);
  });

  it('refuses the single-merchant keys next to merchant accounts, naming each', () => {
    const err = configError(() =>
      loadMerchantAccounts(
        {
          MERCHANTS: JSON.stringify([acme()]),
          API_KEYS: ACME_KEY,
          PLURAL_WEBHOOK_SECRET: 'x',
          // The single merchant's webhook endpoint would be ignored: each merchant lists its own.
          MERCHANT_WEBHOOK_URL: 'https://acme.example/hooks',
        },
        'api',
      ),
    );
    const unset = "must be unset when MERCHANTS is set (each merchant's entry holds its own)";
    expect(err.issues).toEqual([
      { key: 'API_KEYS', message: unset },
      { key: 'PLURAL_WEBHOOK_SECRET', message: unset },
      { key: 'MERCHANT_WEBHOOK_URL', message: unset },
    ]);
  });
});

describe('merchant accounts in the API and worker configuration', () => {
  it('the API takes every merchant from MERCHANTS, without API_KEYS or the PLURAL_* secrets, and masks their secrets', () => {
    const config = loadApiConfig({ ...BASE, MERCHANTS: JSON.stringify([acme(), globex()]) });
    expect(config.merchants.ids).toEqual(['acme', 'globex']);
    expect(config.merchants.source).toBe('MERCHANTS');
    expect(config.apiKeys).toEqual([]);
    expect(config.merchants.merchantWebhookEndpoints('acme')).toEqual([
      { id: 'orders', url: 'https://acme.example/hooks/payments/', secret: ACME_ENDPOINT_SECRET },
    ]);
    expect(config.merchants.returnUrlHostsFor('acme')).toEqual(['shop.acme.example', 'shop.acme.example:8443']);
    expect(config.merchants.returnUrlHostsFor('globex')).toEqual([]);
    expect(config.merchants.returnUrlHostsFor('nobody')).toEqual([]);
    expect(apiSecrets(config)).toEqual(expect.arrayContaining(SECRETS));
  });

  it('without merchant accounts the API has one merchant, default, from API_KEYS and PLURAL_*', () => {
    const config = loadApiConfig({
      ...BASE,
      API_KEYS: ACME_KEY,
      PLURAL_CALLBACK_SECRET_HEX: 'c3'.repeat(16),
      PLURAL_WEBHOOK_SECRET: ACME_WEBHOOK_SECRET,
    });
    expect(config.merchants.ids).toEqual(['default']);
    expect(config.merchants.get('default')).toMatchObject({
      apiKeys: [ACME_KEY],
      plural: { callbackSecretHex: 'c3'.repeat(16), webhookSecret: ACME_WEBHOOK_SECRET },
    });
    // And still requires them, as before merchants existed.
    const err = configError(() => loadApiConfig(BASE));
    expect(err.issues.map((i) => i.key)).toEqual(
      expect.arrayContaining(['API_KEYS', 'PLURAL_CALLBACK_SECRET_HEX', 'PLURAL_WEBHOOK_SECRET']),
    );
  });

  it('the worker builds each merchant its Plural origin (its own, or PLURAL_BASE_URL) and credentials', () => {
    const config = loadWorkerConfig({ ...WORKER_BASE, MERCHANTS: JSON.stringify([acme(), globex()]) });
    expect(config.merchants.get('acme')?.plural).toMatchObject({
      baseUrl: 'https://pluraluat.v2.pinepg.in',
      credentials: { clientId: 'acme-client', clientSecret: ACME_CLIENT_SECRET },
    });
    expect(config.merchants.get('globex')?.plural.baseUrl).toBe('https://api.pluralpay.in');
    expect(workerSecrets(config)).toEqual(expect.arrayContaining([ACME_CLIENT_SECRET]));
  });

  it('the worker requires PLURAL_BASE_URL for a merchant without its own origin, naming the merchant', () => {
    const err = configError(() =>
      loadWorkerConfig({ PAYLOAD_KEYS: WORKER_BASE.PAYLOAD_KEYS, MERCHANTS: JSON.stringify([acme(), globex()]) }),
    );
    expect(err.issues).toEqual([
      {
        key: 'PLURAL_BASE_URL',
        message: 'is required: merchant acme names no plural.baseUrl of its own (the Plural API origin)',
      },
    ]);
    expect(err.message).toContain('invalid worker configuration');
  });

  it('the worker refuses PLURAL_CLIENT_ID/SECRET next to merchant accounts', () => {
    const err = configError(() =>
      loadWorkerConfig({
        ...WORKER_BASE,
        MERCHANTS: JSON.stringify([acme()]),
        PLURAL_CLIENT_ID: 'x',
        PLURAL_CLIENT_SECRET: 'y',
      }),
    );
    expect(err.issues.map((i) => i.key)).toEqual(['PLURAL_CLIENT_ID', 'PLURAL_CLIENT_SECRET']);
  });

  it('production mode refuses a published value in any merchant entry, naming merchant and field, not the value', () => {
    const dev = {
      ...acme(),
      apiKeys: [ACME_KEY, DEV_API_KEY],
      plural: { ...acme().plural, webhookSecret: SANDBOX_PUBLISHED_CREDENTIALS.webhookSecret },
    };
    const env = {
      ...BASE,
      NODE_ENV: 'production',
      CARD_VAULT_TOKEN: 'v'.repeat(40),
      API_METRICS_TOKEN: 'm'.repeat(40),
      API_PUBLIC_URL: 'https://pay.example.com',
      MERCHANTS: JSON.stringify([dev, globex()]),
    };
    const err = configError(() => loadApiConfig(env));
    expect(err).toBeInstanceOf(ProductionConfigError);
    expect(err.message).toContain("MERCHANTS merchant acme: apiKeys[1] is the dev stack's API key");
    expect(err.message).toContain(
      "MERCHANTS merchant acme: plural.webhookSecret is the Plural sandbox's published webhook secret",
    );
    expect(err.message).not.toContain(DEV_API_KEY);
    expect(err.message).not.toContain(SANDBOX_PUBLISHED_CREDENTIALS.webhookSecret);
    const worker = configError(() =>
      loadWorkerConfig({
        ...WORKER_BASE,
        NODE_ENV: 'production',
        CARD_VAULT_URL: 'http://api:8082',
        CARD_VAULT_TOKEN: 'v'.repeat(40),
        MERCHANTS: JSON.stringify([
          { ...globex(), plural: { ...globex().plural, clientId: SANDBOX_PUBLISHED_CREDENTIALS.clientId } },
        ]),
      }),
    );
    expect(worker.message).toContain(
      "MERCHANTS merchant globex: plural.clientId is the Plural sandbox's published client id",
    );
    // Clean entries pass.
    expect(loadApiConfig({ ...env, MERCHANTS: JSON.stringify([acme(), globex()]) }).merchants.ids).toHaveLength(2);
  });

  it('refuses a merchant webhook endpoint over plain http in production mode, unless the network is declared private', () => {
    const plain = {
      ...acme(),
      webhookEndpoints: [{ id: 'orders', url: 'http://acme.internal/hooks', secret: ACME_ENDPOINT_SECRET }],
    };
    const env = {
      ...WORKER_BASE,
      NODE_ENV: 'production',
      CARD_VAULT_URL: 'http://api:8082',
      CARD_VAULT_TOKEN: 'v'.repeat(40),
      MERCHANTS: JSON.stringify([plain, globex()]),
    };
    const err = configError(() => loadWorkerConfig(env));
    expect(err).toBeInstanceOf(ProductionConfigError);
    expect(err.message).toContain(
      'MERCHANTS merchant acme: webhookEndpoints[0].url is an http:// URL, which sends payment events unencrypted',
    );
    expect(err.message).not.toContain('acme.internal');
    expect(loadWorkerConfig({ ...env, MERCHANT_WEBHOOK_ALLOW_HTTP: 'true' }).merchants.ids).toHaveLength(2);
    expect(configError(() => loadWorkerConfig({ ...env, MERCHANT_WEBHOOK_ALLOW_HTTP: 'yes' })).message).toContain(
      'MERCHANT_WEBHOOK_ALLOW_HTTP',
    );
    // Outside production mode (the dev stack's own receiver is http://) nothing is refused.
    const { NODE_ENV: _production, ...development } = env;
    expect(loadWorkerConfig(development).merchants.ids).toHaveLength(2);
  });
});

/** Runs an entry point as `npm run …` does, and returns its exit code and output. */
function runEntry(entry: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: path.join(__dirname, '..', '..'),
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

describe('entry points with a bad merchant file', () => {
  it.each([
    ['api/server.ts', BASE],
    ['worker/main.ts', WORKER_BASE],
  ])(
    '%s exits 78 naming the merchant and field, never a value',
    async (entry, base) => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'merchants-'));
      const file = path.join(dir, 'merchants.json');
      writeFileSync(file, JSON.stringify([{ ...acme(), plural: { ...acme().plural, webhookSecret: '' } }]));
      const { code, output } = await runEntry(entry, { ...base, MERCHANTS_FILE: file });
      expect(code).toBe(78);
      expect(output).toContain('merchant acme (entry 1): plural.webhookSecret must be at least 1 characters');
      for (const secret of SECRETS) expect(output).not.toContain(secret);
    },
    30_000,
  );
});
