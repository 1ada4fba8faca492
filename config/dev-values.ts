/**
 * Every secret value this repository publishes for development: the dev stack's fixed keys, the Plural sandbox's
 * default credentials, and the defaults `docker-compose.yml` used to carry. One list, so production mode
 * (`config/production.ts`) refuses each of them wherever it appears.
 */

/** API key the dev stack accepts when `API_KEYS` is unset. Development only: printed at start-up. */
export const DEV_API_KEY = 'sk_dev_local_only_0123456789';
/** Fingerprint key when `API_FINGERPRINT_KEY` is unset; fixed so idempotent create survives a restart. */
export const DEV_FINGERPRINT_KEY = 'dev-fingerprint-key-local-only';
/**
 * Return-signing secret of the dev stack when `RETURN_URL_SIGNING_SECRET` is unset: the key merchants' return pages
 * verify the callback's redirect with (README, Return URLs). Development only.
 */
export const DEV_RETURN_URL_SIGNING_SECRET = 'return_signing_dev_local_only_0123456789';
/** Bearer token of the dev stack's codec endpoint when `CODEC_SERVER_TOKENS` is unset. Printed at start-up. */
export const DEV_CODEC_TOKEN = 'codec_dev_local_only_0123456789abcdef';

/**
 * Signing secret of the dev stack's merchant webhook endpoint (its receiver at `/dev/merchant-webhooks`) when
 * `MERCHANT_WEBHOOK_SECRET` is unset: base64 of "dev-merchant-webhook-secret-local-only".
 */
export const DEV_MERCHANT_WEBHOOK_SECRET = 'whsec_ZGV2LW1lcmNoYW50LXdlYmhvb2stc2VjcmV0LWxvY2FsLW9ubHk=';

/**
 * The Plural sandbox's default credentials (`DEFAULT_CREDENTIALS` in plural-sandbox/options.ts, pinned equal by
 * test/config/production.test.ts): published in its README, so anyone can sign a callback or webhook with them.
 */
export const SANDBOX_PUBLISHED_CREDENTIALS = {
  clientId: 'sandbox-client-id',
  clientSecret: 'sandbox-client-secret',
  // hex of "sandbox-callback-secret"
  callbackSecretHex: '73616e64626f782d63616c6c6261636b2d736563726574',
  webhookSecret: 'sandbox-webhook-secret',
} as const;

/** A published value and what it is, for the refusal message (never the value itself). */
export interface KnownDevValue {
  readonly value: string;
  readonly what: string;
}

/** Every published development value. Compared case-sensitively after trimming, as the config loaders read values. */
export const KNOWN_DEV_VALUES: readonly KnownDevValue[] = [
  { value: SANDBOX_PUBLISHED_CREDENTIALS.clientId, what: "the Plural sandbox's published client id" },
  { value: SANDBOX_PUBLISHED_CREDENTIALS.clientSecret, what: "the Plural sandbox's published client secret" },
  { value: SANDBOX_PUBLISHED_CREDENTIALS.callbackSecretHex, what: "the Plural sandbox's published callback secret" },
  { value: SANDBOX_PUBLISHED_CREDENTIALS.webhookSecret, what: "the Plural sandbox's published webhook secret" },
  { value: DEV_API_KEY, what: "the dev stack's API key" },
  { value: DEV_FINGERPRINT_KEY, what: "the dev stack's fingerprint key" },
  { value: DEV_CODEC_TOKEN, what: "the dev stack's codec token" },
  { value: DEV_RETURN_URL_SIGNING_SECRET, what: "the dev stack's return-signing secret" },
  { value: DEV_MERCHANT_WEBHOOK_SECRET, what: "the dev stack's merchant webhook secret" },
  // Defaults of docker-compose.yml until it required every secret from .env: an old .env or shell may still hold them.
  { value: 'dev-api-key-change-me-0001', what: "docker-compose.yml's former development API key" },
  { value: 'dev-fingerprint-key-change-me', what: "docker-compose.yml's former development fingerprint key" },
  {
    value: 'dev-card-vault-token-change-me-0123456789',
    what: "docker-compose.yml's former development card-vault token",
  },
];

/**
 * Ids of the payload keys the dev stack makes (`dev-ephemeral` for one run, `dev-YYYYMMDD` kept in
 * `<DEV_DATA_DIR>/payload-keys`): such a key lives in a developer's checkout, not in a secret manager.
 */
export const DEV_PAYLOAD_KEY_ID = /^dev-(?:ephemeral|\d{8})$/;

/** What `value` is, when it is a published development value. */
export function knownDevValue(value: string): KnownDevValue | undefined {
  const v = value.trim();
  return KNOWN_DEV_VALUES.find((k) => k.value === v);
}
