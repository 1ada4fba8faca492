import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { normalizeHost, webhookTargetRefusal } from './webhook-target';

/** Rules of the native-OTP flow (Plural documents none of these numbers; these are the sandbox's). */
export interface OtpLimits {
  /** The OTP the simulated issuer accepts. @default '123456' */
  correctOtp: string;
  /** Wrong submissions allowed before the payment fails. @default 3 */
  maxAttempts: number;
  /** Seconds before a resend is allowed, returned as `meta_data.resend_after` (the guides show "180"). @default 180 */
  resendAfterSeconds: number;
  /** Resends allowed per payment. @default 2 */
  maxResends: number;
}

/** Fault injection. Rates are probabilities in [0, 1], drawn deterministically from the seed. */
export const faultConfigSchema = z.strictObject({
  /** Answer 5xx before doing anything. */
  errorRate: z.number().min(0).max(1),
  /** Do the work, then answer 500 instead of the real response (the effect happened, the answer is lost). */
  errorAfterCommitRate: z.number().min(0).max(1),
  /** Answer 429 before doing anything. */
  rateLimitRate: z.number().min(0).max(1),
  /** Accept the request and never answer, before doing anything. */
  timeoutRate: z.number().min(0).max(1),
  /** Do the work, then never answer. */
  timeoutAfterCommitRate: z.number().min(0).max(1),
  /** Added latency per API call, milliseconds. */
  latencyMs: z.int().min(0).max(600_000),
  /** Extra random latency in [0, latencyJitterMs). */
  latencyJitterMs: z.int().min(0).max(600_000),
  /** Only API paths containing one of these substrings get HTTP faults; empty = every API path. */
  paths: z.array(z.string().min(1).max(200)).max(50),
  /** Webhook events never sent. */
  webhookDropRate: z.number().min(0).max(1),
  /** Webhook events delivered twice (same webhook-id). */
  webhookDuplicateRate: z.number().min(0).max(1),
  /** Webhook events held back and sent after the next event of the same order (or after webhookReorderHoldMs). */
  webhookReorderRate: z.number().min(0).max(1),
  /** Longest a reordered event is held, milliseconds. */
  webhookReorderHoldMs: z.int().min(0).max(3_600_000),
  /** Webhook events whose first delivery is delayed by webhookDelayMs. */
  webhookDelayRate: z.number().min(0).max(1),
  /** Delay for delayed webhook events, milliseconds. */
  webhookDelayMs: z.int().min(0).max(3_600_000),
});

/** Fault injection settings; see README "Fault injection". */
export type FaultConfig = z.infer<typeof faultConfigSchema>;

export const NO_FAULTS: FaultConfig = Object.freeze({
  errorRate: 0,
  errorAfterCommitRate: 0,
  rateLimitRate: 0,
  timeoutRate: 0,
  timeoutAfterCommitRate: 0,
  latencyMs: 0,
  latencyJitterMs: 0,
  paths: [],
  webhookDropRate: 0,
  webhookDuplicateRate: 0,
  webhookReorderRate: 0,
  webhookReorderHoldMs: 1000,
  webhookDelayRate: 0,
  webhookDelayMs: 0,
});

/** How the customer's browser is sent to `callback_url` after checkout or the challenge page. */
export type CallbackMode = 'form_post' | 'redirect';

/**
 * The callback field carrying the payment status. The pre-authorization and pay-by-points guides show
 * `payment_status` and every guide's signing text lists it; the native-OTP and tokenization samples, and every
 * guide's signing-string example, show `status`. `status` is for compatibility tests.
 */
export type CallbackStatusField = 'payment_status' | 'status';

/**
 * What a hosted checkout order created with `pre_auth: true` does with payment methods other than CARD in
 * `allowed_payment_methods`. The pre-authorization guide allows pre-auth "for card payments only through hosted
 * checkout" but does not say what happens to other methods in the request: `drop` limits the order to CARD (the
 * order then shows `allowed_payment_methods: ["CARD"]`), `reject` refuses the request with 400 INVALID_REQUEST.
 */
