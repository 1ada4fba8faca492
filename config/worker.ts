/** The worker process's configuration: read from the environment once, at start-up. */
import { z } from 'zod';
import { DEFAULT_MERCHANT_ID, PAYMENT_TASK_QUEUE } from '../workflows/definitions';
import type { LogLevel } from '../observability/logger';
import { CONFIG_KEYS as K } from './keys';
import {
  hostPort,
  httpUrl,
  integer,
  listenHost,
  logLevel,
  optionalInteger,
  requiredString,
  bearerToken,
  temporalName,
} from './fields';
import { bothOrNeither, ConfigError, parseEnv } from './load';
import type { ConfigIssue } from './load';
import {
  defaultMerchant,
  hasMerchantAccounts,
  loadMerchantAccounts,
  merchantProductionIssues,
  MerchantDirectory,
} from './merchants';
import { refuseInProduction } from './production';
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
import type { Env } from './load';
import {
  loadMerchantWebhooks,
  merchantWebhookChecks,
  merchantWebhookFields,
  plaintextWebhookIssues,
  merchantWebhookSecrets,
} from './merchant-webhooks';
import type { MerchantWebhookConfig } from './merchant-webhooks';
import { merchantWebhookConfig } from './merchant-webhooks';

/** Defaults of the worker's optional keys (documented in config/README.md). */
export const WORKER_DEFAULTS = {
  temporalAddress: '127.0.0.1:7233',
  temporalNamespace: 'default',
  taskQueue: PAYMENT_TASK_QUEUE,
  pluralTimeoutMs: 15_000,
  metricsHost: '127.0.0.1',
  metricsPort: 9464,
  shutdownGraceMs: 10_000,
  logLevel: 'info',
  maxConcurrentActivities: 100,
} as const;

/**
 * The longest `PLURAL_TIMEOUT_MS`: each activity attempt has 30 s (`startToCloseTimeout`, workflows/steps.ts), and a
 * call must end well inside it — a longer one outlives its attempt, and Temporal starts the next attempt (the same
 * Plural call again) while the first still runs.
 */
export const PLURAL_TIMEOUT_MAX_MS = 20_000;

/** Minimum length of the card-vault bearer token (e.g. `openssl rand -hex 32` gives 64). */
export const CARD_VAULT_TOKEN_MIN_LENGTH = 32;

/** Where the card hand-off lives: in this process, or in the API's vault server (cross-process). */
export type CardVaultConfig = { kind: 'memory' } | { kind: 'http'; url: string; token: string };

/** Validated worker configuration. */
export interface WorkerConfig {
  /** Where Temporal is, and (`TEMPORAL_TLS*`, `TEMPORAL_API_KEY`) how to authenticate to it. */
  temporal: { address: string; namespace: string; taskQueue: string } & TemporalConnectionSecurity;
  /** `PLURAL_BASE_URL` (required unless every merchant names its own) and the deadline of each Plural call. */
  plural: { baseUrl: string | undefined; timeoutMs: number };
  /**
   * The merchant accounts whose payments this worker runs: each with its Plural origin and credentials (a client, and
   * token cache, per merchant). Without `MERCHANTS_FILE` / `MERCHANTS`: `default`, from `PLURAL_CLIENT_ID/SECRET`.
   */
  merchants: MerchantDirectory;
  cardVault: CardVaultConfig;
  /** `PAYLOAD_ENCRYPTION` / `PAYLOAD_KEYS`: the payload codec's key ring, or explicitly off. */
  payloadEncryption: PayloadEncryptionConfig;
  /** Prometheus scrape endpoint of Temporal's runtime metrics; `port: 0` turns it off. */
  metrics: { host: string; port: number };
  logLevel: LogLevel;
  /** `MERCHANT_WEBHOOK_URL` / `MERCHANT_WEBHOOK_SECRET`: where the merchant webhook activity delivers. */
  merchantWebhooks: MerchantWebhookConfig;
  worker: {
    maxConcurrentActivities: number;
    /** Unset: the SDK's default (sized from available memory). */
    maxCachedWorkflows: number | undefined;
    /** Prebuilt workflow bundle (from `bundleWorkflowCode`); unset: bundle `workflows/` at start-up. */
    workflowBundlePath: string | undefined;
    shutdownGraceMs: number;
  };
}

