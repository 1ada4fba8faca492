/** The API process's configuration: read from the environment once, at start-up. */
import { z } from 'zod';
import { DEFAULT_MERCHANT_ID, PAYMENT_TASK_QUEUE } from '../workflows/definitions';
import type { PaymentDurations, PaymentLimits } from '../workflows/definitions';
import type { LogLevel } from '../observability/logger';
import { CONFIG_KEYS as K } from './keys';
import {
  canonicalHost,
  hexSecret,
  hostPort,
  httpUrl,
  pageUrl,
  integer,
  listenHost,
  logLevel,
  optionalInteger,
  requiredString,
  bearerToken,
  RETURN_SIGNING_SECRET_MIN_LENGTH,
  temporalName,
} from './fields';
import { bothOrNeither, collectIssues, ConfigError, parseEnv } from './load';
import type { CrossCheck, Env } from './load';
import {
  defaultMerchant,
  hasMerchantAccounts,
  loadMerchantAccounts,
  MerchantDirectory,
  merchantProductionIssues,
} from './merchants';
import { loadPaymentDurations, loadPaymentLimits } from './payment';
import { isProduction, refuseInProduction } from './production';
import {
  loadMerchantWebhooks,
  merchantWebhookChecks,
  merchantWebhookFields,
  plaintextWebhookIssues,
  merchantWebhookSecrets,
} from './merchant-webhooks';
import type { MerchantWebhookConfig } from './merchant-webhooks';
import { merchantWebhookConfig } from './merchant-webhooks';
import {
  temporalConnectionChecks,
  temporalConnectionFields,
  temporalConnectionSecrets,
  temporalConnectionSecurity,
} from './temporal-connection';
import type { TemporalConnectionSecurity } from './temporal-connection';
import {
  payloadEncryptionField,
  payloadKeySecrets,
  payloadKeysField,
  payloadKeysRequired,
  toPayloadEncryption,
} from './payload-encryption';
import type { PayloadEncryptionConfig } from './payload-encryption';
import { CARD_VAULT_TOKEN_MIN_LENGTH } from './worker';

/** Defaults of the API's optional keys (documented in config/README.md). */
export const API_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  temporalAddress: '127.0.0.1:7233',
  temporalNamespace: 'default',
  taskQueue: PAYMENT_TASK_QUEUE,
  logLevel: 'info',
  /** Path of the dev stack's merchant return page, the default success and failure URL. */
  returnPath: '/dev/return',
  /** Where the card vault's own listener binds (with `CARD_VAULT_TOKEN`): never the API's public port. */
  cardVaultHost: '127.0.0.1',
  cardVaultPort: 8082,
} as const;

/** Shortest accepted API key and fingerprint key (`openssl rand -hex 16` gives 32 characters). */
export const API_KEY_MIN_LENGTH = 16;

/** Shortest accepted `API_METRICS_TOKEN` (`openssl rand -hex 16` gives 32 characters). */
export const METRICS_TOKEN_MIN_LENGTH = 32;

