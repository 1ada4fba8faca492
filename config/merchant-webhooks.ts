/**
 * The `default` merchant's webhook endpoint from the environment: `MERCHANT_WEBHOOK_URL` and `MERCHANT_WEBHOOK_SECRET`
 * (both or neither; neither: its payments send no webhooks). The API reads it to name the endpoint in a new payment's
 * input (its id only); the worker reads it to deliver (URL and secret, looked up by id). Merchant accounts can feed
 * the same directory (`merchant-webhooks/endpoints.ts`) in its place.
 */
import { z } from 'zod';
import type { MerchantWebhookEndpoint } from '../merchant-webhooks';
import { staticWebhookDirectory, WEBHOOK_SECRET_PATTERN } from '../merchant-webhooks';
import type { MerchantWebhookDirectory } from '../merchant-webhooks';
import { DEFAULT_MERCHANT_ID } from '../workflows/definitions';
import { CONFIG_KEYS as K } from './keys';
import { pageUrl } from './fields';
import { bothOrNeither } from './load';
import type { CrossCheck } from './load';

/** The id of the endpoint `MERCHANT_WEBHOOK_URL` configures. */
export const ENV_WEBHOOK_ENDPOINT_ID = 'default';

/** Schema fields of the two keys, for a process's own schema. */
export const merchantWebhookFields = {
  [K.MERCHANT_WEBHOOK_URL]: pageUrl(
    "the merchant's webhook endpoint, e.g. https://merchant.example/webhooks",
  ).optional(),
  [K.MERCHANT_WEBHOOK_SECRET]: z
    .string()
    .trim()
    .regex(WEBHOOK_SECRET_PATTERN, {
      error: 'must be whsec_ followed by standard base64 of 24 to 64 random bytes (openssl rand -base64 32)',
    })
    .optional(),
};

export const merchantWebhookChecks: CrossCheck = bothOrNeither(K.MERCHANT_WEBHOOK_URL, K.MERCHANT_WEBHOOK_SECRET);

/** The merchants' webhook endpoints, as the directory and the config report them. */
export interface MerchantWebhookConfig {
  /** Endpoints by merchant id (today only `default`, from the environment). */
  endpoints: Record<string, MerchantWebhookEndpoint[]>;
  directory: MerchantWebhookDirectory;
}

/** Builds the config from the parsed keys. */
export function loadMerchantWebhooks(e: {
  [K.MERCHANT_WEBHOOK_URL]?: string | undefined;
  [K.MERCHANT_WEBHOOK_SECRET]?: string | undefined;
}): MerchantWebhookConfig {
  const url = e[K.MERCHANT_WEBHOOK_URL];
  const secret = e[K.MERCHANT_WEBHOOK_SECRET];
  const endpoints: Record<string, MerchantWebhookEndpoint[]> = {
    [DEFAULT_MERCHANT_ID]:
      url !== undefined && secret !== undefined ? [{ id: ENV_WEBHOOK_ENDPOINT_ID, url, secret }] : [],
  };
  return { endpoints, directory: staticWebhookDirectory(endpoints) };
}

/**
 * The merchant accounts' endpoints as the webhook config: the directory is the accounts' own (the single merchant's
 * holds the endpoint of `MERCHANT_WEBHOOK_URL`, see {@link loadMerchantWebhooks}).
 */
export function merchantWebhookConfig(merchants: {
  readonly ids: readonly string[];
  merchantWebhookEndpoints(merchantId: string): readonly MerchantWebhookEndpoint[];
}): MerchantWebhookConfig {
  const endpoints: Record<string, MerchantWebhookEndpoint[]> = {};
  for (const id of merchants.ids) endpoints[id] = [...merchants.merchantWebhookEndpoints(id)];
  return { endpoints, directory: staticWebhookDirectory(endpoints) };
}

/** The endpoints' secrets, for the logger's `knownSecrets`. */
export function merchantWebhookSecrets(config: MerchantWebhookConfig): string[] {
  return Object.values(config.endpoints).flatMap((list) => list.map((e) => e.secret));
}