export type CheckoutPreAuthOtherMethods = 'drop' | 'reject';

/**
 * How a successfully authenticated sale (`pre_auth: false`) reaches PROCESSED. Plural's order for a sale may report
 * AUTHORIZED before PROCESSED; with `throughAuthorized` the sandbox does so: order and payment AUTHORIZED
 * (`ORDER_AUTHORIZED`, callback status AUTHORIZED), then after `delayMs` PROCESSED (`ORDER_PROCESSED` with
 * `capture_data`). Capture and cancel of such an order are refused (they apply only to pre-auth orders).
 */
export interface SaleSettlement {
  /** @default false (the sale goes straight to PROCESSED) */
  throughAuthorized: boolean;
  /** Milliseconds from AUTHORIZED to PROCESSED (a timer; reads also settle once `now` is past it). @default 2000 */
  delayMs: number;
}

export const DEFAULT_SALE_SETTLEMENT: SaleSettlement = Object.freeze({ throughAuthorized: false, delayMs: 2000 });

/** Options of {@link startSandbox}. Every field has a development default. */
export interface SandboxOptions {
  /** @default 0 (ephemeral) */
  port?: number;
  /** Listen address. Loopback by default: the sandbox is a test tool, not a service for a network. @default '127.0.0.1' */
  host?: string;
  /**
   * Base URL of every link and redirect the sandbox hands out (`redirect_url`, `challenge_url`, the checkout page's
   * redirect to the challenge page). Never taken from a request's `Host` header, which the client chooses.
   * @default the bound address, `http://127.0.0.1:<port>` for a wildcard or loopback host
   */
  publicUrl?: string;
  /**
   * Bearer token the control API (`/__sandbox/...`) requires: it approves payments without an OTP and redirects
   * webhooks. At least 16 characters, no spaces. @default a random token made at start (`RunningSandbox.controlToken`)
   */
  controlToken?: string;
  /**
   * Hosts (names or IP literals, case-insensitive) webhooks may be sent to besides loopback (`127.0.0.0/8`, `::1`,
   * `localhost`): a webhook URL elsewhere is refused, so the sandbox cannot be aimed at other machines. Checked on the
   * URL as written, never by resolving or connecting to it. @default [] (loopback only)
   */
  webhookAllowedHosts?: readonly string[];
  /** @default 'sandbox-client-id' */
  clientId?: string;
  /** @default 'sandbox-client-secret' */
  clientSecret?: string;
  /** Callback signing key as a HEX string (decoded to bytes, as in Plural's Java sample). @default '73616e64626f782d63616c6c6261636b2d736563726574' */
  callbackSecretHex?: string;
  /** Webhook signing secret (raw string bytes). @default 'sandbox-webhook-secret' */
  webhookSecret?: string;
  /** Where signed webhooks are POSTed (loopback, or a host in `webhookAllowedHosts`); none sent when unset. */
  webhookUrl?: string;
  /** Access-token lifetime. @default 3600 */
  tokenTtlSeconds?: number;
  /** Native OTP rules. */
  otp?: Partial<OtpLimits>;
  /** Payment attempts allowed per order before it becomes FAILED. @default 3 */
  maxPaymentAttempts?: number;
  /** A payment still PENDING (customer never finished authentication) fails with PAYMENT_EXPIRED after this. @default 900 */
  paymentTimeoutSeconds?: number;
  /**
   * An order still CREATED or ATTEMPTED (no payment in flight) this long after creation becomes FAILED
   * (`ORDER_FAILED`) and its checkout and challenge links refuse payment. Plural's guides do not say when an unpaid
   * order ends; this is the sandbox's stand-in. 0 = orders never expire. @default 3600
   */
  orderExpirySeconds?: number;
  /** Authorization lifetime reported as `authorizationDeadline` in {@link RunningSandbox.orders}. @default 604800 (7 days) */
  authorizationTtlSeconds?: number;
  /** Multiplies Plural's webhook retry schedule (0.001 turns 5 min into 300 ms). @default 1 */
  webhookRetryScale?: number;
  /** Per-attempt webhook timeout; Plural counts a delivery as failed after 5 s. @default 5000 */
  webhookTimeoutMs?: number;
  /** Fault injection at start. */
  faults?: Partial<FaultConfig>;
  /** Seed for every random decision (faults, ids). @default 1 */
  seed?: number;
  /** Base latency per API call, milliseconds (timer based; never blocks the event loop). @default 0 */
  latencyMs?: number;
  /** @default 'form_post' */
  callbackMode?: CallbackMode;
  /** @default 'payment_status' (see {@link CallbackStatusField}) */
  callbackStatusField?: CallbackStatusField;
  /**
   * A refund stays PENDING this long before it is PROCESSED (`REFUND_PROCESSED`), so the engine's confirmation path
   * can be tested; 0 = PROCESSED at once. Plural documents a PENDING refund status but no timing. @default 0
   */
  refundPendingMs?: number;
  /** @default 'drop' (see {@link CheckoutPreAuthOtherMethods}) */
  checkoutPreAuthOtherMethods?: CheckoutPreAuthOtherMethods;
  /** Sale settlement through AUTHORIZED; @default off (see {@link SaleSettlement}) */
  saleSettlement?: Partial<SaleSettlement>;
  /** Clock, milliseconds since the epoch. @default Date.now */
  now?: () => number;
}