/** Validated API configuration. */
export interface ApiConfig {
  /** Where Temporal is, and (`TEMPORAL_TLS*`, `TEMPORAL_API_KEY`) how to authenticate to it. */
  temporal: { address: string; namespace: string; taskQueue: string } & TemporalConnectionSecurity;
  listen: { host: string; port: number };
  /** `API_PUBLIC_URL`; unset: derived from the bound address by {@link resolveApiUrls}. */
  publicUrl: string | undefined;
  /** `MERCHANT_SUCCESS_URL` / `MERCHANT_FAILURE_URL`; unset: `<public URL>/dev/return`. */
  returnUrls: { success: string | undefined; failure: string | undefined };
  /**
   * Per-payment `return_url` of the default merchant: `RETURN_URL_ALLOWED_HOSTS` (canonical `host[:port]` entries;
   * empty: every `return_url` refused), `RETURN_URL_SIGNING_SECRET`, and whether `http:` loopback URLs are accepted
   * (outside production mode only).
   */
  returnUrl: { allowedHosts: string[]; signingSecret: string | undefined; allowHttpLoopback: boolean };
  /** `API_KEYS`: the single merchant's keys; empty with merchant accounts (`merchants` holds every merchant's). */
  apiKeys: string[];
  /**
   * The merchant accounts: each with its API keys, Plural secrets, webhook endpoints and return hosts. Without
   * `MERCHANTS_FILE` / `MERCHANTS`: `default`, from `API_KEYS` and the `PLURAL_*` keys.
   */
  merchants: MerchantDirectory;
  fingerprintKey: string;
  plural: {
    /** `PLURAL_CALLBACK_SECRET_HEX`; unset with merchant accounts (each has its own). */
    callbackSecretHex: string | undefined;
    /** `PLURAL_WEBHOOK_SECRET`; unset with merchant accounts (each has its own). */
    webhookSecret: string | undefined;
    /** `PLURAL_BASE_URL`: set, `/readyz` reports whether Plural answers. */
    baseUrl: string | undefined;
    /** `PLURAL_CLIENT_ID` / `PLURAL_CLIENT_SECRET` (with the base URL): set, the customer routes call Plural. */
    credentials: { clientId: string; clientSecret: string } | undefined;
    /** `PLURAL_TIMEOUT_MS`: deadline of the API's own Plural calls. */
    timeoutMs: number | undefined;
  };
  /**
   * Set: the API serves the card vault to workers in other processes, on a listener of its own
   * (`CARD_VAULT_HOST`:`CARD_VAULT_PORT`), never on the public port.
   */
  cardVaultToken: string | undefined;
  cardVaultListen: { host: string; port: number };
  /** `API_METRICS_TOKEN`: set, `GET /metrics` answers only `Authorization: Bearer <token>`; unset, anyone. */
  metricsToken: string | undefined;
  /** `PAYLOAD_ENCRYPTION` / `PAYLOAD_KEYS`: the key ring of the Temporal client's payload codec, or explicitly off. */
  payloadEncryption: PayloadEncryptionConfig;
  bodyLimitBytes: number | undefined;
  timings: { startWaitMs?: number; actionWaitMs?: number };
  /** `API_MAX_AMOUNT`: largest amount of a new payment, minor units; unset: the API's default (₹10,00,000). */
  maxAmount: number | undefined;
  paymentDurations: Partial<PaymentDurations>;
  /** `PAYMENT_WEBHOOK_*`: the merchant webhooks' retry schedule, passed in each new payment's input. */
  paymentLimits: Partial<PaymentLimits>;
  /** `MERCHANT_WEBHOOK_URL` / `MERCHANT_WEBHOOK_SECRET`: a new payment names these endpoints (by id) in its input. */
  merchantWebhooks: MerchantWebhookConfig;
  logLevel: LogLevel;
}

const apiKeyList = z
  .string({ error: 'is required (comma-separated merchant API keys)' })
  .transform((value) => value.split(',').map((k) => k.trim()))
  .refine((keys) => keys.every((k) => k.length >= API_KEY_MIN_LENGTH && k.length <= 256 && !/\s/.test(k)), {
    error: `must be comma-separated keys of ${API_KEY_MIN_LENGTH}-256 characters each, without spaces`,
  });

/** `RETURN_URL_ALLOWED_HOSTS`: comma-separated hosts in the form the URL parser writes them (see return-url.ts). */
const returnUrlHostList = z
  .string()
  .transform((value) => value.split(',').map((h) => h.trim()))
  .refine((hosts) => hosts.every((h) => canonicalHost(h) === h), {
    error:
      'must be comma-separated hosts as browsers write them: lower case, IDN as punycode (xn--…), host or host:port ' +
      '(no scheme, path or default port 443), e.g. shop.example,pay.shop.example:8443',
  });

