/**
 * What `createApp` is given: the ports it talks to (the payment engine, the card vault, the gateway's customer vault,
 * the idempotency store), the merchants and their secrets, and the settings, explicitly (never from `process.env`).
 * The route groups read them through their `RouteContext`.
 */
import type { MerchantAccount } from '../config/merchants';
import type { MerchantWebhookDirectory } from '../merchant-webhooks';
import type { AppLogger } from '../observability';
import type { PaymentDurations, PaymentLimits } from '../workflows/definitions';
import type { CustomerDirectory } from './customers';
import type { CardVaultPort, PaymentEngine } from './engine';
import type { GatewayProbe } from './gateway-probe';
import type { IdempotencyStore } from './idempotency';
import type { ApiMetrics } from './metrics';
import type { ReturnLinks } from './return-link';
import type { ReturnUrlPolicy } from './return-url';

/** How long the API waits for the engine before answering; every wait is bounded. */
export interface ApiTimings {
  /** A create waits this long for the payment to become actionable, then answers 202. @default 8000 */
  startWaitMs: number;
  /** An OTP, capture, cancel or resend waits this long for its Update's answer, then answers 202. @default 15000 */
  actionWaitMs: number;
  /** `/readyz` gives up on the engine after this long. @default 2000 */
  readyTimeoutMs: number;
}

export const DEFAULT_TIMINGS: Readonly<ApiTimings> = Object.freeze({
  startWaitMs: 8_000,
  actionWaitMs: 15_000,
  readyTimeoutMs: 2_000,
});

/** Everything {@link createApp} needs; configuration arrives here explicitly, never from `process.env`. */
export interface ApiOptions {
  /** The payment engine of the default merchant (and `/readyz`'s ping). */
  engine: PaymentEngine;
  /**
   * The payment engine of each merchant (`createTemporalEngine({ merchantId })`: its payments only); required for any
   * merchant other than `default`. Unset: {@link engine} for the default merchant.
   */
  engineFor?: (merchantId: string) => PaymentEngine;
  vault: CardVaultPort;
  /**
   * The merchant accounts (config/merchants.ts): each key authenticates its merchant, whose payments alone it sees;
   * each merchant's Plural callbacks and webhooks are verified with its own secrets. Unset: one merchant, `default`,
   * from {@link apiKeys}, {@link callbackSecretHex} and {@link webhookSecret}.
   */
  merchants?: readonly MerchantAccount[];
  /** The default merchant's API keys, accepted as `Authorization: Bearer <key>` (without {@link merchants}). */
  apiKeys?: readonly string[];
  /** The default merchant's Plural callback (redirect) signing secret, hex (without {@link merchants}). */
  callbackSecretHex?: string;
  /** The default merchant's Plural webhook signing secret (without {@link merchants}). */
  webhookSecret?: string;
  /** Key of the request fingerprint HMAC (idempotent create); must stay the same across restarts. */
  fingerprintKey: string;
  /** Public base URL of this API (no trailing slash); Plural sends the browser to `<base>/v1/callbacks/plural`. */
  publicBaseUrl: string;
  /** Merchant pages the callback redirects the browser to. */
  returnUrls: { success: string; failure: string };
  /**
   * Signs the callback's redirect to the return page (adds `expires` and `signature`, see `return-link.ts`), for a
   * page that shows the payment only to a signed link, as the dev stack's does; unset: reference and status only.
   */
  returnLinks?: ReturnLinks;
  /**
   * Which hosts a payment's `return_url` may point at, and the secret its redirect is signed with, per merchant
   * (`return-url.ts`); unset: every `return_url` is refused (400 `return_url_not_allowed`).
   */
  returnUrlPolicy?: ReturnUrlPolicy;
  /**
   * How long the callback waits for the payment to leave its awaiting status (the workflow confirms the callback with
   * Get Order) before redirecting to a `return_url` with the status as it then is, ms; the reads count toward it, and a
   * read answered without a worker (stale) ends the wait. @default 3000
   */
  returnStatusWaitMs?: number;
  logger?: AppLogger;
  metrics?: ApiMetrics;
  /**
   * The bearer token `GET /metrics` requires (`API_METRICS_TOKEN`): the metrics count every merchant's requests, which
   * is nobody's business but the operator's. Unset: `/metrics` answers anyone who reaches the API (development;
   * production mode requires the token).
   */
  metricsToken?: string;
  timings?: Partial<ApiTimings>;
  /** Lifetime of card data in the vault, waiting for the workflow to use it. @default 900000 (15 min) */
  cardTtlMs?: number;
  /** Lifetime of a submitted OTP in the vault, waiting for the submit-OTP activity. @default 600000 (10 min) */
  otpTtlMs?: number;
  /** Webhook timestamp tolerance, seconds. @default 300 */
  webhookToleranceSeconds?: number;
  /**
   * How long after its payment started a browser callback is still delivered, ms (Plural's callback carries no
   * timestamp; see `callback-replays.ts`). @default the longest customer window of `paymentDurations` + 15 min
   */
  callbackMaxAgeMs?: number;
  /** JSON and form body limit, bytes. @default 32768 */
  bodyLimitBytes?: number;
  /** Webhook body limit, bytes. @default 262144 */
  webhookBodyLimitBytes?: number;
  /**
   * Largest amount of a new payment, minor units (Plural documents none; see `DEFAULT_MAX_AMOUNT`).
   * @default 100000000 (₹10,00,000)
   */
  maxAmount?: number;
  /** Passed into each workflow's input. */
  paymentDurations?: Partial<PaymentDurations>;
  /** Passed into each workflow's input. */
  paymentLimits?: Partial<PaymentLimits>;
  /**
   * The merchants' webhook endpoints: a new payment names its merchant's endpoints (their ids only) in its input, and
   * hears nothing when there are none. @default none
   */
  merchantWebhooks?: Pick<MerchantWebhookDirectory, 'merchantWebhookEndpoints'>;
  /** Clock, ms since epoch (tests). @default Date.now */
  now?: () => number;
  /** Plural's reachability for `/readyz` (`createGatewayProbes`: every origin); unset: `gateway.reachable` is null. */
  gatewayProbe?: GatewayProbe;
  /**
   * The gateway's customer vault (`POST /v1/customers`, `GET /v1/customers/{id}/tokens`); unset: those routes answer
   * 503 `customers_unavailable` (the API has no Plural credentials).
   */
  customers?: CustomerDirectory;
  /** Each merchant's customer vault (its own Plural account); unset: {@link customers} for the default merchant. */
  customersFor?: (merchantId: string) => CustomerDirectory | undefined;
  /**
   * Where `Idempotency-Key`s are kept (`createTemporalIdempotencyStore`): durable, shared by every API instance.
   * Unset: a request with the header answers 503 `idempotency_unavailable`; requests without it are unaffected.
   */
  idempotency?: IdempotencyStore;
}