export interface ResolvedOptions {
  port: number;
  host: string;
  publicUrl: string | undefined;
  controlToken: string;
  webhookAllowedHosts: readonly string[];
  clientId: string;
  clientSecret: string;
  callbackSecretHex: string;
  webhookSecret: string;
  webhookUrl: string | undefined;
  tokenTtlSeconds: number;
  otp: OtpLimits;
  maxPaymentAttempts: number;
  paymentTimeoutSeconds: number;
  orderExpirySeconds: number;
  authorizationTtlSeconds: number;
  webhookRetryScale: number;
  webhookTimeoutMs: number;
  faults: FaultConfig;
  seed: number;
  latencyMs: number;
  callbackMode: CallbackMode;
  callbackStatusField: CallbackStatusField;
  checkoutPreAuthOtherMethods: CheckoutPreAuthOtherMethods;
  refundPendingMs: number;
  saleSettlement: SaleSettlement;
  now: () => number;
}

export const DEFAULT_CREDENTIALS = Object.freeze({
  clientId: 'sandbox-client-id',
  clientSecret: 'sandbox-client-secret',
  // hex of "sandbox-callback-secret"
  callbackSecretHex: '73616e64626f782d63616c6c6261636b2d736563726574',
  webhookSecret: 'sandbox-webhook-secret',
});

export const DEFAULT_OTP: OtpLimits = Object.freeze({
  correctOtp: '123456',
  maxAttempts: 3,
  resendAfterSeconds: 180,
  maxResends: 2,
});

/** Thrown by {@link resolveOptions} when an option cannot work. */
export class SandboxOptionsError extends Error {
  override readonly name = 'SandboxOptionsError';
}

function positive(name: string, value: number, min = 0): number {
  if (!Number.isFinite(value) || value < min)
    throw new SandboxOptionsError(`option ${name} must be a number >= ${min}`);
  return value;
}