const apiEnvSchema = z.object({
  [K.TEMPORAL_ADDRESS]: hostPort(API_DEFAULTS.temporalAddress),
  [K.TEMPORAL_NAMESPACE]: temporalName(API_DEFAULTS.temporalNamespace),
  [K.TEMPORAL_TASK_QUEUE]: temporalName(API_DEFAULTS.taskQueue),
  ...temporalConnectionFields,
  [K.API_KEYS]: apiKeyList,
  [K.API_FINGERPRINT_KEY]: requiredString('the key of the request-fingerprint HMAC; keep it stable across restarts', {
    minLength: API_KEY_MIN_LENGTH,
    maxLength: 1024,
  }),
  [K.API_HOST]: listenHost(API_DEFAULTS.host),
  [K.API_PORT]: integer({ min: 0, max: 65_535, default: API_DEFAULTS.port, unit: '0 = ephemeral' }),
  [K.API_PUBLIC_URL]: httpUrl('the base URL browsers and Plural reach the API at').optional(),
  [K.MERCHANT_SUCCESS_URL]: pageUrl('the merchant page a successful payment returns the browser to').optional(),
  [K.MERCHANT_FAILURE_URL]: pageUrl('the merchant page a failed payment returns the browser to').optional(),
  [K.RETURN_URL_ALLOWED_HOSTS]: returnUrlHostList.optional(),
  [K.RETURN_URL_SIGNING_SECRET]: requiredString('the secret the return_url redirect is signed with', {
    minLength: RETURN_SIGNING_SECRET_MIN_LENGTH,
    maxLength: 1024,
  }).optional(),
  [K.API_BODY_LIMIT_BYTES]: optionalInteger({ min: 1024, max: 10 * 1024 * 1024, unit: 'bytes' }),
  [K.API_START_WAIT_MS]: optionalInteger({ min: 0, max: 60_000, unit: 'ms' }),
  [K.API_ACTION_WAIT_MS]: optionalInteger({ min: 0, max: 120_000, unit: 'ms' }),
  [K.API_MAX_AMOUNT]: optionalInteger({ min: 1, max: Number.MAX_SAFE_INTEGER, unit: 'minor units (paise)' }),
  [K.PLURAL_CALLBACK_SECRET_HEX]: hexSecret('the callback signing key issued by Plural, hex', 16),
  [K.PLURAL_WEBHOOK_SECRET]: requiredString('the webhook signing secret issued by Plural', { maxLength: 1024 }),
  [K.PLURAL_BASE_URL]: httpUrl('the Plural API origin, e.g. https://pluraluat.v2.pinepg.in').optional(),
  [K.PLURAL_CLIENT_ID]: requiredString('the merchant client id issued by Plural', { maxLength: 256 }).optional(),
  [K.PLURAL_CLIENT_SECRET]: requiredString('the merchant client secret issued by Plural', {
    maxLength: 1024,
  }).optional(),
  [K.PLURAL_TIMEOUT_MS]: optionalInteger({ min: 100, max: 60_000, unit: 'ms' }),
  [K.CARD_VAULT_TOKEN]: bearerToken('the bearer token of the card-vault endpoint', {
    minLength: CARD_VAULT_TOKEN_MIN_LENGTH,
    maxLength: 1024,
  }).optional(),
  [K.CARD_VAULT_HOST]: listenHost(API_DEFAULTS.cardVaultHost),
  [K.CARD_VAULT_PORT]: integer({ min: 0, max: 65_535, default: API_DEFAULTS.cardVaultPort, unit: '0 = ephemeral' }),
  [K.API_METRICS_TOKEN]: requiredString("the bearer token Prometheus sends to the API's /metrics", {
    minLength: METRICS_TOKEN_MIN_LENGTH,
    maxLength: 1024,
  }).optional(),
  [K.LOG_LEVEL]: logLevel,
  [K.PAYLOAD_ENCRYPTION]: payloadEncryptionField,
  [K.PAYLOAD_KEYS]: payloadKeysField.optional(),
  ...merchantWebhookFields,
});

/** An allowed return host needs a secret to sign the redirect with (a secret alone is fine: no return_url taken). */
const returnHostsNeedSecret: CrossCheck = (env) =>
  env[K.RETURN_URL_ALLOWED_HOSTS] !== undefined && env[K.RETURN_URL_SIGNING_SECRET] === undefined
    ? [
        {
          key: K.RETURN_URL_SIGNING_SECRET,
          message: 'is required when RETURN_URL_ALLOWED_HOSTS is set (the return redirect is signed with it)',
        },
      ]
    : [];

/**
 * The card vault's listener (served only with `CARD_VAULT_TOKEN`) is never the public port: the vault faces no network.
 */
const vaultPortOwn: CrossCheck = (env) => {
  if (!env[K.CARD_VAULT_TOKEN]?.trim()) return [];
  const port = (key: string, fallback: number): number => Number(env[key]?.trim() || fallback);
  const vault = port(K.CARD_VAULT_PORT, API_DEFAULTS.cardVaultPort);
  return vault !== 0 && vault === port(K.API_PORT, API_DEFAULTS.port)
    ? [
        {
          key: K.CARD_VAULT_PORT,
          message: "must differ from API_PORT (the card vault never shares the API's public port)",
        },
      ]
    : [];
};

/** Plural's credentials are useless to the API without the origin they are for. */
const credentialsNeedBaseUrl: CrossCheck = (env) =>
  env[K.PLURAL_CLIENT_ID] !== undefined && env[K.PLURAL_BASE_URL] === undefined
    ? [{ key: K.PLURAL_BASE_URL, message: 'is required when PLURAL_CLIENT_ID is set (the origin they are for)' }]
    : [];

