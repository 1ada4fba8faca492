/**
 * HTTP client for Plural (Pine Labs) online payments. Knows HTTP and Plural's schemas, nothing of Temporal.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import { PLURAL_PATHS } from './constants';
import {
  errorCodeOf,
  errorFromResponse,
  formatIssues,
  isNetworkError,
  PluralAbortedError,
  PluralConnectionError,
  PluralRequestValidationError,
  PluralResponseValidationError,
  PluralTimeoutError,
} from './errors';
import type { PluralError, PluralValidationIssue } from './errors';
import {
  CaptureRequestSchema,
  CardDetailsRequestSchema,
  CardDetailsResponseSchema,
  CheckoutLinkResponseSchema,
  CreateCustomerRequestSchema,
  CreateOrderRequestSchema,
  CreatePaymentRequestSchema,
  CustomerSchema,
  CustomerTokensResponseSchema,
  OrderEnvelopeSchema,
  OtpGenerateResponseSchema,
  OtpPaymentRequestSchema,
  OtpResendResponseSchema,
  OtpSubmitRequestSchema,
  OtpSubmitResponseSchema,
  PointsBalanceRequestSchema,
  PointsBalanceResponseSchema,
  RefundRequestSchema,
  TokenResponseSchema,
} from './schemas';
import type {
  CaptureRequest,
  CardDetailsRequest,
  CardDetailsResponse,
  CheckoutLinkResponse,
  CreateCustomerRequest,
  CreateOrderRequest,
  CreatePaymentRequest,
  Customer,
  CustomerTokens,
  Order,
  OtpGenerateResponse,
  OtpPaymentRequest,
  OtpResendResponse,
  OtpSubmitRequest,
  OtpSubmitResponse,
  PointsBalanceRequest,
  PointsBalanceResponse,
  RefundRequest,
} from './schemas';
import { TokenCache, tokenExpiryMs } from './token-cache';
import type { AccessToken } from './token-cache';
import { redactSensitive } from './redact';

/** The subset of pino's API the client uses; pass a pino logger (ideally with redaction configured) or omit. */
export interface PluralLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Options for {@link PluralClient}. */
export interface PluralClientOptions {
  /** Plural origin, e.g. `https://pluraluat.v2.pinepg.in` (UAT) or `https://api.pluralpay.in` (production). */
  baseUrl: string;
  /** Merchant client id issued by Plural. */
  clientId: string;
  /** Merchant client secret issued by Plural. Never logged. */
  clientSecret: string;
  /**
   * The undici dispatcher to send requests through: pass one long-lived `Agent`/`Pool` (or a `MockAgent` in tests).
   * @default an `Agent` created once per client and closed by {@link PluralClient.close}
   */
  dispatcher?: Dispatcher;
  /**
   * Per-call deadline in ms, covering token acquisition, the request and the single 401 retry.
   * @default 15000
   */
  timeoutMs?: number;
  /** Logger for one line per HTTP exchange (operation, method, path, status, request id, duration; never bodies). */
  logger?: PluralLogger;
  /**
   * Clock in epoch ms (token expiry and `Request-Timestamp`); tests inject a fake one.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Refresh the access token this long before it expires.
   * @default 60000
   */
  tokenRefreshMarginMs?: number;
}

/** Options for one call. */
export interface PluralCallOptions {
  /** Abort the call; it rejects with `PluralAbortedError`. */
  signal?: AbortSignal;
  /** Override the client's `timeoutMs` for this call. */
  timeoutMs?: number;
  /**
   * Sent as `Idempotency-Key` on mutating calls. Derive it from business identity (`<workflowId>:<step>`), never
   * per attempt. Where the request has a merchant reference that the caller left out, the key is used as that
   * reference too; where the caller gave a reference and no key, the reference is sent as the key.
   */
  idempotencyKey?: string;
  /** `Request-ID` header value. @default a random UUID per call */
  requestId?: string;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_TOKEN_REFRESH_MARGIN_MS = 60_000;

type Method = 'GET' | 'POST' | 'PUT';

interface CallSpec<S extends z.ZodType> {
  method: Method;
  path: string;
  /** What is being done to what, for errors and logs: `capture of order v1-xyz`. */
  operation: string;
  body?: unknown;
  schema: S;
  idempotencyKey?: string | undefined;
}

interface RawResponse {
  statusCode: number;
  text: string;
}

/** The deadline and caller signal of one call, merged into one `AbortSignal`. */
class CallScope {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private timedOutFlag = false;
  private readonly onCallerAbort = (): void => this.controller.abort(new Error('aborted by caller'));

