/** Configuration: one zod schema per process, read from the environment once at start-up. */
export { CONFIG_KEYS, SECRET_KEYS } from './keys';
export type { ConfigKey } from './keys';
export { bothOrNeither, collectIssues, ConfigError, parseEnv } from './load';
export type { ConfigIssue, CrossCheck, Env } from './load';
export { CARD_VAULT_TOKEN_MIN_LENGTH, loadWorkerConfig, WORKER_DEFAULTS, workerSecrets } from './worker';
export type { CardVaultConfig, WorkerConfig } from './worker';
export { loadPaymentDurations, loadPaymentLimits } from './payment';
export {
  ENV_WEBHOOK_ENDPOINT_ID,
  loadMerchantWebhooks,
  merchantWebhookChecks,
  merchantWebhookFields,
  merchantWebhookSecrets,
} from './merchant-webhooks';
export type { MerchantWebhookConfig } from './merchant-webhooks';
export * as fields from './fields';
export { API_DEFAULTS, API_KEY_MIN_LENGTH, apiSecrets, loadApiConfig, resolveApiUrls } from './api';
export type { ApiConfig, ApiUrls } from './api';
export {
  PAYLOAD_KEY_BYTES,
  payloadEncryptionField,
  payloadKeySecrets,
  payloadKeysField,
  payloadKeysRequired,
} from './payload-encryption';
export type { ConfiguredPayloadKey, PayloadEncryptionConfig } from './payload-encryption';
export {
  CODEC_SERVER_DEFAULTS,
  CODEC_TOKEN_MIN_LENGTH,
  codecServerSecrets,
  loadCodecServerConfig,
  originList,
} from './codec-server';
export type { CodecServerConfig } from './codec-server';
export {
  DEV_API_KEY,
  DEV_CODEC_TOKEN,
  DEV_FINGERPRINT_KEY,
  DEV_RETURN_URL_SIGNING_SECRET,
  DEV_MERCHANT_WEBHOOK_SECRET,
  DEV_PAYLOAD_KEY_ID,
  KNOWN_DEV_VALUES,
  knownDevValue,
  SANDBOX_PUBLISHED_CREDENTIALS,
} from './dev-values';
export type { KnownDevValue } from './dev-values';
export {
  isProduction,
  PRODUCTION_MODE,
  ProductionConfigError,
  productionIssues,
  publishedIn,
  refuseInProduction,
} from './production';
export type { ProductionRules } from './production';
export {
  TEMPORAL_CONNECTION_KEYS,
  temporalConnectionOptions,
  temporalConnectionSecrets,
  temporalConnectionSecurity,
} from './temporal-connection';
export type { TemporalConnectionSecurity } from './temporal-connection';
export {
  DEFAULT_MERCHANT_ID,
  defaultMerchant,
  hasMerchantAccounts,
  loadMerchantAccounts,
  MerchantDirectory,
  merchantProductionIssues,
  publishedValueIssues,
  MERCHANT_ID_PATTERN,
  SINGLE_MERCHANT_KEYS,
} from './merchants';
export type { MerchantAccount, MerchantPluralAccount, MerchantSource, MerchantWebhookEndpoint } from './merchants';
