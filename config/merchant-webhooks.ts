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
import type { ConfigIssue, CrossCheck, Env } from './load';
import { isProduction } from './production';

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
  [K.MERCHANT_WEBHOOK_ALLOW_HTTP]: z
    .enum(['true', 'false'], { error: 'must be true or false (true: http:// endpoints allowed in production)' })
    .optional(),
};

export const merchantWebhookChecks: CrossCheck = bothOrNeither(K.MERCHANT_WEBHOOK_URL, K.MERCHANT_WEBHOOK_SECRET);

/**
 * Production mode's refusal of merchant webhook endpoints over plain `http:` (payment events unencrypted on the way:
 * signed, so not forgeable, but readable), unless `MERCHANT_WEBHOOK_ALLOW_HTTP=true` says the network between the
 * worker and the merchant is private. Names each endpoint (`MERCHANT_WEBHOOK_URL`, or the merchant account's entry),
 * never its URL. Empty outside production mode.
 */
export function plaintextWebhookIssues(
  env: Env,
  source: string,
  merchants: readonly { id: string; webhookEndpoints: readonly MerchantWebhookEndpoint[] }[],
): ConfigIssue[] {
  if (!isProduction(env) || env[K.MERCHANT_WEBHOOK_ALLOW_HTTP]?.trim() === 'true') return [];
  const why = 'sends payment events unencrypted; use https (or MERCHANT_WEBHOOK_ALLOW_HTTP=true on a private network)';
  const issues: ConfigIssue[] = [];
  for (const m of merchants) {
    m.webhookEndpoints.forEach((e, i) => {
      if (!e.url.toLowerCase().startsWith('http:')) return;
      issues.push(
        e.id === ENV_WEBHOOK_ENDPOINT_ID && source === 'single-merchant keys'
          ? { key: K.MERCHANT_WEBHOOK_URL, message: `is an http:// URL, which ${why}` }
          : { key: source, message: `merchant ${m.id}: webhookEndpoints[${i}].url is an http:// URL, which ${why}` },
      );
    });
  }
  return issues;
}

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