  constructor(
    readonly timeoutMs: number,
    private readonly callerSignal: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(() => {
      this.timedOutFlag = true;
      this.controller.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    if (callerSignal?.aborted) this.onCallerAbort();
    else callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get timedOut(): boolean {
    return this.timedOutFlag;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }
}

/**
 * Client for Plural's online payment APIs: orders, payments (card, saved token, network token, card + points),
 * native OTP, capture, cancel, refund, customers, points balance and hosted checkout links.
 *
 * Every call sends `Request-ID` and `Request-Timestamp`, authenticates with a cached access token (refreshed before
 * expiry, one refresh in flight at a time), validates its input and Plural's response with zod, and honours a
 * per-call timeout and `AbortSignal`.
 *
 * Retries: the client retries only once, after a 401, with a freshly fetched token. It does NOT retry 5xx, 429,
 * timeouts or connection errors: it throws a {@link PluralError} whose `retryable` flag says whether a retry can
 * help, and the caller (a Temporal activity) retries with backoff and the same idempotency key.
 *
 * @throws {PluralError} every failure is a `PluralError` subclass, discriminated by `type`.
 */
export class PluralClient {
  private readonly baseUrl: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly timeoutMs: number;
  private readonly logger: PluralLogger | undefined;
  private readonly now: () => number;
  private readonly tokens: TokenCache;

  /** @throws {TypeError} when `baseUrl` is not an http(s) URL or a credential is empty */
  constructor(private readonly options: PluralClientOptions) {
    if (!/^https?:\/\/[^/]/.test(options.baseUrl) || !URL.canParse(options.baseUrl)) {
      throw new TypeError(`PluralClient: baseUrl must be an http(s) URL, got "${options.baseUrl}"`);
    }
    if (!options.clientId || !options.clientSecret) {
      throw new TypeError('PluralClient: clientId and clientSecret must be non-empty');
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000 });
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.tokens = new TokenCache({
      fetchToken: () => this.fetchToken(),
      now: this.now,
      refreshMarginMs: options.tokenRefreshMarginMs ?? DEFAULT_TOKEN_REFRESH_MARGIN_MS,
    });
  }

  /** Close the dispatcher if the client created it; a dispatcher passed in is left to its owner. */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Orders
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Create an order (`POST /api/pay/v1/orders`); set `pre_auth: true` to authorize now and capture later.
   * `merchant_order_reference` defaults to `options.idempotencyKey`; one of the two is required.
   */
  async createOrder(input: CreateOrderRequest, options: PluralCallOptions = {}): Promise<Order> {
    const body = this.parseInput(CreateOrderRequestSchema, input, 'order creation', options);
    const ref = this.requireReference(body.merchant_order_reference, 'order creation', options);
    const res = await this.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.orders,
        operation: `creation of order with reference ${ref}`,
        body: { ...body, merchant_order_reference: ref },
        schema: OrderEnvelopeSchema,
        idempotencyKey: options.idempotencyKey ?? ref,
      },
      options,
    );
    return res.data;
  }

  /** Get an order by Plural order id (`GET /api/pay/v1/orders/{order_id}`). */
  async getOrder(orderId: string, options: PluralCallOptions = {}): Promise<Order> {
    this.requireId(orderId, 'order id', 'order lookup', options);
    const res = await this.call(
      {
        method: 'GET',
        path: PLURAL_PATHS.order(orderId),
        operation: `lookup of order ${orderId}`,
        schema: OrderEnvelopeSchema,
      },
      options,
    );
    return res.data;
  }

