/** The smallest environment `loadApiConfig` takes (test keys, none of them a published dev value). */
export const MINIMAL_API_ENV = {
  PAYLOAD_KEYS: `api-1:${Buffer.alloc(32, 9).toString('base64')}`,
  API_KEYS: 'sk_test_aaaaaaaaaaaaaaaa',
  API_FINGERPRINT_KEY: 'fingerprint-key-0123456789',
  PLURAL_CALLBACK_SECRET_HEX: '73616e64626f782d63616c6c6261636b2d736563726574',
  PLURAL_WEBHOOK_SECRET: 'webhook-secret-value',
} as const;

/** The smallest environment `loadWorkerConfig` takes. */
export const MINIMAL_WORKER_ENV = {
  PLURAL_BASE_URL: 'https://pluraluat.v2.pinepg.in',
  PLURAL_CLIENT_ID: 'merchant-1',
  PLURAL_CLIENT_SECRET: 'client-secret-value',
  PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
} as const;