/**
 * Reads and validates the API's configuration, payment durations included; in production mode, refuses development
 * values.
 * @throws {ConfigError} listing every bad or missing key, without their values.
 * @throws {ProductionConfigError} in production mode, naming each development value or missing secret in one line.
 */
export function loadApiConfig(env: Env): ApiConfig {
  const { issues, attempt } = collectIssues();
  const withMerchants = hasMerchantAccounts(env);
  const accounts = attempt(() => loadMerchantAccounts(env, 'api'));
  // With merchant accounts, each entry holds the keys and secrets of its merchant.
  const schema = withMerchants
    ? apiEnvSchema.extend({
        [K.API_KEYS]: apiKeyList.optional(),
        [K.PLURAL_CALLBACK_SECRET_HEX]: apiEnvSchema.shape[K.PLURAL_CALLBACK_SECRET_HEX].optional(),
        [K.PLURAL_WEBHOOK_SECRET]: apiEnvSchema.shape[K.PLURAL_WEBHOOK_SECRET].optional(),
      })
    : apiEnvSchema;
  const e = attempt(() =>
    parseEnv(schema, env, 'api', [
      payloadKeysRequired,
      bothOrNeither(K.PLURAL_CLIENT_ID, K.PLURAL_CLIENT_SECRET),
      credentialsNeedBaseUrl,
      returnHostsNeedSecret,
      vaultPortOwn,
      temporalConnectionChecks,
      merchantWebhookChecks,
    ]),
  );
  const durations = attempt(() => loadPaymentDurations(env, 'api'));
  const limits = attempt(() => loadPaymentLimits(env, 'api'));
  if (e === undefined || durations === undefined || limits === undefined || (withMerchants && accounts === undefined))
    throw new ConfigError('api', issues);
  // The single merchant's endpoint from MERCHANT_WEBHOOK_URL / _SECRET; merchant accounts list their own.
  const envWebhooks = loadMerchantWebhooks(e);
  const merchants = new MerchantDirectory(
    accounts ?? [
      defaultMerchant({
        apiKeys: e.API_KEYS ?? [],
        plural: {
          baseUrl: e.PLURAL_BASE_URL,
          credentials:
            e.PLURAL_CLIENT_ID !== undefined && e.PLURAL_CLIENT_SECRET !== undefined
              ? { clientId: e.PLURAL_CLIENT_ID, clientSecret: e.PLURAL_CLIENT_SECRET }
              : undefined,
          callbackSecretHex: e.PLURAL_CALLBACK_SECRET_HEX,
          webhookSecret: e.PLURAL_WEBHOOK_SECRET,
        },
        returnUrlHosts: (e.RETURN_URL_ALLOWED_HOSTS ?? []).filter((h) => h !== ''),
        returnUrlSigningSecret: e.RETURN_URL_SIGNING_SECRET,
        webhookEndpoints: envWebhooks.endpoints[DEFAULT_MERCHANT_ID] ?? [],
      }),
    ],
    accounts === undefined ? 'single-merchant keys' : env[K.MERCHANTS_FILE]?.trim() ? K.MERCHANTS_FILE : K.MERCHANTS,
  );
  refuseInProduction(
    env,
    'api',
    {
      secrets: [
        K.API_KEYS,
        K.API_FINGERPRINT_KEY,
        K.PLURAL_CALLBACK_SECRET_HEX,
        K.PLURAL_WEBHOOK_SECRET,
        K.PLURAL_CLIENT_ID,
        K.PLURAL_CLIENT_SECRET,
        K.CARD_VAULT_TOKEN,
        K.API_METRICS_TOKEN,
        K.PAYLOAD_KEYS,
        K.RETURN_URL_SIGNING_SECRET,
        K.MERCHANT_WEBHOOK_SECRET,
      ],
      required: [
        {
          key: K.CARD_VAULT_TOKEN,
          why: 'without it cards stay in the API process, which no worker of another process can reach',
        },
        {
          key: K.API_METRICS_TOKEN,
          why: "without it the API's /metrics answers whoever reaches the API, with every merchant's request counts",
        },
        {
          key: K.API_PUBLIC_URL,
          why: 'without it the callback URL sent to Plural with every order is the listen address, which Plural cannot reach',
        },
      ],
      payloadEncryption: true,
    },
    [
      ...merchantProductionIssues(env, merchants.source, merchants.merchants),
      ...plaintextWebhookIssues(env, merchants.source, merchants.merchants),
    ],
  );
  const timings: ApiConfig['timings'] = {};
  if (e.API_START_WAIT_MS !== undefined) timings.startWaitMs = e.API_START_WAIT_MS;
  if (e.API_ACTION_WAIT_MS !== undefined) timings.actionWaitMs = e.API_ACTION_WAIT_MS;
  return {
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      ...temporalConnectionSecurity(env),
    },
    listen: { host: e.API_HOST, port: e.API_PORT },
    publicUrl: e.API_PUBLIC_URL,
    returnUrls: { success: e.MERCHANT_SUCCESS_URL, failure: e.MERCHANT_FAILURE_URL },
    returnUrl: {
      allowedHosts: (e.RETURN_URL_ALLOWED_HOSTS ?? []).filter((h) => h !== ''),
      signingSecret: e.RETURN_URL_SIGNING_SECRET,
      allowHttpLoopback: !isProduction(env),
    },
    apiKeys: e.API_KEYS ?? [],
    merchants,
    fingerprintKey: e.API_FINGERPRINT_KEY,
    plural: {
      callbackSecretHex: e.PLURAL_CALLBACK_SECRET_HEX,
      webhookSecret: e.PLURAL_WEBHOOK_SECRET,
      baseUrl: e.PLURAL_BASE_URL,
      credentials:
        e.PLURAL_CLIENT_ID !== undefined && e.PLURAL_CLIENT_SECRET !== undefined
          ? { clientId: e.PLURAL_CLIENT_ID, clientSecret: e.PLURAL_CLIENT_SECRET }
          : undefined,
      timeoutMs: e.PLURAL_TIMEOUT_MS,
    },
    cardVaultToken: e.CARD_VAULT_TOKEN,
    cardVaultListen: { host: e.CARD_VAULT_HOST, port: e.CARD_VAULT_PORT },
    metricsToken: e.API_METRICS_TOKEN,
    payloadEncryption: toPayloadEncryption(e.PAYLOAD_ENCRYPTION, e.PAYLOAD_KEYS),
    bodyLimitBytes: e.API_BODY_LIMIT_BYTES,
    timings,
    maxAmount: e.API_MAX_AMOUNT,
    paymentDurations: durations,
    paymentLimits: limits,
    merchantWebhooks: merchantWebhookConfig(merchants),
    logLevel: e.LOG_LEVEL,
  };
}