const workerEnvSchema = z.object({
  [K.TEMPORAL_ADDRESS]: hostPort(WORKER_DEFAULTS.temporalAddress),
  [K.TEMPORAL_NAMESPACE]: temporalName(WORKER_DEFAULTS.temporalNamespace),
  [K.TEMPORAL_TASK_QUEUE]: temporalName(WORKER_DEFAULTS.taskQueue),
  ...temporalConnectionFields,
  [K.PLURAL_BASE_URL]: httpUrl('the Plural API origin, e.g. https://pluraluat.v2.pinepg.in'),
  [K.PLURAL_CLIENT_ID]: requiredString('the merchant client id issued by Plural', { maxLength: 256 }),
  [K.PLURAL_CLIENT_SECRET]: requiredString('the merchant client secret issued by Plural', { maxLength: 1024 }),
  [K.PLURAL_TIMEOUT_MS]: integer({
    min: 100,
    max: PLURAL_TIMEOUT_MAX_MS,
    default: WORKER_DEFAULTS.pluralTimeoutMs,
    unit: 'ms',
  }),
  [K.CARD_VAULT_URL]: httpUrl("the API's card-vault listener, e.g. http://api:8082").optional(),
  [K.CARD_VAULT_TOKEN]: bearerToken('the bearer token of the card-vault endpoint', {
    minLength: CARD_VAULT_TOKEN_MIN_LENGTH,
    maxLength: 1024,
  }).optional(),
  [K.WORKER_METRICS_HOST]: listenHost(WORKER_DEFAULTS.metricsHost),
  [K.WORKER_METRICS_PORT]: integer({ min: 0, max: 65_535, default: WORKER_DEFAULTS.metricsPort, unit: '0 disables' }),
  [K.WORKER_SHUTDOWN_GRACE_MS]: integer({
    min: 0,
    max: 600_000,
    default: WORKER_DEFAULTS.shutdownGraceMs,
    unit: 'ms',
  }),
  [K.WORKFLOW_BUNDLE_PATH]: z.string().optional(),
  [K.LOG_LEVEL]: logLevel,
  [K.MAX_CONCURRENT_ACTIVITIES]: integer({ min: 1, max: 10_000, default: WORKER_DEFAULTS.maxConcurrentActivities }),
  [K.MAX_CACHED_WORKFLOWS]: optionalInteger({ min: 0, max: 1_000_000 }),
  [K.PAYLOAD_ENCRYPTION]: payloadEncryptionField,
  [K.PAYLOAD_KEYS]: payloadKeysField.optional(),
  ...merchantWebhookFields,
});

/**
 * Reads and validates the worker's configuration; in production mode, refuses development values.
 * @throws {ConfigError} listing every bad or missing key, without their values.
 * @throws {ProductionConfigError} in production mode, naming each development value or missing secret in one line.
 */
