/**
 * The HTTP API: merchant endpoints (bearer auth), Plural's browser callback and webhook (signature-verified), and
 * operations endpoints. This module assembles them: per-request logging and metrics, bearer authentication, the route
 * groups of `routes/` (payments, actions, customers, gateway events, operations) and the error answers. The routes
 * talk to the payment engine through the {@link PaymentEngine} port and keep no copy of the workflow's rules.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { isCardVaultError } from '../card-vault';
import { createLogger } from '../observability';
import { MerchantDirectory } from '../config/merchants';
import { DEFAULT_MERCHANT_ID, paymentWorkflowId } from '../workflows/definitions';
import { ActionNotAcceptedError, EngineUnavailableError } from './engine';
import type { PaymentEngine } from './engine';
import { ApiError, ERROR_TYPE, notFound, unauthorized, unavailable } from './errors';
import { createIdempotencyMiddleware, markActionPending } from './idempotency';
import { bearerToken, bodyParserError, digest, engineRefusal } from './http';
import { createMetrics, NO_MERCHANT } from './metrics';
import { DEFAULT_TIMINGS } from './options';
import type { ApiOptions } from './options';
import { actionRoutes } from './routes/actions';
import type { RouteContext } from './routes/context';
import { customerRoutes } from './routes/customers';
import { gatewayEventRoutes } from './routes/gateway-events';
import { operationRoutes } from './routes/operations';
import { paymentRoutes } from './routes/payments';
import { REFERENCE_PATTERN } from './schemas';

/** Builds the Express app. Throws at once on unusable configuration rather than on the first request. */
export function createApp(options: ApiOptions): express.Express {
  const merchants = new MerchantDirectory(
    options.merchants ?? [
      {
        id: DEFAULT_MERCHANT_ID,
        apiKeys: options.apiKeys ?? [],
        plural: {
          baseUrl: undefined,
          credentials: undefined,
          callbackSecretHex: options.callbackSecretHex,
          webhookSecret: options.webhookSecret,
        },
        webhookEndpoints: [],
        returnUrlHosts: [],
      },
    ],
  );
  for (const m of merchants.merchants) {
    if (m.apiKeys.length === 0 || m.apiKeys.some((k) => k.length === 0)) {
      throw new TypeError(`createApp: merchant ${m.id} must have at least one non-empty API key`);
    }
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(m.plural.callbackSecretHex ?? '')) {
      throw new TypeError(
        `createApp: merchant ${m.id}'s callbackSecretHex must be a non-empty, even-length hex string`,
      );
    }
    if (!m.plural.webhookSecret) throw new TypeError(`createApp: merchant ${m.id}'s webhookSecret must not be empty`);
  }
  // One engine serves the default merchant alone: any other merchant needs its own (its payments only).
  if (options.engineFor === undefined && merchants.merchants.some((m) => m.id !== DEFAULT_MERCHANT_ID)) {
    throw new TypeError('createApp: engineFor is required for merchant accounts other than default');
  }
  if (options.fingerprintKey.length === 0) throw new TypeError('createApp: fingerprintKey must not be empty');
  if (options.metricsToken === '') throw new TypeError('createApp: metricsToken must not be empty when set');
  if (options.maxAmount !== undefined && !(Number.isSafeInteger(options.maxAmount) && options.maxAmount > 0)) {
    throw new TypeError('createApp: maxAmount must be a positive integer of minor units');
  }

  const now = options.now ?? Date.now;
  const logger = options.logger ?? createLogger({ name: 'api' });
  const metrics = options.metrics ?? createMetrics();
  /** Every key's digest and its merchant. */
  const keyDigests = merchants.merchants.flatMap((m) =>
    m.apiKeys.map((k) => ({ digest: digest(k), merchantId: m.id })),
  );
  const engines = new Map<string, PaymentEngine>();
  const engineOf = (merchantId: string): PaymentEngine => {
    let engine = engines.get(merchantId);
    if (!engine) {
      engine = options.engineFor ? options.engineFor(merchantId) : options.engine;
      engines.set(merchantId, engine);
    }
    return engine;
  };

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
      // Set by the API key's check or the callback/webhook path: a configured merchant id, never caller-chosen text.
      const merchantId: unknown = res.locals.merchantId;
      const labels = {
        method: req.method,
        route: typeof route === 'string' ? route : 'unmatched',
        status: String(res.statusCode),
        merchant: typeof merchantId === 'string' ? merchantId : NO_MERCHANT,
      };
      metrics.requests.inc(labels);
      metrics.duration.observe(labels, seconds);
      const reference: unknown = res.locals.reference;
      const workflowId: unknown =
        res.locals.workflowId ??
        (typeof reference === 'string' && typeof merchantId === 'string'
          ? paymentWorkflowId(reference, merchantId)
          : undefined);
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

  // The request line names the payment it addressed (its workflow id, once the key has named the merchant), so it
  // joins the worker's lines for it.
  app.use('/v1/payments/:merchant_order_reference', (req, res, next) => {
    const value = req.params.merchant_order_reference;
    if (typeof value === 'string' && REFERENCE_PATTERN.test(value)) res.locals.reference = value;
    next();
  });

  /**
   * Constant-time bearer check: compare SHA-256 digests (equal length) against every key of every merchant, no early
   * exit. The key names the merchant (`res.locals.merchantId`), whose payments alone the request reaches.
   */
  const authenticate: RequestHandler = (req, res, next) => {
    const key = bearerToken(req.headers.authorization);
    if (key === undefined) throw unauthorized('missing_api_key', 'send your API key as Authorization: Bearer <key>');
    const given = digest(key);
    let merchantId: string | undefined;
    for (const key of keyDigests) if (timingSafeEqual(given, key.digest)) merchantId = key.merchantId;
    if (merchantId === undefined) throw unauthorized('invalid_api_key', 'the API key is not valid');
    res.locals.merchantId = merchantId;
    next();
  };
  /** The authenticated merchant of a request (set by `authenticate`). */
  const merchantOf = (res: Response): string => {
    const merchantId: unknown = res.locals.merchantId;
    if (typeof merchantId !== 'string') throw new TypeError('merchantOf: the route did not authenticate');
    return merchantId;
  };
  const bodyLimit = options.bodyLimitBytes ?? 32 * 1024;
  const json = express.json({ limit: bodyLimit, type: ['application/json', 'application/*+json'] });
  const timings = { ...DEFAULT_TIMINGS, ...options.timings };
  const idempotency = createIdempotencyMiddleware({
    store: options.idempotency,
    fingerprintKey: options.fingerprintKey,
    // A claim outlives the longest request (the server ends a request at 60 s): only a dead API leaves it to expire.
    leaseMs: Math.max(60_000, 2 * Math.max(timings.startWaitMs, timings.actionWaitMs)),
    logger,
  });

  const ctx: RouteContext = {
    options,
    engine: options.engine,
    merchants,
    merchantOf,
    engineOf: (res) => engineOf(merchantOf(res)),
    vault: options.vault,
    timings,
    now,
    logger,
    metrics,
    authenticate,
    merchant: [authenticate, json, idempotency],
    bodyLimit,
  };
  app.use(paymentRoutes(ctx));
  app.use(actionRoutes(ctx));
  app.use(customerRoutes(ctx));
  app.use(gatewayEventRoutes(ctx));
  app.use(operationRoutes(ctx));

  app.use((req) => {
    throw notFound('route_not_found', `no such route for ${req.method}; see /openapi.json`);
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let apiError: ApiError;
    if (err instanceof ApiError) apiError = err;
    else if (err instanceof ActionNotAcceptedError) {
      // The Update is still admitted at Temporal: a retry under the same key sends the same one.
      markActionPending(res);
      logger.warn(
        { route: req.path, action: err.action },
        'payment did not take the request: no worker ran it in time',
      );
      apiError = unavailable(
        'engine_unavailable',
        `payment ${err.reference} has not taken the ${err.action} request: no worker ran it within the wait, so nothing ` +
          'was applied yet (it may still be once a worker runs the payment); send the same request again to learn its outcome',
        1,
      );
    } else if (err instanceof EngineUnavailableError) {
      logger.error({ err, route: req.path }, 'payment engine unavailable');
      apiError = unavailable('engine_unavailable', 'the payment engine is unavailable; retry later');
    } else if (isCardVaultError(err)) {
      // Full, unreachable or misconfigured: the card (or OTP) could not be handed to the payment, so nothing ran.
      logger.error({ err, route: req.path, code: err.code }, 'card vault failed');
      apiError = unavailable(
        'card_vault_unavailable',
        'the card vault could not take the card data, so nothing was started or sent; retry shortly',
        1,
      );
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