  /** Get an order by merchant reference (`GET /api/pay/v1/orders/reference/{merchant_order_reference}`). */
  async getOrderByReference(merchantOrderReference: string, options: PluralCallOptions = {}): Promise<Order> {
    this.requireId(merchantOrderReference, 'merchant order reference', 'order lookup', options);
    const res = await this.call(
      {
        method: 'GET',
        path: PLURAL_PATHS.orderByReference(merchantOrderReference),
        operation: `lookup of order with reference ${merchantOrderReference}`,
        schema: OrderEnvelopeSchema,
      },
      options,
    );
    return res.data;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Payments
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Create a payment on an order (`POST /api/pay/v1/orders/{order_id}/payments`): a new card (`card_details`),
   * a card saved on Plural or a network/alt token from another PA/PG (`card_token_details`), or a card + `POINTS`
   * split. A missing `merchant_payment_reference` defaults to `options.idempotencyKey` (suffixed `-1`, `-2` for a
   * split). The returned order carries `challenge_url` and `payments[].id` (needed for native OTP).
   */
  async createPayment(orderId: string, input: CreatePaymentRequest, options: PluralCallOptions = {}): Promise<Order> {
    this.requireId(orderId, 'order id', 'payment creation', options);
    const operation = `payment creation on order ${orderId}`;
    const body = this.parseInput(CreatePaymentRequestSchema, input, operation, options);
    const key = options.idempotencyKey;
    const payments = body.payments.map((p, i) => ({
      ...p,
      merchant_payment_reference:
        p.merchant_payment_reference ??
        (key === undefined ? undefined : body.payments.length === 1 ? key : `${key}-${i + 1}`),
    }));
    const res = await this.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.payments(orderId),
        operation,
        body: { ...body, payments },
        schema: OrderEnvelopeSchema,
        idempotencyKey: key ?? payments[0]?.merchant_payment_reference,
      },
      options,
    );
    return res.data;
  }

  /** Look up card network, issuer and native-OTP support (`POST /api/pay/v1/getCardDetails`). */
  async getCardDetails(input: CardDetailsRequest, options: PluralCallOptions = {}): Promise<CardDetailsResponse> {
    const body = this.parseInput(CardDetailsRequestSchema, input, 'card details lookup', options);
    return this.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.cardDetails,
        operation: 'card details lookup',
        body,
        schema: CardDetailsResponseSchema,
        idempotencyKey: options.idempotencyKey,
      },
      options,
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // Native OTP
  // -------------------------------------------------------------------------------------------------------------

