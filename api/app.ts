/**
 * The HTTP API: merchant endpoints (bearer auth), Plural's browser callback and webhook (signature-verified), and
 * operations endpoints. This module assembles them: per-request logging and metrics, bearer authentication, the route
 * groups of `routes/` (payments, actions, customers, gateway events, operations) and the error answers. The routes
 * talk to the payment engine through the {@link PaymentEngine} port and keep no copy of the workflow's rules.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createLogger } from '../observability';
import type { AppLogger } from '../observability';
import type { MerchantWebhookDirectory } from '../merchant-webhooks';
import { paymentWorkflowId } from '../workflows/definitions';
import type { PaymentDurations, PaymentLimits } from '../workflows/definitions';
import type { CustomerDirectory } from './customers';
import { EngineUnavailableError } from './engine';
import type { CardVaultPort, PaymentEngine } from './engine';
import { ApiError, ERROR_TYPE, notFound, unauthorized, unavailable } from './errors';
import type { GatewayProbe } from './gateway-probe';
import { bodyParserError, digest, engineRefusal } from './http';
import { createMetrics } from './metrics';
import type { ApiMetrics } from './metrics';
import { actionRoutes } from './routes/actions';
import type { RouteContext } from './routes/context';
import { customerRoutes } from './routes/customers';
import { gatewayEventRoutes } from './routes/gateway-events';
import { operationRoutes } from './routes/operations';
import { paymentRoutes } from './routes/payments';
import type { ReturnLinks } from './return-link';
import { REFERENCE_PATTERN } from './schemas';

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
  engine: PaymentEngine;
  vault: CardVaultPort;
  /** Merchant API keys accepted as `Authorization: Bearer <key>`. At least one. */
  apiKeys: readonly string[];
  /** Plural's callback (redirect) signing secret, hex. */
  callbackSecretHex: string;
  /** Plural's webhook signing secret. */
  webhookSecret: string;
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
  logger?: AppLogger;
  metrics?: ApiMetrics;
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
  /** Plural's reachability for `/readyz` (`createGatewayProbe`); unset: `gateway.reachable` is null. */
  gatewayProbe?: GatewayProbe;
  /**
   * The gateway's customer vault (`POST /v1/customers`, `GET /v1/customers/{id}/tokens`); unset: those routes answer
   * 503 `customers_unavailable` (the API has no Plural credentials).
   */
  customers?: CustomerDirectory;
  /**
   * The card vault's server router (`createCardVaultRouter`), mounted at {@link CARD_VAULT_MOUNT_PATH} when workers
   * run in other processes and reach the vault over HTTP (`CARD_VAULT_URL`). It authenticates with its own token.
   */
  cardVaultRouter?: RequestHandler;
}

/** Where {@link ApiOptions.cardVaultRouter} is mounted. Internal: not in the public OpenAPI document. */
export const CARD_VAULT_MOUNT_PATH = '/internal/card-vault';

/** Builds the Express app. Throws at once on unusable configuration rather than on the first request. */
export function createApp(options: ApiOptions): express.Express {
  if (options.apiKeys.length === 0 || options.apiKeys.some((k) => k.length === 0)) {
    throw new TypeError('createApp: apiKeys must hold at least one non-empty key');
  }
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(options.callbackSecretHex)) {
    throw new TypeError('createApp: callbackSecretHex must be a non-empty, even-length hex string');
  }
  if (options.webhookSecret.length === 0) throw new TypeError('createApp: webhookSecret must not be empty');
  if (options.fingerprintKey.length === 0) throw new TypeError('createApp: fingerprintKey must not be empty');
  if (options.maxAmount !== undefined && !(Number.isSafeInteger(options.maxAmount) && options.maxAmount > 0)) {
    throw new TypeError('createApp: maxAmount must be a positive integer of minor units');
  }

  const now = options.now ?? Date.now;
  const logger = options.logger ?? createLogger({ name: 'api' });
  const metrics = options.metrics ?? createMetrics();
  const keyDigests = options.apiKeys.map(digest);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // Metrics and one log line per request: id, method, route template, status, duration. Never bodies or queries.
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (req.route as { path?: unknown } | undefined)?.path;
      const labels = {
        method: req.method,
        route: typeof route === 'string' ? route : 'unmatched',
        status: String(res.statusCode),
      };
      metrics.requests.inc(labels);
      metrics.duration.observe(labels, seconds);
      const workflowId: unknown = res.locals.workflowId;
      logger.info(
        {
          requestId,
          ...(typeof workflowId === 'string' ? { workflowId } : {}),
          ...labels,
          durationMs: Math.round(seconds * 1000),
        },
        'request',
      );
    });
    next();
  });

  // The request line names the payment it addressed (its workflow id), so it joins the worker's lines for it.
  app.use('/v1/payments/:merchant_order_reference', (req, res, next) => {
    const value = req.params.merchant_order_reference;
    if (typeof value === 'string' && REFERENCE_PATTERN.test(value)) res.locals.workflowId = paymentWorkflowId(value);
    next();
  });

  /** Constant-time bearer check: compare SHA-256 digests (equal length) against every key, no early exit. */
  const authenticate: RequestHandler = (req, _res, next) => {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([^\s]+)\s*$/i.exec(header) : null;
    if (!match?.[1]) throw unauthorized('missing_api_key', 'send your API key as Authorization: Bearer <key>');
    const given = digest(match[1]);
    let ok = false;
    for (const key of keyDigests) if (timingSafeEqual(given, key)) ok = true;
    if (!ok) throw unauthorized('invalid_api_key', 'the API key is not valid');
    next();
  };
  const bodyLimit = options.bodyLimitBytes ?? 32 * 1024;
  const json = express.json({ limit: bodyLimit, type: ['application/json', 'application/*+json'] });

  const ctx: RouteContext = {
    options,
    engine: options.engine,
    vault: options.vault,
    timings: { ...DEFAULT_TIMINGS, ...options.timings },
    now,
    logger,
    metrics,
    authenticate,
    merchant: [authenticate, json],
    bodyLimit,
  };
  app.use(paymentRoutes(ctx));
  app.use(actionRoutes(ctx));
  app.use(customerRoutes(ctx));
  app.use(gatewayEventRoutes(ctx));
  app.use(operationRoutes(ctx));
  if (options.cardVaultRouter) app.use(CARD_VAULT_MOUNT_PATH, options.cardVaultRouter);

  app.use((req) => {
    throw notFound('route_not_found', `no such route for ${req.method}; see /openapi.json`);
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let apiError: ApiError;
    if (err instanceof ApiError) apiError = err;
    else if (err instanceof EngineUnavailableError) {
      logger.error({ err, route: req.path }, 'payment engine unavailable');
      apiError = unavailable('engine_unavailable', 'the payment engine is unavailable; retry later');
    } else {
      const known =
        engineRefusal(err, now()) ?? (err !== null && typeof err === 'object' ? bodyParserError(err) : undefined);
      if (known) apiError = known;
      else {
        logger.error({ err, method: req.method }, 'unhandled error');
        apiError = new ApiError(500, ERROR_TYPE.API, 'internal_error', 'internal error; the request may be retried');
      }
    }
    if (res.headersSent) return;
    for (const [k, v] of Object.entries(apiError.headers)) res.setHeader(k, v);
    res.status(apiError.status).json(apiError.toBody());
  });

  return app;
}
