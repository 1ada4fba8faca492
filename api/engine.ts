/**
 * The API's port to the payment engine. The HTTP layer talks only to this interface; `temporal-engine.ts` implements
 * it over `@temporalio/client`, tests implement it in memory. Nothing here carries card data or an OTP: the workflow
 * input holds vault handles and last-4 digits only, the OTP signal a vault handle.
 */
import type { CardSecret } from '../card-vault';
import type {
  CallbackReceivedSignal,
  CancelRequestedSignal,
  CaptureRequestedSignal,
  OtpResendRequestedSignal,
  OtpSubmittedSignal,
  PaymentState,
  PaymentWorkflowInput,
  WebhookReceivedSignal,
} from '../workflows/definitions';

/**
 * The payment's current step is being retried because the gateway fails (5xx, 429, timeouts, refused connections):
 * read from the engine's pending work, not from the payment's state.
 */
export interface GatewayRetryStatus {
  status: 'unavailable';
  /** `gateway_unavailable`: Plural answered an error or could not be reached; `gateway_timeout`: the call hung. */
  reason: 'gateway_unavailable' | 'gateway_timeout';
  /** The step being retried (the activity: `createOrder`, `createPayment`, `captureOrder`…). */
  operation: string;
  /** The attempt running or scheduled next (2 = first retry). */
  attempt: number;
  /** The retry budget, when there is one. */
  maxAttempts: number | undefined;
  /** What went wrong last, as `HTTP 503 INTERNAL_ERROR` or `PluralConnectionError ECONNREFUSED`: never a message. */
  lastError: string | undefined;
  /** True while Temporal still retries (an attempt is scheduled or running). */
  retrying: boolean;
  /** When the next attempt starts, while waiting out the backoff (ISO 8601). */
  nextAttemptAt: string | undefined;
}

/** A payment as the engine reports it, plus what the API stored at start time. */
export interface PaymentRecord {
  state: PaymentState;
  /** When the payment's workflow started (ISO 8601). */
  createdAt: string;
  /** Fingerprint of the creating request (see `fingerprint.ts`); undefined if the payment was started elsewhere. */
  requestFingerprint: string | undefined;
  /** Set while a step of the payment is retried because the gateway fails. */
  gateway?: GatewayRetryStatus | undefined;
}

/** Outcome of {@link PaymentEngine.start}. */
export type StartOutcome = { started: true } | { started: false; existingFingerprint: string | undefined };

/** Where a verified webhook or callback was delivered. */
export type DeliveryOutcome = { delivered: true; merchantOrderReference: string } | { delivered: false };

/** Operations the API needs from the payment engine. Every method is safe to call concurrently. */
export interface PaymentEngine {
  /**
   * Start the payment workflow for `input.merchantOrderReference`, storing `requestFingerprint` alongside it.
   * Returns `started: false` (and starts nothing) when a payment with this reference already exists.
   */
  start(input: PaymentWorkflowInput, requestFingerprint: string): Promise<StartOutcome>;
  /** The payment, or undefined when no payment has this reference. */
  get(merchantOrderReference: string): Promise<PaymentRecord | undefined>;
  /** @throws {PaymentNotFoundError} */
  submitOtp(merchantOrderReference: string, signal: OtpSubmittedSignal): Promise<void>;
  /** @throws {PaymentNotFoundError} */
  resendOtp(merchantOrderReference: string, signal: OtpResendRequestedSignal): Promise<void>;
  /** @throws {PaymentNotFoundError} */
  capture(merchantOrderReference: string, signal: CaptureRequestedSignal): Promise<void>;
  /** @throws {PaymentNotFoundError} */
  cancel(merchantOrderReference: string, signal: CancelRequestedSignal): Promise<void>;
  /** Signal the payment whose Plural order is `signal.orderId`; `delivered: false` when none is running. */
  deliverCallback(signal: CallbackReceivedSignal): Promise<DeliveryOutcome>;
  /**
   * Signal the payment for a verified webhook: by merchant order reference when the webhook carries one, else by
   * Plural order id. `delivered: false` when no running payment matches.
   */
  deliverWebhook(merchantOrderReference: string | undefined, signal: WebhookReceivedSignal): Promise<DeliveryOutcome>;
  /** Resolves when the engine (Temporal) is reachable; rejects otherwise. */
  ping(): Promise<void>;
}

/** No payment has this merchant order reference. */
export class PaymentNotFoundError extends Error {
  override readonly name = 'PaymentNotFoundError';
  readonly type = 'PaymentNotFound';
  constructor(readonly merchantOrderReference: string) {
    super(`no payment with merchant_order_reference ${merchantOrderReference}`);
  }
}

/** Card data (or an OTP) as handed to the vault before the workflow uses it: the card-vault contract, defined there. */
export type { CardSecret };

/** The part of the card vault the API uses: park card data or an OTP, get an opaque handle, drop it if unused. */
export interface CardVaultPort {
  put(secret: CardSecret, ttlMs: number): Promise<string>;
  destroy(handle: string): Promise<void>;
}

/** The engine (Temporal) could not be reached or failed; the request may be retried. */
export class EngineUnavailableError extends Error {
  override readonly name = 'EngineUnavailableError';
  readonly type = 'EngineUnavailable';
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}