  /** Send an OTP to the card holder (`POST /api/pay/v1/otp/generate`); returns `next[]` and `resend_after`. */
  async generateOtp(input: OtpPaymentRequest, options: PluralCallOptions = {}): Promise<OtpGenerateResponse> {
    const body = this.parseInput(OtpPaymentRequestSchema, input, 'OTP generation', options);
    return this.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.otpGenerate,
        operation: `OTP generation for payment ${body.payment_id}`,
        body,
        schema: OtpGenerateResponseSchema,
        idempotencyKey: options.idempotencyKey,
      },
      options,
    );
  }

  /**
   * Submit the card holder's OTP (`POST /api/pay/v1/otp/submit`). An incorrect OTP is a 422 `PluralApiError` whose
   * `next` and `resendAfterSeconds` say what the customer can do next. The OTP never appears in errors or logs.
   */
  async submitOtp(input: OtpSubmitRequest, options: PluralCallOptions = {}): Promise<OtpSubmitResponse> {
    const body = this.parseInput(OtpSubmitRequestSchema, input, 'OTP submission', options);
    return this.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.otpSubmit,
        operation: `OTP submission for payment ${body.payment_id}`,
        body,
        schema: OtpSubmitResponseSchema,
        idempotencyKey: options.idempotencyKey,
      },
      options,
    );
  }

  /** Resend the OTP (`POST /api/pay/v1/otp/resend`); a 422 means the resend limit is reached. */
  async resendOtp(input: OtpPaymentRequest, options: PluralCallOptions = {}): Promise<OtpResendResponse> {
    const body = this.parseInput(OtpPaymentRequestSchema, input, 'OTP resend', options);
    return this.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.otpResend,
        operation: `OTP resend for payment ${body.payment_id}`,
        body,
        schema: OtpResendResponseSchema,
        idempotencyKey: options.idempotencyKey,
      },
      options,
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // Capture, cancel, refund
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Capture an AUTHORIZED order (`PUT /api/pay/v1/orders/{order_id}/capture`). Omit `capture_amount` for a full
   * capture. Plural allows ONE partial capture per order and reverses the remainder, so the caller must not capture
   * twice. `merchant_capture_reference` defaults to `options.idempotencyKey`; one of the two is required.
   */
  async captureOrder(orderId: string, input: CaptureRequest = {}, options: PluralCallOptions = {}): Promise<Order> {
    this.requireId(orderId, 'order id', 'capture', options);
    const operation = `capture of order ${orderId}`;
    const body = this.parseInput(CaptureRequestSchema, input, operation, options);
    const ref = this.requireReference(body.merchant_capture_reference, operation, options);
    const res = await this.call(
      {
        method: 'PUT',
        path: PLURAL_PATHS.capture(orderId),
        operation,
        body: { ...body, merchant_capture_reference: ref },
        schema: OrderEnvelopeSchema,
        idempotencyKey: options.idempotencyKey ?? ref,
      },
      options,
    );
    return res.data;
  }

  /** Cancel (void) an AUTHORIZED order (`PUT /api/pay/v1/orders/{order_id}/cancel`). */
  async cancelOrder(orderId: string, options: PluralCallOptions = {}): Promise<Order> {
    this.requireId(orderId, 'order id', 'cancellation', options);
    const res = await this.call(
      {
        method: 'PUT',
        path: PLURAL_PATHS.cancel(orderId),
        operation: `cancellation of order ${orderId}`,
        schema: OrderEnvelopeSchema,
        idempotencyKey: options.idempotencyKey,
      },
      options,
    );
    return res.data;
  }

  /**
   * Refund a PROCESSED order (`POST /api/pay/v1/refunds/{order_id}`); returns the refund order (`type: REFUND`,
   * `parent_order_id`). `merchant_order_reference` (the refund's own reference, Plural's idempotency handle) defaults
   * to `options.idempotencyKey`; one of the two is required.
   */
  async refundOrder(orderId: string, input: RefundRequest, options: PluralCallOptions = {}): Promise<Order> {
    this.requireId(orderId, 'order id', 'refund', options);
    const operation = `refund of order ${orderId}`;
    const body = this.parseInput(RefundRequestSchema, input, operation, options);
    const ref = this.requireReference(body.merchant_order_reference, operation, options);
    const res = await this.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.refund(orderId),
        operation,
        body: { ...body, merchant_order_reference: ref },
        schema: OrderEnvelopeSchema,
        idempotencyKey: options.idempotencyKey ?? ref,
      },
      options,
    );
    return res.data;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Customers, points, hosted checkout
  // -------------------------------------------------------------------------------------------------------------

  /** Create a customer (`POST /api/v1/customer`); `merchant_customer_reference` defaults to the idempotency key. */
  async createCustomer(input: CreateCustomerRequest, options: PluralCallOptions = {}): Promise<Customer> {
    const body = this.parseInput(CreateCustomerRequestSchema, input, 'customer creation', options);
    const ref = body.merchant_customer_reference || options.idempotencyKey;
    return this.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.customers,
        operation: ref ? `creation of customer with reference ${ref}` : 'customer creation',
        body: ref === undefined ? body : { ...body, merchant_customer_reference: ref },
        schema: CustomerSchema,
        idempotencyKey: options.idempotencyKey ?? ref,
      },
      options,
    );
  }

  /**
   * The cards saved for a customer (`GET /api/v1/customer/{customer_id}/tokens`, Plural's API reference): token id,
   * status and card data (last 4 digits). Token ids pay with `card_token_details.token_id`; never log them.
   */
  async listCustomerTokens(customerId: string, options: PluralCallOptions = {}): Promise<CustomerTokens> {
    this.requireId(customerId, 'customer id', 'customer tokens lookup', options);
    return this.call(
      {
        method: 'GET',
        path: PLURAL_PATHS.customerTokens(customerId),
        operation: `lookup of the saved cards of customer ${customerId}`,
        schema: CustomerTokensResponseSchema,
      },
      options,
    );
  }

  /** Check a card's reward-points balance and redeemable amount for an order amount (`POST /payment-option`). */
  async getPointsBalance(input: PointsBalanceRequest, options: PluralCallOptions = {}): Promise<PointsBalanceResponse> {
    const body = this.parseInput(PointsBalanceRequestSchema, input, 'points balance check', options);
    return this.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.pointsBalance,
        operation: 'points balance check',
        body,
        schema: PointsBalanceResponseSchema,
        idempotencyKey: options.idempotencyKey,
      },
      options,
    );
  }

  /**
   * Create a Plural-hosted checkout link (`POST /api/checkout/v1/orders`); redirect the customer to `redirect_url`.
   * `merchant_order_reference` defaults to `options.idempotencyKey`; one of the two is required.
   */
  async createCheckoutLink(input: CreateOrderRequest, options: PluralCallOptions = {}): Promise<CheckoutLinkResponse> {
    const body = this.parseInput(CreateOrderRequestSchema, input, 'checkout link creation', options);
    const ref = this.requireReference(body.merchant_order_reference, 'checkout link creation', options);
    return this.call(
      {
        method: 'POST',
        path: PLURAL_PATHS.checkoutOrders,
        operation: `checkout link creation for reference ${ref}`,
        body: { ...body, merchant_order_reference: ref },
        schema: CheckoutLinkResponseSchema,
        idempotencyKey: options.idempotencyKey ?? ref,
      },
      options,
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // Internals
  // -------------------------------------------------------------------------------------------------------------

  private parseInput<S extends z.ZodType>(
    schema: S,
    input: unknown,
    operation: string,
    options: PluralCallOptions,
  ): z.output<S> {
    const parsed = schema.safeParse(input);
    if (parsed.success) return parsed.data;
    const issues = toIssues(parsed.error.issues);
    throw new PluralRequestValidationError(`${operation}: invalid request, nothing sent: ${formatIssues(issues)}`, {
      operation,
      requestId: options.requestId,
      retryable: false,
      issues,
    });
  }

  private requireReference(ref: string | undefined, operation: string, options: PluralCallOptions): string {
    const resolved = ref || options.idempotencyKey;
    if (resolved) return resolved;
    const issues = [{ path: 'merchant reference', message: 'give a merchant reference or an idempotencyKey' }];
    throw new PluralRequestValidationError(`${operation}: invalid request, nothing sent: ${formatIssues(issues)}`, {
      operation,
      requestId: options.requestId,
      retryable: false,
      issues,
    });
  }

  private requireId(id: string, what: string, operation: string, options: PluralCallOptions): void {
    if (typeof id === 'string' && id.trim().length > 0) return;
    const issues = [{ path: what, message: 'must be a non-empty string' }];
    throw new PluralRequestValidationError(`${operation}: invalid request, nothing sent: ${formatIssues(issues)}`, {
      operation,
      requestId: options.requestId,
      retryable: false,
      issues,
    });
  }

  /** Authenticated call: token, request, one refresh + retry on 401, error mapping, response validation. */
  private async call<S extends z.ZodType>(spec: CallSpec<S>, options: PluralCallOptions): Promise<z.output<S>> {
    const requestId = options.requestId ?? randomUUID();
    const scope = new CallScope(options.timeoutMs ?? this.timeoutMs, options.signal);
    try {
      let token = await this.awaitToken(scope, spec.operation, requestId);
      let res = await this.send(spec, token, requestId, scope);
      if (res.statusCode === 401) {
        this.logger?.warn(
          { operation: spec.operation, requestId },
          'Plural rejected the access token; refreshing it and retrying once',
        );
        this.tokens.invalidate(token);
        token = await this.awaitToken(scope, spec.operation, requestId);
        res = await this.send(spec, token, requestId, scope);
      }
      if (res.statusCode < 200 || res.statusCode >= 300) {
        const err = errorFromResponse(res.statusCode, parseJson(res.text), { operation: spec.operation, requestId });
        this.logFailure(err);
        throw err;
      }
      return this.parseResponse(spec.schema, res, spec.operation, requestId);
    } finally {
      scope.dispose();
    }
  }

  /** Wait for a token, but give up when the call's deadline or the caller's signal fires. */
  private awaitToken(scope: CallScope, operation: string, requestId: string): Promise<string> {
    if (scope.signal.aborted) return Promise.reject(this.abortError(scope, operation, requestId, undefined));
    return new Promise<string>((resolve, reject) => {
      const onAbort = (): void => reject(this.abortError(scope, operation, requestId, undefined));
      scope.signal.addEventListener('abort', onAbort, { once: true });
      this.tokens
        .get()
        .then(resolve, reject)
        .finally(() => scope.signal.removeEventListener('abort', onAbort));
    });
  }

  /** Fetch a new access token (`POST /api/auth/v1/token`) under the client's default timeout. */
  private async fetchToken(): Promise<AccessToken> {
    const operation = 'access token request';
    const requestId = randomUUID();
    const scope = new CallScope(this.timeoutMs, undefined);
    try {
      const spec = {
        method: 'POST' as const,
        path: PLURAL_PATHS.token,
        operation,
        body: {
          client_id: this.options.clientId,
          client_secret: this.options.clientSecret,
          grant_type: 'client_credentials',
        },
      };
      const res = await this.send(spec, undefined, requestId, scope);
      if (res.statusCode < 200 || res.statusCode >= 300) {
        const err = errorFromResponse(res.statusCode, parseJson(res.text), {
          operation,
          requestId,
          isTokenRequest: true,
        });
        this.logFailure(err);
        throw err;
      }
      const token = this.parseResponse(TokenResponseSchema, res, operation, requestId);
      const expiresAtMs = tokenExpiryMs(token, this.now());
      if (expiresAtMs === undefined) {
        const issues = [{ path: 'expires_at', message: 'not a future instant' }];
        throw new PluralResponseValidationError(
          `${operation}: unexpected response from Plural: ${formatIssues(issues)}`,
          {
            operation,
            requestId,
            statusCode: res.statusCode,
            retryable: false,
            issues,
          },
        );
      }
      return { value: token.access_token, expiresAtMs };
    } finally {
      scope.dispose();
    }
  }

  /** One HTTP exchange. Network failures become PluralConnectionError / PluralTimeoutError / PluralAbortedError. */
  private async send(
    spec: Pick<CallSpec<z.ZodType>, 'method' | 'path' | 'operation' | 'body' | 'idempotencyKey'>,
    token: string | undefined,
    requestId: string,
    scope: CallScope,
  ): Promise<RawResponse> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'request-id': requestId,
      'request-timestamp': new Date(this.now()).toISOString(),
    };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    if (spec.idempotencyKey !== undefined && spec.method !== 'GET') headers['idempotency-key'] = spec.idempotencyKey;
    const started = performance.now();
    try {
      const res = await request(`${this.baseUrl}${spec.path}`, {
        method: spec.method,
        headers,
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal: scope.signal,
        dispatcher: this.dispatcher,
      });
      const text = await res.body.text();
      this.logger?.debug(
        {
          operation: spec.operation,
          method: spec.method,
          path: spec.path,
          statusCode: res.statusCode,
          requestId,
          durationMs: Math.round(performance.now() - started),
        },
        'Plural call completed',
      );
      return { statusCode: res.statusCode, text };
    } catch (err) {
      const mapped = this.transportError(err, scope, spec.operation, requestId);
      this.logFailure(mapped);
      throw mapped;
    }
  }

  private transportError(err: unknown, scope: CallScope, operation: string, requestId: string): PluralError {
    if (scope.signal.aborted) return this.abortError(scope, operation, requestId, err);
    if (isNetworkError(err)) {
      const code = errorCodeOf(err);
      return new PluralConnectionError(
        `${operation} failed: connection error ${code ?? 'unknown'} talking to Plural; retry with the same idempotency key`,
        { operation, code, requestId, retryable: true, cause: err },
      );
    }
    throw err;
  }

  private abortError(scope: CallScope, operation: string, requestId: string, cause: unknown): PluralError {
    if (scope.timedOut) {
      return new PluralTimeoutError(
        `${operation} timed out after ${scope.timeoutMs} ms; Plural may still have processed it: check its status or retry with the same idempotency key`,
        { operation, code: 'TIMEOUT', requestId, retryable: true, timeoutMs: scope.timeoutMs, cause },
      );
    }
    return new PluralAbortedError(`${operation} aborted by the caller`, {
      operation,
      code: 'ABORTED',
      requestId,
      retryable: false,
      cause,
    });
  }

  private parseResponse<S extends z.ZodType>(
    schema: S,
    res: RawResponse,
    operation: string,
    requestId: string,
  ): z.output<S> {
    const json = parseJson(res.text);
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    const issues =
      json === undefined ? [{ path: '', message: 'body is empty or not JSON' }] : toIssues(parsed.error.issues);
    const err = new PluralResponseValidationError(
      `${operation}: unexpected response from Plural (HTTP ${res.statusCode}): ${formatIssues(issues)}`,
      { operation, requestId, statusCode: res.statusCode, retryable: false, issues },
    );
    this.logFailure(err);
    throw err;
  }

  private logFailure(err: PluralError): void {
    this.logger?.warn(
      {
        err: { type: err.type, code: err.code, statusCode: err.statusCode, retryable: err.retryable },
        operation: err.operation,
        requestId: err.requestId,
      },
      err.message,
    );
  }
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** zod issues as `{path, message}`; zod's messages describe the expectation, never the received value. */
function toIssues(issues: readonly z.core.$ZodIssue[]): PluralValidationIssue[] {
  return issues.map((i) => ({ path: i.path.map(String).join('.'), message: redactSensitive(i.message) }));
}
