/**
 * Where a merchant's webhooks go: a small directory the worker asks by merchant id (and endpoint id), so workflow
 * history holds ids only, never a URL or a secret. For now it is fed from the environment for the `default` merchant
 * (`MERCHANT_WEBHOOK_URL` / `MERCHANT_WEBHOOK_SECRET`, config/merchant-webhooks.ts); merchant accounts can feed it
 * instead with the same interface.
 */

/** One of a merchant's webhook endpoints. */
export interface MerchantWebhookEndpoint {
  /** Stable id the workflow names the endpoint by (`[A-Za-z0-9_-]`, at most 64 characters). */
  id: string;
  /** http(s) URL the events are POSTed to. */
  url: string;
  /** Signing secret, `whsec_<base64>` (Standard Webhooks). */
  secret: string;
}

/** Looks a merchant's webhook endpoints up. */
export interface MerchantWebhookDirectory {
  /** Every endpoint of `merchantId` (none: the merchant's payments send no webhooks). */
  merchantWebhookEndpoints(merchantId: string): readonly MerchantWebhookEndpoint[];
  /** One endpoint by id, or undefined when it is not (or no longer) configured. */
  merchantWebhookEndpoint(merchantId: string, endpointId: string): MerchantWebhookEndpoint | undefined;
}

/** A directory over a fixed map of merchant id → endpoints. */
export function staticWebhookDirectory(
  endpoints: Readonly<Record<string, readonly MerchantWebhookEndpoint[]>>,
): MerchantWebhookDirectory {
  const of = (merchantId: string): readonly MerchantWebhookEndpoint[] =>
    Object.prototype.hasOwnProperty.call(endpoints, merchantId) ? (endpoints[merchantId] ?? []) : [];
  return {
    merchantWebhookEndpoints: of,
    merchantWebhookEndpoint: (merchantId, endpointId) => of(merchantId).find((e) => e.id === endpointId),
  };
}
