/**
 * The HTTP API: merchant endpoints (bearer auth), Plural's browser callback and webhook (signature-verified), and
 * operations endpoints. It validates, authenticates, verifies signatures and talks to the payment engine through the
 * {@link PaymentEngine} port; it knows nothing of Plural's wire format beyond the client's verification helpers.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import {
  parseCallback,
  parseWebhookBody,
  verifyCallbackSignature,
  verifyWebhook,
  WEBHOOK_TOLERANCE_SECONDS,
} from '../plural-client';
import type { Order } from '../plural-client';
import { createLogger } from '../observability';
import type { AppLogger } from '../observability';
import { PAYMENT_STATUS, paymentWorkflowId, TERMINAL_STATUSES } from '../workflows/definitions';
import type {
  Address,
  CustomerDetails,
  DeviceInfo,
  PaymentDurations,
  PaymentLimits,
  PaymentMethodDescriptor,
  PaymentWorkflowInput,
  WebhookReceivedSignal,
} from '../workflows/definitions';
import { CustomerExistsError, CustomerNotFoundError, GatewayRejectedError, GatewayUnavailableError } from './customers';
import type { CustomerDirectory, CustomerRecord, NewCustomer, SavedCardRecord } from './customers';
import { docsPage } from './docs-page';
import type { GatewayProbe } from './gateway-probe';
import { EngineUnavailableError, PaymentNotFoundError } from './engine';
import type { CardVaultPort, PaymentEngine, PaymentRecord } from './engine';
import {
  ApiError,
  badRequest,
  conflict,
  ERROR_TYPE,
  notFound,
  signatureRejected,
  tooManyRequests,
  unauthorized,
  unavailable,
} from './errors';
import { fingerprintMatches, requestFingerprint } from './fingerprint';
import { createMetrics } from './metrics';
import type { ApiMetrics } from './metrics';
import { buildOpenApiDocument } from './openapi';
import { paymentResource } from './resource';
import {
  CancelSchema,
  CaptureSchema,
  CreateCustomerSchema,
  createPaymentSchema,
  CUSTOMER_ID_PATTERN,
  EmptySchema,
  errorCodeOf,
  issuesOf,
  OtpSchema,
  REFERENCE_PATTERN,
} from './schemas';
import type { CreatePaymentRequest } from './schemas';

/** How long the API waits for the engine before answering; every wait is bounded. */
export interface ApiTimings {
  /** After starting a payment, wait this long for it to become actionable. @default 8000 */
  startWaitMs: number;
  /** After an OTP, capture, cancel or resend, wait this long for its outcome. @default 15000 */
  actionWaitMs: number;
  /**
   * Longest poll interval of those waits. The first poll comes {@link ApiTimings.firstPollMs} after the action and the
   * interval grows by half each poll up to this cap: most actions finish within tens of ms, a long one costs few polls.
   * @default 100
   */
  pollIntervalMs: number;
  /** First poll of those waits, this long after the action (capped by `pollIntervalMs`). @default 10 */
  firstPollMs: number;
  /** `/readyz` gives up on the engine after this long. @default 2000 */
  readyTimeoutMs: number;
}

export const DEFAULT_TIMINGS: Readonly<ApiTimings> = Object.freeze({
  startWaitMs: 8_000,
  actionWaitMs: 15_000,
  pollIntervalMs: 100,
  firstPollMs: 10,
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
  logger?: AppLogger;
  metrics?: ApiMetrics;
  timings?: Partial<ApiTimings>;
  /** Lifetime of card data in the vault, waiting for the workflow to use it. @default 900000 (15 min) */
  cardTtlMs?: number;
  /** Lifetime of a submitted OTP in the vault, waiting for the submit-OTP activity. @default 600000 (10 min) */
  otpTtlMs?: number;
  /** Webhook timestamp tolerance, seconds. @default 300 */
  webhookToleranceSeconds?: number;
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

const CARD_TTL_MS = 15 * 60_000;
/** As long as the default OTP window: an OTP is worthless after it anyway. */
const OTP_TTL_MS = 10 * 60_000;
const SUCCESS_STATUSES: ReadonlySet<string> = new Set(['AUTHORIZED', 'PROCESSED']);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = issuesOf(result.error);
    const first = issues[0];
    const summary = first ? `${first.path}: ${first.message}` : 'invalid';
    throw badRequest(errorCodeOf(result.error) ?? 'invalid_request', `${what} is invalid: ${summary}`, { issues });
  }
  return result.data;
}