export function loadWorkerConfig(env: Env): WorkerConfig {
  const withMerchants = hasMerchantAccounts(env);
  const issues: ConfigIssue[] = [];
  let accounts: ReturnType<typeof loadMerchantAccounts>;
  try {
    accounts = loadMerchantAccounts(env, 'worker');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues);
  }
  // With merchant accounts, each entry holds its credentials (and may name its own Plural origin).
  const schema = withMerchants
    ? workerEnvSchema.extend({
        [K.PLURAL_BASE_URL]: workerEnvSchema.shape[K.PLURAL_BASE_URL].optional(),
        [K.PLURAL_CLIENT_ID]: workerEnvSchema.shape[K.PLURAL_CLIENT_ID].optional(),
        [K.PLURAL_CLIENT_SECRET]: workerEnvSchema.shape[K.PLURAL_CLIENT_SECRET].optional(),
      })
    : workerEnvSchema;
  let e: z.output<typeof schema> | undefined;
  try {
    // Both or neither: a URL without a token (or the reverse) is a half-configured vault, not the in-memory one.
    e = parseEnv(schema, env, 'worker', [
      bothOrNeither(K.CARD_VAULT_URL, K.CARD_VAULT_TOKEN),
      payloadKeysRequired,
      temporalConnectionChecks,
      merchantWebhookChecks,
    ]);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // The merchant setting's own "must be unset" issues already name the single-merchant keys.
    issues.push(...err.issues.filter((i) => !issues.some((j) => j.key === i.key)));
  }
  if (accounts !== undefined && e !== undefined && e.PLURAL_BASE_URL === undefined) {
    for (const m of accounts.filter((a) => a.plural.baseUrl === undefined)) {
      issues.push({
        key: K.PLURAL_BASE_URL,
        message: `is required: merchant ${m.id} names no plural.baseUrl of its own (the Plural API origin)`,
      });
    }
  }
  if (e === undefined || issues.length > 0) throw new ConfigError('worker', issues);
  const merchants = new MerchantDirectory(
    accounts?.map((m) => ({ ...m, plural: { ...m.plural, baseUrl: m.plural.baseUrl ?? e.PLURAL_BASE_URL } })) ?? [
      defaultMerchant({
        plural: {
          baseUrl: e.PLURAL_BASE_URL,
          credentials: { clientId: e.PLURAL_CLIENT_ID!, clientSecret: e.PLURAL_CLIENT_SECRET! },
        },
        // The single merchant's endpoint from MERCHANT_WEBHOOK_URL / _SECRET; merchant accounts list their own.
        webhookEndpoints: loadMerchantWebhooks(e).endpoints[DEFAULT_MERCHANT_ID] ?? [],
      }),
    ],
    accounts === undefined ? 'single-merchant keys' : env[K.MERCHANTS_FILE]?.trim() ? K.MERCHANTS_FILE : K.MERCHANTS,
  );
  refuseInProduction(
    env,
    'worker',
    {
      secrets: [
        K.PLURAL_CLIENT_ID,
        K.PLURAL_CLIENT_SECRET,
        K.CARD_VAULT_TOKEN,
        K.PAYLOAD_KEYS,
        K.MERCHANT_WEBHOOK_SECRET,
      ],
      required: [
        { key: K.CARD_VAULT_URL, why: "the in-process card vault works only with the API in the worker's process" },
        { key: K.CARD_VAULT_TOKEN, why: 'the card-vault endpoint needs it' },
      ],
      payloadEncryption: true,
    },
    [
      ...merchantProductionIssues(env, merchants.source, merchants.merchants),
      ...plaintextWebhookIssues(env, merchants.source, merchants.merchants),
    ],
  );
  return {
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      ...temporalConnectionSecurity(env),
    },
    plural: { baseUrl: e.PLURAL_BASE_URL, timeoutMs: e.PLURAL_TIMEOUT_MS },
    merchants,
    cardVault:
      e.CARD_VAULT_URL !== undefined && e.CARD_VAULT_TOKEN !== undefined
        ? { kind: 'http', url: e.CARD_VAULT_URL, token: e.CARD_VAULT_TOKEN }
        : { kind: 'memory' },
    payloadEncryption: toPayloadEncryption(e.PAYLOAD_ENCRYPTION, e.PAYLOAD_KEYS),
    metrics: { host: e.WORKER_METRICS_HOST, port: e.WORKER_METRICS_PORT },
    logLevel: e.LOG_LEVEL,
    merchantWebhooks: merchantWebhookConfig(merchants),
    worker: {
      maxConcurrentActivities: e.MAX_CONCURRENT_ACTIVITIES,
      maxCachedWorkflows: e.MAX_CACHED_WORKFLOWS,
      workflowBundlePath: e.WORKFLOW_BUNDLE_PATH,
      shutdownGraceMs: e.WORKER_SHUTDOWN_GRACE_MS,
    },
  };
}

/** The secret values of a worker configuration, for the logger's `knownSecrets`. */
export function workerSecrets(config: WorkerConfig): string[] {
  const secrets = config.merchants.secrets();
  if (config.cardVault.kind === 'http') secrets.push(config.cardVault.token);
  secrets.push(...payloadKeySecrets(config.payloadEncryption));
  secrets.push(...temporalConnectionSecrets(config.temporal));
  secrets.push(...merchantWebhookSecrets(config.merchantWebhooks));
  return secrets;
}