/** Fills defaults and checks every option; @throws SandboxOptionsError */
export function resolveOptions(options: SandboxOptions = {}): ResolvedOptions {
  const controlToken = options.controlToken ?? randomBytes(24).toString('base64url');
  if (controlToken.length < 16 || /\s/.test(controlToken)) {
    throw new SandboxOptionsError('option controlToken must be at least 16 characters without spaces');
  }
  const webhookAllowedHosts = (options.webhookAllowedHosts ?? []).map(normalizeHost);
  if (webhookAllowedHosts.some((h) => h.length === 0 || /[\s/@?#]/.test(h))) {
    throw new SandboxOptionsError('option webhookAllowedHosts must hold host names or IP literals');
  }
  const webhookRefusal =
    options.webhookUrl === undefined ? undefined : webhookTargetRefusal(options.webhookUrl, webhookAllowedHosts);
  if (webhookRefusal !== undefined) throw new SandboxOptionsError(`option webhookUrl ${webhookRefusal}`);
  let publicUrl: string | undefined;
  if (options.publicUrl !== undefined) {
    const parsed = URL.canParse(options.publicUrl) ? new URL(options.publicUrl) : undefined;
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.search !== '' || parsed.hash !== '') {
      throw new SandboxOptionsError('option publicUrl must be an http(s) URL without query or fragment');
    }
    publicUrl = options.publicUrl.replace(/\/+$/, '');
  }
  const callbackSecretHex = options.callbackSecretHex ?? DEFAULT_CREDENTIALS.callbackSecretHex;
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(callbackSecretHex)) {
    throw new SandboxOptionsError('option callbackSecretHex must be a non-empty hex string of even length');
  }
  const faults = faultConfigSchema.safeParse({ ...NO_FAULTS, ...options.faults });
  if (!faults.success) throw new SandboxOptionsError(`option faults is invalid: ${z.prettifyError(faults.error)}`);
  const otp = { ...DEFAULT_OTP, ...options.otp };
  const sale = { ...DEFAULT_SALE_SETTLEMENT, ...options.saleSettlement };
  if (!/^\d{4,8}$/.test(otp.correctOtp)) throw new SandboxOptionsError('option otp.correctOtp must be 4-8 digits');
  return {
    port: positive('port', options.port ?? 0),
    host: options.host ?? '127.0.0.1',
    publicUrl,
    controlToken,
    webhookAllowedHosts,
    clientId: options.clientId ?? DEFAULT_CREDENTIALS.clientId,
    clientSecret: options.clientSecret ?? DEFAULT_CREDENTIALS.clientSecret,
    callbackSecretHex,
    webhookSecret: options.webhookSecret ?? DEFAULT_CREDENTIALS.webhookSecret,
    webhookUrl: options.webhookUrl,
    tokenTtlSeconds: positive('tokenTtlSeconds', options.tokenTtlSeconds ?? 3600, 1),
    otp: {
      correctOtp: otp.correctOtp,
      maxAttempts: positive('otp.maxAttempts', otp.maxAttempts, 1),
      resendAfterSeconds: positive('otp.resendAfterSeconds', otp.resendAfterSeconds),
      maxResends: positive('otp.maxResends', otp.maxResends),
    },
    maxPaymentAttempts: positive('maxPaymentAttempts', options.maxPaymentAttempts ?? 3, 1),
    paymentTimeoutSeconds: positive('paymentTimeoutSeconds', options.paymentTimeoutSeconds ?? 900, 0.001),
    orderExpirySeconds: positive('orderExpirySeconds', options.orderExpirySeconds ?? 3600),
    authorizationTtlSeconds: positive('authorizationTtlSeconds', options.authorizationTtlSeconds ?? 604_800, 1),
    webhookRetryScale: positive('webhookRetryScale', options.webhookRetryScale ?? 1),
    webhookTimeoutMs: positive('webhookTimeoutMs', options.webhookTimeoutMs ?? 5000, 1),
    faults: faults.data,
    seed: positive('seed', options.seed ?? 1),
    latencyMs: positive('latencyMs', options.latencyMs ?? 0),
    callbackMode: options.callbackMode ?? 'form_post',
    callbackStatusField: options.callbackStatusField ?? 'payment_status',
    checkoutPreAuthOtherMethods: options.checkoutPreAuthOtherMethods ?? 'drop',
    refundPendingMs: positive('refundPendingMs', options.refundPendingMs ?? 0),
    saleSettlement: {
      throughAuthorized: sale.throughAuthorized,
      delayMs: positive('saleSettlement.delayMs', sale.delayMs),
    },
    now: options.now ?? Date.now,
  };
}
