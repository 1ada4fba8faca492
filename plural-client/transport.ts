/**
 * How the client talks to Plural: one authenticated HTTP exchange per call, under a deadline, with Plural's failures
 * mapped to {@link PluralError}s and its answers validated. What Plural offers is in `client.ts`; this file is how
 * each offer is asked for.
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
  PluralResponseValidationError,
  PluralTimeoutError,
  validationIssues,
} from './errors';
import type { PluralError } from './errors';
import { TokenResponseSchema } from './schemas';
import { TokenCache, tokenExpiryMs } from './token-cache';
import type { AccessToken } from './token-cache';

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

/** One call to Plural, as an operation of the client describes it. */
export interface CallSpec<S extends z.ZodType> {
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
 * Authenticated calls to one Plural origin: `Request-ID` and `Request-Timestamp` on each, a cached access token
 * (refreshed before expiry, one refresh in flight at a time; after a 401 fetched afresh and the call sent once more),
 * a per-call deadline and `AbortSignal`, non-2xx answers and network failures as {@link PluralError}s, and the answer
 * validated with the call's zod schema.
 */
export class PluralTransport {
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

  /** Close the dispatcher if the transport created it; a dispatcher passed in is left to its owner. */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** Authenticated call: token, request, one refresh + retry on 401, error mapping, response validation. */
  async call<S extends z.ZodType>(spec: CallSpec<S>, options: PluralCallOptions): Promise<z.output<S>> {
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
        const err = errorFromResponse(res.statusCode, parseJson(res.text), {
          operation: spec.operation,
          requestId,
          secrets: [this.options.clientSecret, token, ...secretsSent(spec.body)],
        });
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
          secrets: [this.options.clientSecret],
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
      json === undefined ? [{ path: '', message: 'body is empty or not JSON' }] : validationIssues(parsed.error.issues);
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

/** Request fields whose values are card data or an OTP (`card_number`, `cvv`, the token's digits, the OTP…). */
const SECRET_FIELDS: ReadonlySet<string> = new Set([
  'card_number',
  'cvv',
  'cryptogram',
  'token',
  'payment_identifier',
  'otp',
]);

/**
 * The card data and OTPs a request body sends: masked by value wherever Plural's error answer echoes them (before the
 * error is logged or thrown), whatever the words around them.
 */
export function secretsSent(body: unknown, depth = 0): string[] {
  if (body === null || typeof body !== 'object' || depth > 8) return [];
  return Object.entries(body as Record<string, unknown>).flatMap(([key, value]) =>
    typeof value === 'string' ? (SECRET_FIELDS.has(key) ? [value] : []) : secretsSent(value, depth + 1),
  );
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