/** True when the request carries a body (as Node's HTTP parser sees it), whatever its type. */
function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The JSON body, or `{}` for an action whose body is optional and absent. */
function jsonBody(req: Request, required: boolean): unknown {
  if (req.body !== undefined) return req.body as unknown;
  if (hasBody(req)) {
    throw new ApiError(
      415,
      ERROR_TYPE.INVALID_REQUEST,
      'unsupported_media_type',
      'request body must be JSON (Content-Type: application/json)',
    );
  }
  if (required) throw badRequest('body_required', 'request body is required: a JSON object');
  return {};
}

function referenceOf(req: Request): string {
  const ref = req.params.merchant_order_reference;
  if (typeof ref !== 'string' || !REFERENCE_PATTERN.test(ref)) {
    throw badRequest(
      'invalid_reference',
      'merchant_order_reference in the path must be 1-50 characters, each a letter, digit, _ or -',
    );
  }
  return ref;
}

const methodNotAllowed =
  (allowed: string): RequestHandler =>
  (req) => {
    throw new ApiError(
      405,
      ERROR_TYPE.METHOD_NOT_ALLOWED,
      'method_not_allowed',
      `${req.method} is not allowed here; use ${allowed}`,
      {},
      { Allow: allowed },
    );
  };

/** Map body-parser failures to fixed messages: its own messages may quote the body. */
function bodyParserError(err: { type?: unknown; status?: unknown }): ApiError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return badRequest('invalid_json', 'request body is not valid JSON');
    case 'entity.too.large':
      return new ApiError(413, ERROR_TYPE.INVALID_REQUEST, 'body_too_large', 'request body is too large');
    case 'parameters.too.many':
      return new ApiError(413, ERROR_TYPE.INVALID_REQUEST, 'too_many_parameters', 'request has too many parameters');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(
        415,
        ERROR_TYPE.INVALID_REQUEST,
        'unsupported_encoding',
        'request body encoding or charset is not supported',
      );
    default:
      break;
  }
  const status = typeof err.status === 'number' ? err.status : undefined;
  if (status !== undefined && status >= 400 && status < 500) {
    return new ApiError(status, ERROR_TYPE.INVALID_REQUEST, 'bad_request', 'the request could not be read');
  }
  return undefined;
}

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

  const { engine, vault } = options;
  const timings: ApiTimings = { ...DEFAULT_TIMINGS, ...options.timings };
  const now = options.now ?? Date.now;
  const logger = options.logger ?? createLogger({ name: 'api' });
  const metrics = options.metrics ?? createMetrics();
  const keyDigests = options.apiKeys.map(digest);
  const publicBaseUrl = options.publicBaseUrl.replace(/\/+$/, '');
  const callbackUrl = `${publicBaseUrl}/v1/callbacks/plural`;
  const bodyLimit = options.bodyLimitBytes ?? 32 * 1024;
  const openApi = buildOpenApiDocument({ serverUrl: publicBaseUrl });
  const paymentSchema = createPaymentSchema({
    now,
    ...(options.maxAmount !== undefined ? { maxAmount: options.maxAmount } : {}),
  });
  const docsHtml = docsPage(openApi);

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
  app.param('merchant_order_reference', (_req, res, next, value: unknown) => {
    if (typeof value === 'string' && REFERENCE_PATTERN.test(value)) res.locals.workflowId = paymentWorkflowId(value);
    next();
  });

  // -------------------------------------------------------------------------------------------------------------
  // Merchant authentication and bodies
  // -------------------------------------------------------------------------------------------------------------

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
  const json = express.json({ limit: bodyLimit, type: ['application/json', 'application/*+json'] });
  const merchant = [authenticate, json];

  async function load(ref: string): Promise<PaymentRecord> {
    const record = await engine.get(ref);
    if (!record) throw notFound('payment_not_found', `no payment with merchant_order_reference ${ref}`);
    return record;
  }

  /**
   * Poll until `done` holds or `timeoutMs` passes; returns the last record seen. Called right after a start or a
   * signal, which the workflow cannot have handled yet, so the first poll waits `firstPollMs`; the interval then grows
   * by half up to `pollIntervalMs` (a fixed 100 ms interval added 50 ms on average to every call, most of a fast
   * call's latency), and the last sleep ends at the deadline.
   */
  async function waitFor(
    ref: string,
    done: (r: PaymentRecord) => boolean,
    timeoutMs: number,
  ): Promise<{ record: PaymentRecord; done: boolean }> {
    const deadline = now() + timeoutMs;
    let interval = Math.min(timings.firstPollMs, timings.pollIntervalMs);
    for (;;) {
      await sleep(Math.max(0, Math.min(interval, deadline - now())));
      const record = await load(ref);
      if (done(record)) return { record, done: true };
      if (now() >= deadline) return { record, done: false };
      interval = Math.min(interval * 1.5, timings.pollIntervalMs);
    }
  }

  const send = (res: Response, status: number, record: PaymentRecord): void => {
    res.status(status).json(paymentResource(record));
  };

  /** Signals raise PaymentNotFoundError when the workflow is gone; answer that as a 404. */
  async function signal(ref: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (err instanceof PaymentNotFoundError) throw notFound('payment_not_found', err.message);
      throw err;
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Payments
  // -------------------------------------------------------------------------------------------------------------

  /** Park card data in the vault; the workflow input carries only handles and last 4 digits. */
  async function methodOf(body: CreatePaymentRequest, handles: string[]): Promise<PaymentMethodDescriptor> {
    const put = async (secret: Parameters<CardVaultPort['put']>[0]): Promise<string> => {
      const handle = await vault.put(secret, options.cardTtlMs ?? CARD_TTL_MS);
      handles.push(handle);
      return handle;
    };
    if (body.card) {
      const c = body.card;
      const cardHandle = await put({
        number: c.number,
        cvv: c.cvv,
        name: c.name,
        expiryMonth: c.expiry_month,
        expiryYear: c.expiry_year,
      });
      const last4 = c.number.slice(-4);
      if (body.points) {
        return {
          kind: 'card_points',
          cardHandle,
          last4,
          registeredMobileNumber: body.points.registered_mobile_number,
          customerConsent: body.points.customer_consent,
        };
      }
      return { kind: 'card', cardHandle, last4, ...(c.save !== undefined ? { save: c.save } : {}) };
    }
    if (body.card_token) {
      return {
        kind: 'card_token',
        tokenId: body.card_token.token_id,
        cvvHandle: await put({ cvv: body.card_token.cvv }),
      };
    }
    if (body.network_token) {
      const t = body.network_token;
      const handle = await put({
        token: t.token,
        cryptogram: t.cryptogram,
        expiryMonth: t.expiry_month,
        expiryYear: t.expiry_year,
        ...(t.cvv !== undefined ? { cvv: t.cvv } : {}),
      });
      return { kind: 'network_token', handle, last4: t.last4 };
    }
    return { kind: 'hosted_checkout' };
  }

  function customerOf(body: CreatePaymentRequest): CustomerDetails | undefined {
    const c = body.customer;
    if (!c) return undefined;
    const out: CustomerDetails = {};
    if (c.customer_id !== undefined) out.customerId = c.customer_id;
    if (c.first_name !== undefined) out.firstName = c.first_name;
    if (c.last_name !== undefined) out.lastName = c.last_name;
    if (c.email !== undefined) out.email = c.email;
    if (c.mobile_number !== undefined) out.mobileNumber = c.mobile_number;
    if (c.country_code !== undefined) out.countryCode = c.country_code;
    if (c.billing_address !== undefined) out.billingAddress = addressOf(c.billing_address);
    if (c.shipping_address !== undefined) out.shippingAddress = addressOf(c.shipping_address);
    return out;
  }

  /** Same field names in both vocabularies; only what was sent. */
  const addressOf = (a: NonNullable<NonNullable<CreatePaymentRequest['customer']>['billing_address']>): Address => ({
    ...a,
  });

  function deviceInfoOf(body: CreatePaymentRequest): DeviceInfo | undefined {
    const d = body.device_info;
    if (!d) return undefined;
    const out: DeviceInfo = {};
    if (d.device_channel !== undefined) out.deviceChannel = d.device_channel;
    if (d.browser_accept_header !== undefined) out.browserAcceptHeader = d.browser_accept_header;
    if (d.browser_user_agent !== undefined) out.browserUserAgent = d.browser_user_agent;
    if (d.browser_language !== undefined) out.browserLanguage = d.browser_language;
    if (d.browser_screen_height !== undefined) out.browserScreenHeight = d.browser_screen_height;
    if (d.browser_screen_width !== undefined) out.browserScreenWidth = d.browser_screen_width;
    if (d.browser_timezone !== undefined) out.browserTimezone = d.browser_timezone;
    if (d.browser_window_size !== undefined) out.browserWindowSize = d.browser_window_size;
    if (d.browser_screen_color_depth !== undefined) out.browserScreenColorDepth = d.browser_screen_color_depth;
    if (d.browser_java_enabled_val !== undefined) out.browserJavaEnabled = d.browser_java_enabled_val;
    if (d.browser_javascript_enabled_val !== undefined) out.browserJavascriptEnabled = d.browser_javascript_enabled_val;
    return out;
  }

  const destroyAll = async (handles: readonly string[]): Promise<void> => {
    for (const h of handles) {
      await vault.destroy(h).catch((err: unknown) => logger.warn({ err }, 'could not destroy an unused vault entry'));
    }
  };

  /** The stored fingerprint is compared the way it was computed (`v2:`, or `v1:` for older payments). */
  const sameOrConflict = (ref: string, body: CreatePaymentRequest, existing: string | undefined): void => {
    if (!fingerprintMatches(body, options.fingerprintKey, existing)) {
      throw conflict(
        'idempotency_conflict',
        `a payment with merchant_order_reference ${ref} already exists with a different request; use a new reference`,
      );
    }
  };

  const actionable = (r: PaymentRecord): boolean =>
    r.state.status !== PAYMENT_STATUS.CREATED || r.state.redirectUrl !== undefined || r.state.parked !== undefined;

  app
    .route('/v1/payments')
    .post(...merchant, async (req, res) => {
      const body = parse(paymentSchema, jsonBody(req, true), 'payment request');
      const ref = body.merchant_order_reference;
      res.locals.workflowId = paymentWorkflowId(ref);
      const fingerprint = requestFingerprint(body, options.fingerprintKey);
      const existing = await engine.get(ref);
      if (existing) {
        sameOrConflict(ref, body, existing.requestFingerprint);
        return send(res, 200, existing);
      }
      const handles: string[] = [];
      let started: Awaited<ReturnType<PaymentEngine['start']>>;
      try {
        const input: PaymentWorkflowInput = {
          merchantOrderReference: ref,
          amount: { value: body.amount.value, currency: body.amount.currency },
          preAuth: body.pre_auth,
          method: await methodOf(body, handles),
          callbackUrl,
          failureCallbackUrl: callbackUrl,
        };
        const customer = customerOf(body);
        if (customer) input.customer = customer;
        if (body.notes !== undefined) input.notes = body.notes;
        if (body.merchant_metadata !== undefined) input.merchantMetadata = { ...body.merchant_metadata };
        const deviceInfo = deviceInfoOf(body);
        if (deviceInfo) input.deviceInfo = deviceInfo;
        if (options.paymentDurations) input.durations = { ...options.paymentDurations };
        if (options.paymentLimits) input.limits = { ...options.paymentLimits };
        started = await engine.start(input, fingerprint);
      } catch (err) {
        await destroyAll(handles);
        throw err;
      }
      if (!started.started) {
        // Lost a race with an identical (or conflicting) request: the other one owns the payment.
        await destroyAll(handles);
        sameOrConflict(ref, body, started.existingFingerprint);
        return send(res, 200, await load(ref));
      }
      const { record } = await waitFor(ref, actionable, timings.startWaitMs);
      res.location(`/v1/payments/${ref}`);
      send(res, 201, record);
    })
    .all(methodNotAllowed('POST'));

  app
    .route('/v1/payments/:merchant_order_reference')
    .get(authenticate, async (req, res) => {
      send(res, 200, await load(referenceOf(req)));
    })
    .all(methodNotAllowed('GET'));

  const notAwaitingOtp = (ref: string, status: string) =>
    conflict('payment_not_awaiting_otp', `payment ${ref} is ${status}, not AWAITING_OTP; no OTP is expected`);

  app
    .route('/v1/payments/:merchant_order_reference/otp')
    .post(...merchant, async (req, res) => {
      const ref = referenceOf(req);
      const { otp } = parse(OtpSchema, jsonBody(req, true), 'OTP request');
      const current = await load(ref);
      if (current.state.status !== PAYMENT_STATUS.AWAITING_OTP) throw notAwaitingOtp(ref, current.state.status);
      const submissionId = randomUUID();
      // The OTP goes to the vault; only its handle enters the signal (and so workflow history).
      const otpHandle = await vault.put({ otp }, options.otpTtlMs ?? OTP_TTL_MS);
      try {
        await signal(ref, () => engine.submitOtp(ref, { submissionId, otpHandle }));
      } catch (err) {
        await destroyAll([otpHandle]);
        throw err;
      }
      const { record, done } = await waitFor(
        ref,
        (r) => {
          const last = r.state.otp?.lastSubmission;
          return (
            last?.submissionId === submissionId &&
            (last.outcome !== 'ACCEPTED' || r.state.status !== PAYMENT_STATUS.AWAITING_OTP)
          );
        },
        timings.actionWaitMs,
      );
      if (!done) return send(res, 202, record);
      if (record.state.otp?.lastSubmission?.outcome === 'IGNORED') {
        // The workflow did not use the OTP: drop it now rather than at its TTL.
        await destroyAll([otpHandle]);
        throw notAwaitingOtp(ref, record.state.status);
      }
      send(res, 200, record);
    })
    .all(methodNotAllowed('POST'));

  const retryAfterSeconds = (at: string | undefined): number => {
    const t = at === undefined ? NaN : Date.parse(at);
    return Number.isFinite(t) ? Math.max(1, Math.ceil((t - now()) / 1000)) : 1;
  };
  const tooEarly = (ref: string, at: string | undefined) =>
    tooManyRequests(
      'otp_resend_too_early',
      `an OTP for payment ${ref} was sent recently; retry after ${at ?? 'a moment'}`,
      retryAfterSeconds(at),
    );

  app
    .route('/v1/payments/:merchant_order_reference/otp/resend')
    .post(...merchant, async (req, res) => {
      const ref = referenceOf(req);
      parse(EmptySchema, jsonBody(req, false), 'OTP resend request');
      const current = await load(ref);
      const otp = current.state.otp;
      if (current.state.status !== PAYMENT_STATUS.AWAITING_OTP) throw notAwaitingOtp(ref, current.state.status);
      const availableAt = otp?.resendAvailableAt === undefined ? NaN : Date.parse(otp.resendAvailableAt);
      if (Number.isFinite(availableAt) && availableAt > now()) throw tooEarly(ref, otp?.resendAvailableAt);
      if (otp && otp.resendsLeft <= 0) {
        throw conflict('otp_resend_limit_reached', `no OTP resends left for payment ${ref}`);
      }
      const requestId = randomUUID();
      await signal(ref, () => engine.resendOtp(ref, { requestId }));
      const { record, done } = await waitFor(
        ref,
        (r) => r.state.otp?.lastResend?.requestId === requestId || r.state.status !== PAYMENT_STATUS.AWAITING_OTP,
        timings.actionWaitMs,
      );
      if (!done) return send(res, 202, record);
      const last = record.state.otp?.lastResend;
      if (last?.requestId !== requestId) throw notAwaitingOtp(ref, record.state.status);
      switch (last.outcome) {
        case 'SENT':
          return send(res, 200, record);
        case 'TOO_EARLY':
          throw tooEarly(ref, record.state.otp?.resendAvailableAt);
        case 'LIMIT_REACHED':
          throw conflict('otp_resend_limit_reached', `no OTP resends left for payment ${ref}`);
        case 'REJECTED':
          throw conflict('otp_resend_rejected', `the gateway refused to resend the OTP for payment ${ref}`);
        default:
          throw notAwaitingOtp(ref, record.state.status);
      }
    })
    .all(methodNotAllowed('POST'));

  app
    .route('/v1/payments/:merchant_order_reference/capture')
    .post(...merchant, async (req, res) => {
      const ref = referenceOf(req);
      const { amount } = parse(CaptureSchema, jsonBody(req, false), 'capture request');
      const current = await load(ref);
      const s = current.state;
      if (s.status !== PAYMENT_STATUS.AUTHORIZED) {
        throw conflict(
          'payment_not_authorized',
          `payment ${ref} is ${s.status}, not AUTHORIZED; it cannot be captured`,
        );
      }
      const authorized = s.amountAuthorized ?? s.amount;
      if (amount && amount.currency !== authorized.currency) {
        throw badRequest(
          'capture_currency_mismatch',
          `capture currency ${amount.currency} differs from the authorized currency ${authorized.currency} for order ${ref}`,
        );
      }
      if (amount && amount.value > authorized.value) {
        throw badRequest(
          'capture_amount_too_large',
          `capture amount ${amount.value} exceeds authorized ${authorized.value} for order ${ref}`,
        );
      }
      const requestId = randomUUID();
      await signal(ref, () => engine.capture(ref, amount ? { requestId, amount } : { requestId }));
      const { record, done } = await waitFor(
        ref,
        (r) => {
          const last = r.state.lastCapture;
          if (last?.requestId === requestId) return last.outcome !== 'CAPTURED' || r.state.status !== 'AUTHORIZED';
          return TERMINAL_STATUSES.includes(r.state.status);
        },
        timings.actionWaitMs,
      );
      const last = record.state.lastCapture;
      if (!done || last?.outcome === 'PARKED') return send(res, 202, record);
      if (last?.requestId === requestId && last.outcome === 'REJECTED') {
        throw conflict(
          'capture_rejected',
          `the gateway refused the capture for payment ${ref}: ${last.message ?? 'no reason given'}`,
        );
      }
      if (record.state.status !== PAYMENT_STATUS.PROCESSED) {
        throw conflict('payment_not_authorized', `payment ${ref} ended ${record.state.status} before the capture`);
      }
      send(res, 200, record);
    })
    .all(methodNotAllowed('POST'));

  app
    .route('/v1/payments/:merchant_order_reference/cancel')
    .post(...merchant, async (req, res) => {
      const ref = referenceOf(req);
      const { reason } = parse(CancelSchema, jsonBody(req, false), 'cancel request');
      const current = await load(ref);
      const status = current.state.status;
      if (status === PAYMENT_STATUS.CLOSING) return send(res, 202, current);
      if (status === PAYMENT_STATUS.PROCESSING) {
        throw conflict(
          'payment_not_cancellable',
          `payment ${ref} is a sale Plural has authorized and is processing; it cannot be cancelled (refund it once PROCESSED)`,
        );
      }
      if (TERMINAL_STATUSES.includes(status)) {
        throw conflict('payment_not_cancellable', `payment ${ref} is ${status} and cannot be cancelled`);
      }
      const requestId = randomUUID();
      await signal(ref, () => engine.cancel(ref, reason !== undefined ? { requestId, reason } : { requestId }));
      // An authorization is cancelled at Plural at once; a payment not yet authorized is CLOSING until Plural's order
      // can take no more money (Plural cancels only authorized orders), and answers 202 meanwhile.
      const { record, done } = await waitFor(
        ref,
        (r) => TERMINAL_STATUSES.includes(r.state.status) || r.state.status === PAYMENT_STATUS.CLOSING,
        timings.actionWaitMs,
      );
      if (!done || record.state.status === PAYMENT_STATUS.CLOSING) return send(res, 202, record);
      if (record.state.status !== PAYMENT_STATUS.CANCELLED) {
        throw conflict('payment_not_cancellable', `payment ${ref} ended ${record.state.status} and was not cancelled`);
      }
      send(res, 200, record);
    })
    .all(methodNotAllowed('POST'));

  // -------------------------------------------------------------------------------------------------------------
  // Customers and their saved cards (the gateway's customer vault)
  // -------------------------------------------------------------------------------------------------------------

  function customerDirectory(): CustomerDirectory {
    if (options.customers) return options.customers;
    throw unavailable(
      'customers_unavailable',
      'customers are not available: the API has no gateway credentials (PLURAL_BASE_URL, PLURAL_CLIENT_ID, PLURAL_CLIENT_SECRET)',
    );
  }

  /** The customer port's errors as answers; anything else goes on to the error middleware. */
  function customerError(err: unknown): unknown {
    if (err instanceof CustomerExistsError) return conflict('customer_exists', err.message);
    if (err instanceof CustomerNotFoundError) return notFound('customer_not_found', err.message);
    if (err instanceof GatewayRejectedError) return badRequest('gateway_rejected', err.message);
    if (err instanceof GatewayUnavailableError) {
      logger.warn({ operation: err.operation, reason: err.reason }, 'gateway unavailable');
      return new ApiError(503, ERROR_TYPE.UNAVAILABLE, 'gateway_unavailable', err.message, {}, { 'Retry-After': '5' });
    }
    return err;
  }

  const customerResource = (c: CustomerRecord) => ({
    object: 'customer',
    customer_id: c.customerId,
    merchant_customer_reference: c.merchantCustomerReference,
    status: c.status ?? null,
    created_at: c.createdAt ?? null,
  });

  const savedCardResource = (c: SavedCardRecord) => ({
    object: 'saved_card',
    token_id: c.tokenId,
    status: c.status ?? null,
    last4: c.last4 ?? null,
    expiry_month: c.expiryMonth ?? null,
    expiry_year: c.expiryYear ?? null,
    network: c.network ?? null,
    expires_at: c.expiresAt ?? null,
    created_at: c.createdAt ?? null,
  });

  app
    .route('/v1/customers')
    .post(...merchant, async (req, res) => {
      const body = parse(CreateCustomerSchema, jsonBody(req, true), 'customer request');
      const directory = customerDirectory();
      const customer: NewCustomer = { merchantCustomerReference: body.merchant_customer_reference };
      if (body.first_name !== undefined) customer.firstName = body.first_name;
      if (body.last_name !== undefined) customer.lastName = body.last_name;
      if (body.email !== undefined) customer.email = body.email;
      if (body.mobile_number !== undefined) customer.mobileNumber = body.mobile_number;
      if (body.country_code !== undefined) customer.countryCode = body.country_code;
      if (body.billing_address !== undefined) customer.billingAddress = { ...body.billing_address };
      if (body.shipping_address !== undefined) customer.shippingAddress = { ...body.shipping_address };
      if (body.merchant_metadata !== undefined) customer.merchantMetadata = { ...body.merchant_metadata };
      let created: CustomerRecord;
      try {
        created = await directory.create(customer);
      } catch (err) {
        throw customerError(err);
      }
      res.location(`/v1/customers/${encodeURIComponent(created.customerId)}/tokens`);
      res.status(201).json(customerResource(created));
    })
    .all(methodNotAllowed('POST'));

  app
    .route('/v1/customers/:customer_id/tokens')
    .get(authenticate, async (req, res) => {
      const customerId = req.params.customer_id;
      if (typeof customerId !== 'string' || !CUSTOMER_ID_PATTERN.test(customerId)) {
        throw badRequest('invalid_customer_id', 'customer_id in the path must be 1-100 letters, digits, _ or -');
      }
      const directory = customerDirectory();
      let cards: SavedCardRecord[];
      try {
        cards = await directory.savedCards(customerId);
      } catch (err) {
        throw customerError(err);
      }
      res.json({ object: 'list', customer_id: customerId, data: cards.map(savedCardResource) });
    })
    .all(methodNotAllowed('GET'));

  // -------------------------------------------------------------------------------------------------------------
  // Plural: browser callback and webhook
  // -------------------------------------------------------------------------------------------------------------

  /** The callback's fields as a flat string record, or undefined when a field repeats or nests. */
  function callbackFields(source: unknown): Record<string, string> | undefined {
    if (source === null || typeof source !== 'object') return undefined;
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(source as Record<string, unknown>)) {
      if (typeof v !== 'string') return undefined;
      fields[k] = v;
    }
    return fields;
  }

  const callbackHandler: RequestHandler = async (req, res) => {
    const body = req.body as unknown;
    const fromBody = req.method === 'POST' && body !== null && typeof body === 'object' && Object.keys(body).length > 0;
    const fields = callbackFields(fromBody ? body : req.query);
    if (!fields?.signature) {
      metrics.signatureFailures.inc({ source: 'callback', reason: 'missing_signature' });
      throw signatureRejected('callback_signature_missing', 'callback has no signature (or a malformed field)');
    }
    if (!verifyCallbackSignature(fields, options.callbackSecretHex)) {
      metrics.signatureFailures.inc({ source: 'callback', reason: 'no_matching_signature' });
      logger.warn({ route: 'callback' }, 'callback signature rejected');
      throw signatureRejected('callback_signature_invalid', 'callback signature does not match');
    }
    // The status arrives as `payment_status` (as Plural's guides show it) or `status`; the client's parser takes both.
    const result = parseCallback(fields);
    if (!result.ok) throw badRequest('invalid_callback', result.message);
    const parsed = result.callback;
    const delivered = await engine.deliverCallback({
      orderId: parsed.orderId,
      status: parsed.status,
      ...(parsed.errorCode !== undefined ? { errorCode: parsed.errorCode } : {}),
      ...(parsed.errorMessage !== undefined ? { errorMessage: parsed.errorMessage } : {}),
    });
    if (!delivered.delivered) {
      throw notFound('payment_not_found', `no running payment for Plural order ${parsed.orderId}`);
    }
    res.locals.workflowId = paymentWorkflowId(delivered.merchantOrderReference);
    const target = new URL(
      SUCCESS_STATUSES.has(parsed.status) ? options.returnUrls.success : options.returnUrls.failure,
    );
    target.searchParams.set('merchant_order_reference', delivered.merchantOrderReference);
    target.searchParams.set('status', parsed.status);
    res.redirect(303, target.toString());
  };

  app
    .route('/v1/callbacks/plural')
    .get(callbackHandler)
    .post(express.urlencoded({ extended: false, limit: bodyLimit, parameterLimit: 100 }), callbackHandler)
    .all(methodNotAllowed('GET, POST'));

  /** Reduce a verified order webhook to what the workflow needs. */
  function webhookSignal(webhookId: string, eventType: string, order: Order): WebhookReceivedSignal {
    const signalBody: WebhookReceivedSignal = {
      webhookId,
      eventType,
      orderId: order.order_id,
      orderStatus: order.status,
    };
    const captures = order.payments.flatMap((p) => p.capture_data ?? []);
    if (captures.length > 0) {
      signalBody.capturedAmount = {
        value: captures.reduce((sum, c) => sum + c.capture_amount.value, 0),
        currency: captures[0]?.capture_amount.currency ?? order.order_amount.currency,
      };
    }
    const failed = [...order.payments].reverse().find((p) => p.error_detail);
    if (failed?.error_detail) {
      signalBody.errorCode = failed.error_detail.code;
      if (failed.error_detail.message) signalBody.errorMessage = failed.error_detail.message;
    }
    return signalBody;
  }

  app
    .route('/v1/webhooks/plural')
    .post(express.raw({ type: () => true, limit: options.webhookBodyLimitBytes ?? 256 * 1024 }), async (req, res) => {
      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const verified = verifyWebhook({
        headers: req.headers,
        rawBody,
        secret: options.webhookSecret,
        nowSeconds: Math.floor(now() / 1000),
        toleranceSeconds: options.webhookToleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS,
      });
      if (!verified.ok) {
        metrics.signatureFailures.inc({ source: 'webhook', reason: verified.reason });
        logger.warn({ route: 'webhook', reason: verified.reason }, 'webhook signature rejected');
        throw signatureRejected(
          `webhook_${verified.reason}`,
          `webhook rejected: ${verified.reason.replace(/_/g, ' ')}`,
        );
      }
      const parsed = parseWebhookBody(rawBody);
      if (!parsed.ok) throw badRequest('invalid_webhook', parsed.message);
      if (parsed.kind === 'other') {
        // Customer, token and subscription events carry no order: acknowledged, never delivered. Their data is
        // customer data (a token id, card digits), so only the event type is logged.
        const eventType = /^[A-Z][A-Z0-9_]{0,63}$/.test(parsed.eventType) ? parsed.eventType : 'unrecognised';
        logger.info({ eventType }, 'webhook acknowledged: not a payment event');
        res.status(200).json({ received: true, delivered: false });
        return;
      }
      const reference = parsed.order.merchant_order_reference ?? undefined;
      const outcome = await engine.deliverWebhook(
        reference !== undefined && REFERENCE_PATTERN.test(reference) ? reference : undefined,
        webhookSignal(verified.id, parsed.eventType, parsed.order),
      );
      if (outcome.delivered) {
        res.locals.workflowId = paymentWorkflowId(outcome.merchantOrderReference);
      } else {
        // Nothing to deliver to (another system's order, or a payment that has ended): acknowledge, never retry.
        logger.info({ webhookId: verified.id, eventType: parsed.eventType }, 'webhook matched no running payment');
      }
      res.status(200).json({ received: true, delivered: outcome.delivered });
    })
    .all(methodNotAllowed('POST'));

  // -------------------------------------------------------------------------------------------------------------
  // Operations
  // -------------------------------------------------------------------------------------------------------------

  app
    .route('/healthz')
    .get((_req, res) => {
      res.json({ status: 'ok' });
    })
    .all(methodNotAllowed('GET'));

  /** Whether the engine (Temporal) answers within `readyTimeoutMs`. */
  async function engineReachable(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), timings.readyTimeoutMs);
    });
    try {
      await Promise.race([engine.ping(), timeout]);
      return true;
    } catch (err) {
      logger.warn({ err }, 'readiness check failed');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  // Ready means the engine can take work: a gateway outage is reported (`degraded`) but keeps the 200, since
  // payments started now are queued and retried by the workflows until Plural is back.
  app
    .route('/readyz')
    .get(async (_req, res) => {
      const [engineOk, gateway] = await Promise.all([engineReachable(), options.gatewayProbe?.check()]);
      const body = {
        status: !engineOk ? 'unavailable' : gateway?.reachable === false ? 'degraded' : 'ready',
        engine: { reachable: engineOk },
        gateway: { reachable: gateway?.reachable ?? null, checked_at: gateway?.checkedAt ?? null },
      };
      if (!engineOk) {
        const err = unavailable('engine_unreachable', 'the payment engine (Temporal) is not reachable');
        res.status(err.status).json({ ...err.toBody(), ...body });
        return;
      }
      if (gateway?.reachable === false) logger.warn('readiness: the gateway (Plural) is not reachable');
      res.json(body);
    })
    .all(methodNotAllowed('GET'));

  app
    .route('/metrics')
    .get(async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    })
    .all(methodNotAllowed('GET'));

  app
    .route('/openapi.json')
    .get((_req, res) => {
      res.json(openApi);
    })
    .all(methodNotAllowed('GET'));

  app
    .route('/docs')
    .get((_req, res) => {
      res.type('html').send(docsHtml);
    })
    .all(methodNotAllowed('GET'));

  if (options.cardVaultRouter) app.use(CARD_VAULT_MOUNT_PATH, options.cardVaultRouter);

  // -------------------------------------------------------------------------------------------------------------
  // Fallbacks
  // -------------------------------------------------------------------------------------------------------------

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
      const parserError = err !== null && typeof err === 'object' ? bodyParserError(err) : undefined;
      if (parserError) apiError = parserError;
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