/** The API's public URLs once its port is known. */
export interface ApiUrls {
  /** Base URL without a trailing slash. */
  publicUrl: string;
  /** The URL handed to Plural for the browser's return: `<publicUrl>/v1/callbacks/plural`. */
  callbackUrl: string;
  returnUrls: { success: string; failure: string };
}

/**
 * Fills the URL defaults: `API_PUBLIC_URL` from the listen address and the bound port (a wildcard host becomes
 * loopback), the merchant pages from the public URL.
 */
export function resolveApiUrls(config: ApiConfig, boundPort: number): ApiUrls {
  let host = config.listen.host;
  if (host === '0.0.0.0') host = '127.0.0.1';
  else if (host === '::' || host === '[::]') host = '[::1]';
  else if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  const publicUrl = config.publicUrl ?? `http://${host}:${boundPort}`;
  const returnPage = `${publicUrl}${API_DEFAULTS.returnPath}`;
  return {
    publicUrl,
    callbackUrl: `${publicUrl}/v1/callbacks/plural`,
    returnUrls: { success: config.returnUrls.success ?? returnPage, failure: config.returnUrls.failure ?? returnPage },
  };
}

/** The secret values of an API configuration, for the logger's `knownSecrets`. */
export function apiSecrets(config: ApiConfig): string[] {
  const secrets = [...config.merchants.secrets(), config.fingerprintKey];
  if (config.cardVaultToken !== undefined) secrets.push(config.cardVaultToken);
  if (config.metricsToken !== undefined) secrets.push(config.metricsToken);
  if (config.returnUrl.signingSecret !== undefined) secrets.push(config.returnUrl.signingSecret);
  secrets.push(...payloadKeySecrets(config.payloadEncryption));
  secrets.push(...temporalConnectionSecrets(config.temporal));
  secrets.push(...merchantWebhookSecrets(config.merchantWebhooks));
  return secrets;
}
